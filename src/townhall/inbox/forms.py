"""Forms of the inbox pages: list filters, what agents do to a conversation, and the inbox's set-up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict

from townhall.core.errors import Invalid, TownhallError
from townhall.enrich.engine import CARE_INTENTS, SENTIMENTS
from townhall.inbox import rules
from townhall.inbox.models import Conversation, Priority, SlaPolicy, Status, Team
from townhall.inbox.services import VIEWS, ConversationFilters

STATUS_CHOICES = [
    ("open", "Open"),
    ("pending", "Pending"),
    ("snoozed", "Snoozed"),
    ("resolved", "Resolved"),
    ("all", "Any status"),
]
BUYING_STAGES = [("customer", "Customers"), ("prospect", "Prospects"), ("churned", "Churned")]
FILTER_NAMES = ("view", "status", "priority", "team", "sentiment", "intent", "buying_stage", "label")


def _words(code: str) -> str:
    return code.replace("_", " ").capitalize().replace("Sla ", "SLA ")


def _choices(first: str, pairs: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    return [("", first), *pairs]


def add_service_error(form: forms.Form, exc: TownhallError) -> None:
    """Show a service's error on the field it names; a deeper path (``actions[0].type``) stays in the text."""
    root = re.split(r"[.\[]", exc.field or "", maxsplit=1)[0]
    if root in form.fields:
        form.add_error(root, exc.message if exc.field == root else f"{exc.field}: {exc.message}")
    else:
        form.add_error(None, f"{exc.field}: {exc.message}" if exc.field else exc.message)


def filter_data(saved: Mapping[str, Any]) -> dict[str, str]:
    """A saved view's filters as the filter form reads them from a query string."""
    data = {name: "" if value is None else str(value) for name, value in saved.items()}
    if saved.get("status", "open") is None:
        data["status"] = "all"
    return data


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(required=False, choices=[(v, v) for v in VIEWS], widget=forms.HiddenInput)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    priority = forms.ChoiceField(required=False, choices=_choices("Any priority", Priority.choices))
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sentiment = forms.ChoiceField(
        required=False, choices=_choices("Any sentiment", ((s, s.capitalize()) for s in SENTIMENTS))
    )
    intent = forms.ChoiceField(
        required=False, choices=_choices("Any intent", ((i, _words(i)) for i in CARE_INTENTS))
    )
    buying_stage = forms.ChoiceField(required=False, choices=_choices("Any buying stage", BUYING_STAGES))
    label = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, teams: list[Team], labels: list[str]) -> None:
        super().__init__(data)
        team = self.fields["team"]
        assert isinstance(team, forms.TypedChoiceField)
        team.choices = _choices("Any team", ((t.pk, t.name) for t in teams))
        wanted = (data or {}).get("label") or ""
        names = labels if not wanted or wanted in labels else [*labels, wanted]
        label = self.fields["label"]
        assert isinstance(label, forms.ChoiceField)
        label.choices = _choices("Any label", ((n, n) for n in names))

    def filters(self) -> ConversationFilters:
        data = self.cleaned_data
        status = data.get("status") or "open"
        return ConversationFilters(
            view=data.get("view") or "all",
            status=None if status == "all" else status,
            priority=data.get("priority") or None,
            team=data.get("team"),
            sentiment=data.get("sentiment") or None,
            intent=data.get("intent") or None,
            buying_stage=data.get("buying_stage") or None,
            label=data.get("label") or None,
        )

    def saved_filters(self) -> dict[str, Any]:
        """The filters that differ from the inbox's default (all open conversations), for a saved view."""
        chosen: dict[str, Any] = {}
        for name in FILTER_NAMES:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            if (name, value) in (("view", "all"), ("status", "open")):
                continue
            chosen[name] = None if (name, value) == ("status", "all") else value
        return chosen


class SaveViewForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "View name"}))
    shared = forms.BooleanField(required=False, label="Shared with the workspace")


