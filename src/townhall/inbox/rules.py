"""Routing rules of the unified inbox: checking them, and deciding which actions one event triggers."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard
from urllib.parse import urlsplit

import regex

from townhall.core.errors import Invalid

EVENTS = (
    "item_received",
    "conversation_created",
    "conversation_updated",
    "sla_approaching",
    "sla_breached",
    "no_reply",
    "replied_after_resolution",
    "listening_alert",
)
KINDS = ("post", "comment", "reply", "dm", "mention", "review", "forum_post", "chat_message")
SENTIMENTS = ("negative", "neutral", "positive", "unknown")
TOXICITIES = ("none", "offensive", "hate", "unknown")
LIFECYCLES = ("unknown", "follower", "member", "prospect", "lead", "customer", "churned", "advocate")
BUYING_STAGES = ("prospect", "customer", "churned")
STATUSES = ("open", "pending", "snoozed", "resolved")
PRIORITIES = ("urgent", "high", "medium", "low", "none")
STRATEGIES = ("round_robin", "least_loaded", "none")

MAX_DEPTH = 8  # groups inside groups
MAX_LEAVES = 200
LABEL_LENGTH = 64  # as the Label table stores it
REGEX_TIMEOUT = 0.25  # seconds; one rule's pattern must not stall the whole pipeline

FieldType = Literal["text", "choice", "number", "bool", "list"]


@dataclass(frozen=True)
class FieldSpec:
    """What a rule may test about one fact: its type and, where they are fixed, the values it takes."""

    type: FieldType
    choices: tuple[str, ...] = ()  # empty: any value (language codes, networks, intent names)
    items: Literal["text", "number"] = "text"  # what a list holds
    minimum: float | None = None
    maximum: float | None = None


FIELDS: dict[str, FieldSpec] = {
    "text": FieldSpec("text"),
    "network": FieldSpec("choice"),
    "channel": FieldSpec("number"),
    "kind": FieldSpec("choice", KINDS),
    "language": FieldSpec("choice"),
    "sentiment": FieldSpec("choice", SENTIMENTS),
    "intents": FieldSpec("list"),
    "primary_intent": FieldSpec("choice"),
    "spam": FieldSpec("number", minimum=0, maximum=1),
    "toxicity": FieldSpec("choice", TOXICITIES),
    "toxicity_probability": FieldSpec("number", minimum=0, maximum=1),
    "followers": FieldSpec("number", minimum=0),
    "verified": FieldSpec("bool"),
    "vip": FieldSpec("bool"),
    "lifecycle": FieldSpec("choice", LIFECYCLES),
    "buying_stage": FieldSpec("choice", BUYING_STAGES),
    "lead_score": FieldSpec("number"),
    "loyalty_tier": FieldSpec("choice"),
    "open_conversations": FieldSpec("number", minimum=0),
    "past_csat": FieldSpec("number", minimum=1, maximum=5),
    "business_hours": FieldSpec("bool"),
    "status": FieldSpec("choice", STATUSES),
    "priority": FieldSpec("choice", PRIORITIES),
    "labels": FieldSpec("list"),
    "assignee": FieldSpec("number"),
    "team": FieldSpec("number"),
    "minutes_without_reply": FieldSpec("number", minimum=0),
    "listening_queries": FieldSpec("list", items="number"),
    "listening_topics": FieldSpec("list", items="number"),
    "alert_kind": FieldSpec("choice", ("volume", "negative")),
    "alert_topic": FieldSpec("number"),
}

OPS: dict[FieldType, tuple[str, ...]] = {
    "text": ("contains", "not_contains", "regex", "eq"),
    "choice": ("eq", "ne", "in", "not_in"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "between"),
    "bool": ("is",),
    "list": ("has", "has_any", "has_all", "has_none", "is_empty"),
}
_LIST_VALUED = {"in", "not_in", "has_any", "has_all", "has_none"}
# A missing fact fails every test but the negative ones: "does not contain refund" holds for an item with
# no text, and a customer with no labels "has none of" them.
_TRUE_WHEN_MISSING = {"ne", "not_in", "not_contains", "has_none"}


@dataclass(frozen=True)
class Rule:
    """One routing rule as stored: when it listens, what it tests, what it does."""

    id: int
    name: str
    events: tuple[str, ...]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    stop: bool = False
    enabled: bool = True
    minutes: int | None = None  # no_reply rules: fire once we have not replied for this long


@dataclass
class Decision:
    """What the rules decided for one event: actions in rule order, and which rules took part."""

    actions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    stopped_by: int | None = None
    loops: list[int] = field(default_factory=list)


# Checking conditions


def check_conditions(cond: Any) -> None:
    """Raise Invalid, naming the place (``conditions.all[1].op``), unless cond is a usable condition."""
    if isinstance(cond, dict) and not cond:
        return
    leaves = _check_node(cond, "conditions", depth=0)
    if leaves > MAX_LEAVES:
        raise Invalid(
            f"a rule may test at most {MAX_LEAVES} conditions, this one has {leaves}", field="conditions"
        )


def _check_node(cond: Any, path: str, *, depth: int) -> int:
    """Check one node and return how many leaves it holds."""
    if not isinstance(cond, dict) or not cond:
        raise Invalid(
            'a condition must be an object: {"all": [...]}, {"any": [...]}, {"not": ...} or a test',
            field=path,
        )
    group = cond.keys() & {"all", "any", "not"}
    if not group:
        return _check_leaf(cond, path)
    key = group.pop()
    if len(cond) > 1:
        raise Invalid(f'a "{key}" group takes no other key', field=path)
    if depth >= MAX_DEPTH:
        raise Invalid(f"conditions may nest at most {MAX_DEPTH} groups deep", field=path)
    if key == "not":
        return _check_node(cond["not"], f"{path}.not", depth=depth + 1)
    children = cond[key]
    if not isinstance(children, list):
        raise Invalid(f'"{key}" takes a list of conditions', field=f"{path}.{key}")
    if key == "any" and not children:
        # An empty "any" never matches: certainly a rule left unfinished.
        raise Invalid('"any" needs at least one condition', field=f"{path}.any")
    return sum(_check_node(child, f"{path}.{key}[{i}]", depth=depth + 1) for i, child in enumerate(children))


def _check_leaf(cond: dict[str, Any], path: str) -> int:
    for key in cond:
        if key not in ("field", "op", "value"):
            raise Invalid(f'a test takes "field", "op" and "value", not {key!r}', field=f"{path}.{key}")
    name = cond.get("field")
    if not isinstance(name, str) or name not in FIELDS:
        raise Invalid(f"field must be one of {', '.join(FIELDS)}, got {name!r}", field=f"{path}.field")
    spec = FIELDS[name]
    op = cond.get("op")
    if op not in OPS[spec.type]:
        ops = ", ".join(OPS[spec.type])
        raise Invalid(f"op for {spec.type} field {name} must be one of {ops}, got {op!r}", field=f"{path}.op")
    if "value" not in cond:
        raise Invalid(f"the test on {name} needs a value", field=f"{path}.value")
    _check_value(name, spec, op, cond["value"], f"{path}.value")
    return 1


def _check_value(name: str, spec: FieldSpec, op: str, value: Any, path: str) -> None:
    if spec.type == "bool" or op == "is_empty":
        if not isinstance(value, bool):
            raise Invalid(f"{name} {op} takes true or false, got {value!r}", field=path)
    elif op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise Invalid(f"{name} between takes [low, high], got {value!r}", field=path)
        for i, bound in enumerate(value):
            _check_number(name, spec, bound, f"{path}[{i}]")
        if value[0] > value[1]:
            raise Invalid(
                f"{name} between: the low end {value[0]} is above the high end {value[1]}", field=path
            )
    elif spec.type == "number":
        _check_number(name, spec, value, path)
    elif op == "regex":
        if not isinstance(value, str) or not value:
            raise Invalid(f"{name} regex takes a pattern, got {value!r}", field=path)
        try:
            _pattern(value)
        except regex.error as exc:
            raise Invalid(f"{name} regex is not a valid pattern: {exc}", field=path) from None
    elif op in ("contains", "not_contains"):
        words = value if isinstance(value, list) else [value]
        if not words or not all(isinstance(word, str) and word for word in words):
            raise Invalid(f"{name} {op} takes some text or a list of texts, got {value!r}", field=path)
    elif op in _LIST_VALUED:
        if not isinstance(value, list) or not value:
            raise Invalid(f"{name} {op} takes a non-empty list, got {value!r}", field=path)
        for i, item in enumerate(value):
            _check_item(name, spec, item, f"{path}[{i}]")
    else:
        _check_item(name, spec, value, path)


def _check_number(name: str, spec: FieldSpec, value: Any, path: str) -> None:
    if not _is_number(value):
        raise Invalid(f"{name} takes a number, got {value!r}", field=path)
    low = -math.inf if spec.minimum is None else spec.minimum
    high = math.inf if spec.maximum is None else spec.maximum
    if not low <= value <= high:
        bounds = f"at least {low:g}" if high == math.inf else f"from {low:g} to {high:g}"
        raise Invalid(f"{name} is {bounds}, so {value} can never match", field=path)


def _check_item(name: str, spec: FieldSpec, value: Any, path: str) -> None:
    if spec.type == "list" and spec.items == "number":
        if not _is_positive_int(value):
            raise Invalid(f"{name} holds ids (whole numbers), got {value!r}", field=path)
    elif spec.type == "text":
        if not isinstance(value, str):
            raise Invalid(f"{name} takes text, got {value!r}", field=path)
    elif not isinstance(value, str) or not value:
        raise Invalid(f"{name} takes a name, got {value!r}", field=path)
    elif spec.choices and value not in spec.choices:
        raise Invalid(f"{name} must be one of {', '.join(spec.choices)}, got {value!r}", field=path)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@functools.lru_cache(maxsize=1024)
def _pattern(source: str) -> regex.Pattern[str]:
    return regex.compile(source, regex.IGNORECASE)


# Checking actions

_Check = Callable[[Any, str], None]


def _one_of(choices: tuple[str, ...]) -> _Check:
    def check(value: Any, path: str) -> None:
        if value not in choices:
            raise Invalid(f"must be one of {', '.join(choices)}, got {value!r}", field=path)

    return check


def _id(value: Any, path: str) -> None:
    if not _is_positive_int(value):
        raise Invalid(f"must be an id (a positive whole number), got {value!r}", field=path)


def _ids(value: Any, path: str) -> None:
    if not isinstance(value, list) or not value:
        raise Invalid(f"must be a non-empty list of ids, got {value!r}", field=path)
    for i, item in enumerate(value):
        _id(item, f"{path}[{i}]")


def _text(value: Any, path: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be some text, got {value!r}", field=path)


def _label(value: Any, path: str) -> None:
    _text(value, path)
    if len(value) > LABEL_LENGTH:
        raise Invalid(f"a label is at most {LABEL_LENGTH} characters, this one has {len(value)}", field=path)


def _url(value: Any, path: str) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"must be an http:// or https:// address, got {value!r}", field=path)


# Each action type: its required parameters, then its optional ones.
_ACTION_PARAMS: dict[str, tuple[dict[str, _Check], dict[str, _Check]]] = {
    "assign_team": ({"team": _id, "strategy": _one_of(STRATEGIES)}, {}),
    "assign_agent": ({"user": _id}, {}),
    "set_priority": ({"priority": _one_of(PRIORITIES)}, {}),
    "add_label": ({"label": _label}, {}),
    "remove_label": ({"label": _label}, {}),
    "apply_sla": ({"policy": _id}, {}),
    "no_action": ({}, {}),
    "set_status": ({"status": _one_of(STATUSES)}, {}),
    "resolve": ({}, {}),
    "hide": ({}, {}),
    "delete": ({}, {}),
    "create_lead": ({}, {}),
    "notify": ({"via": _one_of(("webhook", "in_app"))}, {"url": _url, "users": _ids, "message": _text}),
    "escalate": ({"note": _text}, {"team": _id, "user": _id, "priority": _one_of(PRIORITIES)}),
    "auto_ack": ({"template": _text}, {}),
    "add_note": ({"note": _text}, {}),
}
ACTION_TYPES = tuple(_ACTION_PARAMS)


def check_actions(actions: Any) -> None:
    """Raise Invalid, naming the place (``actions[0].priority``), unless actions is a usable action list."""
    if not isinstance(actions, list) or not actions:
        raise Invalid("a rule needs a list of at least one action (no_action to only stop)", field="actions")
    for i, action in enumerate(actions):
        path = f"actions[{i}]"
        if not isinstance(action, dict):
            raise Invalid(f'an action must be an object with a "type", got {action!r}', field=path)
        kind = action.get("type")
        if kind not in _ACTION_PARAMS:
            raise Invalid(
                f"action type must be one of {', '.join(ACTION_TYPES)}, got {kind!r}", field=f"{path}.type"
            )
        required, optional = _ACTION_PARAMS[kind]
        for key in required:
            if key not in action:
                raise Invalid(f"{kind} needs {key}", field=f"{path}.{key}")
        for key, value in action.items():
            if key == "type":
                continue
            check = required.get(key) or optional.get(key)
            if check is None:
                raise Invalid(f"{kind} takes no parameter {key!r}", field=f"{path}.{key}")
            check(value, f"{path}.{key}")
        if kind == "notify" and action["via"] == "webhook" and "url" not in action:
            raise Invalid("a webhook notification needs a url", field=f"{path}.url")
        if kind == "notify" and action["via"] == "in_app" and "url" in action:
            raise Invalid("only a webhook notification takes a url", field=f"{path}.url")
        if kind == "escalate" and "team" not in action and "user" not in action:
            raise Invalid("escalate needs a team, a user or both to escalate to", field=path)


def check_rule(name: Any, events: Any, conditions: Any, actions: Any, minutes: Any = None) -> None:
    """Raise Invalid, naming the field, unless these make a rule that can be stored and run."""
    if not isinstance(name, str) or not name.strip():
        raise Invalid("a rule needs a name", field="name")
    if len(name) > 200:
        raise Invalid(f"a rule name is at most 200 characters, this one has {len(name)}", field="name")
    if not isinstance(events, list | tuple) or not events:
        raise Invalid(f"events must be a non-empty list of {', '.join(EVENTS)}", field="events")
    for i, event in enumerate(events):
        if event not in EVENTS:
            raise Invalid(f"event must be one of {', '.join(EVENTS)}, got {event!r}", field=f"events[{i}]")
    if "no_reply" in events:
        if not _is_positive_int(minutes):
            raise Invalid(f"a no_reply rule needs minutes above 0, got {minutes!r}", field="minutes")
    elif minutes is not None:
        raise Invalid("minutes only applies to no_reply rules", field="minutes")
    check_conditions(conditions)
    check_actions(actions)


# Evaluating


def matches(cond: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether the facts satisfy a checked condition; an empty condition matches everything."""
    if "all" in cond:
        return all(matches(child, facts) for child in cond["all"])
    if "any" in cond:
        return any(matches(child, facts) for child in cond["any"])
    if "not" in cond:
        return not matches(cond["not"], facts)
    if not cond:
        return True
    spec = FIELDS[cond["field"]]
    op, value = cond["op"], cond["value"]
    fact = _fact(spec, facts.get(cond["field"]))
    if fact is None:
        # A missing list counts as empty.
        return op in _TRUE_WHEN_MISSING or (op == "is_empty" and value is True)
    return _COMPARE[spec.type, op](fact, value)


