"""The REST API as a client uses it: workspaces, channels, people, items, imports, audit, and error shapes."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from conftest import DEMO_CSV, ApiClient
from townhall.core.crypto import decrypt
from townhall.workspaces import services
from townhall.workspaces.models import Workspace

BASE = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
NETWORKS = ("mastodon", "bluesky", "reddit")
KINDS = ("post", "mention", "reply", "dm")
AUTHORS = ("ana", "ben", "cy", "dee")


@dataclass(frozen=True)
class Spec:
    """One item of the test dataset, with what the API should say about it."""

    native_id: str
    network: str
    kind: str
    direction: str
    author: str | None
    channel: str
    text: str
    created_at: datetime
    in_reply_to: str

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "network": self.network,
            "id": self.native_id,
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "direction": self.direction,
            "text": self.text,
        }
        if self.author:
            data["author"] = {"id": f"{self.author}-id", "handle": self.author, "name": self.author.title()}
        if self.channel:
            data["channel"] = self.channel
        if self.in_reply_to:
            data["in_reply_to"] = self.in_reply_to
        return data


def make_specs(count: int = 36) -> list[Spec]:
    specs = []
    for i in range(count):
        network = NETWORKS[i % 3]
        outbound = i % 5 == 0
        text = f"message {i}"
        if i % 4 == 1:
            text += " about a refund"
        if i % 7 == 0:
            text += " on Delivery"
        specs.append(
            Spec(
                native_id=str(1000 + i),
                network=network,
                kind=KINDS[i % 4],
                direction="outbound" if outbound else "inbound",
                author=None if outbound else AUTHORS[i % 4],
                channel=f"acme-{network}" if outbound or i % 2 == 0 else "",
                text=text,
                # three items share each minute, so pages must break ties by id
                created_at=BASE + timedelta(minutes=i // 3),
                in_reply_to=str(1000 + i - 3) if i % 6 == 3 else "",
            )
        )
    return specs


SPECS = make_specs()


@pytest.fixture
def dataset(owner_api: ApiClient) -> list[Spec]:
    response = owner_api.post("/workspaces/acme/items", {"items": [s.payload() for s in SPECS]})
    assert response.status_code == 200, response.content
    assert response.json() == {"imported": len(SPECS), "duplicates": 0, "rejected": 0, "errors": []}
    return SPECS


def walk(api: ApiClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a paginated listing, following next_cursor to the end."""
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {k: v for k, v in params.items() if v is not None}
        if cursor:
            query["cursor"] = cursor
        response = api.get(path, **query)
        assert response.status_code == 200, response.content
        page = response.json()
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows
    raise AssertionError("pagination never ended")


def native_ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["native_id"] for r in rows]


def assert_newest_first(rows: list[dict[str, Any]], specs: list[Spec]) -> None:
    """Exactly these items, each once, newest first; items of the same instant by descending id."""
    assert sorted(native_ids(rows)) == sorted(s.native_id for s in specs)
    assert len({r["id"] for r in rows}) == len(rows)
    keys = [(datetime.fromisoformat(r["created_at"]), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)


def channel_ids(api: ApiClient) -> dict[str, int]:
    return {c["handle"]: c["id"] for c in api.get("/workspaces/acme/channels").json()}


# --- workspaces -------------------------------------------------------------------------------------------


def test_workspaces_list_and_detail_show_my_role(
    workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]
) -> None:
    other = services.do_create_workspace(slug="globex", name="Globex")
    agent = make_member(workspace, "agent")
    services.do_set_membership(workspace=other, user=agent, role="analyst")
    services.do_create_workspace(slug="initech")  # not a member: never listed
    api = api_as(agent)

    listed = api.get("/workspaces").json()
    assert [(w["slug"], w["name"], w["role"]) for w in listed] == [
        ("acme", "Acme", "agent"),
        ("globex", "Globex", "analyst"),
    ]
    detail = api.get("/workspaces/globex")
    assert detail.status_code == 200
    assert detail.json()["role"] == "analyst" and detail.json()["timezone"] == "UTC"
    assert api.get("/workspaces/initech").status_code == 404


