"""Listening end to end: topics and queries through the API, mentions from the pipeline and backfills,
resumable series, share of voice, emerging terms, spike alerts to webhooks, rules and the team, the CLI."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from conftest import ApiClient
from townhall.cli import main
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import do_sync
from townhall.inbox.models import Conversation, Notification, RoutingRule
from townhall.listening import alerts, rollups, services, stage
from townhall.listening.models import Alert, ListeningQuery, Mention, MentionRollup, Topic
from townhall.pipeline.records import IncomingAuthor, IncomingItem
from townhall.pipeline.runner import ingest
from townhall.webhooks import services as webhooks
from townhall.webhooks.models import WebhookCall
from townhall.workspaces.models import Workspace

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday
BASE = "/workspaces/acme/listening"


def post(n: int | str, text: str, at: datetime, *, author: str = "", followers: int = 100) -> IncomingItem:
    handle = author or f"user{n}"
    return IncomingItem(
        network="bluesky",
        native_id=f"p{n}",
        created_at=at,
        text=text,
        kind="mention",
        author=IncomingAuthor(native_id=f"did:{handle}", handle=handle, followers=followers),
    )


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """Run what a call queues after commit (backfills, roll-ups, webhooks) as the worker would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_new_topic_backfills_history_and_new_items_are_matched_as_they_arrive(
    workspace: Workspace, owner_api: ApiClient, on_commit: Callable[[], Any]
) -> None:
    ingest(
        workspace.pk,
        [
            post(1, "My Acme phone died again", T0),
            post(2, "acme laptops are great", T0 + timedelta(minutes=5)),
            post(3, "Café Acmé phone, accents and all", T0 + timedelta(minutes=70)),
            post(4, "nothing to see", T0 + timedelta(minutes=80)),
        ],
    )
    with on_commit():
        created = owner_api.post(
            f"{BASE}/topics", {"name": "Acme", "kind": "brand", "queries": ["acme AND (phone* OR laptop*)"]}
        )
    assert created.status_code == 201, created.content
    topic = created.json()
    query = owner_api.get(f"{BASE}/queries/{topic['queries'][0]['id']}").json()
    assert (query["backfill_status"], query["backfill_matched"]) == ("done", 3)

    ingest(workspace.pk, [post(5, "new ACME phone case", T0 + timedelta(minutes=90))])
    mentions = owner_api.get(f"{BASE}/topics/{topic['id']}/mentions").json()["items"]
    assert mentions[0]["text"] == "new ACME phone case"
    assert mentions[0]["terms"] == ["acme", "phone*"]

    rollups.run()
    series = owner_api.get(
        f"{BASE}/topics/{topic['id']}/series",
        granularity="hour",
        since=T0.isoformat(),
        until=(T0 + timedelta(hours=2)).isoformat(),
    ).json()
    assert [p["volume"] for p in series["points"]] == [2, 2, 0]
    assert [p["unique_authors"] for p in series["points"]] == [2, 2, 0]
    assert [p["reach"] for p in series["points"]] == [200, 200, 0]


def test_a_query_that_does_not_parse_says_where_and_what_was_expected(owner_api: ApiClient) -> None:
    bad = owner_api.post(f"{BASE}/topics", {"name": "Broken", "queries": ['acme AND ("phone']})
    assert bad.status_code == 422
    assert "position" in bad.json()["detail"] and bad.json()["field"] == "text"
    assert owner_api.get(f"{BASE}/topics").json() == []  # nothing half-created


def test_editing_a_query_replaces_its_matches_and_the_series_follow(
    workspace: Workspace, owner_api: ApiClient, on_commit: Callable[[], Any]
) -> None:
    ingest(workspace.pk, [post(1, "acme phone", T0), post(2, "acme laptop", T0 + timedelta(hours=1))])
    with on_commit():
        topic = owner_api.post(f"{BASE}/topics", {"name": "Acme", "queries": ["acme phone"]}).json()
    rollups.run()
    query_id = topic["queries"][0]["id"]
    with on_commit():
        edited = owner_api.patch(f"{BASE}/queries/{query_id}", {"text": "acme laptop"})
    assert edited.json()["version"] == 2
    rollups.run()
    assert list(Mention.objects.values_list("item__native_id", flat=True)) == ["p2"]
    day = MentionRollup.objects.get(granularity="day")
    hours = dict(MentionRollup.objects.filter(granularity="hour").values_list("bucket", "volume"))
    assert day.volume == 1 and hours == {T0 + timedelta(hours=1): 1}
    with on_commit():
        assert owner_api.delete(f"{BASE}/queries/{query_id}").status_code == 204
    rollups.run()
    assert not MentionRollup.objects.exists()


