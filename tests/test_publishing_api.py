"""Publishing through the REST API: compose, preview, approve, schedule, publish, retry, slots, calendar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import ApiClient
from publishing_fakes import FakeNetwork
from townhall.connectors.models import Channel
from townhall.publishing import publisher
from townhall.publishing.models import Target
from townhall.workspaces.models import AuditLog, Workspace

BASE = "/workspaces/acme/publishing"
BODY = "We shipped dark mode. Read all about it: https://acme.com/blog/dark-mode #release"
# A Monday in July: New York is on daylight time, UTC-4.
MONDAY_9_NY = datetime(2041, 7, 1, 13, 0, tzinfo=UTC)


@pytest.fixture
def channels(workspace: Workspace) -> dict[str, Channel]:
    return {
        network: Channel.objects.create(workspace=workspace, network=network, handle=handle, is_ours=True)
        for network, handle in (
            ("twitter", "acme"),
            ("bluesky", "acme.bsky.social"),
            ("mastodon", "acme@social.example"),
        )
    }


@pytest.fixture
def as_role(workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]) -> Any:
    """as_role("agent") -> an API client of a new member with that role."""
    return lambda role: api_as(make_member(workspace, role))


def run_worker(at: datetime | None = None, net: FakeNetwork | None = None) -> dict[str, int]:
    net = net or FakeNetwork()
    return publisher.run_due(now=at or timezone.now() + timedelta(seconds=1), factory=net.connector)


def make_post(client: ApiClient, channels: list[Channel], **fields: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/posts", {"body": BODY, "channel_ids": [c.pk for c in channels], **fields})
    assert response.status_code == 201, response.content
    return dict(response.json())


def managers_approve(client: ApiClient) -> None:
    policy = {"name": "Managers", "is_default": True, "steps": [{"name": "Review", "role": "manager"}]}
    assert client.post(f"{BASE}/approval-policies", policy).status_code == 201


# -- composing ---------------------------------------------------------------------------------------


def test_the_preview_shows_each_channels_variant_as_its_network_counts_it_and_stores_nothing(
    owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    response = owner_api.post(
        f"{BASE}/preview", {"body": BODY, "channel_ids": [c.pk for c in channels.values()]}
    )
    assert response.status_code == 200, response.content
    variants = {v["network"]: v for v in response.json()}
    assert set(variants) == {"x", "bluesky", "mastodon"}
    assert all(v["valid"] and not v["problems"] for v in variants.values())
    x = variants["x"]["parts"][0]
    url = next(e for e in x["entities"] if e["kind"] == "url")
    assert "utm_source=x" in url["text"] and len(url["text"]) > 23
    # X counts every link as 23, whatever its length.
    assert x["length"] == len(x["text"]) - len(url["text"]) + 23 and x["limit"] == 280
    assert variants["mastodon"]["parts"][0]["limit"] == 500
    assert owner_api.get(f"{BASE}/posts").json()["items"] == []

    long = owner_api.post(
        f"{BASE}/preview",
        {"body": "word " * 100, "channel_ids": [channels["twitter"].pk], "options": {"thread": False}},
    ).json()[0]
    assert len(long["parts"]) == 1 and long["valid"] and long["notes"][-1].startswith("shortened by")
    threaded = owner_api.post(
        f"{BASE}/preview", {"body": "word " * 100, "channel_ids": [channels["twitter"].pk]}
    )
    assert len(threaded.json()[0]["parts"]) == 2 and threaded.json()[0]["valid"]


def test_a_post_is_composed_once_with_a_variant_per_channel_and_a_variant_can_be_written_by_hand(
    workspace: Workspace, owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    post = make_post(owner_api, [channels["twitter"], channels["bluesky"]], title="Dark mode")
    assert post["status"] == "draft" and post["version"] == 1
    assert [v["network"] for v in post["variants"]] == ["x", "bluesky"]
    assert all(v["state"] == "draft" and v["parts"][0]["valid"] for v in post["variants"])
    assert AuditLog.objects.filter(
        workspace=workspace, action="post.create", target_id=str(post["id"])
    ).exists()

    bluesky = channels["bluesky"].pk
    edited = owner_api.put(
        f"{BASE}/posts/{post['id']}/variants/{bluesky}", {"parts": ["Dark mode is here 🌙"]}
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["edited"] and edited.json()["parts"][0]["text"] == "Dark mode is here 🌙"
    assert edited.json()["notes"] == ["written by hand"]
    changed = owner_api.patch(f"{BASE}/posts/{post['id']}", {"body": "Dark mode, at last: https://acme.com"})
    variants = {v["network"]: v for v in changed.json()["variants"]}
    assert "at last" in variants["x"]["parts"][0]["text"], "variants not edited by hand follow the post"
    assert variants["bluesky"]["parts"][0]["text"] == "Dark mode is here 🌙"
    again = owner_api.put(f"{BASE}/posts/{post['id']}/variants/{bluesky}", {"parts": None})
    assert not again.json()["edited"] and "at last" in again.json()["parts"][0]["text"]
    twitter = channels["twitter"].pk
    too_long = owner_api.put(f"{BASE}/posts/{post['id']}/variants/{twitter}", {"parts": ["x" * 300]}).json()
    assert (
        not too_long["valid"] and "300 characters as X counts them; the limit is 280" in too_long["problems"]
    )
    refused = owner_api.post(f"{BASE}/posts/{post['id']}/submit", {})
    assert refused.status_code == 422 and "variant is not ready" in refused.json()["detail"]

    listed = owner_api.get(f"{BASE}/posts", channel=bluesky).json()["items"]
    assert [p["id"] for p in listed] == [post["id"]]
    assert [c["network"] for c in listed[0]["channels"]] == ["x", "bluesky"]
    assert owner_api.get(f"{BASE}/posts", status="published").json()["items"] == []
    assert owner_api.delete(f"{BASE}/posts/{post['id']}").status_code == 204
    assert owner_api.get(f"{BASE}/posts/{post['id']}").status_code == 404


# -- approving and publishing ------------------------------------------------------------------------


def test_a_post_waits_for_a_reviewer_its_author_cannot_approve_it_and_a_manager_schedules_it(
    workspace: Workspace,
    owner_api: ApiClient,
    as_role: Callable[[str], ApiClient],
    channels: dict[str, Channel],
) -> None:
    managers_approve(owner_api)
    author, manager = as_role("agent"), as_role("manager")
    post = make_post(author, [channels["mastodon"]], scheduled_at="2041-07-01T09:00:00-04:00")
    submitted = author.post(f"{BASE}/posts/{post['id']}/submit", {})
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "awaiting_approval"
    assert submitted.json()["variants"][0]["state"] == "awaiting_approval"

    own = author.post(f"{BASE}/posts/{post['id']}/decisions", {"decision": "approve"})
    assert own.status_code == 403 and "your own post" in own.json()["detail"]
    bare = manager.post(f"{BASE}/posts/{post['id']}/decisions", {"decision": "request_changes"})
    assert bare.status_code == 422 and bare.json()["field"] == "comment"
    approved = manager.post(f"{BASE}/posts/{post['id']}/decisions", {"decision": "approve", "comment": "ok"})
    assert approved.status_code == 201, approved.content
    assert approved.json()["post_status"] == "scheduled" and approved.json()["step"] == "Review"

    shown = author.get(f"{BASE}/posts/{post['id']}").json()
    assert shown["status"] == "scheduled" and shown["scheduled_at"] == "2041-07-01T13:00:00Z"
    history = author.get(f"{BASE}/posts/{post['id']}/history").json()
    assert [e["kind"] for e in history["events"]] == [
        "created",
        "submitted",
        "approve",
        "approved",
        "scheduled",
    ]
    assert [(a["user"], a["decision"]) for a in history["approvals"]] == [("manager3", "approve")]
    assert history["steps"][0]["met"]
    assert AuditLog.objects.filter(workspace=workspace, action="post.decide").count() == 1


def test_the_calendar_shows_a_post_at_its_local_time_in_the_workspaces_zone(
    workspace: Workspace, owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    workspace.timezone = "America/New_York"
    workspace.save()
    campaign = owner_api.post(f"{BASE}/campaigns", {"name": "Summer", "color": "#ff8800"}).json()
    post = make_post(
        owner_api, [channels["twitter"]], scheduled_at=MONDAY_9_NY.isoformat(), campaign_id=campaign["id"]
    )
    assert owner_api.post(f"{BASE}/posts/{post['id']}/submit", {}).json()["status"] == "scheduled"

    week = owner_api.get(
        f"{BASE}/calendar", start="2041-07-01T00:00:00-04:00", end="2041-07-08T00:00:00-04:00"
    )
    assert week.status_code == 200, week.content
    body = week.json()
    assert body["timezone"] == "America/New_York"
    [entry] = body["entries"]
    assert entry["local"] == "2041-07-01T09:00:00-04:00" and entry["at"] == "2041-07-01T13:00:00Z"
    assert entry["post_id"] == post["id"] and entry["campaign"] == "Summer" and entry["color"] == "#ff8800"
    assert entry["state"] == "scheduled" and entry["network"] == "x"
    filters = {"start": "2041-07-01T00:00:00Z", "end": "2041-07-08T00:00:00Z"}
    assert (
        owner_api.get(f"{BASE}/calendar", **filters, channel=channels["bluesky"].pk).json()["entries"] == []
    )
    assert owner_api.get(f"{BASE}/calendar", **filters, status="published").json()["entries"] == []
    assert len(owner_api.get(f"{BASE}/calendar", **filters, campaign=campaign["id"]).json()["entries"]) == 1


def test_the_worker_publishes_and_the_post_shows_its_links_and_attempts(
    owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    post = make_post(owner_api, [channels["twitter"], channels["bluesky"]])
    assert owner_api.post(f"{BASE}/posts/{post['id']}/submit", {}).json()["status"] == "scheduled"
    assert run_worker() == {"published": 2}

    shown = owner_api.get(f"{BASE}/posts/{post['id']}").json()
    assert shown["status"] == "published"
    urls = {v["network"]: v["url"] for v in shown["variants"]}
    assert urls["x"].startswith("https://twitter.example/") and urls["bluesky"].startswith("https://bluesky.")
    assert all(v["published_at"] and v["state"] == "published" for v in shown["variants"])
    attempts = owner_api.get(f"{BASE}/posts/{post['id']}/attempts").json()
    assert [(a["action"], a["outcome"]) for a in attempts] == [("send", "published")] * 2
    assert all(a["idempotency_key"].startswith("th-") and a["worker"] and a["finished_at"] for a in attempts)
    assert owner_api.delete(f"{BASE}/posts/{post['id']}").status_code == 409
    edit = owner_api.patch(f"{BASE}/posts/{post['id']}", {"body": "too late"})
    assert edit.status_code == 409 and "can no longer change" in edit.json()["detail"]


def test_a_failed_target_shows_the_network_message_and_a_manager_retries_it(
    workspace: Workspace,
    owner_api: ApiClient,
    as_role: Callable[[str], ApiClient],
    channels: dict[str, Channel],
) -> None:
    post = make_post(owner_api, [channels["twitter"], channels["mastodon"]])
    owner_api.post(f"{BASE}/posts/{post['id']}/submit", {})
    net = FakeNetwork()
    refused = Target.objects.get(post_id=post["id"], channel=channels["mastodon"])
    net.refusals[refused.part_key(0)] = "Validation failed: Text character limit of 500 exceeded"
    assert run_worker(net=net) == {"published": 1, "failed": 1}

    shown = owner_api.get(f"{BASE}/posts/{post['id']}").json()
    assert shown["status"] == "partly_published"
    failed = next(v for v in shown["variants"] if v["network"] == "mastodon")
    assert failed["state"] == "failed" and "character limit" in failed["error"]

    mastodon = channels["mastodon"].pk
    agent = as_role("agent").post(f"{BASE}/posts/{post['id']}/targets/{mastodon}/retry", {})
    assert agent.status_code == 403
    retried = as_role("manager").post(f"{BASE}/posts/{post['id']}/targets/{mastodon}/retry", {})
    assert retried.status_code == 200, retried.content
    assert retried.json()["state"] == "scheduled"
    del net.refusals[refused.part_key(0)]
    assert run_worker(net=net) == {"published": 1}
    assert owner_api.get(f"{BASE}/posts/{post['id']}").json()["status"] == "published"
    attempts = owner_api.get(f"{BASE}/posts/{post['id']}/attempts").json()
    keys = {a["idempotency_key"] for a in attempts if a["channel_id"] == mastodon}
    assert [a["outcome"] for a in attempts if a["channel_id"] == mastodon] == ["failed", "published"]
    assert len(keys) == 1, "a retry sends with the same idempotency key"
    again = owner_api.post(f"{BASE}/posts/{post['id']}/targets/{mastodon}/retry", {})
    assert again.status_code == 409
    assert AuditLog.objects.filter(workspace=workspace, action="post.retry").count() == 1


def test_an_outcome_the_network_cannot_tell_is_settled_by_hand(
    owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    post = make_post(owner_api, [channels["bluesky"]])
    owner_api.post(f"{BASE}/posts/{post['id']}/submit", {})
    net = FakeNetwork()
    net.can_look_up = False
    net.timeouts.add(Target.objects.get(post_id=post["id"]).part_key(0))
    run_worker(net=net)
    assert run_worker(at=timezone.now() + timedelta(minutes=2), net=net) == {"outcome_unknown": 1}
    bluesky = channels["bluesky"].pk
    settled = owner_api.post(
        f"{BASE}/posts/{post['id']}/targets/{bluesky}/settle",
        {"published": True, "url": "https://bsky.app/profile/acme/post/1", "native_id": "at://acme/1"},
    )
    assert settled.status_code == 200, settled.content
    assert settled.json()["state"] == "published" and settled.json()["url"].startswith("https://bsky.app/")
    attempts = owner_api.get(f"{BASE}/posts/{post['id']}/attempts").json()
    assert attempts[-1]["action"] == "lookup" and attempts[-1]["outcome"] == "found"
    assert net.sent.total() == 1


def test_a_manager_moves_a_scheduled_post_and_cancels_it_an_agent_cannot(
    owner_api: ApiClient, as_role: Callable[[str], ApiClient], channels: dict[str, Channel]
) -> None:
    agent, manager = as_role("agent"), as_role("manager")
    post = make_post(agent, [channels["bluesky"]], scheduled_at="2041-01-01T10:00:00Z")
    agent.post(f"{BASE}/posts/{post['id']}/submit", {})
    moved_by_edit = agent.patch(f"{BASE}/posts/{post['id']}", {"scheduled_at": "2041-01-02T10:00:00Z"})
    assert moved_by_edit.status_code == 409 and moved_by_edit.json()["field"] == "scheduled_at"
    assert agent.post(f"{BASE}/posts/{post['id']}/schedule", {"scheduled_at": None}).status_code == 403
    moved = manager.post(f"{BASE}/posts/{post['id']}/schedule", {"scheduled_at": "2041-01-02T11:00:00+01:00"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["scheduled_at"] == "2041-01-02T10:00:00Z"
    assert moved.json()["variants"][0]["scheduled_at"] == "2041-01-02T10:00:00Z"
    assert agent.post(f"{BASE}/posts/{post['id']}/cancel", {}).status_code == 403
    cancelled = manager.post(f"{BASE}/posts/{post['id']}/cancel", {})
    assert cancelled.json()["status"] == "cancelled"
    assert run_worker(at=datetime(2041, 1, 3, tzinfo=UTC)) == {}


# -- the queue and best times ------------------------------------------------------------------------


def test_queue_slots_are_local_times_and_the_next_free_slot_skips_taken_ones(
    workspace: Workspace, owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    workspace.timezone = "America/New_York"
    workspace.save()
    twitter = channels["twitter"].pk
    slots = [{"weekday": 0, "time": "09:00"}, {"weekday": 2, "time": "14:30"}]
    saved = owner_api.put(f"{BASE}/channels/{twitter}/slots", {"slots": slots})
    assert saved.status_code == 200, saved.content
    assert saved.json()["slots"] == [
        {"weekday": 0, "day": "Monday", "time": "09:00"},
        {"weekday": 2, "day": "Wednesday", "time": "14:30"},
    ]
    assert owner_api.get(f"{BASE}/channels/{twitter}/slots").json() == saved.json()

    after = "2041-06-30T12:00:00Z"  # a Sunday
    first = owner_api.get(f"{BASE}/channels/{twitter}/next-slot", after=after).json()
    assert first["local"] == "2041-07-01T09:00:00-04:00" and first["at"] == "2041-07-01T13:00:00Z"
    taken = make_post(owner_api, [channels["twitter"]], scheduled_at=first["at"])
    owner_api.post(f"{BASE}/posts/{taken['id']}/submit", {})
    second = owner_api.get(f"{BASE}/channels/{twitter}/next-slot", after=after).json()
    assert second["local"] == "2041-07-03T14:30:00-04:00"

    empty = owner_api.get(f"{BASE}/channels/{channels['bluesky'].pk}/next-slot")
    assert empty.status_code == 404 and "no queue slots" in empty.json()["detail"]
    offset = owner_api.put(
        f"{BASE}/channels/{twitter}/slots", {"slots": [{"weekday": 0, "time": "09:00+02:00"}]}
    )
    assert offset.status_code == 422 and "without an offset" in offset.json()["detail"]


def test_best_times_and_media_rules_for_the_editor(
    owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    best = owner_api.get(f"{BASE}/channels/{channels['mastodon'].pk}/best-times")
    assert best.status_code == 200, best.content
    assert best.json()["basis"] == "none" and best.json()["top"] == [] and len(best.json()["scores"]) == 168

    rules = owner_api.get(f"{BASE}/networks/bluesky/media").json()
    assert rules["network"] == "bluesky" and rules["kinds"]["image"]["alt_text"]
    assert owner_api.get(f"{BASE}/networks/twitter/media").json()["network"] == "x"
    unknown = owner_api.get(f"{BASE}/networks/myspace/media")
    assert unknown.status_code == 404 and "unknown network 'myspace'" in unknown.json()["detail"]


# -- campaigns and policies --------------------------------------------------------------------------


def test_campaigns_and_approval_policies_are_managed_by_managers(
    workspace: Workspace, as_role: Callable[[str], ApiClient], channels: dict[str, Channel]
) -> None:
    manager, agent = as_role("manager"), as_role("agent")
    assert agent.post(f"{BASE}/campaigns", {"name": "Launch"}).status_code == 403
    created = manager.post(f"{BASE}/campaigns", {"name": "Launch", "starts_on": "2041-05-01"})
    assert created.status_code == 201 and created.json()["utm_campaign"] == "launch"
    campaign = created.json()["id"]
    clash = manager.post(f"{BASE}/campaigns", {"name": "Launch"})
    assert clash.status_code == 409 and clash.json()["field"] == "name"
    backwards = manager.patch(f"{BASE}/campaigns/{campaign}", {"ends_on": "2041-04-01"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "ends_on"
    assert manager.patch(f"{BASE}/campaigns/{campaign}", {"color": "#000000"}).json()["color"] == "#000000"
    post = make_post(agent, [channels["bluesky"]], campaign_id=campaign)
    assert "utm_campaign=launch" in post["variants"][0]["parts"][0]["text"]
    assert agent.get(f"{BASE}/campaigns/{campaign}").json()["posts"] == 1
    assert manager.delete(f"{BASE}/campaigns/{campaign}").status_code == 409
    agent.delete(f"{BASE}/posts/{post['id']}")
    assert manager.delete(f"{BASE}/campaigns/{campaign}").status_code == 204

    policy = {
        "name": "Legal",
        "deadline_minutes": 60,
        "steps": [{"name": "Legal", "role": "admin", "mode": "all"}],
    }
    assert agent.post(f"{BASE}/approval-policies", policy).status_code == 403
    made = manager.post(f"{BASE}/approval-policies", policy)
    assert made.status_code == 201, made.content
    assert made.json()["steps"][0] | {"approver_ids": []} == {
        "position": 0,
        "name": "Legal",
        "mode": "all",
        "role": "admin",
        "approver_ids": [],
        "approvers": [],
    }
    pk = made.json()["id"]
    nobody = manager.put(f"{BASE}/approval-policies/{pk}", {"name": "Legal", "steps": [{"name": "x"}]})
    assert nobody.status_code == 422 and "names no reviewers" in nobody.json()["detail"]
    assert manager.put(f"{BASE}/approval-policies/{pk}", policy | {"is_default": True}).json()["is_default"]
    assert [p["name"] for p in agent.get(f"{BASE}/approval-policies").json()] == ["Legal"]
    assert manager.delete(f"{BASE}/approval-policies/{pk}").status_code == 204
    actions = set(AuditLog.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {"campaign.create", "campaign.update", "campaign.delete", "approval_policy.delete"} <= actions


# -- who may, and what is refused --------------------------------------------------------------------


def test_an_analyst_reads_but_cannot_write_and_an_agent_writes_but_cannot_manage(
    owner_api: ApiClient, as_role: Callable[[str], ApiClient], channels: dict[str, Channel]
) -> None:
    post = make_post(owner_api, [channels["bluesky"]])
    analyst, agent = as_role("analyst"), as_role("agent")
    assert analyst.get(f"{BASE}/posts/{post['id']}").status_code == 200
    assert analyst.get(f"{BASE}/calendar").status_code == 200
    refused = analyst.post(f"{BASE}/posts", {"body": "hi", "channel_ids": [channels["bluesky"].pk]})
    assert refused.status_code == 403 and "publishing.write" in refused.json()["detail"]
    assert analyst.post(f"{BASE}/posts/{post['id']}/submit", {}).status_code == 403
    assert agent.post(f"{BASE}/posts/{post['id']}/submit", {}).status_code == 200
    slots = {"slots": [{"weekday": 1, "time": "10:00"}]}
    manage = agent.put(f"{BASE}/channels/{channels['bluesky'].pk}/slots", slots)
    assert manage.status_code == 403 and "publishing.manage" in manage.json()["detail"]
    assert as_role("requester").get(f"{BASE}/posts").status_code == 403


def test_bad_input_is_refused_with_what_is_wrong_and_where(
    workspace: Workspace, owner_api: ApiClient, channels: dict[str, Channel]
) -> None:
    bluesky = channels["bluesky"].pk

    def refused(response: Any, status: int = 422) -> dict[str, Any]:
        assert response.status_code == status, response.content
        assert set(response.json()) == {"detail", "field"}
        return dict(response.json())

    naive = refused(
        owner_api.post(
            f"{BASE}/posts", {"body": "x", "channel_ids": [bluesky], "scheduled_at": "2041-07-01T09:00:00"}
        )
    )
    assert naive["field"] == "scheduled_at" and "UTC offset" in naive["detail"]
    earlier = {"body": "x", "channel_ids": [bluesky], "scheduled_at": "2001-01-01T00:00:00+02:00"}
    assert "in the past" in refused(owner_api.post(f"{BASE}/posts", earlier))["detail"]
    option = refused(
        owner_api.post(f"{BASE}/posts", {"body": "x", "channel_ids": [bluesky], "options": {"colour": 1}})
    )
    assert option["field"] == "options.colour"
    assert refused(owner_api.post(f"{BASE}/posts", {"body": "", "channel_ids": [bluesky]}))["field"] == "body"
    zone = refused(
        owner_api.post(f"{BASE}/posts", {"body": "x", "channel_ids": [bluesky], "timezone": "Mars/Olympus"})
    )
    assert zone["field"] == "timezone"
    rss = Channel.objects.create(workspace=workspace, network="rss", handle="https://acme.com/feed")
    assert (
        "cannot publish to"
        in refused(owner_api.post(f"{BASE}/posts", {"body": "x", "channel_ids": [rss.pk]}))["detail"]
    )
    missing = refused(owner_api.post(f"{BASE}/posts", {"body": "x", "channel_ids": [999_999]}), 404)
    assert missing["detail"] == "channel 999999 does not exist in this workspace"
    assert (
        refused(owner_api.get(f"{BASE}/posts/999999"), 404)["detail"]
        == "post 999999 does not exist in this workspace"
    )
    media = [{"mime_type": "image/png", "size": 1000, "filename": "a.png"}]
    no_alt = owner_api.post(
        f"{BASE}/preview", {"body": "x", "channel_ids": [bluesky], "media": media}
    ).json()[0]
    assert not no_alt["valid"] and any("alt text is required" in p for p in no_alt["problems"])

    post = make_post(owner_api, [channels["bluesky"]])
    decision = refused(owner_api.post(f"{BASE}/posts/{post['id']}/decisions", {"decision": "maybe"}))
    assert decision["field"] == "decision"
    assert refused(owner_api.post(f"{BASE}/posts/{post['id']}/decisions", {"decision": "approve"}), 409)
    assert refused(owner_api.post(f"{BASE}/posts/{post['id']}/schedule", {}))["field"] == "scheduled_at"
    past = refused(
        owner_api.post(f"{BASE}/posts/{post['id']}/schedule", {"scheduled_at": "2001-01-01T00:00:00Z"})
    )
    assert "in the past" in past["detail"]
    empty = refused(owner_api.put(f"{BASE}/posts/{post['id']}/variants/{bluesky}", {"parts": []}))
    assert empty["field"] == "parts"
    other = refused(
        owner_api.put(f"{BASE}/posts/{post['id']}/variants/{channels['twitter'].pk}", {"parts": ["x"]}), 404
    )
    assert "a variant of post" in other["detail"] and "does not exist in this workspace" in other["detail"]
    calendar = refused(owner_api.get(f"{BASE}/calendar", start="2041-07-01T00:00:00"))
    assert calendar["field"] == "start" and "UTC offset" in calendar["detail"]
    backwards = refused(
        owner_api.get(f"{BASE}/calendar", start="2041-07-08T00:00:00Z", end="2041-07-01T00:00:00Z")
    )
    assert backwards["field"] == "end"
    assert refused(owner_api.get(f"{BASE}/posts", **{"from": "2041-07-01"}))["field"] == "from"