BULK_ACTIONS = [
    ("assign_me", "Assign to me"),
    ("priority", "Set priority"),
    ("label", "Add label"),
    ("resolve", "Resolve"),
]


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    priority = forms.ChoiceField(required=False, choices=_choices("Priority…", Priority.choices))
    label = forms.CharField(required=False, max_length=64)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = self.data.getlist("ids") if isinstance(self.data, QueryDict) else []
        try:
            data["ids"] = sorted({int(value) for value in raw})
        except ValueError:
            raise forms.ValidationError("Conversation ids are whole numbers.") from None
        if not data["ids"]:
            raise forms.ValidationError("Tick at least one conversation first.")
        if data.get("action") == "priority" and not data.get("priority"):
            self.add_error("priority", "Choose the priority to set.")
        if data.get("action") == "label" and not (data.get("label") or "").strip():
            self.add_error("label", "Name the label to add.")
        return data

    def changes(self, user: Any) -> tuple[dict[str, Any], list[str]]:
        """(changes, labels to add) for `services.do_bulk`."""
        data = self.cleaned_data
        action = data["action"]
        if action == "assign_me":
            return {"assignee": user.pk}, []
        if action == "priority":
            return {"priority": data["priority"]}, []
        if action == "label":
            return {}, [data["label"].strip()]
        return {"status": Status.RESOLVED}, []


class ConversationUpdateForm(forms.Form):
    """Status, priority, assignee, team, SLA policy, labels and CSAT; only what changed reaches a service."""

    status = forms.ChoiceField(required=False, choices=Status.choices)
    snoozed_until = forms.DateTimeField(
        required=False,
        label="Snoozed until",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
    )
    priority = forms.ChoiceField(required=False, choices=Priority.choices)
    assignee = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    sla_policy = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="SLA policy")
    csat = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Customer satisfaction",
        choices=_choices("Score…", ((n, f"{n} of 5") for n in range(1, 6))),
    )
    add_label = forms.CharField(required=False, max_length=64, label="Add a label")
    remove_label = forms.CharField(required=False, max_length=64)

    def __init__(
        self,
        data: Any = None,
        *,
        conversation: Conversation,
        members: list[AbstractBaseUser],
        teams: list[Team],
        policies: list[SlaPolicy],
    ) -> None:
        self.conversation = conversation
        current = self.current(conversation)
        # Each small form on the page posts only its own fields; the rest read as they stand now.
        super().__init__(None if data is None else {**current, **data.dict()}, initial=current)
        for name, pairs, empty in (
            ("assignee", ((u.pk, u.get_username()) for u in members), "Unassigned"),
            ("team", ((t.pk, t.name) for t in teams), "No team"),
            ("sla_policy", ((p.pk, p.name) for p in policies), "No SLA policy"),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = _choices(empty, pairs)

    @staticmethod
    def current(c: Conversation) -> dict[str, str]:
        return {
            "status": c.status,
            "snoozed_until": c.snoozed_until.isoformat() if c.snoozed_until else "",
            "priority": c.priority,
            "assignee": str(c.assignee_id or ""),
            "team": str(c.team_id or ""),
            "sla_policy": str(c.sla_policy_id or ""),
            "csat": str(c.csat or ""),
        }

    def changes(self) -> dict[str, Any]:
        c, data = self.conversation, self.cleaned_data
        now = {
            "status": c.status,
            "priority": c.priority,
            "assignee": c.assignee_id,
            "team": c.team_id,
            "sla_policy": c.sla_policy_id,
            "csat": c.csat,
        }
        changes = {name: data[name] for name in now if data.get(name) not in (None, "", now[name])}
        for name in ("assignee", "team", "sla_policy"):
            if data.get(name) is None and now[name] is not None:
                changes[name] = None
        snooze = data.get("snoozed_until")
        if c.status == Status.SNOOZED and "status" not in changes and snooze and snooze != c.snoozed_until:
            changes["status"] = Status.SNOOZED  # a new wake-up time for a snoozed conversation
        if changes.get("status") == Status.SNOOZED:
            changes["snoozed_until"] = snooze
        return changes

    def labels(self) -> tuple[list[str], list[str]]:
        add, remove = self.cleaned_data.get("add_label") or "", self.cleaned_data.get("remove_label") or ""
        return ([add.strip()] if add.strip() else []), ([remove] if remove else [])


class ReplyForm(forms.Form):
    text = forms.CharField(
        strip=False,
        label="Reply",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a reply… (r)"}),
        error_messages={"required": "A reply needs some text."},
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Only your team sees this; @username notifies (n)"}
        ),
        error_messages={"required": "A note needs some text."},
    )