def test_only_site_administrators_create_workspaces(
    workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]
) -> None:
    owner = api_as(make_member(workspace, "owner"))
    refused = owner.post("/workspaces", {"slug": "globex", "name": "Globex"})
    assert refused.status_code == 403
    assert "site administrators" in refused.json()["detail"]

    staff = api_as(make_member(workspace, "agent", staff=True))
    created = staff.post("/workspaces", {"slug": "globex", "name": "Globex", "timezone": "Europe/Paris"})
    assert created.status_code == 201
    assert created.json() | {"created_at": None} == {
        "slug": "globex",
        "name": "Globex",
        "timezone": "Europe/Paris",
        "role": "owner",
        "created_at": None,
    }
    assert staff.get("/workspaces/globex").json()["role"] == "owner"
    again = staff.post("/workspaces", {"slug": "globex", "name": "Again"})
    assert again.status_code == 409 and again.json()["field"] == "slug"
    bad = staff.post("/workspaces", {"slug": "Not A Slug", "name": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "slug"


def test_members_are_listed_and_set_by_admins(
    workspace: Workspace, make_member: Callable[..., Any], owner_api: ApiClient
) -> None:
    services.do_create_user(username="zoe", password="a-long-test-password")
    put = owner_api.put("/workspaces/acme/members", {"username": "zoe", "role": "analyst"})
    assert put.status_code == 200 and put.json() == {"username": "zoe", "role": "analyst"}
    changed = owner_api.put("/workspaces/acme/members", {"username": "zoe", "role": "agent"})
    assert changed.json()["role"] == "agent"
    members = {m["username"]: m["role"] for m in owner_api.get("/workspaces/acme/members").json()}
    assert members["zoe"] == "agent" and "owner" in members.values()

    missing = owner_api.put("/workspaces/acme/members", {"username": "nobody", "role": "agent"})
    assert missing.status_code == 404
    bad_role = owner_api.put("/workspaces/acme/members", {"username": "zoe", "role": "boss"})
    assert bad_role.status_code == 422 and bad_role.json()["field"] == "role"


def test_admins_cannot_make_owners_or_demote_them(
    workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]
) -> None:
    owner = make_member(workspace, "owner", username="olga")
    admin = api_as(make_member(workspace, "admin", username="adam"))
    services.do_create_user(username="zoe", password="a-long-test-password")

    assert admin.put("/workspaces/acme/members", {"username": "adam", "role": "owner"}).status_code == 403
    assert admin.put("/workspaces/acme/members", {"username": "zoe", "role": "owner"}).status_code == 403
    assert admin.put("/workspaces/acme/members", {"username": "olga", "role": "agent"}).status_code == 403
    assert admin.put("/workspaces/acme/members", {"username": "zoe", "role": "manager"}).status_code == 200
    assert services.role_of(user=owner, workspace=workspace) == "owner"

    owner_api = api_as(owner)
    last_owner = owner_api.put("/workspaces/acme/members", {"username": "olga", "role": "admin"})
    assert last_owner.status_code == 409 and last_owner.json()["field"] == "role"
    assert owner_api.put("/workspaces/acme/members", {"username": "adam", "role": "owner"}).status_code == 200
    assert owner_api.put("/workspaces/acme/members", {"username": "olga", "role": "admin"}).status_code == 200


# --- channels ---------------------------------------------------------------------------------------------

SECRET = "tok-5f1e2d-very-secret-value"


def test_channel_lifecycle(owner_api: ApiClient) -> None:
    created = owner_api.post(
        "/workspaces/acme/channels",
        {
            "network": "mastodon",
            "handle": "acme@social.example",
            "display_name": "Acme",
            "settings": {"x": 1},
        },
    )
    assert created.status_code == 201
    channel = created.json()
    assert channel["capabilities"]["read"] is True and channel["connector"] == "mastodon"
    assert channel | {"id": 0, "created_at": None, "capabilities": None} == {
        "id": 0,
        "network": "mastodon",
        "handle": "acme@social.example",
        "display_name": "Acme",
        "is_ours": True,
        "status": "active",
        "has_credentials": False,
        "last_synced_at": None,
        "last_success_at": None,
        "last_error": "",
        "health": "never synced",
        "failures": 0,
        "connector": "mastodon",
        "capabilities": None,
        "created_at": None,
    }
    url = f"/workspaces/acme/channels/{channel['id']}"
    assert owner_api.get(url).json() == channel
    assert [c["id"] for c in owner_api.get("/workspaces/acme/channels").json()] == [channel["id"]]

    patched = owner_api.patch(url, {"display_name": "Acme Support", "status": "paused", "is_ours": False})
    assert patched.status_code == 200
    assert (patched.json()["display_name"], patched.json()["status"], patched.json()["is_ours"]) == (
        "Acme Support",
        "paused",
        False,
    )
    bad = owner_api.patch(url, {"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"

    duplicate = owner_api.post(
        "/workspaces/acme/channels", {"network": "mastodon", "handle": "acme@social.example"}
    )
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "handle"
    unknown = owner_api.post("/workspaces/acme/channels", {"network": "myspace", "handle": "acme"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "network"
    missing = owner_api.post("/workspaces/acme/channels", {"network": "mastodon"})
    assert missing.status_code == 422 and missing.json()["field"] == "handle"

    assert owner_api.delete(url).status_code == 204
    assert owner_api.get(url).status_code == 404
    assert owner_api.delete(url).status_code == 404


def raw_credentials(channel_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM connectors_channel WHERE id = %s", [channel_id])
        return str(cursor.fetchone()[0])


def test_credentials_are_write_only_and_encrypted_at_rest(owner_api: ApiClient) -> None:
    created = owner_api.post(
        "/workspaces/acme/channels",
        {"network": "bluesky", "handle": "acme.bsky.social", "credentials": {"app_password": SECRET}},
    )
    assert created.status_code == 201
    channel_id = created.json()["id"]
    assert created.json()["has_credentials"] is True

    responses = [
        created,
        owner_api.get("/workspaces/acme/channels"),
        owner_api.get(f"/workspaces/acme/channels/{channel_id}"),
        owner_api.patch(
            f"/workspaces/acme/channels/{channel_id}", {"credentials": {"app_password": SECRET + "2"}}
        ),
        owner_api.get("/workspaces/acme/audit"),
    ]
    for response in responses:
        assert response.status_code in (200, 201)
        assert SECRET not in response.content.decode()
    for channel in [created.json(), *responses[1].json(), responses[2].json(), responses[3].json()]:
        assert "credentials" not in channel

    stored = raw_credentials(channel_id)
    assert SECRET not in stored and "app_password" not in stored
    assert decrypt(stored) == {"app_password": SECRET + "2"}

    cleared = owner_api.patch(f"/workspaces/acme/channels/{channel_id}", {"credentials": {}})
    assert cleared.json()["has_credentials"] is False
    openapi = owner_api.client.get("/api/openapi.json").json()
    assert "credentials" not in openapi["components"]["schemas"]["ChannelRead"]["properties"]


# --- items ------------------------------------------------------------------------------------------------


def test_items_come_newest_first_with_what_was_sent(owner_api: ApiClient, dataset: list[Spec]) -> None:
    rows = walk(owner_api, "/workspaces/acme/items", limit=200)
    assert_newest_first(rows, dataset)
    by_id = {r["native_id"]: r for r in rows}
    for spec in dataset:
        row = by_id[spec.native_id]
        assert (row["network"], row["kind"], row["direction"], row["text"]) == (
            spec.network,
            spec.kind,
            spec.direction,
            spec.text,
        )
        assert datetime.fromisoformat(row["created_at"]) == spec.created_at
        assert row["channel_handle"] == (spec.channel or None)
        assert (row["author"] or {}).get("handle") == spec.author
        assert (row["person_id"] is None) == (spec.author is None)


def _matching(predicate: Callable[[Spec], bool]) -> list[Spec]:
    return [s for s in SPECS if predicate(s)]


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"network": "bluesky"}, lambda s: s.network == "bluesky"),
        ({"direction": "outbound"}, lambda s: s.direction == "outbound"),
        ({"kind": "mention"}, lambda s: s.kind == "mention"),
        ({"author": "@ana"}, lambda s: s.author == "ana"),
        ({"author": "ACME-REDDIT"}, lambda s: s.direction == "outbound" and s.channel == "acme-reddit"),
        ({"q": "refund"}, lambda s: "refund" in s.text),
        ({"q": "delivery"}, lambda s: "delivery" in s.text.lower()),
        (
            {
                "since": (BASE + timedelta(minutes=3)).isoformat(),
                "until": (BASE + timedelta(minutes=7)).isoformat(),
            },
            lambda s: BASE + timedelta(minutes=3) <= s.created_at < BASE + timedelta(minutes=7),
        ),
        (
            {"network": "mastodon", "direction": "inbound", "q": "refund"},
            lambda s: s.network == "mastodon" and s.direction == "inbound" and "refund" in s.text,
        ),
    ],
    ids=["network", "direction", "kind", "author", "author-brand", "q", "q-case", "since-until", "combined"],
)
def test_item_filters(
    owner_api: ApiClient, dataset: list[Spec], params: dict[str, str], predicate: Any
) -> None:
    expected = _matching(predicate)
    assert expected, "a filter test needs matching items"
    assert_newest_first(walk(owner_api, "/workspaces/acme/items", limit=5, **params), expected)


def test_item_filters_by_channel_and_person(owner_api: ApiClient, dataset: list[Spec]) -> None:
    channel = channel_ids(owner_api)["acme-mastodon"]
    rows = walk(owner_api, "/workspaces/acme/items", channel=channel)
    assert_newest_first(rows, _matching(lambda s: s.channel == "acme-mastodon"))

    people = walk(owner_api, "/workspaces/acme/people", q="ben", network="bluesky")
    assert len(people) == 1
    rows = walk(owner_api, "/workspaces/acme/items", person=people[0]["id"])
    assert_newest_first(rows, _matching(lambda s: s.author == "ben" and s.network == "bluesky"))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"kind": "tweet"}, "kind"),
        ({"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "since"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_item_filters_are_422_naming_the_field(
    owner_api: ApiClient, params: dict[str, str], field: str
) -> None:
    response = owner_api.get("/workspaces/acme/items", **params)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["detail"]


@pytest.mark.parametrize("limit", [1, 4, 7, 50])
def test_cursor_pagination_walks_every_item_exactly_once(
    owner_api: ApiClient, dataset: list[Spec], limit: int
) -> None:
    rows = walk(owner_api, "/workspaces/acme/items", limit=limit)
    assert len(rows) == len(dataset)
    assert_newest_first(rows, dataset)
    first_page = owner_api.get("/workspaces/acme/items", limit=limit).json()
    assert len(first_page["items"]) == min(limit, len(dataset))
    assert (first_page["next_cursor"] is None) == (limit >= len(dataset))


def test_pagination_is_stable_while_new_items_arrive(owner_api: ApiClient, dataset: list[Spec]) -> None:
    first = owner_api.get("/workspaces/acme/items", limit=10).json()
    newer = {
        "network": "mastodon",
        "id": "new",
        "created_at": (BASE + timedelta(days=1)).isoformat(),
        "text": "x",
    }
    assert owner_api.post("/workspaces/acme/items", {"items": [newer]}).json()["imported"] == 1
    rest = walk(owner_api, "/workspaces/acme/items", limit=10, cursor=first["next_cursor"])
    assert_newest_first(first["items"] + rest, dataset)


def test_limits_are_clamped(owner_api: ApiClient, dataset: list[Spec]) -> None:
    assert len(owner_api.get("/workspaces/acme/items", limit=0).json()["items"]) == 1
    assert len(owner_api.get("/workspaces/acme/items", limit=-5).json()["items"]) == 1
    assert len(owner_api.get("/workspaces/acme/items", limit=10_000).json()["items"]) == len(dataset)


def test_item_detail_and_thread(owner_api: ApiClient, dataset: list[Spec]) -> None:
    rows = {r["native_id"]: r for r in walk(owner_api, "/workspaces/acme/items", limit=200)}
    # 1003 replies to 1000, 1009 to 1006, ...: 1000 <- 1003 is one thread
    reply = rows["1003"]
    assert reply["parent_id"] == rows["1000"]["id"]
    assert reply["thread_root_id"] == rows["1000"]["id"]
    detail = owner_api.get(f"/workspaces/acme/items/{reply['id']}")
    assert detail.status_code == 200 and detail.json() == reply

    thread = owner_api.get(f"/workspaces/acme/items/{reply['id']}/thread").json()
    assert [t["native_id"] for t in thread] == ["1000", "1003"]
    alone = owner_api.get(f"/workspaces/acme/items/{rows['1001']['id']}/thread").json()
    assert [t["native_id"] for t in alone] == ["1001"]
    assert owner_api.get("/workspaces/acme/items/999999").status_code == 404
    assert owner_api.get("/workspaces/acme/items/999999/thread").status_code == 404


def test_posting_a_batch_stores_good_items_and_rejects_bad_ones_by_index(owner_api: ApiClient) -> None:
    good = {"network": "mastodon", "id": "1", "created_at": "2026-05-01T10:00:00Z", "text": "hi"}
    batch = [
        good,
        {"network": "mastodon", "id": "2"},  # no created_at
        good | {"id": "3", "in_reply_to": "1", "author": {"id": "9", "handle": "ana"}},
        good | {"id": "4", "created_at": "2026-05-01T10:00:00"},  # naive
        "not an object",
        good | {"id": "6", "text": "nul\x00"},
        good | {"id": "7", "shoe_size": 44},
    ]
    response = owner_api.post("/workspaces/acme/items", {"items": batch})
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["imported"], result["duplicates"], result["rejected"]) == (2, 0, 5)
    errors = {e["line"]: e["reason"] for e in result["errors"]}
    assert sorted(errors) == [1, 3, 4, 5, 6]
    assert errors[1].startswith("item 1: ") and "created_at" in errors[1]
    assert "time zone" in errors[3]
    assert "JSON object" in errors[4]
    assert "NUL" in errors[5]
    assert "shoe_size" in errors[6]
    stored = walk(owner_api, "/workspaces/acme/items")
    assert sorted(native_ids(stored)) == ["1", "3"]

    replay = owner_api.post("/workspaces/acme/items", {"items": batch}).json()
    assert (replay["imported"], replay["duplicates"], replay["rejected"]) == (0, 2, 5)
    assert len(walk(owner_api, "/workspaces/acme/items")) == 2


