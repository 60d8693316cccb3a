"""Forms of the item pages: the list filters and the import upload."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from django import forms

from townhall.connectors.models import Channel, Network
from townhall.enrich.engine import CARE_INTENTS, SENTIMENTS
from townhall.items import importers
from townhall.items.models import Direction, Kind
from townhall.items.services import ItemFilters


class ItemFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search text", "autocomplete": "off"}),
    )
    network = forms.ChoiceField(required=False, choices=[("", "All networks"), *Network.choices])
    channel = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    direction = forms.ChoiceField(required=False, choices=[("", "Both directions"), *Direction.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *Kind.choices])
    author = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs={"placeholder": "@handle"})
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    sentiment = forms.ChoiceField(
        required=False, choices=[("", "Any sentiment"), *((s, s.capitalize()) for s in SENTIMENTS)]
    )
    intent = forms.ChoiceField(
        required=False, choices=[("", "Any intent"), *((i, i.replace("_", " ")) for i in CARE_INTENTS)]
    )

    def __init__(self, data: Any, *, channels: list[Channel]) -> None:
        super().__init__(data)
        field = self.fields["channel"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All channels"), *((c.pk, f"@{c.handle}") for c in channels)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self, *, zone: tzinfo) -> ItemFilters:
        """The service's filters; dates are whole days in the workspace's time zone, `until` included."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return ItemFilters(
            network=data.get("network") or None,
            channel=data.get("channel"),
            direction=data.get("direction") or None,
            kind=data.get("kind") or None,
            person=data.get("person"),
            author=(data.get("author") or "").strip() or None,
            q=(data.get("q") or "").strip() or None,
            since=datetime.combine(since, time.min, tzinfo=zone) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone) if until else None,
            sentiment=data.get("sentiment") or None,
            intent=data.get("intent") or None,
        )


FORMAT_LABELS = {"twcs": "Customer Support on Twitter (CSV)", "jsonl": "Generic items (JSON Lines)"}


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=[(fmt, FORMAT_LABELS.get(fmt, fmt)) for fmt in importers.FORMATS])
