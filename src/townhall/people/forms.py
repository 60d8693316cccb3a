"""Forms of the people pages."""

from __future__ import annotations

from django import forms

from townhall.people.models import Lifecycle
from townhall.people.services import PersonFilters


class PersonFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, handle or email", "autocomplete": "off"}
        ),
    )
    lifecycle = forms.ChoiceField(required=False, choices=[("", "Any lifecycle stage"), *Lifecycle.choices])

    def filters(self) -> PersonFilters:
        data = self.cleaned_data
        return PersonFilters(q=(data.get("q") or "").strip() or None, lifecycle=data.get("lifecycle") or None)
