"""The Mastodon connector: flows against mastodon-mock, and captured API responses replayed through httpx.

No Mastodon server installs on this machine (PEERS.md §3), so the flows (another account mentions the brand,
do_sync brings it in, the brand replies, deletes, blocks, mutes, reports) run against mastodon-mock, and the
details a mock could get wrong are pinned with responses from the Mastodon documentation replayed through
`httpx.MockTransport`.

Where mastodon-mock is more permissive than a real Mastodon (the tests must not rely on it):
- it counts a status's length in code points with URLs at full length, and says "Text is too long"; Mastodon
  counts grapheme clusters, every URL as 23 and a mention without its domain, and says "Text character
  limit of 500 exceeded" (the connector checks the limit itself, as Mastodon counts: `status_length`);
- admin endpoints are not role-gated: the brand can read /api/v1/admin/reports to see its report, which a
  real instance only lets moderators do;
- a `direct` status can be read by accounts it does not mention (a real instance answers 404);
- mentions and hashtags are not linkified in `content` (real Mastodon wraps them in h-card/hashtag anchors);
- its Link headers drop filters such as `types[]` (the connector keeps only their min_id), it ignores
  min_id/max_id on search, and it sends no X-RateLimit headers unless configured to.

What the captured fixtures (tests/fixtures/mastodon/, written from the examples of docs.joinmastodon.org:
the Notification, Status, Account, Instance, Relationship and Report entities and the API's pagination,
error and rate-limit pages, with ids lined up into one sequence) cover that the mock does not: real content
HTML (h-card mentions, hashtag anchors, links shortened with invisible/ellipsis spans, entities, custom emoji
shortcodes), remote accounts (user@domain) and bots, Link headers with filters kept, /api/v2/instance's
configuration, the 401/404/422 error bodies, and a 429 that says when to come back only in X-RateLimit-Reset.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from townhall.connectors import mastodon
from townhall.connectors.base import ChannelConfig, Outgoing
from townhall.connectors.http import ConnectorError, HttpClient
from townhall.connectors.mastodon import MastodonConnector, plain_text, status_length
from townhall.connectors.models import Channel
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import config_of, do_check, do_sync
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

if TYPE_CHECKING:  # pytest imports the module itself, as a plugin, so that its asserts are rewritten
    from peers.mastodon import MastodonMock, MastodonUser

pytest_plugins = ["peers.mastodon"]  # the `mastodon_mock` server fixture
CAPTURED = Path(__file__).resolve().parent / "fixtures" / "mastodon"
INSTANCE = "https://mastodon.social"


def items_of(workspace: Workspace) -> dict[str, Item]:
    """The stored Mastodon items by text."""
    found = Item.objects.filter(workspace=workspace, network="mastodon").select_related("author", "channel")
    return {item.text: item for item in found}


# -- flows against mastodon-mock ------------------------------------------------------------------------


def brand_channel(workspace: Workspace, mock: MastodonMock, brand: MastodonUser, **settings: Any) -> Channel:
    return do_create_channel(
        workspace=workspace,
        network="mastodon",
        handle=f"@{brand.username}@mock.local",
        credentials={"instance": mock.base_url, "access_token": brand.access_token},
        settings=settings,
    )


def relationship(mock: MastodonMock, user: MastodonUser, other: MastodonUser) -> dict[str, Any]:
    found = mock.call(user, "GET", "/api/v1/accounts/relationships", params={"id[]": other.id}).json()
    return dict(found[0])


def test_check_tells_good_credentials_from_bad(mastodon_mock: MastodonMock, workspace: Workspace) -> None:
    brand = mastodon_mock.user("brand")
    channel = brand_channel(workspace, mastodon_mock, brand)
    health = do_check(channel)
    assert health.ok, health.message
    assert health.account == f"@{brand.username}@mock.local"
    # The instance's own limit is kept on the channel: the composer counts against it.
    channel.refresh_from_db()
    assert channel.settings["max_characters"] == health.limits["max_characters"] > 0

    revoked = config_of(channel)
    revoked.credentials["access_token"] = "not-a-token"
    health = MastodonConnector(revoked).check()
    assert not health.ok and "401" in health.message

    nowhere = config_of(channel)
    nowhere.credentials["instance"] = "http://127.0.0.1:9"
    health = MastodonConnector(nowhere, http=HttpClient(retries=0)).check()
    assert not health.ok


def test_mentions_sync_reply_and_moderation(mastodon_mock: MastodonMock, workspace: Workspace) -> None:
    mock = mastodon_mock
    brand = mock.user("brand", "Acme Support")
    alice, bob = mock.user("alice", "Alice Liddell"), mock.user("bob")
    carol, spammer = mock.user("carol", "Carol"), mock.user("spammer", "Cheap Deals")
    at = f"@{brand.username}"
    announcement = mock.post(brand, "CSV export v2 is out")
    question = mock.post(alice, f"{at} is the export broken?\nIt fails on big files & <tables>")
    mock.post(bob, f"{at} works for me", in_reply_to_id=announcement["id"])
    mock.post(carol, f"{at} can you refund order 4471?", visibility="direct")
    spam = mock.post(spammer, f"{at} BUY CHEAP FOLLOWERS")
    mock.post(bob, "a post that mentions no one")

    channel = brand_channel(workspace, mock, brand)
    connector = MastodonConnector(config_of(channel))
    result = do_sync(channel, connector=connector)
    assert not result.error, result.error
    assert (result.imported, result.duplicates) == (4, 0)

    stored = items_of(workspace)
    asked = stored[f"{at} is the export broken?\nIt fails on big files & <tables>"]
    assert asked.native_id == question["id"]
    assert (asked.kind, asked.direction) == ("mention", "inbound")
    assert asked.channel is not None and asked.channel.pk == channel.pk
    assert asked.author is not None and asked.author.native_id == f"{alice.username}@mock.local"
    assert (asked.author.handle, asked.author.display_name) == (
        f"@{alice.username}@mock.local",
        "Alice Liddell",
    )
    answer = stored[f"{at} works for me"]
    assert answer.kind == "reply" and answer.parent_native_id == announcement["id"]
    refund = stored[f"{at} can you refund order 4471?"]
    assert refund.kind == "dm" and refund.author is not None and refund.author.display_name == "Carol"

    again = do_sync(channel, connector=connector)
    assert (again.error, again.imported, again.duplicates) == ("", 0, 0)
    mock.post(alice, f"{at} any news?")
    later = do_sync(channel, connector=connector)
    assert (later.imported, later.duplicates) == (1, 0)
    assert f"{at} any news?" in items_of(workspace)

    # The reply mentions the author (or Mastodon would not tell them) and answers the status.
    published = connector.publish(Outgoing(text="A fix ships today", reply_to=asked.native_id))
    sent = mock.call(alice, "GET", f"/api/v1/statuses/{published.native_id}").json()
    assert sent["account"]["id"] == brand.id and sent["in_reply_to_id"] == question["id"]
    assert plain_text(sent["content"]) == f"@{alice.username} A fix ships today"
    assert [m["id"] for m in sent["mentions"]] == [alice.id]
    private = connector.publish(Outgoing(text="Sent you a refund link", reply_to=refund.native_id))
    assert mock.call(carol, "GET", f"/api/v1/statuses/{private.native_id}").json()["visibility"] == "direct"

    connector.moderate("delete", published.native_id)
    assert mock.call(alice, "GET", f"/api/v1/statuses/{published.native_id}").status_code == 404
    spam_item = stored[f"{at} BUY CHEAP FOLLOWERS"]
    connector.moderate("block", spam_item.native_id)
    assert relationship(mock, brand, spammer)["blocking"] is True
    connector.moderate("mute", f"@{bob.username}")
    assert relationship(mock, brand, bob)["muting"] is True
    connector.moderate("report", spam_item.native_id, reason="spam: sells followers")
    reports = mock.call(brand, "GET", "/api/v1/admin/reports").json()  # mock-only: no moderator role needed
    filed = [r for r in reports if r["target_account"]["account"]["id"] == spammer.id]
    assert filed and filed[0]["statuses"][0]["id"] == spam["id"] and filed[0]["category"] == "spam"
    with pytest.raises(ConnectorError, match="only the channel's own statuses"):
        connector.moderate("delete", question["id"])


def test_hashtag_listening(mastodon_mock: MastodonMock, workspace: Workspace) -> None:
    mock = mastodon_mock
    brand, bob, alice = mock.user("brand"), mock.user("bob"), mock.user("alice")
    mock.post(bob, "where is the #acmehelp export button?")
    mock.post(brand, "#acmehelp see the docs")
    mock.post(alice, f"@{brand.username} #acmehelp thanks!")  # in the notifications and the tag: once
    mock.post(bob, "#unrelated")
    channel = brand_channel(workspace, mock, brand, hashtag="#acmehelp")
    connector = MastodonConnector(config_of(channel))
    result = do_sync(channel, connector=connector)
    assert (result.error, result.imported, result.duplicates) == ("", 3, 0)
    stored = items_of(workspace)
    assert stored["where is the #acmehelp export button?"].kind == "post"
    assert stored["#acmehelp see the docs"].direction == "outbound"
    assert stored[f"@{brand.username} #acmehelp thanks!"].kind == "mention"
    assert set(channel.cursor) == {"notifications", "tag:acmehelp", "pending"}

    assert do_sync(channel, connector=connector).imported == 0
    mock.post(alice, "#acmehelp the export works now")
    assert do_sync(channel, connector=connector).imported == 1


def test_search_listening(mastodon_mock: MastodonMock, workspace: Workspace) -> None:
    mock = mastodon_mock
    brand, bob = mock.user("brand"), mock.user("bob")
    mock.post(bob, "is frobnicator v2 out yet?")
    mock.post(bob, "frobnicator keeps crashing")
    channel = brand_channel(workspace, mock, brand, query="frobnicator")
    connector = MastodonConnector(config_of(channel))
    assert do_sync(channel, connector=connector).imported == 2
    # The mock ignores min_id on search: the connector keeps to what is newer than its cursor itself.
    again = do_sync(channel, connector=connector)
    assert (again.imported, again.duplicates) == (0, 0)
    mock.post(bob, "frobnicator works again")
    assert do_sync(channel, connector=connector).imported == 1
    assert items_of(workspace)["frobnicator works again"].kind == "post"


def test_replies_over_the_character_limit_are_refused_before_posting(
    mastodon_mock: MastodonMock, workspace: Workspace
) -> None:
    brand, alice = mastodon_mock.user("brand"), mastodon_mock.user("alice")
    question = mastodon_mock.post(alice, f"@{brand.username} hello")
    connector = MastodonConnector(config_of(brand_channel(workspace, mastodon_mock, brand)))
    assert connector.max_characters() == 500
    # 495 characters fit, but not with the mention of the author the reply must start with.
    with pytest.raises(ConnectorError, match="allows 500"):
        connector.publish(Outgoing(text="y" * 495, reply_to=question["id"]))
    posted = mastodon_mock.call(brand, "GET", f"/api/v1/accounts/{brand.id}/statuses").json()
    assert posted == []


def test_a_status_sent_with_a_key_is_found_by_lookup_and_sent_once(
    mastodon_mock: MastodonMock, workspace: Workspace
) -> None:
    mock = mastodon_mock
    brand, alice = mock.user("brand"), mock.user("alice")
    question = mock.post(alice, f"@{brand.username} is the export broken?")
    channel = brand_channel(workspace, mock, brand)
    reply = Outgoing(text="A fix  ships\ntoday", reply_to=question["id"], idempotency_key="scheduled-post-9")
    assert MastodonConnector(config_of(channel)).lookup(reply) is None

    published = MastodonConnector(config_of(channel)).publish(reply)
    again = MastodonConnector(config_of(channel)).publish(reply)  # the same key: Mastodon keeps the first
    assert again.native_id == published.native_id
    mock.post(brand, "Unrelated news")
    posted = mock.call(brand, "GET", f"/api/v1/accounts/{brand.id}/statuses").json()
    assert [plain_text(s["content"]) for s in posted] == [
        "Unrelated news",
        f"@{alice.username} A fix ships\ntoday",  # as HTML shows it: runs of spaces are one
    ]

    # Another worker, after the first one's attempt timed out, finds the reply (mention and all).
    found = MastodonConnector(config_of(channel)).lookup(reply)
    assert found is not None
    assert (found.native_id, found.url, found.raw) == (published.native_id, published.url, published.raw)
    connector = MastodonConnector(config_of(channel))
    assert connector.lookup(Outgoing(text="A fix ships today")) is None  # the same words, but no reply
    assert connector.lookup(Outgoing(text="never sent", reply_to=question["id"])) is None


# -- captured responses replayed ------------------------------------------------------------------------


def captured(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((CAPTURED / f"{name}.json").read_text())
    return found


def respond(name: str, **changes: Any) -> httpx.Response:
    fixture = {**captured(name), **changes}
    return httpx.Response(fixture["status"], headers=fixture["headers"], json=fixture["body"])


class Replay:
    """A captured Mastodon behind httpx.MockTransport: routes by method and path, every request kept."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(f"{request.method} {request.url.path}")
        if route is None:
            return httpx.Response(404, json={"error": "Record not found"})
        return route(request)

    def connector(self, **settings: Any) -> MastodonConnector:
        http = HttpClient(
            httpx.Client(transport=httpx.MockTransport(self)), sleep=self.sleeps.append, rng=random.Random(1)
        )
        config = ChannelConfig(
            network="mastodon",
            handle="@trwnh@mastodon.social",
            credentials={"instance": INSTANCE, "access_token": "token-of-trwnh"},
            settings=settings,
        )
        return MastodonConnector(config, http=http)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def me(request: httpx.Request) -> httpx.Response:
    return respond("verify_credentials")


