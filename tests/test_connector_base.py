"""The HTTP layer and the sync loop under faults; RSS/Atom against a real HTTP server; file sources."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import DEMO_CSV
from townhall.connectors.base import Capabilities, ChannelConfig, Connector, FetchPage, Health
from townhall.connectors.http import (
    AuthError,
    ConnectorError,
    HttpClient,
    RateBudget,
    rate_limit_reset_seconds,
    retry_after_seconds,
)
from townhall.connectors.models import Channel
from townhall.connectors.registry import connectors
from townhall.connectors.rss import RssConnector
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import do_check, do_sync
from townhall.items.models import Item
from townhall.pipeline.records import IncomingAuthor, IncomingItem
from townhall.workspaces.models import Workspace


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(handler: Any, clock: Clock | None = None, **kwargs: Any) -> HttpClient:
    clock = clock or Clock()
    return HttpClient(httpx.Client(transport=httpx.MockTransport(handler)), sleep=clock.sleep, **kwargs)


def test_429_waits_what_retry_after_says_then_succeeds() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": True})]
    )
    clock = Clock()
    http = client_for(lambda request: next(answers), clock)
    assert http.json("GET", "https://net.example/api") == {"ok": True}
    assert clock.slept == [7.0]


def test_5xx_and_timeouts_back_off_with_jitter_then_give_up_clearly() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(503)

    clock = Clock()
    http = client_for(flaky, clock, retries=3, backoff=1.0)
    with pytest.raises(
        ConnectorError, match=r"HTTP 503 on GET https://net.example/x \(gave up after 4 tries\)"
    ):
        http.request("GET", "https://net.example/x")
    assert len(clock.slept) == 3
    assert all(0 <= wait <= 1.0 * 2**n for n, wait in enumerate(clock.slept))
    with pytest.raises(ConnectorError, match=r"ReadTimeout on GET https://net\.example/timeout"):
        http.request("GET", "https://net.example/timeout")


def test_refused_credentials_are_not_retried() -> None:
    calls = []
    http = client_for(lambda request: calls.append(1) or httpx.Response(401))
    with pytest.raises(AuthError, match="refused the credentials"):
        http.request("GET", "https://net.example/me")
    assert len(calls) == 1


def test_malformed_json_names_the_url() -> None:
    http = client_for(lambda request: httpx.Response(200, text="<html>oops"))
    with pytest.raises(
        ConnectorError, match=r"malformed JSON from GET https://net.example/feed: '<html>oops'"
    ):
        http.json("GET", "https://net.example/feed")


def test_the_rate_budget_spaces_calls_of_one_account() -> None:
    clock = Clock()
    budget = RateBudget(calls=2, per_seconds=10, clock=lambda: clock.now, sleep=clock.sleep)
    for _ in range(5):
        budget.acquire()
    assert clock.now == pytest.approx(20.0)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_in_seconds(seconds: int) -> None:
    assert retry_after_seconds(str(seconds)) == seconds


def test_rate_limit_reset_headers_in_their_three_forms() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert rate_limit_reset_seconds(str(now.timestamp() + 42), now=now) == pytest.approx(42)
    assert rate_limit_reset_seconds("17", now=now) == 17
    assert rate_limit_reset_seconds("2026-11-23T12:01:00.000Z", now=now) == 60
    assert rate_limit_reset_seconds("soon", now=now) is None
    answers = iter([httpx.Response(429, headers={"ratelimit-reset": "9"}), httpx.Response(200, json={})])
    clock = Clock()
    client_for(lambda request: next(answers), clock).json("GET", "https://bsky.example/xrpc/x")
    assert clock.slept == [9.0]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 23 Nov 2026 12:00:30 GMT", now=now) == 30
    assert retry_after_seconds("not a date") is None
    assert retry_after_seconds(None) is None


# --- the sync loop against a network that misbehaves ----------------------------------------------------


class PagedNetwork:
    """A fake network's API: N posts, served newest-last in pages of 10 after a numeric cursor."""

    def __init__(self, n: int) -> None:
        self.posts = [{"id": i, "text": f"post {i}"} for i in range(1, n + 1)]
        self.faults: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "429":
            return httpx.Response(429, headers={"Retry-After": "1"})
        if fault == "500":
            return httpx.Response(500)
        if fault == "timeout":
            raise httpx.ConnectTimeout("down", request=request)
        if fault == "garbage":
            return httpx.Response(200, text="{not json")
        after = int(request.url.params.get("after", "0"))
        page = [p for p in self.posts if p["id"] > after][:10]
        return httpx.Response(
            200, json={"posts": page, "more": bool(page) and page[-1]["id"] < len(self.posts)}
        )


