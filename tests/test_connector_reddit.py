"""The Reddit connector against captured Reddit API responses, replayed through httpx.MockTransport.

No Reddit server can run here, so `FakeReddit` serves the captured payloads (tests/fixtures/reddit/: the
token grant and its refusals, /api/v1/me, a subreddit's about, /new and /comments listings of t3 posts and
t1 comments, a comment tree with a `more` stub, /api/comment and /api/submit answers, including the
RATELIMIT error, and 401/403/429 bodies with Reddit's x-ratelimit headers). The payloads were written in the
shapes Reddit's API returns, field for field; the fake only adds what a replay cannot: listing order and
`after` paging over them, new items arriving between syncs, removed items leaving the listing, and a token
that expires.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from townhall.connectors import reddit
from townhall.connectors.base import ChannelConfig, Outgoing
from townhall.connectors.http import AuthError, ConnectorError, HttpClient
from townhall.connectors.models import Channel
from townhall.connectors.reddit import RedditConnector
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import do_sync
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

CAPTURED = Path(__file__).resolve().parent / "fixtures" / "reddit"
SUB = "acmesupport"
CREDENTIALS = {
    "client_id": "p-jcoLKBynTLew",
    "client_secret": "gko_LXELoV07ZBNUXrvWZfzE3aI",
    "username": "acme_support",
    "password": "correct horse",
    "subreddit": SUB,
}


def captured(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((CAPTURED / f"{name}.json").read_text())
    return found


def respond(name: str, **changes: Any) -> httpx.Response:
    fixture = {**captured(name), **changes}
    return httpx.Response(fixture["status"], headers=fixture["headers"], json=fixture["body"])


def things_of(name: str) -> list[dict[str, Any]]:
    return [child["data"] for child in captured(name)["body"]["data"]["children"]]


def later(thing: dict[str, Any], ident: str, created: float, **fields: Any) -> dict[str, Any]:
    """A copy of a captured post or comment as a new one, created at `created`."""
    kind = thing["name"][:3]
    return {**copy.deepcopy(thing), "id": ident, "name": f"{kind}{ident}", "created_utc": created, **fields}


class FakeReddit:
    """Reddit's token endpoint and oauth API over captured payloads, keeping every request."""

    def __init__(self) -> None:
        self.posts = things_of("new")
        self.comments = things_of("comments")
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.tokens_issued = 0
        self.valid_token = ""
        self.moderated: list[tuple[str, dict[str, list[str]]]] = []
        self.queue: list[httpx.Response] = []  # answers to send first, whatever is asked
        self.moderator = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "www.reddit.com":
            return self.token(request)
        assert request.url.host == "oauth.reddit.com"
        assert request.headers["User-Agent"] == "server:townhall.p-jcoLKBynTLew:0.1 (by /u/acme_support)"
        if request.headers.get("Authorization") != f"bearer {self.valid_token}":
            return respond("error_401")
        if self.queue:
            return self.queue.pop(0)
        path, form = request.url.path, parse_qs(request.content.decode())
        if path == "/api/v1/me":
            return respond("me")
        if path == f"/r/{SUB}/about":
            return respond("about")
        if path == f"/r/{SUB}/new":
            return self.listing(request, "t3", self.posts)
        if path == f"/r/{SUB}/comments":
            return self.listing(request, "t1", self.comments)
        if path in ("/api/remove", "/api/approve"):
            if not self.moderator:
                return respond("error_403")
            self.moderated.append((path, form))
            if path == "/api/remove":  # a removed item leaves the listing (and can no longer anchor `before`)
                self.posts = [p for p in self.posts if p["name"] != form["id"][0]]
            return respond("moderated")
        if path == "/api/comment":
            return respond("comment_posted")
        if path == "/api/submit":
            return respond("submitted")
        return httpx.Response(404, json={"message": "Not Found", "error": 404})

    def token(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/access_token" and request.method == "POST"
        user, _, secret = (
            base64.b64decode(request.headers["Authorization"].split()[1]).decode().partition(":")
        )
        form = parse_qs(request.content.decode())
        if (user, secret) != (CREDENTIALS["client_id"], CREDENTIALS["client_secret"]):
            return respond("token_401")
        if form != {"grant_type": ["password"], "username": ["acme_support"], "password": ["correct horse"]}:
            return respond("token_invalid_grant")
        self.tokens_issued += 1
        self.valid_token = f"token-{self.tokens_issued}"
        answer = captured("token")["body"]
        return httpx.Response(200, json={**answer, "access_token": self.valid_token})

    def listing(self, request: httpx.Request, kind: str, things: list[dict[str, Any]]) -> httpx.Response:
        """Newest first, `limit` a page, `after` the fullname the previous page ended with."""
        ordered = sorted(things, key=lambda t: t["created_utc"], reverse=True)
        limit = int(request.url.params.get("limit", 25))
        after = request.url.params.get("after")
        start = next(i + 1 for i, t in enumerate(ordered) if t["name"] == after) if after else 0
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        body = captured("new")["body"]
        body["data"].update(
            children=[{"kind": kind, "data": t} for t in page],
            dist=len(page),
            after=page[-1]["name"] if page and more else None,
        )
        return httpx.Response(200, headers=captured("new")["headers"], json=body)

    def connector(self, **credentials: Any) -> RedditConnector:
        http = HttpClient(
            httpx.Client(transport=httpx.MockTransport(self)), sleep=self.sleeps.append, retries=2
        )
        config = ChannelConfig(
            network="reddit", handle=f"r/{SUB}", credentials={**CREDENTIALS, **credentials}
        )
        return RedditConnector(config, http=http)

    def asked(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


@pytest.fixture
def fake() -> FakeReddit:
    return FakeReddit()


def channel_of(workspace: Workspace) -> Channel:
    return do_create_channel(
        workspace=workspace, network="reddit", handle=f"r/{SUB}", credentials=CREDENTIALS
    )


def items_of(workspace: Workspace) -> dict[str, Item]:
    found = Item.objects.filter(workspace=workspace, network="reddit").select_related("author")
    return {item.native_id: item for item in found}


def test_check_tells_good_credentials_from_bad(fake: FakeReddit) -> None:
    health = fake.connector().check()
    assert health.ok and health.account == "u/acme_support"
    assert "a moderator of r/acmesupport" in health.message

    wrong_password = fake.connector(password="tr0ub4dor").check()
    assert not wrong_password.ok and "invalid_grant" in wrong_password.message
    wrong_secret = fake.connector(client_secret="nope").check()
    assert not wrong_secret.ok and "client id or secret (HTTP 401)" in wrong_secret.message
    nameless = ChannelConfig(
        network="reddit", handle="u/acme_support", credentials={**CREDENTIALS, "subreddit": ""}
    )
    no_subreddit = RedditConnector(nameless, http=fake.connector().http).check()
    assert not no_subreddit.ok and "names no subreddit" in no_subreddit.message


def test_sync_reads_posts_and_comments_once_and_then_only_what_is_new(
    fake: FakeReddit, workspace: Workspace
) -> None:
    channel = channel_of(workspace)
    connector = fake.connector()
    first = do_sync(channel, connector=connector)
    assert (first.error, first.imported, first.duplicates) == ("", 6, 0)
    stored = items_of(workspace)

    bug = stored["t3_18c4fq1"]
    assert (bug.kind, bug.direction, bug.parent_native_id) == ("post", "inbound", "")
    assert bug.text == (
        "CSV export drops rows with an ampersand?\n\n"
        "Exporting my *orders* to CSV loses every row whose name has `&` in it.\n\n"
        "Anyone else? Running v2.3 on Windows."
    )
    assert bug.url.endswith("/r/acmesupport/comments/18c4fq1/csv_export_drops_rows_with_an_ampersand/")
    assert bug.author is not None and bug.author.handle == "u/data_dana"
    assert bug.created_at.timestamp() == 1701612345.0
    release = stored["t3_18c5m7e"]
    assert release.direction == "outbound"
    assert release.text == "Release notes: Acme 2.4\n\nhttps://acme.example/blog/2-4"  # a link post
    same = stored["t1_kc1a2b3"]
    assert (same.kind, same.parent_id) == ("comment", bug.pk)
    assert same.text == 'Same here, the row with "Fish & Chips" vanished.'  # raw_json=1: no &amp;
    ours = stored["t1_kc1b7d9"]
    assert ours.direction == "outbound" and ours.parent_id == same.pk
    asked = stored["t1_kc1d0f2"]
    assert asked.kind == "mention" and asked.parent_id == release.pk
    assert channel.cursor["posts"] == {"utc": 1701617890.0, "names": ["t3_18c5m7e"]}

    again = do_sync(channel, connector=connector)
    assert (again.error, again.imported, again.duplicates) == ("", 0, 0)

    # New items, two of them in the same second as the newest one already delivered.
    newest = fake.comments[0]
    fake.comments.append(later(newest, "kc3same", newest["created_utc"], body="same second, new comment"))
    fake.comments.append(later(newest, "kc3next", newest["created_utc"] + 60, body="a minute later"))
    fake.posts.append(
        later(fake.posts[1], "18d0new", 1701700000.0, title="Is there a dark mode?", selftext="")
    )
    fresh = do_sync(channel, connector=connector)
    assert (fresh.imported, fresh.duplicates) == (3, 0)
    assert {"t1_kc3same", "t1_kc3next", "t3_18d0new"} <= set(items_of(workspace))
    assert items_of(workspace)["t3_18d0new"].text == "Is there a dark mode?"
    assert do_sync(channel, connector=connector).imported == 0
    for request in fake.asked(f"/r/{SUB}/new"):
        assert request.url.params["raw_json"] == "1" and "before" not in request.url.params


def test_a_span_longer_than_a_page_is_read_down_to_the_cursor(
    fake: FakeReddit, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reddit, "PAGE", 2)
    channel = channel_of(workspace)
    connector = fake.connector()
    assert do_sync(channel, connector=connector).imported == 4  # the first sync reads one page of each
    for n in range(5):
        fake.posts.append(later(fake.posts[1], f"18e{n}", 1701800000.0 + n, title=f"question {n}"))
    fake.requests.clear()
    result = do_sync(channel, connector=connector)
    assert (result.imported, result.duplicates, result.warnings) == (5, 0, [])
    afters = [r.url.params.get("after") for r in fake.asked(f"/r/{SUB}/new")]
    assert afters == [None, "t3_18e3", "t3_18e1"]  # down to the page holding the cursor's post
    assert do_sync(channel, connector=connector).imported == 0

    monkeypatch.setattr(reddit, "MAX_PAGES", 1)
    for n in range(5, 9):
        fake.posts.append(later(fake.posts[1], f"18e{n}", 1701900000.0 + n, title=f"question {n}"))
    gap = do_sync(channel, connector=connector)
    assert gap.imported == 2 and "more new posts than Reddit lists" in gap.warnings[0]


def test_moderating_the_newest_post_does_not_lose_the_next_one(
    fake: FakeReddit, workspace: Workspace
) -> None:
    """Removing the cursor's own post would empty a `before=` listing; the time-based cursor carries on."""
    channel = channel_of(workspace)
    connector = fake.connector()
    do_sync(channel, connector=connector)
    spam = later(fake.posts[1], "18fspam", 1701650000.0, title="CHEAP FOLLOWERS", author="spam_bot_42")
    fake.posts.append(spam)
    assert do_sync(channel, connector=connector).imported == 1
    connector.moderate("spam", "t3_18fspam")
    assert fake.moderated == [("/api/remove", {"id": ["t3_18fspam"], "spam": ["true"]})]
    fake.posts.append(later(fake.posts[1], "18fnext", 1701650100.0, title="Real question"))
    result = do_sync(channel, connector=connector)
    assert (result.imported, result.duplicates) == (1, 0) and "t3_18fnext" in items_of(workspace)


def test_moderation_removes_approves_and_marks_spam(fake: FakeReddit) -> None:
    connector = fake.connector()
    connector.moderate("delete", "t1_kc1a2b3")
    connector.moderate("hide", "t3_18c4fq1")
    connector.moderate("approve", "t3_18c4fq1")
    connector.moderate("unhide", "t1_kc1a2b3")
    assert fake.moderated == [
        ("/api/remove", {"id": ["t1_kc1a2b3"], "spam": ["false"]}),
        ("/api/remove", {"id": ["t3_18c4fq1"], "spam": ["false"]}),
        ("/api/approve", {"id": ["t3_18c4fq1"]}),
        ("/api/approve", {"id": ["t1_kc1a2b3"]}),
    ]
    with pytest.raises(ConnectorError, match="fullname"):
        connector.moderate("delete", "18c4fq1")
    with pytest.raises(ConnectorError, match="cannot ban"):
        connector.moderate("ban", "t3_18c4fq1")
    fake.moderator = False
    with pytest.raises(ConnectorError, match="moderator rights on r/acmesupport") as refused:
        connector.moderate("spam", "t3_18c4fq1")
    assert refused.value.status == 403 and not isinstance(refused.value, AuthError)


def test_reply_and_post(fake: FakeReddit) -> None:
    connector = fake.connector()
    published = connector.publish(Outgoing(text="Yes: 2.4.1 ships the fix on Monday.", reply_to="t1_kc1d0f2"))
    assert published.native_id == "t1_kc2x9a1"
    assert published.url == f"https://www.reddit.com/r/{SUB}/comments/18c5m7e/release_notes_acme_24/kc2x9a1/"
    (sent,) = fake.asked("/api/comment")
    assert parse_qs(sent.content.decode()) == {
        "thing_id": ["t1_kc1d0f2"],
        "text": ["Yes: 2.4.1 ships the fix on Monday."],
        "api_type": ["json"],
    }

    fake.queue.append(respond("comment_ratelimited"))
    with pytest.raises(ConnectorError, match="RATELIMIT Looks like you've been doing that a lot") as limited:
        connector.publish(Outgoing(text="again", reply_to="t1_kc1d0f2"))
    assert limited.value.retryable
    with pytest.raises(ConnectorError, match="allows 10000"):
        connector.publish(Outgoing(text="x" * 10_001, reply_to="t1_kc1d0f2"))

    made = connector.publish(Outgoing(text="Maintenance tonight at 22 UTC\nExports pause for ten minutes."))
    assert made.native_id == "t3_18c9z2k"
    (submitted,) = fake.asked("/api/submit")
    assert parse_qs(submitted.content.decode()) == {
        "sr": [SUB],
        "kind": ["self"],
        "title": ["Maintenance tonight at 22 UTC"],
        "text": ["Exports pause for ten minutes."],
        "api_type": ["json"],
    }


def test_an_expired_token_is_renewed_once(fake: FakeReddit) -> None:
    connector = fake.connector()
    assert connector.check().ok and fake.tokens_issued == 1
    fake.valid_token = "rotated-by-reddit"  # the connector's token now gets 401
    assert connector.check().ok
    assert fake.tokens_issued == 2
    statuses = [r.headers["Authorization"] for r in fake.asked("/api/v1/me")]
    assert statuses == ["bearer token-1", "bearer token-1", "bearer token-2"]


def test_a_429_waits_for_x_ratelimit_reset_and_a_spent_budget_pauses(fake: FakeReddit) -> None:
    connector = fake.connector()
    fake.queue.append(respond("error_429"))
    assert connector.check().ok
    assert fake.sleeps == [27]  # Reddit's x-ratelimit-reset, as HttpClient's Retry-After

    fake.sleeps.clear()
    spent = {**captured("me")["headers"], "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "12"}
    fake.queue.append(respond("me", headers=spent))
    connector.check()  # /api/v1/me says the window is spent; /about waits for the reset first
    assert len(fake.sleeps) == 1 and 11 <= fake.sleeps[0] <= 12


def test_a_more_stub_in_a_comment_listing_is_skipped(fake: FakeReddit, workspace: Workspace) -> None:
    """A comment tree's `more` stub (children not sent) has the Listing shape of the comments it stands in."""
    tree = captured("thread_with_more")["body"][1]
    assert [child["kind"] for child in tree["data"]["children"]] == ["t1", "more"]
    fake.comments = []
    connector = fake.connector()
    original = fake.listing

    def with_stub(request: httpx.Request, kind: str, things: list[dict[str, Any]]) -> httpx.Response:
        if request.url.path.endswith("/comments"):
            return httpx.Response(200, json=tree)
        return original(request, kind, things)

    fake.listing = with_stub  # type: ignore[method-assign]
    result = do_sync(channel_of(workspace), connector=connector)
    assert (result.error, result.imported) == ("", 4)  # 3 posts and the one t1; the stub is no item
    assert items_of(workspace)["t1_kc1a2b3"].parent_native_id == "t3_18c4fq1"