def test_a_batch_must_be_an_object_with_items(owner_api: ApiClient) -> None:
    for body in ([], {"things": []}, {"items": "x"}):
        response = owner_api.post("/workspaces/acme/items", body)
        assert response.status_code == 422, body
        assert response.json()["field"]


# --- people -----------------------------------------------------------------------------------------------


def test_people_list_filter_search_and_detail(owner_api: ApiClient, dataset: list[Spec]) -> None:
    people = walk(owner_api, "/workspaces/acme/people", limit=3)
    authors = {(s.network, s.author) for s in dataset if s.author}
    assert len(people) == len(authors) == len({p["id"] for p in people})
    assert {(p["identities"][0]["network"], p["identities"][0]["handle"]) for p in people} == authors
    assert all(len(p["identities"]) == 1 for p in people)

    by_network = walk(owner_api, "/workspaces/acme/people", network="reddit")
    assert {p["identities"][0]["handle"] for p in by_network} == {a for n, a in authors if n == "reddit"}
    found = walk(owner_api, "/workspaces/acme/people", q="@dee")
    assert {p["display_name"] for p in found} == {"Dee"}
    assert len(found) == len({n for n, a in authors if a == "dee"})
    assert walk(owner_api, "/workspaces/acme/people", q="Ana")[0]["display_name"] == "Ana"
    assert walk(owner_api, "/workspaces/acme/people", q="nobody-like-this") == []

    person = found[0]
    detail = owner_api.get(f"/workspaces/acme/people/{person['id']}")
    assert detail.status_code == 200 and detail.json() == person
    assert detail.json()["identities"][0]["native_id"] == "dee-id"
    assert owner_api.get("/workspaces/acme/people/999999").status_code == 404
    bad = owner_api.get("/workspaces/acme/people", lifecycle="vip")
    assert bad.status_code == 422 and bad.json()["field"] == "lifecycle"


