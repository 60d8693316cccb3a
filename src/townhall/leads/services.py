"""Reads and writes of leads."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from townhall.leads.models import Lead
from townhall.people.models import Lifecycle, Person


def do_record_signal(*, person: Person, source: dict[str, Any]) -> tuple[Lead, bool]:
    """A buying signal from `person`: create their lead (keeping the first source) or count one more."""
    lead, created = Lead.objects.get_or_create(
        workspace_id=person.workspace_id, person=person, defaults={"source": source, "signals": 1}
    )
    if not created:
        Lead.objects.filter(pk=lead.pk).update(signals=F("signals") + 1)
        lead.refresh_from_db()
    if person.lifecycle in (Lifecycle.UNKNOWN, Lifecycle.FOLLOWER, Lifecycle.MEMBER, Lifecycle.PROSPECT):
        person.lifecycle = Lifecycle.LEAD
        person.save(update_fields=["lifecycle"])
    return lead, created