def notifications_by_min_id(request: httpx.Request) -> httpx.Response:
    assert request.url.params.get_list("types[]") == ["mention"]
    page = {None: "notifications", "34975861": "notifications_after", "34976011": "notifications_empty"}
    return respond(page[request.url.params.get("min_id")])


def test_captured_notifications_become_items_and_the_cursor_resumes_exactly(workspace: Workspace) -> None:
    replay = Replay(
        {"GET /api/v1/accounts/verify_credentials": me, "GET /api/v1/notifications": notifications_by_min_id}
    )
    channel = do_create_channel(workspace=workspace, network="mastodon", handle="@trwnh@mastodon.social")
    connector = replay.connector()

    first = do_sync(channel, connector=connector)
    assert (first.error, first.imported) == ("", 3)
    assert channel.cursor == {"notifications": "34975861", "pending": []}  # the Link prev's min_id
    stored = items_of(workspace)
    sup = stored["@trwnh sup!"]
    assert (sup.native_id, sup.kind, sup.direction) == ("103186126728896492", "reply", "inbound")
    assert sup.parent_native_id == "103186038209478945"
    assert sup.created_at == datetime(2019, 11, 23, 7, 49, 1, 940000, tzinfo=UTC)
    assert sup.author is not None and sup.author.native_id == "zsc@mastodon.social"
    csv = stored[
        '@trwnh the export to #csv drops every row with an "&" in it :blobcat:\n'
        "see https://github.com/mastodon/mastodon/issues/12345#issuecomment-987654321\n\n"
        "it's the same on the app <3.2>"
    ]
    assert csv.kind == "mention" and csv.language == "en"
    assert (csv.likes, csv.reposts, csv.replies) == (5, 2, 1)
    assert csv.url == "https://fosstodon.org/@alex/103186045929373040"
    assert csv.author is not None
    assert (csv.author.native_id, csv.author.handle) == ("alex@fosstodon.org", "@alex@fosstodon.org")
    assert (csv.author.display_name, csv.author.followers) == ("Alex :verified:", 1204)
    dm = stored["@trwnh can you send me the invoice for order 4471?"]
    assert dm.kind == "dm" and dm.author is not None and dm.author.native_id == "Gargron@mastodon.social"

    later = do_sync(channel, connector=connector)
    assert (later.imported, later.duplicates) == (1, 0)
    spam = items_of(workspace)["@trwnh 🔥 CHEAP FOLLOWERS 🔥 https://spam.example/buy"]
    assert spam.raw["bot"] is True and spam.kind == "mention"
    assert channel.cursor["notifications"] == "34976011"
    assert (do_sync(channel, connector=connector).imported, channel.cursor["notifications"]) == (
        0,
        "34976011",
    )
    asked = [r.url.params.get("min_id") for r in replay.sent("GET", "/api/v1/notifications")]
    assert asked == [None, "34975861", "34976011"]