def test_people_patch(owner_api: ApiClient, dataset: list[Spec]) -> None:
    person = walk(owner_api, "/workspaces/acme/people", q="ana")[0]
    url = f"/workspaces/acme/people/{person['id']}"
    patched = owner_api.patch(
        url,
        {"display_name": "Ana Lima", "lifecycle": "customer", "email": "ana@example.com", "is_bot": False},
    )
    assert patched.status_code == 200
    assert (patched.json()["display_name"], patched.json()["lifecycle"], patched.json()["email"]) == (
        "Ana Lima",
        "customer",
        "ana@example.com",
    )
    assert owner_api.get(url).json() == patched.json()
    assert [p["id"] for p in walk(owner_api, "/workspaces/acme/people", lifecycle="customer")] == [
        person["id"]
    ]

    bad_stage = owner_api.patch(url, {"lifecycle": "vip"})
    assert bad_stage.status_code == 422 and bad_stage.json()["field"] == "lifecycle"
    bad_email = owner_api.patch(url, {"email": "not an email"})
    assert bad_email.status_code == 422 and bad_email.json()["field"] == "email"
    assert owner_api.patch(url, {"email": ""}).json()["email"] == ""
    assert owner_api.get(url).json()["lifecycle"] == "customer"


def test_person_timeline_is_their_activity_newest_first(owner_api: ApiClient, dataset: list[Spec]) -> None:
    person = walk(owner_api, "/workspaces/acme/people", q="ben", network="mastodon")[0]
    timeline = owner_api.get(f"/workspaces/acme/people/{person['id']}/timeline")
    assert timeline.status_code == 200
    theirs = [s for s in dataset if s.author == "ben" and s.network == "mastodon"]
    assert [a["text"] for a in timeline.json()] == [
        s.text for s in sorted(theirs, key=lambda s: (s.created_at, s.native_id), reverse=True)
    ]
    kinds = {"mention": "mentioned_us", "reply": "replied", "dm": "messaged_us", "post": "posted"}
    assert [a["kind"] for a in timeline.json()] == [
        kinds[s.kind] for s in sorted(theirs, key=lambda s: (s.created_at, s.native_id), reverse=True)
    ]
    assert len(owner_api.get(f"/workspaces/acme/people/{person['id']}/timeline", limit=1).json()) == 1