class PagedConnector(Connector):
    network = "other"
    label = "paged test network"
    capabilities = Capabilities(read=True)

    def check(self) -> Health:
        return Health(ok=True, message="fine")

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        after = int(cursor.get("after", 0))
        body = self.http.json("GET", "https://net.example/posts", params={"after": after})
        items: list[Any] = [
            IncomingItem(
                network="other",
                native_id=str(p["id"]),
                text=p["text"],
                channel_handle=self.config.handle,
                created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=p["id"]),
                author=IncomingAuthor(native_id=f"u{p['id'] % 7}"),
            )
            for p in body["posts"]
        ]
        last = body["posts"][-1]["id"] if body["posts"] else after
        return FetchPage(items=items, cursor={"after": last}, more=body["more"])


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return do_create_channel(workspace=workspace, network="other", handle="brand", is_ours=True)


def sync_with(channel: Channel, network: PagedNetwork, **kwargs: Any) -> Any:
    http = HttpClient(httpx.Client(transport=httpx.MockTransport(network)), sleep=lambda s: None, retries=2)
    return do_sync(channel, connector=PagedConnector(ChannelConfig("other", "brand"), http=http), **kwargs)


@pytest.mark.parametrize(
    "faults",
    [
        ["429", "500"],
        ["timeout"],
        ["garbage"],
        ["500", "500", "500"],
        ["429", "429", "429", "garbage", "timeout"],
    ],
)
def test_faults_resume_from_the_cursor_with_nothing_lost_or_duplicated(
    channel: Channel, faults: list[str]
) -> None:
    network = PagedNetwork(95)
    first = sync_with(channel, network, max_pages=3)  # 30 items in, cursor committed
    assert first.imported == 30 and not first.error
    network.faults = list(faults)
    for _ in range(10):
        result = sync_with(channel, network)
        if not result.error:
            break
    stored = sorted(
        int(n) for n in Item.objects.filter(workspace=channel.workspace).values_list("native_id", flat=True)
    )
    assert stored == list(range(1, 96))
    channel.refresh_from_db()
    assert channel.cursor == {"after": 95} and channel.failures == 0 and channel.health == "ok"


def test_repeated_failures_mark_the_channel_failing_and_say_why(channel: Channel) -> None:
    network = PagedNetwork(5)
    for _ in range(3):
        network.faults = ["500"] * 3
        result = sync_with(channel, network)
    assert "HTTP 500 on GET https://net.example/posts" in result.error
    channel.refresh_from_db()
    assert (channel.health, channel.status) == ("failing", "error")
    assert "gave up after 3 tries" in channel.last_error
    assert sync_with(channel, network).imported == 5
    channel.refresh_from_db()
    assert (channel.health, channel.status, channel.last_error) == ("ok", "active", "")


class Killed(Exception):
    pass


