"""REST endpoints for people, their identities and timeline."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from townhall.core.api_base import ERRORS, client_ip
from townhall.people import services
from townhall.people.models import Lifecycle, Person
from townhall.people.schemas import ActivityRead, IdentityRead, PersonPage, PersonRead, PersonUpdate
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["people"])


def read(person: Person) -> PersonRead:
    return PersonRead(
        id=person.pk,
        display_name=person.display_name,
        email=person.email,
        location=person.location,
        lifecycle=person.lifecycle,
        is_team_member=person.is_team_member,
        is_bot=person.is_bot,
        first_seen_at=person.first_seen_at,
        last_seen_at=person.last_seen_at,
        identities=[IdentityRead.from_orm(i) for i in person.identities.all()],
    )


@router.get("/workspaces/{slug}/people", response={200: PersonPage, **ERRORS})
def list_people(
    request: HttpRequest,
    slug: str,
    q: str | None = None,
    lifecycle: Lifecycle | None = None,
    network: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> PersonPage:
    """People in the workspace, newest first; `q` searches names and handles."""
    workspace = access_workspace(user=request.user, slug=slug, permission="people.view")
    page = services.list_people(
        workspace=workspace,
        filters=services.PersonFilters(q=q, lifecycle=lifecycle, network=network),
        cursor=cursor,
        limit=limit,
    )
    return PersonPage(items=[read(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/workspaces/{slug}/people/{person_id}", response={200: PersonRead, **ERRORS})
def get_person(request: HttpRequest, slug: str, person_id: int) -> PersonRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="people.view")
    return read(services.access_person_by_id(workspace=workspace, person_id=person_id))


@router.patch("/workspaces/{slug}/people/{person_id}", response={200: PersonRead, **ERRORS})
def update_person(request: HttpRequest, slug: str, person_id: int, payload: PersonUpdate) -> PersonRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="people.write")
    person = services.access_person_by_id(workspace=workspace, person_id=person_id)
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    person = services.do_update_person(person=person, changes=changes)
    record_audit(
        actor=request.user,
        action="person.update",
        target=person,
        workspace=workspace,
        detail={"fields": sorted(changes)},
        ip_address=client_ip(request),
    )
    return read(person)


@router.get("/workspaces/{slug}/people/{person_id}/timeline", response={200: list[ActivityRead], **ERRORS})
def person_timeline(request: HttpRequest, slug: str, person_id: int, limit: int = 50) -> list[ActivityRead]:
    """The person's activities, newest first."""
    workspace = access_workspace(user=request.user, slug=slug, permission="people.view")
    person = services.access_person_by_id(workspace=workspace, person_id=person_id)
    return [
        ActivityRead(
            id=a.pk,
            kind=a.kind,
            occurred_at=a.occurred_at,
            network=a.network,
            item_id=a.item_id,
            text=a.item.text if a.item else None,
            detail=a.detail,
        )
        for a in services.timeline(person=person, limit=limit)
    ]