# --- imports ----------------------------------------------------------------------------------------------


def upload(api: ApiClient, name: str, content: bytes, fmt: str = "twcs") -> Any:
    return api.client.post(
        "/api/workspaces/acme/imports", {"format": fmt, "file": SimpleUploadedFile(name, content, "text/csv")}
    )


def test_upload_runs_as_a_job_and_the_run_can_be_polled(
    owner_api: ApiClient, django_capture_on_commit_callbacks: Any
) -> None:
    sample = "".join(DEMO_CSV.read_text().splitlines(keepends=True)[:61]).encode()
    tweets = len(list(csv.DictReader(io.StringIO(sample.decode()))))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = upload(owner_api, "sample.csv", sample)
        assert started.status_code == 202, started.content
        assert started.json()["status"] == "queued"
    assert len(callbacks) == 1, "the job is queued once the upload is committed"
    run = owner_api.get(f"/workspaces/acme/imports/{started.json()['id']}").json()
    assert (run["status"], run["format"], run["filename"]) == ("done", "twcs", "sample.csv")
    assert (run["imported"], run["duplicates"], run["rejected"], run["errors"]) == (tweets, 0, 0, [])
    assert run["started_at"] and run["finished_at"]
    assert len(walk(owner_api, "/workspaces/acme/items")) == tweets
    assert [r["id"] for r in owner_api.get("/workspaces/acme/imports").json()] == [run["id"]]


