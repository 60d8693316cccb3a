"""People and their identities: lookups, the person timeline, and edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Count, Q, QuerySet

from townhall.core.errors import Invalid, NotFound
from townhall.core.pagination import Page, paginate_newest_first
from townhall.core.services import apply_changes, check_choice
from townhall.core.validation import unstorable
from townhall.items.models import Item
from townhall.people.models import Activity, Lifecycle, Person
from townhall.workspaces.models import Workspace

EDITABLE = ("display_name", "email", "location", "bio", "lifecycle", "is_team_member", "is_bot")


@dataclass
class PersonFilters:
    q: str | None = None
    lifecycle: str | None = None
    network: str | None = None


def filter_people(*, workspace: Workspace, filters: PersonFilters) -> QuerySet[Person]:
    for name in ("q", "network"):
        problem = unstorable(getattr(filters, name))
        if problem:
            raise Invalid(f"{name} {problem}", field=name)
    if filters.lifecycle and filters.lifecycle not in Lifecycle.values:
        raise Invalid(f"lifecycle must be one of {', '.join(Lifecycle.values)}", field="lifecycle")
    rows = Person.objects.filter(workspace=workspace)
    if filters.lifecycle:
        rows = rows.filter(lifecycle=filters.lifecycle)
    if filters.network:
        rows = rows.filter(identities__network=filters.network)
    if filters.q:
        term = filters.q.lstrip("@")
        rows = rows.filter(
            Q(display_name__icontains=term) | Q(identities__handle__icontains=term) | Q(email__iexact=term)
        )
    return rows.distinct()


def list_people(
    *, workspace: Workspace, filters: PersonFilters, cursor: str | None = None, limit: int = 50
) -> Page[Person]:
    rows = filter_people(workspace=workspace, filters=filters).prefetch_related("identities")
    return paginate_newest_first(rows, field="created_at", cursor=cursor, limit=max(1, min(limit, 200)))


def access_person_by_id(*, workspace: Workspace, person_id: int) -> Person:
    person = Person.objects.prefetch_related("identities").filter(workspace=workspace, pk=person_id).first()
    if person is None:
        raise NotFound(f"person {person_id} does not exist in this workspace")
    return person


def person_stats(*, person: Person) -> dict[str, Any]:
    counts = Item.objects.filter(person=person).aggregate(
        items=Count("pk"), threads=Count("thread_root", distinct=True)
    )
    return {"items": counts["items"], "threads": counts["threads"]}


def timeline(*, person: Person, before: datetime | None = None, limit: int = 50) -> list[Activity]:
    """The person's activities, newest first, with the items they point at."""
    rows = Activity.objects.filter(person=person).select_related("item", "item__channel")
    if before:
        rows = rows.filter(occurred_at__lt=before)
    return list(rows.order_by("-occurred_at", "-pk")[: max(1, min(limit, 200))])


def do_update_person(*, person: Person, changes: dict[str, Any]) -> Person:
    if "lifecycle" in changes:
        check_choice(changes["lifecycle"], field="lifecycle", choices=Lifecycle.values)
    if changes.get("email"):
        try:
            validate_email(changes["email"])
        except ValidationError:
            raise Invalid(f"{changes['email']!r} is not an email address", field="email") from None
    return apply_changes(person, changes, editable=EDITABLE)