def _fact(spec: FieldSpec, raw: Any) -> Any:
    """The fact if it has the field's type; anything else counts as missing rather than failing the event."""
    if spec.type in ("text", "choice"):
        return raw if isinstance(raw, str) else None
    if spec.type == "number":
        return raw if _is_number(raw) else None
    if spec.type == "bool":
        return raw if isinstance(raw, bool) else None
    return raw if isinstance(raw, list | tuple | set | frozenset) else None


def _contains(fact: str, value: str | list[str]) -> bool:
    words = value if isinstance(value, list) else [value]
    folded = fact.casefold()
    return any(word.casefold() in folded for word in words)


def _search(fact: str, source: str) -> bool:
    try:
        return _pattern(source).search(fact, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        return False


_COMPARE: dict[tuple[FieldType, str], Callable[[Any, Any], bool]] = {
    ("text", "contains"): _contains,
    ("text", "not_contains"): lambda fact, value: not _contains(fact, value),
    ("text", "regex"): _search,
    ("text", "eq"): lambda fact, value: fact.casefold() == value.casefold(),
    ("choice", "eq"): lambda fact, value: fact == value,
    ("choice", "ne"): lambda fact, value: fact != value,
    ("choice", "in"): lambda fact, value: fact in value,
    ("choice", "not_in"): lambda fact, value: fact not in value,
    ("number", "eq"): lambda fact, value: fact == value,
    ("number", "ne"): lambda fact, value: fact != value,
    ("number", "gt"): lambda fact, value: fact > value,
    ("number", "gte"): lambda fact, value: fact >= value,
    ("number", "lt"): lambda fact, value: fact < value,
    ("number", "lte"): lambda fact, value: fact <= value,
    ("number", "between"): lambda fact, value: value[0] <= fact <= value[1],
    ("bool", "is"): lambda fact, value: fact is value,
    ("list", "has"): lambda fact, value: value in fact,
    ("list", "has_any"): lambda fact, value: any(item in fact for item in value),
    ("list", "has_all"): lambda fact, value: all(item in fact for item in value),
    ("list", "has_none"): lambda fact, value: not any(item in fact for item in value),
    ("list", "is_empty"): lambda fact, value: (len(fact) == 0) is value,
}


def evaluate(
    rules: Sequence[Rule],
    event: str,
    facts: Mapping[str, Any],
    *,
    already_fired: frozenset[int] = frozenset(),
) -> Decision:
    """Run the rules in order for one event and collect what the matching ones would do.

    A rule in already_fired matches without acting (it is listed in loops): its own actions changed the
    conversation, and running it again on the conversation_updated that followed would never end. If it
    has stop, it still stops the rules after it, as it did the first time.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    decision = Decision()
    for rule in rules:
        if not rule.enabled or event not in rule.events:
            continue
        if event == "no_reply":
            waited = facts.get("minutes_without_reply")
            if rule.minutes is None or not _is_number(waited) or waited < rule.minutes:
                continue
        if not matches(rule.conditions, facts):
            continue
        if rule.id in already_fired:
            decision.loops.append(rule.id)
        else:
            decision.matched.append(rule.id)
            decision.actions.extend((rule.id, action) for action in rule.actions)
        if rule.stop:
            decision.stopped_by = rule.id
            break
    return decision


def _slots(action: Mapping[str, Any]) -> set[str]:
    """What a single-valued action sets on the conversation; two actions on one slot conflict."""
    kind = action["type"]
    if kind == "assign_team":
        # Any strategy but "none" also picks the agent.
        return {"team"} if action.get("strategy") == "none" else {"team", "assignee"}
    if kind == "assign_agent":
        return {"assignee"}
    if kind == "escalate":
        return {
            slot
            for slot, key in (("team", "team"), ("assignee", "user"), ("priority", "priority"))
            if key in action
        }
    return {
        "set_priority": {"priority"},
        "set_status": {"status"},
        "resolve": {"status"},
        "apply_sla": {"sla"},
    }.get(kind, set())


def merge_actions(decision: Decision) -> list[tuple[int, dict[str, Any]]]:
    """The decision's actions with conflicts settled, in rule order.

    Rules are ordered by importance, so for what a conversation holds one of (team, assignee, priority,
    status, SLA policy) the first action to set it wins and later ones are dropped whole: assign_team,
    assign_agent and escalate's target, set_priority, set_status and resolve, apply_sla. An escalation whose
    target is free keeps its note even when an earlier rule already set the priority; only its priority goes.
    The additive actions (labels, notes, notify, hide, delete, create_lead, auto_ack, no_action) are all
    kept, each identical one once.
    """
    merged: list[tuple[int, dict[str, Any]]] = []
    taken: set[str] = set()
    seen: set[str] = set()
    for rule_id, action in decision.actions:
        if action["type"] == "escalate" and "priority" in action and "priority" in taken:
            action = {key: value for key, value in action.items() if key != "priority"}
        slots = _slots(action)
        if slots:
            if slots & taken:
                continue
            taken |= slots
        else:
            key = json.dumps(action, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
        merged.append((rule_id, action))
    return merged


# Describing

_OP_WORDS = {
    "contains": "contains",
    "not_contains": "does not contain",
    "regex": "matches",
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is not one of",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "has": "has",
    "has_any": "has any of",
    "has_all": "has all of",
    "has_none": "has none of",
}


def describe(cond: Mapping[str, Any]) -> str:
    """A checked condition on one line, for people: ``sentiment is negative AND (intents has complaint)``."""
    return _describe(cond, nested=False)


def _describe(cond: Mapping[str, Any], *, nested: bool) -> str:
    for key, joiner in (("all", " AND "), ("any", " OR ")):
        if key in cond:
            children = cond[key]
            if not children:
                return "always"
            if len(children) == 1:
                return _describe(children[0], nested=nested)
            text = joiner.join(_describe(child, nested=True) for child in children)
            return f"({text})" if nested else text
    if "not" in cond:
        return f"NOT ({_describe(cond['not'], nested=False)})"
    if not cond:
        return "always"
    name, op, value = cond["field"], cond["op"], cond["value"]
    subject = name.replace("_", " ")
    quoted = FIELDS[name].type == "text"
    if op == "is":
        return f"{subject} is {'true' if value else 'false'}"
    if op == "is_empty":
        return f"{subject} is {'empty' if value else 'not empty'}"
    if op == "between":
        return f"{subject} is between {_shown(value[0])} and {_shown(value[1])}"
    if op in ("contains", "not_contains") and isinstance(value, list):
        if len(value) > 1:
            verb = "contains any of" if op == "contains" else "contains none of"
            return f"{subject} {verb} {_shown(value, quoted=True)}"
        value = value[0]
    return f"{subject} {_OP_WORDS[op]} {_shown(value, quoted=quoted)}"


def _shown(value: Any, *, quoted: bool = False) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item, quoted=quoted) for item in value) + "]"
    if isinstance(value, str) and (quoted or not regex.fullmatch(r"[\w.-]+", value)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