def test_upload_of_an_unusable_file_fails_the_run_with_a_message(
    owner_api: ApiClient, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        started = upload(owner_api, "notes.csv", b"id,text\n1,hello\n")
    run = owner_api.get(f"/workspaces/acme/imports/{started.json()['id']}").json()
    assert run["status"] == "failed"
    assert "header" in run["message"] and run["imported"] == 0


def test_upload_needs_a_known_format_and_a_file(owner_api: ApiClient) -> None:
    bad = upload(owner_api, "x.csv", b"a", fmt="xlsx")
    assert bad.status_code == 422 and bad.json()["field"] == "format"
    no_file = owner_api.client.post("/api/workspaces/acme/imports", {"format": "twcs"})
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"
    assert owner_api.get("/workspaces/acme/imports/424242").status_code == 404


# --- audit ------------------------------------------------------------------------------------------------


def test_every_write_leaves_an_audit_row(
    workspace: Workspace,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner = make_member(workspace, "owner", username="olga")
    api = api_as(owner)
    services.do_create_user(username="zoe", password="a-long-test-password")
    channel = api.post("/workspaces/acme/channels", {"network": "rss", "handle": "blog"}).json()
    api.patch(f"/workspaces/acme/channels/{channel['id']}", {"display_name": "Blog"})
    api.post("/workspaces/acme/items", {"items": [SPECS[1].payload()]})
    person = walk(api, "/workspaces/acme/people")[0]
    api.patch(f"/workspaces/acme/people/{person['id']}", {"lifecycle": "lead"})
    api.put("/workspaces/acme/members", {"username": "zoe", "role": "agent"})
    with django_capture_on_commit_callbacks(execute=True):
        upload(api, "empty.csv", b"")
    api.delete(f"/workspaces/acme/channels/{channel['id']}")
    api.get("/workspaces/acme/items")  # reads are not audited

    rows = api.get("/workspaces/acme/audit").json()
    assert [r["action"] for r in rows] == [
        "channel.delete",
        "import.start",
        "membership.set",
        "person.update",
        "items.ingest",
        "channel.update",
        "channel.create",
    ]
    assert all(r["actor"] == "olga" and r["source"] == "api" for r in rows)
    by_action = {r["action"]: r for r in rows}
    assert by_action["channel.create"]["target_id"] == str(channel["id"])
    assert by_action["channel.update"]["detail"] == {"fields": ["display_name"]}
    assert by_action["person.update"]["target_id"] == str(person["id"])
    assert by_action["items.ingest"]["detail"] == {"imported": 1, "duplicates": 0, "rejected": 0}
    assert by_action["membership.set"]["detail"] == {"username": "zoe", "role": "agent"}
    assert len(api.get("/workspaces/acme/audit", limit=2).json()) == 2


# --- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/workspaces"),
        ("post", "/api/workspaces/acme/channels"),
        ("patch", "/api/workspaces/acme/channels/1"),
        ("delete", "/api/workspaces/acme/channels/1"),
        ("get", "/api/workspaces/nope/items"),
    ],
)
def test_no_token_is_401_json(workspace: Workspace, method: str, path: str) -> None:
    client = Client()
    response = getattr(client, method)(path, content_type="application/json")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail", "field"} and response.json()["field"] is None


