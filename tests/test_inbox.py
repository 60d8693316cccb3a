"""The inbox through its interfaces: TWCS replayed as live traffic, conversations, replies, notes, reports."""

from __future__ import annotations

import csv
import random
import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import DEMO_CSV, ApiClient
from townhall.inbox.models import Conversation, ConversationItem, Delivery, Notification
from townhall.items import importers
from townhall.items.models import Direction, Item
from townhall.pipeline import IncomingItem, ingest
from townhall.workspaces.models import Workspace

TWCS_TIME = "%a %b %d %H:%M:%S %z %Y"
# Worked out from demo/twcs_sample.csv alone (see expected_first_responses): the median minutes from a
# customer's first tweet in a thread to the brand's first reply after it.
SAMPLE_MEDIAN_FIRST_RESPONSE_MINUTES = 15.45


def expected_first_responses() -> dict[str, float]:
    """Per thread (keyed by its root tweet id): minutes to the brand's first answer, read from the file."""
    rows = list(csv.DictReader(DEMO_CSV.open(newline="", encoding="utf-8")))
    parent = {r["tweet_id"]: r["in_response_to_tweet_id"] for r in rows}
    ids = set(parent)

    def root(tweet: str) -> str:
        while parent.get(tweet) and parent[tweet] in ids:
            tweet = parent[tweet]
        return tweet

    threads: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for r in rows:
        threads[root(r["tweet_id"])].append(
            (datetime.strptime(r["created_at"], TWCS_TIME), r["inbound"] == "True")
        )
    minutes = {}
    for key, tweets in threads.items():
        inbound = sorted(t for t, is_in in tweets if is_in)
        if not inbound:
            continue
        answers = sorted(t for t, is_in in tweets if not is_in and t >= inbound[0])
        if answers:
            minutes[key] = (answers[0] - inbound[0]).total_seconds() / 60
    return minutes


def test_the_expected_median_is_what_the_file_says() -> None:
    assert (
        round(statistics.median(expected_first_responses().values()), 2)
        == SAMPLE_MEDIAN_FIRST_RESPONSE_MINUTES
    )


@pytest.mark.parametrize("order", ["file", "shuffled"])
def test_twcs_replayed_as_live_traffic_files_every_tweet_and_times_first_responses(
    workspace: Workspace, owner_api: ApiClient, order: str
) -> None:
    records = list(importers.parse(DEMO_CSV, "twcs"))
    if order == "shuffled":
        random.Random(7).shuffle(records)
    ingest(workspace.pk, records, batch_size=250)
    # Every inbound tweet is in exactly one conversation: the one of its thread.
    inbound = Item.objects.filter(workspace=workspace, direction=Direction.INBOUND)
    filed = dict(ConversationItem.objects.filter(item__in=inbound).values_list("item_id", "conversation_id"))
    assert len(filed) == inbound.count()
    for item_id, root_id in inbound.values_list("id", "thread_root_id"):
        conversation = Conversation.objects.get(pk=filed[item_id])
        assert conversation.key == f"thread:{root_id}"
    expected = expected_first_responses()
    roots = dict(Item.objects.filter(workspace=workspace).values_list("id", "native_id"))
    measured = {
        roots[int(c.key.split(":")[1])]: (c.first_response_at - c.first_inbound_at).total_seconds() / 60
        for c in Conversation.objects.filter(
            workspace=workspace, first_response_at__isnull=False, merged_into__isnull=True
        )
    }
    assert measured.keys() == expected.keys()
    for key, minutes in expected.items():
        assert measured[key] == pytest.approx(minutes, abs=1e-6)
    report = owner_api.get("/workspaces/acme/reports/inbox").json()
    assert report["first_response_minutes"]["median"] == SAMPLE_MEDIAN_FIRST_RESPONSE_MINUTES
    assert report["answered"] == len(expected)


def _tweet(
    native: str,
    text: str,
    *,
    minute: int,
    author: str = "cust",
    parent: str = "",
    outbound: bool = False,
    when: datetime | None = None,
    kind: str = "mention",
) -> IncomingItem:
    from townhall.pipeline.records import IncomingAuthor

    base = when or datetime.now(UTC) - timedelta(minutes=60)
    return IncomingItem(
        network="twitter",
        native_id=native,
        created_at=base + timedelta(minutes=minute),
        text=text,
        kind="reply" if parent else kind,
        direction="outbound" if outbound else "inbound",
        author=None
        if outbound
        else IncomingAuthor(native_id=author, handle=author, display_name=f"Dana {author}"),
        channel_handle="acme",
        parent_native_id=parent,
    )


