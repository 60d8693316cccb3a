"""Forms of the listening pages: a new topic with its first query, topic settings, a query, alert filters."""

from __future__ import annotations

from typing import Any

from django import forms

from townhall.core.errors import TownhallError
from townhall.listening.models import Topic, TopicKind
from townhall.listening.services import MAX_QUERY_LENGTH

QUERY_HELP = 'Terms, "phrases", OR, NOT or -, (groups), refund*, NEAR/3, lang:en, from:handle …'


def _query_field(label: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_QUERY_LENGTH,
        strip=False,
        help_text=QUERY_HELP,
        widget=forms.Textarea(
            attrs={"rows": 4, "class": "mono", "spellcheck": "false", "autocomplete": "off"}
        ),
    )


class TopicCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=TopicKind.choices, initial=TopicKind.BRAND)
    query = _query_field("First query")


class TopicSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=TopicKind.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(required=False, help_text="match new items against its queries")
    alerts = forms.BooleanField(required=False, help_text="watch its series for spikes")

    @classmethod
    def of(cls, topic: Topic) -> TopicSettingsForm:
        fields = ("name", "kind", "description", "active", "alerts")
        return cls(initial={name: getattr(topic, name) for name in fields}, prefix="settings")

    def changes(self, topic: Topic) -> dict[str, Any]:
        """Only the fields that differ, so an unchanged name is not checked against itself."""
        return {k: v for k, v in self.cleaned_data.items() if getattr(topic, k) != v}


class QueryForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="optional, to tell queries apart")
    text = _query_field("Query")


class AlertFilterForm(forms.Form):
    topic = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    unacknowledged = forms.BooleanField(required=False, label="Unacknowledged only")

    def __init__(self, *args: Any, topics: list[Topic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["topic"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All topics"), *((t.pk, t.name) for t in topics)]
        field.widget.attrs["aria-label"] = "Topic"


def add_service_error(form: forms.Form, exc: TownhallError, *, rename: dict[str, str] | None = None) -> None:
    """Show a service's error on the field it names (`rename` maps the service's name to the form's)."""
    field = (rename or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)
