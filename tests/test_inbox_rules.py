"""Routing rules: checking them, every test and group, running them in order, settling and describing them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.core.errors import Invalid
from townhall.inbox.rules import (
    ACTION_TYPES,
    EVENTS,
    FIELDS,
    MAX_DEPTH,
    MAX_LEAVES,
    OPS,
    Decision,
    FieldSpec,
    Rule,
    check_actions,
    check_conditions,
    check_rule,
    describe,
    evaluate,
    matches,
    merge_actions,
)


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


NEGATIVE = leaf("sentiment", "eq", "negative")
COMPLAINT = leaf("intents", "has", "complaint")
REFUND = leaf("text", "contains", "refund")


# Every test on a present fact

OP_CASES = [
    # text: casefolded substrings, a list meaning any of them
    (leaf("text", "contains", "refund"), {"text": "I want a REFUND now"}, True),
    (leaf("text", "contains", "straße"), {"text": "Hauptstrasse 5"}, True),
    (leaf("text", "contains", ["refund", "money back"]), {"text": "give me my Money Back"}, True),
    (leaf("text", "contains", ["refund", "money back"]), {"text": "thanks a lot"}, False),
    (leaf("text", "not_contains", "refund"), {"text": "thanks a lot"}, True),
    (leaf("text", "not_contains", ["thanks", "refund"]), {"text": "Thanks a lot"}, False),
    (leaf("text", "regex", r"\border\s*#?\d+"), {"text": "Where is ORDER #1234?"}, True),
    (leaf("text", "regex", r"\border\s*#?\d+"), {"text": "reorder 5"}, False),
    (leaf("text", "eq", "Thanks"), {"text": "THANKS"}, True),
    (leaf("text", "eq", "Thanks"), {"text": "Thanks!"}, False),
    # choice
    (leaf("sentiment", "eq", "negative"), {"sentiment": "negative"}, True),
    (leaf("sentiment", "eq", "negative"), {"sentiment": "neutral"}, False),
    (leaf("sentiment", "ne", "negative"), {"sentiment": "neutral"}, True),
    (leaf("sentiment", "ne", "negative"), {"sentiment": "negative"}, False),
    (leaf("kind", "in", ["dm", "mention"]), {"kind": "dm"}, True),
    (leaf("kind", "in", ["dm", "mention"]), {"kind": "review"}, False),
    (leaf("kind", "not_in", ["dm", "mention"]), {"kind": "review"}, True),
    (leaf("kind", "not_in", ["dm", "mention"]), {"kind": "mention"}, False),
    (leaf("language", "eq", "fr"), {"language": "fr"}, True),
    # number
    (leaf("followers", "eq", 100), {"followers": 100}, True),
    (leaf("followers", "ne", 100), {"followers": 100}, False),
    (leaf("followers", "gt", 100), {"followers": 100}, False),
    (leaf("followers", "gte", 100), {"followers": 100}, True),
    (leaf("followers", "lt", 100), {"followers": 99}, True),
    (leaf("followers", "lte", 100), {"followers": 101}, False),
    (leaf("spam", "gte", 0.8), {"spam": 0.93}, True),
    (leaf("past_csat", "between", [1, 2.5]), {"past_csat": 1}, True),
    (leaf("past_csat", "between", [1, 2.5]), {"past_csat": 2.5}, True),
    (leaf("past_csat", "between", [1, 2.5]), {"past_csat": 2.6}, False),
    (leaf("assignee", "eq", 7), {"assignee": 7}, True),
    # bool
    (leaf("vip", "is", True), {"vip": True}, True),
    (leaf("vip", "is", True), {"vip": False}, False),
    (leaf("business_hours", "is", False), {"business_hours": False}, True),
    # list
    (leaf("intents", "has", "complaint"), {"intents": ["question", "complaint"]}, True),
    (leaf("intents", "has", "complaint"), {"intents": ["question"]}, False),
    (leaf("labels", "has_any", ["vip", "press"]), {"labels": ["press"]}, True),
    (leaf("labels", "has_any", ["vip", "press"]), {"labels": ["billing"]}, False),
    (leaf("labels", "has_all", ["vip", "press"]), {"labels": ["press", "vip", "x"]}, True),
    (leaf("labels", "has_all", ["vip", "press"]), {"labels": ["press"]}, False),
    (leaf("labels", "has_none", ["vip", "press"]), {"labels": ["billing"]}, True),
    (leaf("labels", "has_none", ["vip", "press"]), {"labels": ["vip"]}, False),
    (leaf("labels", "is_empty", True), {"labels": []}, True),
    (leaf("labels", "is_empty", True), {"labels": ["vip"]}, False),
    (leaf("labels", "is_empty", False), {"labels": ["vip"]}, True),
    (leaf("listening_queries", "has", 12), {"listening_queries": [3, 12]}, True),
    (leaf("listening_queries", "has_any", [4, 5]), {"listening_queries": (3, 12)}, False),
]


@pytest.mark.parametrize(("cond", "facts", "expected"), OP_CASES)
def test_each_op_on_a_present_fact(cond: dict[str, Any], facts: dict[str, Any], expected: bool) -> None:
    check_conditions(cond)
    assert matches(cond, facts) is expected


def test_every_op_of_every_type_is_covered() -> None:
    covered = {(FIELDS[cond["field"]].type, cond["op"]) for cond, _, _ in OP_CASES}
    assert covered == {(kind, op) for kind, ops in OPS.items() for op in ops}


# A missing fact fails every test but the negative ones

MISSING_CASES = [
    (leaf("text", "contains", "refund"), False),
    (leaf("text", "not_contains", "refund"), True),
    (leaf("text", "regex", ".*"), False),
    (leaf("text", "eq", ""), False),
    (leaf("sentiment", "eq", "negative"), False),
    (leaf("sentiment", "ne", "negative"), True),
    (leaf("kind", "in", ["dm"]), False),
    (leaf("kind", "not_in", ["dm"]), True),
    (leaf("past_csat", "lt", 3), False),
    (leaf("past_csat", "gte", 3), False),
    (leaf("past_csat", "between", [1, 5]), False),
    (leaf("assignee", "eq", 7), False),
    (leaf("assignee", "ne", 7), True),
    (leaf("vip", "is", True), False),
    (leaf("vip", "is", False), False),
    (leaf("labels", "has", "vip"), False),
    (leaf("labels", "has_any", ["vip"]), False),
    (leaf("labels", "has_all", ["vip"]), False),
    (leaf("labels", "has_none", ["vip"]), True),
    (leaf("labels", "is_empty", True), True),
    (leaf("labels", "is_empty", False), False),
]


@pytest.mark.parametrize(("cond", "expected"), MISSING_CASES)
@pytest.mark.parametrize("facts", [{}, "none", "wrong type"])
def test_a_missing_fact(cond: dict[str, Any], expected: bool, facts: Any) -> None:
    # None, or a value of the wrong type, counts as missing rather than failing the whole event.
    if facts == "none":
        facts = {cond["field"]: None}
    elif facts == "wrong type":
        facts = {cond["field"]: {"unexpected": "object"}}
    assert matches(cond, facts) is expected


def test_a_number_fact_that_is_a_bool_counts_as_missing() -> None:
    assert matches(leaf("followers", "gte", 0), {"followers": True}) is False


# Groups


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({}, True),
        ({"all": []}, True),
        ({"all": [NEGATIVE, COMPLAINT]}, True),
        ({"all": [NEGATIVE, REFUND]}, False),
        ({"any": [REFUND, COMPLAINT]}, True),
        ({"any": [REFUND, leaf("vip", "is", True)]}, False),
        ({"not": REFUND}, True),
        ({"not": NEGATIVE}, False),
        ({"all": [NEGATIVE, {"any": [REFUND, COMPLAINT]}]}, True),
        ({"all": [NEGATIVE, {"not": {"any": [REFUND, COMPLAINT]}}]}, False),
    ],
)
def test_groups(cond: dict[str, Any], expected: bool) -> None:
    facts = {"sentiment": "negative", "intents": ["complaint"], "text": "this is late"}
    check_conditions(cond)
    assert matches(cond, facts) is expected


# Checking conditions: what is wrong, and where


@pytest.mark.parametrize(
    ("cond", "where", "message"),
    [
        (leaf("mood", "eq", "sad"), "conditions.field", "field must be one of text, network, "),
        (
            {"all": [NEGATIVE, leaf("sentiment", "gt", "negative")]},
            "conditions.all[1].op",
            "op for choice field sentiment must be one of eq, ne, in, not_in, got 'gt'",
        ),
        (
            leaf("sentiment", "eq", "angry"),
            "conditions.value",
            "sentiment must be one of negative, neutral, positive, unknown, got 'angry'",
        ),
        (
            {"any": [NEGATIVE, {"not": leaf("kind", "in", ["dm", "tweet"])}]},
            "conditions.any[1].not.value[1]",
            "kind must be one of post, comment, reply, dm, mention, review, forum_post, chat_message, "
            "got 'tweet'",
        ),
        (leaf("kind", "in", []), "conditions.value", "kind in takes a non-empty list, got []"),
        (leaf("kind", "in", "dm"), "conditions.value", "kind in takes a non-empty list, got 'dm'"),
        (leaf("followers", "gt", "1000"), "conditions.value", "followers takes a number, got '1000'"),
        (leaf("followers", "gt", True), "conditions.value", "followers takes a number, got True"),
        (leaf("followers", "gt", -1), "conditions.value", "followers is at least 0, so -1 can never match"),
        (leaf("spam", "gte", 50), "conditions.value", "spam is from 0 to 1, so 50 can never match"),
        (
            leaf("followers", "between", [10]),
            "conditions.value",
            "followers between takes [low, high], got [10]",
        ),
        (leaf("followers", "between", [10, "x"]), "conditions.value[1]", "followers takes a number, got 'x'"),
        (
            leaf("followers", "between", [100, 10]),
            "conditions.value",
            "followers between: the low end 100 is above the high end 10",
        ),
        (leaf("vip", "is", "yes"), "conditions.value", "vip is takes true or false, got 'yes'"),
        (leaf("labels", "is_empty", 1), "conditions.value", "labels is_empty takes true or false, got 1"),
        (leaf("text", "regex", "(refund"), "conditions.value", "text regex is not a valid pattern: "),
        (leaf("text", "regex", ""), "conditions.value", "text regex takes a pattern, got ''"),
        (
            leaf("text", "contains", []),
            "conditions.value",
            "text contains takes some text or a list of texts",
        ),
        (leaf("text", "contains", ["ok", ""]), "conditions.value", "text contains takes some text or a list"),
        (leaf("text", "eq", 3), "conditions.value", "text takes text, got 3"),
        (leaf("intents", "has_any", ["complaint", 3]), "conditions.value[1]", "intents takes a name, got 3"),
        (leaf("listening_queries", "has", "q1"), "conditions.value", "listening_queries holds ids"),
        ({"field": "vip", "op": "is"}, "conditions.value", "the test on vip needs a value"),
        (
            {"field": "vip", "op": "is", "value": True, "negate": True},
            "conditions.negate",
            'a test takes "field", "op" and "value", not \'negate\'',
        ),
        ({"all": [NEGATIVE, "vip"]}, "conditions.all[1]", "a condition must be an object"),
        ({"all": [{}]}, "conditions.all[0]", "a condition must be an object"),
        ({"all": NEGATIVE}, "conditions.all", '"all" takes a list of conditions'),
        ({"any": []}, "conditions.any", '"any" needs at least one condition'),
        ({"all": [], "any": [NEGATIVE]}, "conditions", "group takes no other key"),
        ({"not": NEGATIVE, "field": "vip"}, "conditions", '"not" group takes no other key'),
        ([NEGATIVE], "conditions", "a condition must be an object"),
    ],
)
def test_check_conditions_says_what_is_wrong_and_where(cond: Any, where: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_conditions(cond)
    assert caught.value.field == where
    assert message in caught.value.message


def _nested(depth: int) -> dict[str, Any]:
    cond: dict[str, Any] = NEGATIVE
    for _ in range(depth):
        cond = {"all": [cond]}
    return cond


def test_conditions_nest_at_most_eight_groups_deep() -> None:
    check_conditions(_nested(MAX_DEPTH))
    with pytest.raises(Invalid) as caught:
        check_conditions(_nested(MAX_DEPTH + 1))
    assert caught.value.message == "conditions may nest at most 8 groups deep"
    assert caught.value.field == "conditions" + ".all[0]" * MAX_DEPTH


def test_a_rule_tests_at_most_two_hundred_conditions() -> None:
    check_conditions({"any": [NEGATIVE] * MAX_LEAVES})
    with pytest.raises(Invalid) as caught:
        check_conditions({"any": [NEGATIVE] * 100 + [{"all": [NEGATIVE] * 101}]})
    assert caught.value.message == "a rule may test at most 200 conditions, this one has 201"
    assert caught.value.field == "conditions"


# Checking actions

VALID_ACTIONS: list[dict[str, Any]] = [
    {"type": "assign_team", "team": 3, "strategy": "round_robin"},
    {"type": "assign_agent", "user": 5},
    {"type": "set_priority", "priority": "urgent"},
    {"type": "add_label", "label": "vip"},
    {"type": "remove_label", "label": "vip"},
    {"type": "apply_sla", "policy": 2},
    {"type": "no_action"},
    {"type": "set_status", "status": "pending"},
    {"type": "resolve"},
    {"type": "hide"},
    {"type": "delete"},
    {"type": "create_lead"},
    {"type": "notify", "via": "webhook", "url": "https://hooks.example.com/x", "message": "look"},
    {"type": "notify", "via": "in_app", "users": [1, 2]},
    {"type": "escalate", "team": 4, "priority": "high", "note": "legal threat"},
    {"type": "escalate", "user": 9, "note": "press"},
    {"type": "auto_ack", "template": "Thanks {{ first_name }}, we are on it."},
    {"type": "add_note", "note": "customer since 2019"},
]


def test_every_action_type_checks() -> None:
    check_actions(VALID_ACTIONS)
    assert {action["type"] for action in VALID_ACTIONS} == set(ACTION_TYPES)


@pytest.mark.parametrize(
    ("actions", "where", "message"),
    [
        ([], "actions", "a rule needs a list of at least one action (no_action to only stop)"),
        ({"type": "hide"}, "actions", "a rule needs a list of at least one action"),
        ([{"type": "hide"}, "hide"], "actions[1]", 'an action must be an object with a "type"'),
        ([{"type": "explode"}], "actions[0].type", "action type must be one of assign_team, "),
        ([{"priority": "high"}], "actions[0].type", "got None"),
        ([{"type": "set_priority"}], "actions[0].priority", "set_priority needs priority"),
        (
            [{"type": "set_priority", "priority": "critical"}],
            "actions[0].priority",
            "must be one of urgent, high, medium, low, none, got 'critical'",
        ),
        ([{"type": "assign_team", "team": 3}], "actions[0].strategy", "assign_team needs strategy"),
        (
            [{"type": "assign_team", "team": "3", "strategy": "none"}],
            "actions[0].team",
            "must be an id (a positive whole number), got '3'",
        ),
        ([{"type": "assign_agent", "user": 0}], "actions[0].user", "must be an id"),
        ([{"type": "set_status", "status": "closed"}], "actions[0].status", "must be one of open, pending"),
        ([{"type": "add_label", "label": "  "}], "actions[0].label", "must be some text, got '  '"),
        ([{"type": "add_label", "label": "x" * 65}], "actions[0].label", "a label is at most 64 characters"),
        (
            [{"type": "add_label", "label": "vip", "color": "red"}],
            "actions[0].color",
            "takes no parameter 'color'",
        ),
        ([{"type": "resolve", "note": "done"}], "actions[0].note", "resolve takes no parameter 'note'"),
        ([{"type": "notify", "via": "webhook"}], "actions[0].url", "a webhook notification needs a url"),
        ([{"type": "notify", "via": "sms"}], "actions[0].via", "must be one of webhook, in_app, got 'sms'"),
        (
            [{"type": "notify", "via": "webhook", "url": "ftp://example.com"}],
            "actions[0].url",
            "must be an http:// or https:// address, got 'ftp://example.com'",
        ),
        ([{"type": "notify", "via": "webhook", "url": "https://"}], "actions[0].url", "must be an http://"),
        (
            [{"type": "notify", "via": "in_app", "url": "https://example.com"}],
            "actions[0].url",
            "only a webhook notification takes a url",
        ),
        ([{"type": "notify", "via": "in_app", "users": [1, -2]}], "actions[0].users[1]", "must be an id"),
        (
            [{"type": "notify", "via": "in_app", "users": []}],
            "actions[0].users",
            "must be a non-empty list of ids",
        ),
        ([{"type": "escalate", "note": "help"}], "actions[0]", "escalate needs a team, a user or both"),
        ([{"type": "escalate", "team": 2}], "actions[0].note", "escalate needs note"),
        (
            [{"type": "escalate", "team": 2, "note": "x", "priority": "p1"}],
            "actions[0].priority",
            "must be one of",
        ),
        ([{"type": "auto_ack", "template": ""}], "actions[0].template", "must be some text"),
        ([{"type": "add_note"}], "actions[0].note", "add_note needs note"),
    ],
)
def test_check_actions_says_what_is_wrong_and_where(actions: Any, where: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_actions(actions)
    assert caught.value.field == where
    assert message in caught.value.message


# Checking a whole rule


def test_a_valid_rule_checks() -> None:
    check_rule(
        "Angry VIPs", ["item_received"], {"all": [NEGATIVE]}, [{"type": "set_priority", "priority": "high"}]
    )
    check_rule("Chase", ("no_reply",), {}, [{"type": "add_label", "label": "waiting"}], 30)


@pytest.mark.parametrize(
    ("name", "events", "minutes", "where", "message"),
    [
        ("", ["item_received"], None, "name", "a rule needs a name"),
        ("x" * 201, ["item_received"], None, "name", "a rule name is at most 200 characters"),
        ("r", [], None, "events", "events must be a non-empty list of item_received, "),
        ("r", "item_received", None, "events", "events must be a non-empty list"),
        ("r", ["item_received", "mentioned"], None, "events[1]", "event must be one of item_received, "),
        ("r", ["no_reply"], None, "minutes", "a no_reply rule needs minutes above 0, got None"),
        ("r", ["no_reply"], 0, "minutes", "a no_reply rule needs minutes above 0, got 0"),
        ("r", ["item_received"], 30, "minutes", "minutes only applies to no_reply rules"),
    ],
)
def test_check_rule_says_what_is_wrong_and_where(
    name: str, events: Any, minutes: Any, where: str, message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        check_rule(name, events, {}, [{"type": "hide"}], minutes)
    assert caught.value.field == where
    assert message in caught.value.message


def test_check_rule_checks_conditions_and_actions() -> None:
    with pytest.raises(Invalid) as caught:
        check_rule("r", ["item_received"], {"all": [leaf("vip", "is", 1)]}, [{"type": "hide"}])
    assert caught.value.field == "conditions.all[0].value"
    with pytest.raises(Invalid) as caught:
        check_rule("r", ["item_received"], {}, [{"type": "hide"}, {"type": "apply_sla"}])
    assert caught.value.field == "actions[1].policy"


# Evaluating


def rule(rule_id: int, cond: dict[str, Any] | None = None, **options: Any) -> Rule:
    options.setdefault("events", ("item_received",))
    options.setdefault("actions", [{"type": "add_label", "label": f"r{rule_id}"}])
    return Rule(id=rule_id, name=f"rule {rule_id}", conditions=cond or {}, **options)


ANGRY = {"sentiment": "negative", "intents": ["complaint"], "text": "where is my refund"}


def test_rules_run_in_order_and_collect_their_actions() -> None:
    rules = [
        rule(1, NEGATIVE),
        rule(2, leaf("vip", "is", True)),
        rule(
            3,
            REFUND,
            actions=[{"type": "set_priority", "priority": "high"}, {"type": "add_note", "note": "$"}],
        ),
    ]
    decision = evaluate(rules, "item_received", ANGRY)
    assert decision == Decision(
        actions=[
            (1, {"type": "add_label", "label": "r1"}),
            (3, {"type": "set_priority", "priority": "high"}),
            (3, {"type": "add_note", "note": "$"}),
        ],
        matched=[1, 3],
        stopped_by=None,
        loops=[],
    )


def test_disabled_rules_and_rules_for_other_events_are_skipped() -> None:
    rules = [
        rule(1, enabled=False),
        rule(2, events=("conversation_created",)),
        rule(3, events=("conversation_created", "item_received")),
    ]
    assert evaluate(rules, "item_received", ANGRY).matched == [3]
    assert evaluate(rules, "conversation_created", ANGRY).matched == [2, 3]
    assert evaluate(rules, "sla_breached", ANGRY).matched == []


def test_a_matching_rule_with_stop_ends_evaluation() -> None:
    rules = [
        rule(1, REFUND),
        rule(2, leaf("vip", "is", True), stop=True),
        rule(3, NEGATIVE, stop=True),
        rule(4),
    ]
    decision = evaluate(rules, "item_received", ANGRY)
    assert decision.matched == [1, 3]
    assert decision.stopped_by == 3
    assert [rule_id for rule_id, _ in decision.actions] == [1, 3]


def test_no_reply_rules_fire_once_we_waited_their_minutes() -> None:
    rules = [
        rule(1, events=("no_reply",), minutes=30),
        rule(2, events=("no_reply",), minutes=120),
        rule(3, events=("no_reply",)),  # stored without minutes: never fires on no_reply
        rule(4, events=("no_reply", "item_received"), minutes=60),
    ]
    assert evaluate(rules, "no_reply", {"minutes_without_reply": 29}).matched == []
    assert evaluate(rules, "no_reply", {"minutes_without_reply": 30}).matched == [1]
    assert evaluate(rules, "no_reply", {"minutes_without_reply": 500}).matched == [1, 2, 4]
    assert evaluate(rules, "no_reply", {}).matched == []
    # The minutes count only for no_reply.
    assert evaluate(rules, "item_received", {"minutes_without_reply": 0}).matched == [4]


def test_rules_that_already_fired_are_reported_as_loops_instead_of_acting_again() -> None:
    rules = [rule(1, NEGATIVE), rule(2, REFUND), rule(3, leaf("vip", "is", True))]
    decision = evaluate(rules, "item_received", ANGRY, already_fired=frozenset({2, 3}))
    assert decision.matched == [1]
    assert decision.loops == [2]  # rule 3 did not match, so it is no loop
    assert decision.actions == [(1, {"type": "add_label", "label": "r1"})]


def test_a_looping_rule_with_stop_still_stops_the_rules_after_it() -> None:
    updated = ("conversation_updated",)
    rules = [rule(1, NEGATIVE, stop=True, events=updated), rule(2, REFUND, events=updated)]
    decision = evaluate(rules, "conversation_updated", ANGRY, already_fired=frozenset({1}))
    assert decision == Decision(actions=[], matched=[], stopped_by=1, loops=[1])


def test_evaluate_refuses_an_unknown_event() -> None:
    with pytest.raises(ValueError, match="unknown event 'mentioned'"):
        evaluate([rule(1)], "mentioned", ANGRY)


# Settling conflicting actions


def merged(*actions: tuple[int, dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    return merge_actions(Decision(actions=list(actions), matched=sorted({rule_id for rule_id, _ in actions})))


def test_the_first_rule_wins_what_a_conversation_holds_one_of() -> None:
    assert merged(
        (1, {"type": "set_priority", "priority": "urgent"}),
        (2, {"type": "set_priority", "priority": "low"}),
        (1, {"type": "apply_sla", "policy": 1}),
        (3, {"type": "apply_sla", "policy": 2}),
        (2, {"type": "set_status", "status": "pending"}),
        (3, {"type": "resolve"}),
    ) == [
        (1, {"type": "set_priority", "priority": "urgent"}),
        (1, {"type": "apply_sla", "policy": 1}),
        (2, {"type": "set_status", "status": "pending"}),
    ]


def test_assignments_conflict_on_the_team_or_agent_they_set() -> None:
    round_robin = {"type": "assign_team", "team": 3, "strategy": "round_robin"}
    team_only = {"type": "assign_team", "team": 3, "strategy": "none"}
    agent = {"type": "assign_agent", "user": 5}
    # A team with a strategy picks the agent too, so a later agent loses, and the other way round.
    assert merged((1, round_robin), (2, agent)) == [(1, round_robin)]
    assert merged((1, agent), (2, round_robin)) == [(1, agent)]
    # Setting only the team leaves the agent free.
    assert merged((1, team_only), (2, agent)) == [(1, team_only), (2, agent)]
    escalate_team = {"type": "escalate", "team": 9, "note": "legal"}
    assert merged((1, team_only), (2, escalate_team)) == [(1, team_only)]
    escalate_user = {"type": "escalate", "user": 7, "note": "legal"}
    assert merged((1, team_only), (2, escalate_user)) == [(1, team_only), (2, escalate_user)]


def test_an_escalation_keeps_its_note_when_only_its_priority_lost() -> None:
    assert merged(
        (1, {"type": "set_priority", "priority": "low"}),
        (2, {"type": "escalate", "user": 7, "priority": "urgent", "note": "threat"}),
        (3, {"type": "set_priority", "priority": "high"}),
    ) == [
        (1, {"type": "set_priority", "priority": "low"}),
        (2, {"type": "escalate", "user": 7, "note": "threat"}),
    ]
    # An escalation first takes the priority from later rules.
    assert merged(
        (1, {"type": "escalate", "user": 7, "priority": "urgent", "note": "threat"}),
        (2, {"type": "set_priority", "priority": "low"}),
    ) == [(1, {"type": "escalate", "user": 7, "priority": "urgent", "note": "threat"})]


def test_additive_actions_are_all_kept_once_each() -> None:
    assert merged(
        (1, {"type": "add_label", "label": "vip"}),
        (1, {"type": "notify", "via": "in_app", "users": [1]}),
        (2, {"type": "add_label", "label": "vip"}),
        (2, {"type": "add_label", "label": "press"}),
        (2, {"type": "no_action"}),
        (3, {"type": "notify", "via": "in_app", "users": [1]}),
        (3, {"type": "notify", "via": "in_app", "users": [2]}),
        (3, {"type": "no_action"}),
        (3, {"type": "hide"}),
        (4, {"type": "hide"}),
        (4, {"type": "auto_ack", "template": "hi"}),
    ) == [
        (1, {"type": "add_label", "label": "vip"}),
        (1, {"type": "notify", "via": "in_app", "users": [1]}),
        (2, {"type": "add_label", "label": "press"}),
        (2, {"type": "no_action"}),
        (3, {"type": "notify", "via": "in_app", "users": [2]}),
        (3, {"type": "hide"}),
        (4, {"type": "auto_ack", "template": "hi"}),
    ]


# Describing


@pytest.mark.parametrize(
    ("cond", "text"),
    [
        (
            {"all": [NEGATIVE, {"any": [COMPLAINT, REFUND]}]},
            'sentiment is negative AND (intents has complaint OR text contains "refund")',
        ),
        ({}, "always"),
        ({"all": []}, "always"),
        ({"all": [{"any": [COMPLAINT, REFUND]}]}, 'intents has complaint OR text contains "refund"'),
        (
            {"any": [{"all": [NEGATIVE, COMPLAINT]}, REFUND]},
            '(sentiment is negative AND intents has complaint) OR text contains "refund"',
        ),
        ({"not": NEGATIVE}, "NOT (sentiment is negative)"),
        ({"not": {"any": [NEGATIVE, COMPLAINT]}}, "NOT (sentiment is negative OR intents has complaint)"),
        (leaf("text", "contains", ["refund", "money back"]), 'text contains any of ["refund", "money back"]'),
        (leaf("text", "not_contains", ["refund"]), 'text does not contain "refund"'),
        (leaf("text", "not_contains", ["a", "b"]), 'text contains none of ["a", "b"]'),
        (leaf("text", "regex", r"order\s*\d+"), 'text matches "order\\\\s*\\\\d+"'),
        (leaf("kind", "not_in", ["dm", "mention"]), "kind is not one of [dm, mention]"),
        (leaf("loyalty_tier", "eq", "Gold tier"), 'loyalty tier is "Gold tier"'),
        (leaf("minutes_without_reply", "gte", 30), "minutes without reply >= 30"),
        (leaf("spam", "lt", 0.5), "spam < 0.5"),
        (leaf("followers", "between", [1000, 5000]), "followers is between 1000 and 5000"),
        (leaf("vip", "is", False), "vip is false"),
        (leaf("labels", "is_empty", False), "labels is not empty"),
        (leaf("labels", "has_none", ["spam", "ignored"]), "labels has none of [spam, ignored]"),
        (leaf("listening_queries", "has", 12), "listening queries has 12"),
    ],
)
def test_describe(cond: dict[str, Any], text: str) -> None:
    check_conditions(cond)
    assert describe(cond) == text


# Properties over random rules

_WORDS = st.sampled_from(["refund", "ORDER", "straße", "café", "late", "!"])
_NAMES = st.sampled_from(["complaint", "refund", "praise", "vip", "billing"])
_PATTERNS = st.sampled_from([r"\border\b", "ref(und)?", "^caf", r"\d+", "(?i)STRASSE"])


def _number(spec: FieldSpec) -> st.SearchStrategy[float]:
    low = -1000.0 if spec.minimum is None else spec.minimum
    high = 1000.0 if spec.maximum is None else spec.maximum
    return st.one_of(st.integers(int(low), int(high)), st.floats(low, high))


def _leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = FIELDS[name]
    pairs: st.SearchStrategy[tuple[str, Any]]
    if spec.type == "text":
        pairs = st.one_of(
            st.tuples(st.sampled_from(["contains", "not_contains"]), _WORDS | st.lists(_WORDS, min_size=1)),
            st.tuples(st.just("eq"), _WORDS),
            st.tuples(st.just("regex"), _PATTERNS),
        )
    elif spec.type == "choice":
        choice = st.sampled_from(spec.choices) if spec.choices else _NAMES
        pairs = st.one_of(
            st.tuples(st.sampled_from(["eq", "ne"]), choice),
            st.tuples(st.sampled_from(["in", "not_in"]), st.lists(choice, min_size=1, max_size=3)),
        )
    elif spec.type == "number":
        pairs = st.one_of(
            st.tuples(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), _number(spec)),
            st.tuples(st.just("between"), st.lists(_number(spec), min_size=2, max_size=2).map(sorted)),
        )
    elif spec.type == "bool":
        pairs = st.tuples(st.just("is"), st.booleans())
    else:
        item = st.integers(1, 5) if spec.items == "number" else _NAMES
        pairs = st.one_of(
            st.tuples(st.just("has"), item),
            st.tuples(
                st.sampled_from(["has_any", "has_all", "has_none"]), st.lists(item, min_size=1, max_size=3)
            ),
            st.tuples(st.just("is_empty"), st.booleans()),
        )
    return pairs.map(lambda pair: leaf(name, *pair))


def _fact(name: str) -> st.SearchStrategy[Any]:
    spec = FIELDS[name]
    if spec.type == "text":
        fact: st.SearchStrategy[Any] = st.text(max_size=20) | st.lists(_WORDS, max_size=4).map(" ".join)
    elif spec.type == "choice":
        fact = st.sampled_from(spec.choices) if spec.choices else _NAMES
    elif spec.type == "number":
        fact = st.integers(-2000, 2000) | st.floats(allow_nan=False, allow_infinity=False)
    elif spec.type == "bool":
        fact = st.booleans()
    else:
        fact = st.lists(st.integers(1, 5) if spec.items == "number" else _NAMES, max_size=4)
    return fact | st.none()


LEAVES = st.sampled_from(sorted(FIELDS)).flatmap(_leaf)
CONDITIONS = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda group: {"all": group}),
        st.lists(children, min_size=1, max_size=3).map(lambda group: {"any": group}),
        children.map(lambda child: {"not": child}),
    ),
    max_leaves=10,
)
FACTS = st.fixed_dictionaries({}, optional={name: _fact(name) for name in FIELDS})


def _depth(cond: dict[str, Any]) -> int:
    children = cond.get("all") or cond.get("any") or ([cond["not"]] if "not" in cond else None)
    return 0 if children is None else 1 + max((_depth(child) for child in children), default=0)


@settings(max_examples=200, deadline=None)
@given(CONDITIONS.filter(lambda cond: _depth(cond) <= MAX_DEPTH), FACTS)
def test_random_conditions_check_match_and_describe(cond: dict[str, Any], facts: dict[str, Any]) -> None:
    check_conditions(cond)
    assert isinstance(matches(cond, facts), bool)
    text = describe(cond)
    assert text and "\n" not in text


@settings(max_examples=200, deadline=None)
@given(CONDITIONS, CONDITIONS, FACTS)
def test_de_morgan(a: dict[str, Any], b: dict[str, Any], facts: dict[str, Any]) -> None:
    assert matches({"not": {"all": [a, b]}}, facts) == matches({"any": [{"not": a}, {"not": b}]}, facts)
    assert matches({"not": {"any": [a, b]}}, facts) == matches({"all": [{"not": a}, {"not": b}]}, facts)
    assert matches({"not": {"not": a}}, facts) == matches(a, facts)


@settings(max_examples=200, deadline=None)
@given(LEAVES)
def test_a_missing_fact_passes_only_the_negative_tests(cond: dict[str, Any]) -> None:
    negative = cond["op"] in ("ne", "not_in", "not_contains", "has_none")
    assert matches(cond, {}) is (negative or (cond["op"] == "is_empty" and cond["value"] is True))


def test_every_event_can_be_listened_to() -> None:
    for event in EVENTS:
        minutes = 1 if event == "no_reply" else None
        check_rule("r", [event], {}, [{"type": "no_action"}], minutes)
        facts = {"minutes_without_reply": 1}
        assert evaluate([rule(1, events=(event,), minutes=minutes)], event, facts).matched == [1]