@pytest.fixture
def thread(workspace: Workspace) -> Conversation:
    ingest(workspace.pk, [_tweet("1", "@acme my parcel is late again", minute=0)])
    return Conversation.objects.get(workspace=workspace)


def test_a_conversation_lists_reads_and_answers(
    workspace: Workspace, owner_api: ApiClient, thread: Conversation
) -> None:
    page = owner_api.get("/workspaces/acme/conversations").json()
    assert [c["id"] for c in page["items"]] == [thread.pk]
    assert page["items"][0]["subject"] == "@acme my parcel is late again"
    assert page["items"][0]["waiting_since"] is not None
    response = owner_api.post(
        f"/workspaces/acme/conversations/{thread.pk}/replies", {"text": "@cust sorry, on it"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [i["direction"] for i in body["items"]] == ["inbound", "outbound"]
    assert body["first_response_at"] is not None and body["waiting_since"] is None
    assert body["assignee"] is not None  # whoever answers first takes it
    delivery = Delivery.objects.get(conversation=thread, kind="reply")
    assert delivery.status == "recorded"  # an imported channel has no connector to send through
    assert "no connector" in delivery.error


def test_a_reply_over_the_networks_limit_is_refused(owner_api: ApiClient, thread: Conversation) -> None:
    response = owner_api.post(f"/workspaces/acme/conversations/{thread.pk}/replies", {"text": "x" * 281})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "281 characters as twitter counts them; the limit is 280",
        "field": "text",
    }
    assert not Item.objects.filter(direction=Direction.OUTBOUND).exists()


def test_the_customer_writing_again_reopens_a_resolved_conversation(
    workspace: Workspace, owner_api: ApiClient, thread: Conversation
) -> None:
    assert (
        owner_api.patch(f"/workspaces/acme/conversations/{thread.pk}", {"status": "resolved"}).status_code
        == 200
    )
    ingest(workspace.pk, [_tweet("2", "@acme still nothing!", minute=90, parent="1")])
    thread.refresh_from_db()
    assert thread.status == "open"
    kinds = [e["kind"] for e in owner_api.get(f"/workspaces/acme/conversations/{thread.pk}").json()["events"]]
    assert kinds[-1] == "reopened"


def test_notes_mention_colleagues_and_csat_needs_resolution(
    workspace: Workspace,
    owner_api: ApiClient,
    thread: Conversation,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
) -> None:
    sam = make_member(workspace, "agent", username="sam")
    response = owner_api.post(
        f"/workspaces/acme/conversations/{thread.pk}/notes", {"text": "@sam can you check?"}
    )
    assert response.status_code == 200
    notes = api_as(sam).get("/workspaces/acme/notifications").json()
    assert [n["conversation_id"] for n in notes] == [thread.pk]
    early = owner_api.patch(f"/workspaces/acme/conversations/{thread.pk}", {"csat": 4})
    assert early.status_code == 409
    owner_api.patch(f"/workspaces/acme/conversations/{thread.pk}", {"status": "resolved"})
    assert owner_api.patch(f"/workspaces/acme/conversations/{thread.pk}", {"csat": 9}).status_code == 422
    assert owner_api.patch(f"/workspaces/acme/conversations/{thread.pk}", {"csat": 4}).json()["csat"] == 4
    assert Notification.objects.filter(user=sam).count() == 1


def test_delegating_to_a_team_picks_an_available_member_and_leaves_a_note(
    workspace: Workspace,
    owner_api: ApiClient,
    thread: Conversation,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
) -> None:
    ana, bo = make_member(workspace, "agent", username="ana"), make_member(workspace, "agent", username="bo")
    team = owner_api.post(
        "/workspaces/acme/teams", {"name": "sales", "members": [{"user": ana.pk}, {"user": bo.pk}]}
    ).json()
    api_as(ana).put("/workspaces/acme/availability", {"availability": "offline"})
    response = owner_api.post(
        f"/workspaces/acme/conversations/{thread.pk}/delegate", {"team": team["id"], "note": "wants a quote"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == "bo" and response.json()["team"] == "sales"
    events = owner_api.get(f"/workspaces/acme/conversations/{thread.pk}").json()["events"]
    assert events[-1]["kind"] == "delegated" and events[-1]["text"] == "wants a quote"


def test_views_mine_unassigned_and_snoozed(
    workspace: Workspace, owner_api: ApiClient, make_member: Callable[..., Any]
) -> None:
    ingest(
        workspace.pk, [_tweet(str(n), f"@acme question {n}", minute=n, author=f"c{n}") for n in range(1, 4)]
    )
    first, second, third = Conversation.objects.filter(workspace=workspace).order_by("pk")
    me = owner_api.get("/workspaces/acme/conversations", view="unassigned").json()["items"]
    assert len(me) == 3
    owner_api.post(f"/workspaces/acme/conversations/{first.pk}/replies", {"text": "hello"})
    mine = owner_api.get("/workspaces/acme/conversations", view="mine").json()["items"]
    assert [c["id"] for c in mine] == [first.pk]
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    snoozed = owner_api.patch(
        f"/workspaces/acme/conversations/{second.pk}", {"status": "snoozed", "snoozed_until": later}
    )
    assert snoozed.status_code == 200
    open_ids = [c["id"] for c in owner_api.get("/workspaces/acme/conversations").json()["items"]]
    assert second.pk not in open_ids and third.pk in open_ids
    bad = owner_api.patch(f"/workspaces/acme/conversations/{third.pk}", {"status": "snoozed"})
    assert bad.status_code == 422 and bad.json()["field"] == "snoozed_until"


def test_merging_moves_items_and_bulk_updates_log_each(workspace: Workspace, owner_api: ApiClient) -> None:
    ingest(workspace.pk, [_tweet("1", "@acme one", minute=0), _tweet("2", "@acme two", minute=1)])
    a, b = Conversation.objects.filter(workspace=workspace).order_by("pk")
    merged = owner_api.post(f"/workspaces/acme/conversations/{a.pk}/merge", {"into": b.pk})
    assert merged.status_code == 200 and merged.json()["inbound_count"] == 2
    again = owner_api.post(f"/workspaces/acme/conversations/{a.pk}/merge", {"into": b.pk})
    assert again.status_code == 409
    bulk = owner_api.post(
        "/workspaces/acme/conversations/bulk", {"ids": [b.pk], "priority": "high", "add_labels": ["vip"]}
    )
    assert bulk.json() == {"updated": 1}
    shown = owner_api.get(f"/workspaces/acme/conversations/{b.pk}").json()
    assert shown["priority"] == "high" and shown["labels"] == ["vip"]
    missing = owner_api.post(
        "/workspaces/acme/conversations/bulk", {"ids": [b.pk, 999999], "priority": "low"}
    )
    assert missing.status_code == 404


def test_canned_replies_fill_variables(
    workspace: Workspace, owner_api: ApiClient, thread: Conversation
) -> None:
    canned = owner_api.post(
        "/workspaces/acme/canned-replies",
        {
            "shortcut": "sorry",
            "title": "Apology",
            "body": "Hi {{ first_name }}, sorry! {{ brand }} is on it. {{ nope }}",
        },
    ).json()
    rendered = owner_api.get(
        f"/workspaces/acme/conversations/{thread.pk}/canned-replies/{canned['id']}"
    ).json()
    assert rendered["text"] == "Hi Dana, sorry! Acme is on it. {{ nope }}"
    assert rendered["limit"] == 280


def test_outsiders_and_analysts_cannot_act(
    workspace: Workspace,
    thread: Conversation,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
) -> None:
    analyst = api_as(make_member(workspace, "analyst"))
    assert analyst.get(f"/workspaces/acme/conversations/{thread.pk}").status_code == 200
    assert (
        analyst.post(f"/workspaces/acme/conversations/{thread.pk}/replies", {"text": "hi"}).status_code == 403
    )
    other = Workspace.objects.create(slug="other", name="Other")
    stranger = api_as(make_member(other, "owner"))
    assert stranger.get(f"/workspaces/acme/conversations/{thread.pk}").status_code == 404


def test_report_csv_has_a_row_per_conversation(owner_api: ApiClient, thread: Conversation) -> None:
    owner_api.post(f"/workspaces/acme/conversations/{thread.pk}/replies", {"text": "on it"})
    response = owner_api.get("/workspaces/acme/reports/inbox.csv")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(response.content.decode().splitlines()))
    assert [r["conversation"] for r in rows] == [str(thread.pk)]
    assert float(rows[0]["first_response_minutes"]) > 59


def test_report_periods_with_any_iso_offset_are_read_in_utc(owner_api: ApiClient) -> None:
    # PostgreSQL refuses offsets beyond +-15:59 that ISO 8601 allows: the API converts before querying.
    far = owner_api.get("/workspaces/acme/reports/inbox", since="4735-02-10T04:01:11-19:48")
    assert far.status_code == 200 and far.json()["conversations"] == 0
    backwards = owner_api.get(
        "/workspaces/acme/reports/inbox", since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z"
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "since"