def test_roll_ups_resume_from_their_watermark_and_never_count_twice(
    workspace: Workspace, on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        services.do_create_topic(workspace=workspace, name="Acme", queries=["acme", "acme OR widget"])
    items = [post(n, "acme widget" if n % 3 else "widget", T0 + timedelta(minutes=13 * n)) for n in range(60)]
    ingest(workspace.pk, items)
    # Cut off after every chunk of 7 mentions, then resumed: the same series as one full pass.
    while rollups.run(chunk=7, max_chunks=1):
        pass
    cut = sorted(MentionRollup.objects.values_list("granularity", "bucket", "volume", "unique_authors"))
    MentionRollup.objects.all().delete()
    rollups.RollupState.objects.all().delete()
    rollups.run()
    rollups.run()
    whole = sorted(MentionRollup.objects.values_list("granularity", "bucket", "volume", "unique_authors"))
    assert cut == whole
    # Two queries of a topic matching one item count it once.
    assert sum(v for g, _, v, _ in whole if g == "day") == 60


def test_a_backfill_cut_off_resumes_from_its_cursor(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(workspace.pk, [post(n, f"acme story {n}", T0 + timedelta(minutes=n)) for n in range(25)])
    topic = services.do_create_topic(workspace=workspace, name="Acme")
    query = services.do_create_query(topic=topic, text="acme")
    real_store, calls = stage.store, {"n": 0}

    def store_then_die(rows: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        real_store(rows)

    monkeypatch.setattr(stage, "store", store_then_die)
    with pytest.raises(RuntimeError):
        services.do_backfill(query_id=query.pk, version=query.version, chunk=10)
    query.refresh_from_db()
    assert (query.backfill_status, Mention.objects.count()) == ("running", 20)
    monkeypatch.setattr(stage, "store", real_store)
    services.do_backfill(query_id=query.pk, version=query.version, chunk=10)
    query.refresh_from_db()
    assert (query.backfill_status, query.backfill_matched, Mention.objects.count()) == ("done", 25, 25)


def test_share_of_voice_compares_the_brand_with_its_competitors(
    workspace: Workspace, owner_api: ApiClient, on_commit: Callable[[], Any]
) -> None:
    items = [post(f"a{n}", "acme rocks", T0 + timedelta(hours=n), followers=1000) for n in range(6)]
    items += [post(f"b{n}", "globex is bad", T0 + timedelta(hours=n), followers=10) for n in range(2)]
    ingest(workspace.pk, items)
    with on_commit():
        owner_api.post(f"{BASE}/topics", {"name": "Acme", "kind": "brand", "queries": ["acme"]})
        owner_api.post(f"{BASE}/topics", {"name": "Globex", "kind": "competitor", "queries": ["globex"]})
        owner_api.post(f"{BASE}/topics", {"name": "Widgets", "kind": "industry", "queries": ["rocks"]})
    rollups.run()
    voice = owner_api.get(
        f"{BASE}/share-of-voice", since=T0.isoformat(), until=(T0 + timedelta(days=1)).isoformat()
    ).json()
    shares = {t["name"]: t for t in voice["topics"]}
    assert set(shares) == {"Acme", "Globex"}  # industry topics are not a voice in the comparison
    assert shares["Acme"]["share_of_volume"] == pytest.approx(0.75)
    assert shares["Acme"]["share_of_reach"] == pytest.approx(6000 / 6020)
    assert voice["series"][0]["shares"] == {
        str(shares["Acme"]["topic_id"]): 0.75,
        str(shares["Globex"]["topic_id"]): 0.25,
    }


def test_emerging_terms_rise_against_the_week_before_without_the_topic_s_own_terms(
    workspace: Workspace, owner_api: ApiClient, on_commit: Callable[[], Any]
) -> None:
    now = T0 + timedelta(days=8)
    rng = random.Random(7)
    filler = ["service", "store", "price", "delivery", "support", "app", "update", "screen"]
    items = []
    for n in range(300):  # a week of ordinary talk
        at = now - timedelta(days=8) + timedelta(minutes=33 * n)
        items.append(post(f"o{n}", f"acme {rng.choice(filler)} {rng.choice(filler)}", at))
    for n in range(30):  # the last day: a recall everyone talks about
        at = now - timedelta(hours=20) + timedelta(minutes=30 * n)
        items.append(post(f"r{n}", f"acme battery recall announced, {rng.choice(filler)}", at))
    ingest(workspace.pk, items)
    with on_commit():
        topic = services.do_create_topic(workspace=workspace, name="Acme", queries=["acme"])
    from townhall.listening import insights

    found = insights.emerging(topic, now=now)
    terms = [t["term"] for t in found]
    assert terms[0] in ("battery recall", "recall announced", "battery recall announced", "recall", "battery")
    assert "acme" not in terms and not any(t in ("service", "store") for t in terms)
    assert found[0]["examples"] and "recall" in found[0]["examples"][0]["text"]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook endpoint on loopback that records what it receives."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_a_crisis_raises_explained_alerts_to_webhooks_rules_and_managers(
    workspace: Workspace,
    owner_api: ApiClient,
    on_commit: Callable[[], Any],
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = receiver
    hook = owner_api.post("/workspaces/acme/webhooks", {"url": url, "events": ["listening.alert"]})
    assert hook.status_code == 201
    secret = hook.json()["secret"]
    with on_commit():
        topic = owner_api.post(f"{BASE}/topics", {"name": "Acme", "queries": ["acme"]}).json()
    owner_api.post(
        "/workspaces/acme/rules",
        {
            "name": "crisis",
            "events": ["listening_alert"],
            "conditions": {"field": "alert_kind", "op": "eq", "value": "negative"},
            "actions": [
                {"type": "add_label", "label": "crisis"},
                {"type": "set_priority", "priority": "urgent"},
            ],
        },
    )
    assert RoutingRule.objects.filter(name="crisis").exists()
    # Two weeks of a calm 2-4 mentions an hour, then an hour of angry posts about a battery fire.
    rng = random.Random(3)
    start = T0 - timedelta(days=14)
    items, n = [], 0
    for hour in range(14 * 24):
        for _ in range(rng.randint(2, 4)):
            at = start + timedelta(hours=hour, minutes=rng.randint(0, 59))
            items.append(post(n, f"acme order {rng.choice(['arrived', 'shipped', 'tracking'])}", at))
            n += 1
    spike_hour = T0
    for k in range(40):
        at = spike_hour + timedelta(minutes=k)
        items.append(
            post(f"s{k}", f"acme battery fire, this is awful and dangerous #{k}", at, followers=50 + k)
        )
    ingest(workspace.pk, items)
    assert Mention.objects.count() == len(items)
    rollups.run()
    # The detector judged the calm days as they passed; nothing fired.
    assert alerts.run(now=spike_hour - timedelta(minutes=1)) == []
    with on_commit():
        raised = alerts.run(now=spike_hour + timedelta(hours=1, minutes=5))
    kinds = sorted(a.kind for a in raised)
    assert "volume" in kinds
    listed = owner_api.get(f"{BASE}/alerts").json()
    volume = next(a for a in listed if a["kind"] == "volume")
    assert volume["observed"] >= 40 and volume["expected"] < 5
    explanation = volume["explanation"]
    assert any("fire" in t["term"] or "battery" in t["term"] for t in explanation["top_terms"])
    assert explanation["top_posts"] and "battery fire" in explanation["top_posts"][0]["text"]
    assert explanation["top_authors"]
    if "negative" in kinds:  # the fast model reads "awful and dangerous" as negative
        crisis = Alert.objects.get(kind="negative")
        labelled = Conversation.objects.filter(labels__name="crisis")
        assert labelled.exists() and all(c.priority == "urgent" for c in labelled)
        assert crisis.explanation["sentiment"]["during"]["negative"] > 0.5
    # Webhooks: one signed call per alert, verifiable with the secret.
    calls = [json.loads(r["body"]) for r in received]
    assert sorted(c["data"]["kind"] for c in calls) == kinds
    for r in received:
        assert webhooks.verify(secret, r["headers"]["X-Townhall-Signature"], r["body"])
        assert not webhooks.verify("whsec_wrong", r["headers"]["X-Townhall-Signature"], r["body"])
    assert Notification.objects.filter(text__startswith="Spike on Acme").exists()
    # Judged hours are not judged again; a later quiet hour raises nothing.
    assert alerts.run(now=spike_hour + timedelta(hours=1, minutes=9)) == []
    ack = owner_api.post(f"{BASE}/alerts/{volume['id']}/acknowledge", {})
    assert ack.json()["acknowledged_by"] is not None
    assert owner_api.get(f"{BASE}/alerts", unacknowledged=True).json() == [
        a for a in owner_api.get(f"{BASE}/alerts").json() if a["id"] != volume["id"]
    ]
    assert topic["id"] == volume["topic_id"]


def test_failed_webhook_calls_are_retried_with_growing_pauses_then_given_up(workspace: Workspace) -> None:
    hook, secret = webhooks.do_create(workspace=workspace, url="https://hooks.example/in", events=[])
    call = WebhookCall.objects.create(webhook=hook, event="ping", payload={"hello": 1})
    seen: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    client = httpx.Client(transport=httpx.MockTransport(down))
    now = T0
    sent = webhooks.send_call(call.pk, client=client, now=now)
    assert sent is not None and (sent.status, sent.attempts, sent.response_status) == ("failed", 1, 503)
    assert sent.next_attempt_at == now + timedelta(minutes=1)
    for _ in range(2, webhooks.MAX_ATTEMPTS + 1):
        client = httpx.Client(transport=httpx.MockTransport(down))
        sent = webhooks.send_call(call.pk, client=client, now=now)
    assert sent is not None and (sent.status, sent.attempts) == ("gave_up", webhooks.MAX_ATTEMPTS)
    # Every attempt carries the same delivery id, so a receiver can drop a repeat.
    assert len({r.headers["X-Townhall-Delivery"] for r in seen}) == 1
    assert webhooks.verify(
        secret, seen[0].headers["X-Townhall-Signature"], seen[0].content, now=T0.timestamp()
    )


def test_a_sent_call_is_never_sent_again(workspace: Workspace) -> None:
    hook, _ = webhooks.do_create(workspace=workspace, url="https://hooks.example/in", events=["ping"])
    call = WebhookCall.objects.create(webhook=hook, event="ping", payload={})
    count = {"n": 0}

    def ok(request: httpx.Request) -> httpx.Response:
        count["n"] += 1
        return httpx.Response(200)

    for _ in range(3):
        webhooks.send_call(call.pk, client=httpx.Client(transport=httpx.MockTransport(ok)))
    assert count["n"] == 1


def test_webhook_input_is_checked(owner_api: ApiClient) -> None:
    bad_url = owner_api.post("/workspaces/acme/webhooks", {"url": "ftp://x", "events": []})
    assert bad_url.status_code == 422 and bad_url.json()["field"] == "url"
    bad_event = owner_api.post("/workspaces/acme/webhooks", {"url": "https://x.example", "events": ["nope"]})
    assert bad_event.status_code == 422 and "listening.alert" in bad_event.json()["detail"]
    listed = owner_api.get("/workspaces/acme/webhooks").json()
    assert listed == [] and "secret" not in json.dumps(listed)


def test_news_feeds_flow_through_the_same_matcher(
    workspace: Workspace, on_commit: Callable[[], Any], tmp_path: Path
) -> None:
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    (tmp_path / "feed.xml").write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>Industry news</title>
<item><title>Acme recalls phones</title><link>https://news.example/1</link><guid>https://news.example/1</guid>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><description>Batteries overheat</description></item>
<item><title>Weather</title><link>https://news.example/2</link><guid>https://news.example/2</guid>
<pubDate>Mon, 02 Nov 2026 11:00:00 GMT</pubDate><description>Sunny</description></item>
</channel></rss>"""
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with on_commit():
            topic = services.do_create_topic(
                workspace=workspace, name="Acme news", kind="industry", queries=["acme AND network:rss"]
            )
        feed = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        channel = do_create_channel(
            workspace=workspace, network="rss", handle=feed, is_ours=False, credentials={"url": feed}
        )
        assert do_sync(channel).imported == 2
    finally:
        server.shutdown()
        server.server_close()
    mention = Mention.objects.get(topic=topic)
    assert mention.item.url == "https://news.example/1" and mention.terms == ["acme"]


def test_roles_and_workspaces_bound_what_each_one_sees(
    workspace: Workspace,
    make_member: Callable[..., Any],
    api_as: Callable[[Any], ApiClient],
    owner_api: ApiClient,
    on_commit: Callable[[], Any],
) -> None:
    with on_commit():
        topic = owner_api.post(f"{BASE}/topics", {"name": "Acme", "queries": ["acme"]}).json()
    analyst = api_as(make_member(workspace, "analyst"))
    assert analyst.get(f"{BASE}/topics").status_code == 200
    assert analyst.post(f"{BASE}/topics", {"name": "Mine"}).status_code == 403
    assert analyst.post("/workspaces/acme/webhooks", {"url": "https://x.example"}).status_code == 403
    other = Workspace.objects.create(slug="other", name="Other")
    outsider = api_as(make_member(other, "owner"))
    assert outsider.get(f"{BASE}/topics/{topic['id']}").status_code == 404
    assert outsider.get(f"/workspaces/other/listening/topics/{topic['id']}").status_code == 404
    # A query of another workspace never produces mentions here.
    with on_commit():
        services.do_create_topic(workspace=other, name="Acme too", queries=["acme"])
    ingest(workspace.pk, [post(1, "acme", T0)])
    assert list(Mention.objects.values_list("topic__workspace__slug", flat=True)) == ["acme"]


def test_preview_tries_a_query_on_recent_items_without_saving(
    workspace: Workspace, owner_api: ApiClient
) -> None:
    ingest(workspace.pk, [post(1, "I love #Acme", T0), post(2, "acme-free day", T0 + timedelta(minutes=1))])
    found = owner_api.post(f"{BASE}/preview", {"query": "#acme"}).json()
    assert (found["matched"], found["scanned"]) == (1, 2)
    assert found["items"][0]["terms"] == ["#acme"]
    bad = owner_api.post(f"{BASE}/preview", {"query": "acme NEAR/x phone"})
    assert bad.status_code == 422 and "position" in bad.json()["detail"]
    assert not ListeningQuery.objects.exists() and not Topic.objects.exists()


def test_cli_listen_test_prints_the_match_and_the_terms(tmp_path: Path) -> None:
    text = tmp_path / "post.txt"
    text.write_text("Ça marche enfin, merci ACMÉ ! 🎉 #Launch", encoding="utf-8")
    runner = CliRunner()
    hit = runner.invoke(
        main, ["listen", "test", "--query", '"merci acme" AND #launch', "--text-file", str(text)]
    )
    assert hit.exit_code == 0 and json.loads(hit.output) == {
        "matches": True,
        "terms": ['"merci acme"', "#launch"],
    }
    miss = runner.invoke(main, ["listen", "test", "--query", "acme -#launch", "--text-file", str(text)])
    assert json.loads(miss.output) == {"matches": False, "terms": []}
    bad = runner.invoke(main, ["listen", "test", "--query", "acme AND", "--text-file", str(text)])
    assert bad.exit_code == 2
    error = json.loads(bad.output)
    assert error["position"] == 8 and error["error"].startswith("expected")


def test_topic_settings_are_checked(owner_api: ApiClient) -> None:
    topic = owner_api.post(f"{BASE}/topics", {"name": "Acme"}).json()
    bad = owner_api.patch(f"{BASE}/topics/{topic['id']}", {"alert_settings": {"loudness": 3}})
    assert bad.status_code == 422 and "loudness" in bad.json()["detail"]
    ok = owner_api.patch(
        f"{BASE}/topics/{topic['id']}", {"alert_settings": {"z_threshold": 5}, "kind": "campaign"}
    )
    assert ok.json()["alert_settings"] == {"z_threshold": 5.0} and ok.json()["kind"] == "campaign"
    clash = owner_api.post(f"{BASE}/topics", {"name": "Acme"})
    assert clash.status_code == 409
