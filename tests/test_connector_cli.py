"""Channels from the shell and the API: connect, list, sync, health, and the connectors on offer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import ApiClient
from townhall.cli import main
from townhall.connectors.models import Channel
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>Acme opens a store</title><link>https://n.example/1</link><guid>n1</guid>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"""


@pytest.fixture
def feed_url(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "feed.xml").write_text(FEED)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def run(*args: str) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    lines = [json.loads(line) for line in result.stdout.strip().splitlines() if line.startswith("{")]
    return result.exit_code, lines


def test_add_list_sync_and_health_from_the_shell(workspace: Workspace, feed_url: str) -> None:
    code, [added] = run(
        "channels",
        "add",
        "--workspace",
        "acme",
        "--network",
        "rss",
        "--handle",
        "news",
        "--credential",
        f"url={feed_url}",
        "--source",
    )
    assert code == 0 and added["ok"] is True and added["message"] == "1 entries in News"
    code, lines = run("channels", "sync", "--workspace", "acme")
    assert code == 0 and lines[-1] == {"channels": 1, "imported": 1, "failed": 0}
    assert Item.objects.get(workspace=workspace).text == "Acme opens a store"
    _, [listed] = run("channels", "list", "--workspace", "acme")
    assert (listed["health"], listed["connector"], listed["last_error"]) == ("ok", "rss", "")
    _, [health] = run("channels", "health", "--workspace", "acme", "--channel", str(added["id"]))
    assert health["ok"] is True


def test_a_failing_sync_exits_1_and_says_why(workspace: Workspace) -> None:
    _, [added] = run(
        "channels",
        "add",
        "--workspace",
        "acme",
        "--network",
        "rss",
        "--handle",
        "dead",
        "--credential",
        "url=http://127.0.0.1:9/feed.xml",
        "--source",
    )
    assert added["ok"] is False
    code, lines = run("channels", "sync", "--workspace", "acme")
    assert code == 1 and "ConnectError on GET http://127.0.0.1:9/feed.xml" in str(lines[0]["error"])
    code, _ = run(
        "channels", "add", "--workspace", "acme", "--network", "rss", "--handle", "x", "--credential", "oops"
    )
    assert code == 2


def test_the_api_lists_connectors_checks_and_syncs(owner_api: ApiClient, feed_url: str) -> None:
    offered = {c["name"]: c for c in owner_api.get("/workspaces/acme/connectors").json()}
    assert offered["rss"]["capabilities"]["read"] is True
    assert [f["name"] for f in offered["rss"]["credential_fields"]] == ["url", "username", "password"]
    channel = owner_api.post(
        "/workspaces/acme/channels",
        {"network": "rss", "handle": "news", "is_ours": False, "credentials": {"url": feed_url}},
    ).json()
    assert channel["health"] == "never synced" and channel["connector"] == "rss"
    assert owner_api.post(f"/workspaces/acme/channels/{channel['id']}/check", {}).json()["ok"] is True
    queued = owner_api.post(f"/workspaces/acme/channels/{channel['id']}/sync", {})
    assert queued.status_code == 202
    shown = owner_api.get(f"/workspaces/acme/channels/{channel['id']}").json()
    assert shown["health"] == "ok" and shown["last_success_at"] is not None
    assert "credentials" not in shown


def test_the_channels_page_connects_tests_syncs_and_pauses(
    workspace: Workspace, make_member: Any, feed_url: str, client: Any
) -> None:
    owner = make_member(workspace, "owner")
    client.force_login(owner)
    form = client.get("/w/acme/channels/", {"network": "rss"})
    assert form.status_code == 200 and b'name="cred_url"' in form.content
    done = client.post(
        "/w/acme/channels/connect/",
        {"network": "rss", "handle": "news", "cred_url": feed_url},
        follow=True,
    )
    assert "news: connected — 1 entries in News" in done.content.decode()
    channel = Channel.objects.get(workspace=workspace, handle="news")
    assert not channel.is_ours  # the box was left unticked: a source
    synced = client.post(f"/w/acme/channels/{channel.pk}/sync/", follow=True)
    assert "news: 1 new items" in synced.content.decode()
    client.post(f"/w/acme/channels/{channel.pk}/pause/")
    channel.refresh_from_db()
    assert channel.status == "paused"
    page = client.get("/w/acme/channels/").content.decode()
    assert ">ok<" in page and "Resume" in page and "RSS / Atom feed" in page
    agent = make_member(workspace, "agent")
    client.force_login(agent)
    assert client.post(f"/w/acme/channels/{channel.pk}/resume/").status_code == 403