@pytest.mark.parametrize("token", ["th_not-a-real-token", "nonsense", ""])
def test_a_bad_token_is_401(workspace: Workspace, token: str) -> None:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/workspaces")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_errors_share_one_shape(owner_api: ApiClient) -> None:
    cases = [
        (owner_api.get("/workspaces/nope"), 404),
        (owner_api.get("/workspaces/acme/channels/424242"), 404),
        (owner_api.get("/workspaces/acme/people/424242"), 404),
        (owner_api.post("/workspaces/acme/channels", {"network": "rss"}), 422),
        (
            owner_api.post(
                "/workspaces/acme/channels", {"network": "rss", "handle": "x", "is_ours": "perhaps"}
            ),
            422,
        ),
        (
            owner_api.client.post(
                "/api/workspaces/acme/channels", "{not json", content_type="application/json"
            ),
            400,
        ),
    ]
    owner_api.post("/workspaces/acme/channels", {"network": "rss", "handle": "blog"})
    cases.append((owner_api.post("/workspaces/acme/channels", {"network": "rss", "handle": "blog"}), 409))
    for response, status in cases:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) == {"detail", "field"}
        assert isinstance(body["detail"], str) and body["detail"]


# --- input no database can store ----------------------------------------------------------------------------


def test_text_no_database_can_store_is_a_422_naming_the_field(
    workspace: Workspace,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
    dataset: list[Spec],
) -> None:
    api = api_as(make_member(workspace, "owner", staff=True))
    person = walk(api, "/workspaces/acme/people")[0]["id"]
    raw_surrogate = '{"network": "rss", "handle": "blog\\ud800"}'
    cases = [
        (api.post("/workspaces/acme/channels", {"network": "rss", "handle": "a\x00b"}), "handle"),
        (
            api.post(
                "/workspaces/acme/channels", {"network": "rss", "handle": "b", "settings": {"k": ["\x00"]}}
            ),
            "settings",
        ),
        (
            api.client.post("/api/workspaces/acme/channels", raw_surrogate, content_type="application/json"),
            "handle",
        ),
        (api.patch(f"/workspaces/acme/people/{person}", {"bio": "nul\x00"}), "bio"),
        (api.put("/workspaces/acme/members", {"username": "zo\x00e", "role": "agent"}), "username"),
        (api.post("/workspaces", {"slug": "globex", "name": "Glo\x00bex"}), "name"),
        (api.get("/workspaces/acme/items", q="a\x00"), "q"),
        (api.get("/workspaces/acme/items", author="\x00"), "author"),
        (api.get("/workspaces/acme/people", q="\x00"), "q"),
        (api.get("/workspaces/acme/people", network="\x00"), "network"),
    ]
    for response, field in cases:
        assert response.status_code == 422, response.content
        assert response.json()["field"] == field
        assert "NUL" in response.json()["detail"] or "surrogate" in response.json()["detail"]
    assert api.get("/workspaces/ac\x00me/items").status_code == 404