def test_a_sync_killed_mid_page_resumes_with_exactly_the_servers_items(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = PagedNetwork(47)
    from townhall.connectors import sync as sync_module

    real_ingest = sync_module.ingest
    calls = {"n": 0}

    def dying_ingest(workspace_id: int, items: Any) -> Any:
        calls["n"] += 1
        stats = real_ingest(workspace_id, items)
        if calls["n"] == 3:
            raise Killed("the worker was killed after storing page 3, before its cursor was saved")
        return stats

    monkeypatch.setattr(sync_module, "ingest", dying_ingest)
    with pytest.raises(Killed):
        sync_with(channel, network)
    monkeypatch.setattr(sync_module, "ingest", real_ingest)
    assert (
        Item.objects.filter(workspace=channel.workspace).count() == 20
    )  # page 3 rolled back with its cursor
    sync_with(channel, network)
    stored = sorted(
        int(n) for n in Item.objects.filter(workspace=channel.workspace).values_list("native_id", flat=True)
    )
    assert stored == list(range(1, 48))


# --- RSS / Atom against a real HTTP server --------------------------------------------------------------

RSS = """<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Industry news</title><link>https://news.example</link>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://news.example/{n}</link><guid>https://news.example/{n}</guid>
<pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate><dc:creator>Ada Reporter</dc:creator>
<description><![CDATA[<p>Acme <b>launches</b> widget {n}</p>]]></description></item>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>
<id>urn:blog</id><updated>2026-11-02T10:00:00Z</updated>
<entry><title>Hello &amp; welcome</title><id>urn:post:1</id><link href="https://blog.example/1"/>
<updated>2026-11-02T10:00:00Z</updated><summary>First post</summary><author><name>Bo</name></author></entry>
</feed>"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    server.shutdown()
    server.server_close()


def rss_channel(workspace: Workspace, url: str) -> Channel:
    return do_create_channel(
        workspace=workspace, network="rss", handle=url, is_ours=False, credentials={"url": url}
    )


def test_rss_brings_new_entries_once_and_uses_conditional_get(
    workspace: Workspace, site: tuple[str, Path]
) -> None:
    base, root = site
    (root / "feed.xml").write_text(
        RSS.format(items="".join(ITEM.format(n=n, title=f"Story {n}") for n in (1, 2)))
    )
    channel = rss_channel(workspace, f"{base}/feed.xml")
    assert do_check(channel).ok
    first = do_sync(channel)
    assert (first.imported, first.error) == (2, "")
    story = Item.objects.get(native_id="https://news.example/1")
    assert story.text == "Story 1\n\nAcme launches widget 1"
    assert story.author is not None and story.author.handle == "Ada Reporter"
    assert story.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC) and story.channel == channel
    channel.refresh_from_db()
    assert channel.cursor["modified"]  # http.server sends Last-Modified: the next fetch is conditional
    assert do_sync(channel).imported == 0
    feed = root / "feed.xml"
    feed.write_text(RSS.format(items="".join(ITEM.format(n=n, title=f"Story {n}") for n in (1, 2, 3))))
    later = feed.stat().st_mtime + 5  # Last-Modified has whole seconds: make the change visible to it
    os.utime(feed, (later, later))
    assert do_sync(channel).imported == 1


def test_atom_feeds_read_the_same(workspace: Workspace, site: tuple[str, Path]) -> None:
    base, root = site
    (root / "atom.xml").write_text(ATOM)
    assert do_sync(rss_channel(workspace, f"{base}/atom.xml")).imported == 1
    assert Item.objects.get(native_id="urn:post:1").text == "Hello & welcome\n\nFirst post"


def test_a_broken_or_missing_feed_is_reported_not_fatal(workspace: Workspace, site: tuple[str, Path]) -> None:
    base, root = site
    (root / "broken.xml").write_text("<rss><channel><title>oops</channel")
    broken = do_sync(rss_channel(workspace, f"{base}/broken.xml"))
    assert "is not well-formed" in broken.error
    missing = rss_channel(workspace, f"{base}/missing.xml")
    assert do_sync(missing).error == f"HTTP 404 from {base}/missing.xml"
    assert not do_check(missing).ok
    missing.refresh_from_db()
    assert missing.health == "degraded" and missing.last_error.startswith("HTTP 404")


def test_a_file_source_reads_on_from_where_it_stopped(workspace: Workspace, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"network": "mastodon", "id": str(n), "created_at": "2026-01-01T00:00:00Z", "text": f"t{n}"}
        )
        for n in range(1, 4)
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n{broken\n")
    channel = do_create_channel(
        workspace=workspace,
        network="other",
        handle="export",
        is_ours=False,
        settings={"connector": "file", "path": str(path), "format": "jsonl"},
    )
    result = do_sync(channel)
    assert (result.imported, result.rejected) == (3, 1)
    path.write_text(
        path.read_text()
        + json.dumps({"network": "mastodon", "id": "9", "created_at": "2026-01-02T00:00:00Z"})
        + "\n"
    )
    assert do_sync(channel).imported == 1


def test_a_twcs_file_source_imports_the_sample(workspace: Workspace) -> None:
    channel = do_create_channel(
        workspace=workspace,
        network="other",
        handle="twcs",
        is_ours=False,
        settings={"connector": "file", "path": str(DEMO_CSV), "format": "twcs"},
    )
    assert do_sync(channel).imported == 3939
    assert do_sync(channel).imported == 0


def test_built_in_connectors_are_registered_and_declare_what_they_can_do() -> None:
    found = connectors()
    assert {"rss", "file", "offline"} <= set(found)
    assert found["rss"] is RssConnector and found["rss"].capabilities.read
    assert not found["offline"].capabilities.read