def test_pages_are_read_forward_and_a_sync_cut_short_resumes_without_gaps_or_duplicates(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven mentions arrive between syncs, read two a page; the sync dies after two pages and resumes."""
    monkeypatch.setattr(mastodon, "PAGE", 2)
    template = captured("notifications")["body"][1]
    timeline: list[dict[str, Any]] = []
    for n in range(1, 9):
        entry = copy.deepcopy(template)
        entry["id"] = str(100 + n)
        entry["status"]["id"] = str(9000 + n)
        entry["status"]["content"] = f"<p>mention {n}</p>"
        timeline.append(entry)
    visible = timeline[:1]
    failing = {"after": 0}

    def notifications(request: httpx.Request) -> httpx.Response:
        """Mastodon's min_id: the entries right above it, oldest of them first, sent newest first."""
        limit = int(request.url.params["limit"])
        min_id = request.url.params.get("min_id")
        newer = [e for e in visible if min_id is None or int(e["id"]) > int(min_id)]
        page = newer[:limit] if min_id else newer[-limit:]
        if failing["after"] and min_id and int(min_id) >= failing["after"]:
            return httpx.Response(503, json={"error": "down for maintenance"})
        page = list(reversed(page))
        headers = {}
        if page:
            headers["Link"] = f'<{INSTANCE}/api/v1/notifications?min_id={page[0]["id"]}>; rel="prev"'
        return httpx.Response(200, headers=headers, json=page)

    replay = Replay(
        {"GET /api/v1/accounts/verify_credentials": me, "GET /api/v1/notifications": notifications}
    )
    connector = replay.connector()
    connector.http.retries = 0
    channel = do_create_channel(workspace=workspace, network="mastodon", handle="@trwnh@mastodon.social")
    assert do_sync(channel, connector=connector).imported == 1

    visible[:] = timeline
    failing["after"] = 105
    cut = do_sync(channel, connector=connector)
    assert cut.error and cut.imported == 4 and channel.cursor["notifications"] == "105"
    failing["after"] = 0
    resumed = do_sync(channel, connector=connector)
    assert (resumed.error, resumed.imported, resumed.duplicates) == ("", 3, 0)
    texts = sorted(Item.objects.filter(workspace=workspace).values_list("text", flat=True))
    assert texts == [f"mention {n}" for n in range(1, 9)]


def test_status_html_reads_as_plain_text() -> None:
    guardian = captured("status")["body"]
    assert plain_text(guardian["content"]) == (
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-inheritance-to-an-unscrupulous-company-with-one-wrong-digit-on-my-sort-code"
    )
    # The mock's unlinkified form reads the same as Mastodon's anchors.
    assert plain_text("<p>@alice see #help<br />line two</p>") == "@alice see #help\nline two"
    assert plain_text("<p>a\n  b</p><ul><li>one</li><li>two</li></ul><pre>x\n  y</pre>") == (
        "a b\n\none\ntwo\n\nx\n  y"
    )


def test_status_length_counts_as_mastodon_does() -> None:
    assert status_length("hello") == 5
    assert status_length("see https://example.com/" + "a" * 80) == len("see ") + 23
    assert status_length("@alex@fosstodon.org hi") == len("@alex hi")
    assert status_length("👩‍👩‍👧 family") == 1 + len(" family")  # one grapheme cluster


def test_max_characters_comes_from_the_instance() -> None:
    assert (
        Replay({"GET /api/v2/instance": lambda r: respond("instance_v2")}).connector().max_characters() == 500
    )
    bigger = captured("instance_v2")["body"]
    bigger["configuration"]["statuses"]["max_characters"] = 5000
    replay = Replay({"GET /api/v2/instance": lambda r: respond("instance_v2", body=bigger)})
    assert replay.connector().max_characters() == 5000
    # A server without v2 (Pleroma, Akkoma) says it in v1 as max_toot_chars.
    v1 = {"uri": "pleroma.example", "max_toot_chars": 5000}
    assert (
        Replay({"GET /api/v1/instance": lambda r: httpx.Response(200, json=v1)}).connector().max_characters()
        == 5000
    )
    assert (
        Replay({"GET /api/v1/instance": lambda r: httpx.Response(200, json={})}).connector().max_characters()
        == 500
    )


def test_a_reply_to_a_dm_mentions_its_author_and_stays_direct() -> None:
    replay = Replay(
        {
            "GET /api/v1/accounts/verify_credentials": me,
            "GET /api/v2/instance": lambda r: respond("instance_v2"),
            "GET /api/v1/statuses/103186010357960355": lambda r: respond("status_dm"),
            "POST /api/v1/statuses": lambda r: respond("status_posted"),
        }
    )
    published = replay.connector().publish(
        Outgoing(
            text="sent, check your inbox", reply_to="103186010357960355", extra={"idempotency_key": "k-1"}
        )
    )
    assert published.native_id == "103186144531220480"
    assert published.url == "https://mastodon.social/@trwnh/103186144531220480"
    (post,) = replay.sent("POST", "/api/v1/statuses")
    assert json.loads(post.content) == {
        "status": "@Gargron sent, check your inbox",
        "visibility": "direct",
        "in_reply_to_id": "103186010357960355",
    }
    assert (
        post.headers["Idempotency-Key"] == "k-1" and post.headers["Authorization"] == "Bearer token-of-trwnh"
    )


def test_a_refused_status_reports_mastodons_reason() -> None:
    replay = Replay(
        {
            "GET /api/v2/instance": lambda r: respond("instance_v2"),
            "POST /api/v1/statuses": lambda r: respond("error_422"),
        }
    )
    with pytest.raises(ConnectorError) as refused:
        replay.connector().publish(Outgoing(text="hello"))
    assert refused.value.status == 422
    assert "Text character limit of 500 exceeded" in refused.value.message


def test_a_throttled_call_waits_until_x_ratelimit_reset() -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    answers = [respond("error_429", headers={**captured("error_429")["headers"], "X-RateLimit-Reset": reset})]
    replay = Replay(
        {"GET /api/v1/accounts/verify_credentials": lambda r: answers.pop() if answers else me(r)}
    )
    health = replay.connector().check()
    assert health.ok and health.account == "@trwnh@mastodon.social"
    assert len(replay.sleeps) == 1 and 58 <= replay.sleeps[0] <= 60  # HttpClient caps a wait at 60 s


def test_check_with_a_revoked_token_is_not_ok() -> None:
    health = (
        Replay({"GET /api/v1/accounts/verify_credentials": lambda r: respond("error_401")})
        .connector()
        .check()
    )
    assert not health.ok and "401" in health.message


def test_moderation_acts_on_the_author_of_a_status() -> None:
    spam = captured("notifications_after")["body"][0]["status"]
    replay = Replay(
        {
            f"GET /api/v1/statuses/{spam['id']}": lambda r: httpx.Response(200, json=spam),
            "POST /api/v1/accounts/109302445372190581/block": lambda r: respond("relationship_block"),
            "POST /api/v1/reports": lambda r: respond("report"),
            "GET /api/v1/accounts/verify_credentials": me,
            "GET /api/v1/statuses/103186126728896492": lambda r: respond("error_404"),
            "GET /api/v1/accounts/lookup": lambda r: respond("lookup_remote"),
        }
    )
    connector = replay.connector()
    connector.moderate("block", spam["id"])
    assert len(replay.sent("POST", "/api/v1/accounts/109302445372190581/block")) == 1
    connector.moderate("report", spam["id"], reason="Spam: sells followers")
    (report,) = replay.sent("POST", "/api/v1/reports")
    assert json.loads(report.content) == {
        "account_id": "109302445372190581",
        "status_ids": [spam["id"]],
        "comment": "Spam: sells followers",
        "category": "spam",
    }
    with pytest.raises(ConnectorError, match="Record not found"):
        connector.moderate("delete", "103186126728896492")  # deleted already, or never visible
    with pytest.raises(ConnectorError, match="only the channel's own statuses"):
        connector.moderate("delete", spam["id"])
    assert not replay.sent("DELETE", f"/api/v1/statuses/{spam['id']}")
    with pytest.raises(ConnectorError, match="cannot ban"):
        connector.moderate("ban", spam["id"])
    author = connector.profile("alex@fosstodon.org")
    assert (author.handle, author.followers, author.profile_url) == (
        "@alex@fosstodon.org",
        1204,
        "https://fosstodon.org/@alex",
    )


def test_publish_sends_the_posts_idempotency_key() -> None:
    replay = Replay(
        {
            "GET /api/v2/instance": lambda r: respond("instance_v2"),
            "POST /api/v1/statuses": lambda r: respond("status_posted"),
        }
    )
    connector = replay.connector()
    connector.publish(Outgoing(text="hello", idempotency_key="post-7", extra={"idempotency_key": "older"}))
    connector.publish(Outgoing(text="hello", extra={"idempotency_key": "older"}))
    assert [r.headers["Idempotency-Key"] for r in replay.sent("POST", "/api/v1/statuses")] == [
        "post-7",
        "older",
    ]


def test_lookup_finds_a_status_by_the_text_mastodon_rendered() -> None:
    """Real content HTML: h-card mentions without the domain, links cut into invisible/ellipsis spans."""
    reply = captured("status_posted")["body"]  # "@Gargron sent, check your inbox", answering a DM
    link = copy.deepcopy(captured("status")["body"])
    link.update(
        id="103186150000000000", account=reply["account"], url="https://mastodon.social/@trwnh/1031861500"
    )
    link["content"] = (
        '<p><span class="h-card" translate="no"><a href="https://fosstodon.org/@alex" class="u-url mention">'
        "@<span>alex</span></a></span> read this:<br />" + link["content"].removeprefix("<p>")
    )
    boost = {**copy.deepcopy(link), "id": "103186160000000000", "reblog": copy.deepcopy(link)}
    statuses = [boost, link, reply]

    def page(request: httpx.Request) -> httpx.Response:
        assert dict(request.url.params) == {"limit": "40", "exclude_reblogs": "true"}
        return httpx.Response(200, json=statuses)  # the boost too, as a server that ignores the filter

    replay = Replay(
        {
            "GET /api/v1/accounts/verify_credentials": me,
            "GET /api/v1/accounts/14715/statuses": page,
            "GET /api/v1/statuses/103186010357960355": lambda r: respond("status_dm"),
        }
    )
    connector = replay.connector()
    found = connector.lookup(Outgoing(text="sent, check your inbox", reply_to="103186010357960355"))
    assert found is not None
    assert (found.native_id, found.url) == (
        "103186144531220480",
        "https://mastodon.social/@trwnh/103186144531220480",
    )
    said = (
        "@alex@fosstodon.org read this:\n"
        '"I lost my inheritance with one wrong digit on my sort code"\n\n'
        "https://www.theguardian.com/money/2019/dec/07/"
        "i-lost-my-inheritance-to-an-unscrupulous-company-with-one-wrong-digit-on-my-sort-code"
    )
    found = connector.lookup(Outgoing(text=said))
    assert found is not None and found.native_id == "103186150000000000"
    assert connector.lookup(Outgoing(text="sent, check your inbox")) is None  # not as a reply: another status
    assert connector.lookup(Outgoing(text="never sent")) is None