def test_ids_and_time_zones_are_checked(
    workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]
) -> None:
    api = api_as(make_member(workspace, "owner", staff=True))
    for name in ("channel", "person"):
        for value in (10**20, 0, -1):
            response = api.get("/workspaces/acme/items", **{name: value})
            assert response.status_code == 422 and response.json()["field"] == name
    assert api.get("/workspaces/acme/items/99999999999999999999").status_code == 404
    bad_zone = api.post("/workspaces", {"slug": "globex", "name": "Globex", "timezone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and bad_zone.json()["field"] == "timezone"


def test_the_schema_lists_the_values_a_client_may_send() -> None:
    schema = Client().get("/api/openapi.json").json()
    components = schema["components"]["schemas"]

    def enum_of(prop: dict[str, Any]) -> set[str]:
        options = prop.get("anyOf", [prop])
        for option in options:
            target = option.get("$ref", "").rsplit("/", 1)[-1]
            found = components[target] if target else option
            if "enum" in found:
                return set(found["enum"])
        return set()

    assert "mastodon" in enum_of(components["ChannelCreate"]["properties"]["network"])
    assert enum_of(components["ChannelUpdate"]["properties"]["status"]) == {"active", "paused", "error"}
    assert "customer" in enum_of(components["PersonUpdate"]["properties"]["lifecycle"])
    assert "requester" in enum_of(components["MembershipCreate"]["properties"]["role"])


def test_times_from_any_offset_or_none_filter_as_utc(owner_api: ApiClient, dataset: list[Spec]) -> None:
    # +17:02 is valid ISO 8601 that PostgreSQL refuses; a naive time is taken as UTC
    since = (BASE + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=17, minutes=2))).isoformat()
    until = (BASE + timedelta(minutes=7)).replace(tzinfo=None).isoformat()
    rows = walk(owner_api, "/workspaces/acme/items", since=since, until=until)
    assert_newest_first(
        rows, _matching(lambda s: BASE + timedelta(minutes=3) <= s.created_at < BASE + timedelta(minutes=7))
    )
    for bad in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        response = owner_api.get("/workspaces/acme/items", since=bad)
        assert response.status_code == 422 and response.json()["field"] == "since"


@pytest.mark.parametrize(
    "payload",
    [
        ["0492-02-21T10:32:58+17:02", 5],
        ["0001-01-01T00:00:00+05:00", 1],
        ["2026-01-01T00:00:00", 1e400],
        [1, 2, 3],
    ],
    ids=["odd-offset", "overflow", "infinite-id", "shape"],
)
def test_handmade_cursors_are_a_422_or_work(
    owner_api: ApiClient, dataset: list[Spec], payload: list[Any]
) -> None:
    raw = json.dumps(payload).replace("Infinity", "1e400")
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    for path in ("/workspaces/acme/items", "/workspaces/acme/people"):
        response = owner_api.get(path, cursor=cursor)
        assert response.status_code in (200, 422), response.content
        if response.status_code == 422:
            assert response.json()["field"] == "cursor"