class DelegateForm(forms.Form):
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    assignee = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Person")
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Note for them",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What they need to know"}),
    )

    def __init__(self, data: Any = None, *, members: list[AbstractBaseUser], teams: list[Team]) -> None:
        super().__init__(data, auto_id="id_delegate_%s")  # the page's other forms have a team field too
        for name, pairs, empty in (
            ("team", ((t.pk, t.name) for t in teams), "No team"),
            ("assignee", ((u.pk, u.get_username()) for u in members), "Team's next available member"),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.TypedChoiceField)
            field.choices = _choices(empty, pairs)


class MergeForm(forms.Form):
    into = forms.IntegerField(
        min_value=1,
        label="Merge into conversation",
        widget=forms.NumberInput(attrs={"placeholder": "Conversation id"}),
    )


# The inbox's set-up


class RuleForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    events = forms.MultipleChoiceField(
        required=False, choices=[(e, _words(e)) for e in rules.EVENTS], widget=forms.CheckboxSelectMultiple
    )
    conditions = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
        help_text='JSON, e.g. {"all": [{"field": "sentiment", "op": "eq", "value": "negative"}]}; {}: always',
    )
    actions = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
        help_text='JSON: [{"type": "set_priority", "priority": "high"}]',
    )
    minutes = forms.IntegerField(required=False, min_value=1, help_text="no_reply rules only")
    stop = forms.BooleanField(
        required=False, label="Stop here: later rules are not evaluated once this matches"
    )

    def _json(self, name: str, empty: Any) -> Any:
        source = (self.cleaned_data.get(name) or "").strip()
        if not source:
            return empty
        try:
            return json.loads(source)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"{name} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None

    def clean_conditions(self) -> Any:
        return self._json("conditions", {})

    def clean_actions(self) -> Any:
        return self._json("actions", [])

    def rule_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data.get("name") or "",
            "events": list(data.get("events") or []),
            "conditions": data.get("conditions"),
            "actions": data.get("actions"),
            "minutes": data.get("minutes"),
            "stop": bool(data.get("stop")),
        }


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, max_length=300)


def team_members(data: QueryDict, *, user_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(user id, capacity) of each ticked member of the members form; capacity is blank for no cap."""
    ticked = set(data.getlist("member"))
    chosen = []
    for user_id in user_ids:
        if str(user_id) not in ticked:
            continue
        raw = (data.get(f"capacity_{user_id}") or "0").strip()
        if not raw.isdigit():
            raise Invalid("capacity is a whole number: 0 for no cap", field=f"capacity_{user_id}")
        chosen.append((user_id, int(raw)))
    return chosen


class CannedForm(forms.Form):
    shortcut = forms.SlugField(max_length=50, help_text="letters, digits and dashes")
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Variables: {{ first_name }}, {{ name }}, {{ handle }}, {{ agent_name }}, {{ brand }}",
    )


class ReportForm(forms.Form):
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def period(self, *, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
        """Whole days in the workspace's time zone, `until` included."""
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        return (
            datetime.combine(since, time.min, tzinfo=zone) if since else None,
            datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone) if until else None,
        )
