"""The back-office: open to site administrators, and to workspace owners for their own workspaces only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from townhall.items.models import Item
from townhall.pipeline import IncomingAuthor, IncomingItem, ingest
from townhall.workspaces import services
from townhall.workspaces.models import Workspace


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _seed(workspace: Workspace, text: str) -> None:
    from datetime import UTC, datetime

    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="mastodon",
                native_id=f"{workspace.slug}-1",
                created_at=datetime(2026, 5, 1, tzinfo=UTC),
                text=text,
                author=IncomingAuthor(native_id="7", handle="ana"),
            )
        ],
    )


def test_an_owner_sees_only_their_workspaces_rows(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    other = services.do_create_workspace(slug="globex", name="Globex")
    _seed(workspace, "acme text")
    _seed(other, "globex text")
    owner = make_member(workspace, "owner")
    client = _client(owner)
    assert client.get("/admin/").status_code == 200
    listing = client.get("/admin/items/item/")
    assert listing.status_code == 200
    assert "acme-1" in listing.content.decode()
    assert "globex-1" not in listing.content.decode()
    foreign = Item.objects.get(workspace=other)
    assert client.get(f"/admin/items/item/{foreign.pk}/change/").status_code in (302, 403, 404)
    workspaces = client.get("/admin/workspaces/workspace/").content.decode()
    assert "Acme" in workspaces and "Globex" not in workspaces


def test_an_agent_is_sent_to_the_back_office_login(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    agent = make_member(workspace, "agent")
    response = _client(agent).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_site_administrator_sees_every_workspace(
    workspace: Workspace, make_member: Callable[..., Any]
) -> None:
    services.do_create_workspace(slug="globex", name="Globex")
    admin_user = make_member(workspace, "agent", staff=True)
    page = _client(admin_user).get("/admin/workspaces/workspace/").content.decode()
    assert "Acme" in page and "Globex" in page


def test_owners_cannot_rewrite_the_audit_trail(workspace: Workspace, make_member: Callable[..., Any]) -> None:
    owner = make_member(workspace, "owner")
    entry = services.record_audit(actor=owner, action="test.write", workspace=workspace)
    client = _client(owner)
    assert client.get("/admin/workspaces/auditlog/").status_code == 200
    assert client.post(f"/admin/workspaces/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
