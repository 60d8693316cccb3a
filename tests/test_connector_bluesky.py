"""The Bluesky connector against a real local network: mentions and replies in, replies out, moderation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from atproto_client.models.string_formats import TID_RE

from conftest import SHARED_DATA
from townhall.connectors import bluesky as bluesky_connector
from townhall.connectors.base import Outgoing
from townhall.connectors.bluesky import (
    BlueskyConnector,
    Listed,
    next_page_cursor,
    record_key,
    rich_text_facets,
)
from townhall.connectors.http import ConnectorError, HttpClient
from townhall.connectors.models import Channel
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import config_of, do_sync
from townhall.items.models import Item
from townhall.pipeline.records import IncomingItem
from townhall.workspaces.models import Workspace

if TYPE_CHECKING:  # pytest imports the module itself, as a plugin, so that its asserts are rewritten
    from peers.bluesky import Account, BlueskyNetwork

pytest_plugins = ["peers.bluesky"]  # the `bluesky` network fixture
RICHTEXT_CASES = SHARED_DATA / "atproto-richtext" / "richtext_cases.json"


def brand_channel(workspace: Workspace, net: BlueskyNetwork, brand: Account, **settings: Any) -> Channel:
    return do_create_channel(
        workspace=workspace,
        network="bluesky",
        handle=brand.handle,
        credentials={"service": net.pds, "identifier": brand.handle, "app_password": brand.password},
        settings=settings,
    )


def items_of(workspace: Workspace) -> dict[str, Item]:
    """The stored Bluesky items by text."""
    found = Item.objects.filter(workspace=workspace, network="bluesky").select_related("author", "channel")
    return {item.text: item for item in found}


def facet_texts(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each facet's slice of the text (cut by its UTF-8 byte offsets) and its feature."""
    raw = record["text"].encode()
    return [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record.get("facets", [])
    ]


def test_check_tells_good_credentials_from_bad(bluesky: BlueskyNetwork, workspace: Workspace) -> None:
    brand = bluesky.account("brand")
    channel = brand_channel(workspace, bluesky, brand)
    health = BlueskyConnector(config_of(channel)).check()
    assert health.ok, health.message
    assert health.account == brand.handle

    wrong = config_of(channel)
    wrong.credentials["app_password"] = "not-the-password"
    health = BlueskyConnector(wrong).check()
    assert not health.ok and "401" in health.message

    nowhere = config_of(channel)
    nowhere.credentials["service"] = "http://127.0.0.1:9"
    health = BlueskyConnector(nowhere, http=HttpClient(retries=0)).check()
    assert not health.ok


def test_sync_reply_and_moderation_on_a_real_network(bluesky: BlueskyNetwork, workspace: Workspace) -> None:
    brand = bluesky.account("brand", "Acme Support")
    fan = bluesky.account("fan", "Fanny Fan")
    brand.follow(fan)
    launch = brand.post("Version 2 ships today")
    mention = fan.post(f"@{brand.handle} is the export broken?", mentions={f"@{brand.handle}": brand.did})
    reply = fan.post("Same here since Monday", reply_to=launch)
    fan.post("Look at this launch", quote=launch)
    fan.create("app.bsky.feed.like", {"subject": launch, "createdAt": datetime.now(UTC).isoformat()})
    brand.await_notifications(4)  # mention, reply, quote, like

    channel = brand_channel(workspace, bluesky, brand)
    connector = BlueskyConnector(config_of(channel))
    result = do_sync(channel, connector=connector)
    assert not result.error, result.error
    assert result.imported == 3  # the like is no conversation

    stored = items_of(workspace)
    asked = stored[f"@{brand.handle} is the export broken?"]
    assert asked.native_id == mention["uri"]
    assert (asked.kind, asked.direction, asked.parent_native_id) == ("mention", "inbound", "")
    assert asked.author is not None and asked.author.native_id == fan.did
    assert (asked.author.handle, asked.author.display_name) == (fan.handle, "Fanny Fan")
    assert asked.author.followers == 1
    assert asked.channel is not None and asked.channel.pk == channel.pk
    same = stored["Same here since Monday"]
    assert (same.kind, same.native_id, same.parent_native_id) == ("reply", reply["uri"], launch["uri"])
    assert same.url == f"https://bsky.app/profile/{fan.handle}/post/{reply['uri'].rsplit('/', 1)[1]}"
    quoted = stored["Look at this launch"]
    assert quoted.kind == "mention" and quoted.raw["quoted"] == launch["uri"]

    # The cursor stands after everything delivered: nothing again, not even as a duplicate.
    again = do_sync(channel, connector=connector)
    assert (again.error, again.imported, again.duplicates) == ("", 0, 0)
    # An answer to the fan's own reply: Bluesky notifies the brand as the thread's root author.
    fan.post("Any news?", reply_to=reply, root=launch)
    brand.await_notifications(5)
    later = do_sync(channel, connector=connector)
    assert (later.error, later.imported, later.duplicates) == ("", 1, 0)
    assert items_of(workspace)["Any news?"].parent_native_id == reply["uri"]

    # A reply from Townhall: threaded under the fan's reply, with facets cut at UTF-8 byte offsets.
    text = f"Désolé 🙏 @{fan.handle}, the fix is at https://example.com/status #export"
    published = connector.publish(Outgoing(text=text, reply_to=same.native_id))
    sent = bluesky.record(published.native_id)
    assert sent is not None and sent["text"] == text
    assert {k: sent["reply"]["parent"][k] for k in ("uri", "cid")} == reply
    assert {k: sent["reply"]["root"][k] for k in ("uri", "cid")} == launch
    assert facet_texts(sent) == [
        (f"@{fan.handle}", {"$type": "app.bsky.richtext.facet#mention", "did": fan.did}),
        ("https://example.com/status", {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/status"}),
        ("#export", {"$type": "app.bsky.richtext.facet#tag", "tag": "export"}),
    ]  # fmt: skip

    # Moderation, as the server then shows it: the reply hidden, the fan blocked, our post deleted.
    connector.moderate("hide", same.native_id)
    connector.moderate("hide", same.native_id)  # twice: listed once
    gate = bluesky.record(f"at://{brand.did}/app.bsky.feed.threadgate/{launch['uri'].rsplit('/', 1)[1]}")
    assert gate is not None and gate["post"] == launch["uri"] and gate["hiddenReplies"] == [reply["uri"]]
    assert "allow" not in gate  # hiding a reply must not stop anyone from replying

    connector.moderate("block", same.native_id)  # the author of that reply, as the inbox asks for it
    assert [b["subject"] for b in bluesky.records(brand.did, "app.bsky.graph.block")] == [fan.did]
    seen_by_fan = bluesky.wait(lambda: fan.call("GET", "app.bsky.actor.getProfile", actor=brand.did)["viewer"]
                               .get("blockedBy") or None)  # fmt: skip
    assert seen_by_fan is True

    connector.moderate("delete", published.native_id)
    assert bluesky.record(published.native_id) is None
    with pytest.raises(ConnectorError, match="only its own posts"):
        connector.moderate("delete", same.native_id)


def test_mute_and_reports_reach_the_moderation_service(bluesky: BlueskyNetwork, workspace: Workspace) -> None:
    brand = bluesky.account("brand")
    troll = bluesky.account("troll")
    insult = troll.post(f"@{brand.handle} you are useless", mentions={f"@{brand.handle}": brand.did})
    connector = BlueskyConnector(config_of(brand_channel(workspace, bluesky, brand)))

    connector.moderate("mute", troll.handle)
    muted = bluesky.wait(lambda: brand.call("GET", "app.bsky.actor.getProfile", actor=troll.did)["viewer"]
                         .get("muted") or None)  # fmt: skip
    assert muted is True

    connector.moderate("report", insult["uri"], reason="abusive")
    connector.moderate("spam", troll.did)

    def both_reports() -> list[dict[str, Any]] | None:
        mine = [r for r in bluesky.reports() if r["createdBy"] == brand.did]
        return mine if len(mine) == 2 else None

    reports = bluesky.wait(both_reports)
    by_subject = {r["subject"].get("uri") or r["subject"]["did"]: r for r in reports}
    assert by_subject[insult["uri"]]["subject"]["cid"] == insult["cid"]
    assert by_subject[insult["uri"]]["event"]["reportType"] == "com.atproto.moderation.defs#reasonOther"
    assert by_subject[insult["uri"]]["event"]["comment"] == "abusive"
    assert by_subject[troll.did]["event"]["reportType"] == "com.atproto.moderation.defs#reasonSpam"

    with pytest.raises(ConnectorError, match="cannot ban"):
        connector.moderate("ban", troll.did)


def test_a_sync_cut_short_resumes_exactly_even_across_equal_timestamps(
    bluesky: BlueskyNetwork, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """listNotifications pages by timestamp alone: posts of one millisecond must not fall between pages."""
    monkeypatch.setattr(bluesky_connector, "PAGE_SIZE", 3)
    brand = bluesky.account("brand")
    fan = bluesky.account("fan")
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    # Newest first they sort: 3, then 2a/2b/2c (one millisecond), then 1; a page holds three.
    for label, seconds in [("1", 0), ("2a", 1), ("2b", 1), ("2c", 1), ("3", 2)]:
        fan.post(f"@{brand.handle} message {label}", mentions={f"@{brand.handle}": brand.did},
                 created_at=base + timedelta(seconds=seconds))  # fmt: skip
    brand.await_notifications(5)
    channel = brand_channel(workspace, bluesky, brand)
    connector = BlueskyConnector(config_of(channel))

    imported = [do_sync(channel, connector=connector, max_pages=1).imported for _ in range(4)]
    assert sum(imported) == 5 and imported[-1] == 0
    assert sorted(items_of(workspace)) == sorted(
        f"@{brand.handle} message {n}" for n in ["1", "2a", "2b", "2c", "3"]
    )

    # A post whose clock ran behind sorts below the newest one read: the walk's overlap still finds it.
    fan.post(
        f"@{brand.handle} late",
        mentions={f"@{brand.handle}": brand.did},
        created_at=base - timedelta(minutes=2),
    )
    brand.await_notifications(6)
    late = do_sync(channel, connector=connector)
    assert (late.imported, late.duplicates) == (1, 0)


def test_listening_search_brings_posts_that_do_not_tag_the_brand(
    bluesky: BlueskyNetwork, workspace: Workspace
) -> None:
    brand = bluesky.account("brand")
    stranger = bluesky.account("stranger")
    ours = brand.post("The zorblax 3000 is back in stock")
    theirs = stranger.post("my zorblax 3000 broke again")
    stranger.post("nothing to see here")
    channel = brand_channel(workspace, bluesky, brand, search="zorblax")
    connector = BlueskyConnector(config_of(channel))
    bluesky.wait(
        lambda: len(brand.call("GET", "app.bsky.feed.searchPosts", q="zorblax")["posts"]) == 2 or None
    )

    result = do_sync(channel, connector=connector)
    assert (result.error, result.imported) == ("", 2)
    stored = items_of(workspace)
    heard = stored["my zorblax 3000 broke again"]
    assert (heard.native_id, heard.kind, heard.direction) == (theirs["uri"], "post", "inbound")
    said = stored["The zorblax 3000 is back in stock"]
    assert (said.native_id, said.direction) == (ours["uri"], "outbound")
    assert do_sync(channel, connector=connector).imported == 0


def test_a_post_sent_with_a_key_is_found_by_lookup_and_sent_once(
    bluesky: BlueskyNetwork, workspace: Workspace
) -> None:
    brand = bluesky.account("brand")
    fan = bluesky.account("fan")
    question = fan.post(f"@{brand.handle} when is v2 out?", mentions={f"@{brand.handle}": brand.did})
    channel = brand_channel(workspace, bluesky, brand)
    post = Outgoing(text="Version 2 ships today #launch", idempotency_key="scheduled-post-17")
    assert BlueskyConnector(config_of(channel)).lookup(post) is None

    published = BlueskyConnector(config_of(channel)).publish(post)
    assert published.native_id == f"at://{brand.did}/app.bsky.feed.post/{record_key('scheduled-post-17')}"
    # The PDS took the derived record key, and the AppView indexed the post like any other.
    feed = bluesky.wait(
        lambda: brand.call("GET", "app.bsky.feed.getAuthorFeed", actor=brand.did)["feed"] or None
    )
    assert [entry["post"]["uri"] for entry in feed] == [published.native_id]

    # Another worker, after the first one's attempt timed out: it finds the post rather than sending it.
    found = BlueskyConnector(config_of(channel)).lookup(post)
    assert found is not None
    assert (found.native_id, found.url) == (published.native_id, published.url)
    assert found.raw == published.raw  # the CID and the facets
    unused = Outgoing(text="Version 2 ships today #launch", idempotency_key="scheduled-post-18")
    assert BlueskyConnector(config_of(channel)).lookup(unused) is None

    # Sending it again anyway: the PDS refuses a second record under that key, and the first is returned.
    again = BlueskyConnector(config_of(channel)).publish(post)
    assert (again.native_id, again.raw["cid"]) == (published.native_id, published.raw["cid"])
    assert [r["text"] for r in bluesky.records(brand.did, "app.bsky.feed.post")] == [post.text]

    # A reply with a key, likewise.
    connector = BlueskyConnector(config_of(channel))
    reply = Outgoing(text="Today!", reply_to=question["uri"], idempotency_key="reply-5")
    answered = connector.publish(reply)
    found = connector.lookup(reply)
    assert found is not None and found.native_id == answered.native_id
    sent = bluesky.record(answered.native_id)
    assert sent is not None and sent["reply"]["parent"]["uri"] == question["uri"]
    with pytest.raises(NotImplementedError):
        connector.lookup(Outgoing(text="Today!", reply_to=question["uri"]))
    connector.moderate("delete", answered.native_id)
    assert connector.lookup(reply) is None


# -- the pure parts, no network -------------------------------------------------------------------------


def test_facets_follow_the_reference_rich_text_cases() -> None:
    if not RICHTEXT_CASES.exists():
        pytest.skip(f"{RICHTEXT_CASES} is not there")
    cases = json.loads(RICHTEXT_CASES.read_text())
    for case in cases["detect_segments"]:
        facets = rich_text_facets(case["input"], lambda handle: f"did:fake:{handle}")
        got = [(f.index.byte_start, f.index.byte_end, getattr(f.features[0], "did", None)
                or getattr(f.features[0], "uri", None)) for f in facets]  # fmt: skip
        want = [(d["byteStart"], d["byteEnd"], d["value"]) for d in case["derived_facets"]]
        assert got == want, case["input"]
    for case in cases["detect_tags"]:
        facets = rich_text_facets(case["input"], lambda handle: None)
        tags = [(f.index.byte_start, f.index.byte_end, f.features[0].tag) for f in facets
                if not f.features[0].tag.startswith("$")]  # fmt: skip
        want = [
            (i["byteStart"], i["byteEnd"], t)
            for i, t in zip(case["expected_indices"], case["expected_tags"], strict=True)
        ]
        assert tags == want, case["input"]


def test_record_keys_are_valid_tids_stable_for_a_key() -> None:
    keys = [record_key(f"scheduled-post-{n}") for n in range(2000)]
    assert len(set(keys)) == len(keys)
    assert record_key("scheduled-post-1") == keys[1]
    for key in [*keys, record_key(""), record_key("é/ü " * 300)]:
        assert len(key) == 13 and TID_RE.match(key), key
        value = 0
        for char in key:
            value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
        assert value < 2**63  # the top bit of a TID is zero
        when = datetime.fromtimestamp((value >> 10) / 1_000_000, UTC)
        assert datetime(2023, 1, 1, tzinfo=UTC) <= when < datetime(2024, 3, 1, tzinfo=UTC)


def test_a_mention_that_resolves_to_nobody_stays_plain_text() -> None:
    facets = rich_text_facets(
        "hi @nobody.test and @somebody.test", lambda h: "did:plc:x" if "some" in h else None
    )
    assert [(f.index.byte_start, f.index.byte_end) for f in facets] == [(20, 34)]


def test_the_next_page_starts_a_millisecond_above_a_timestamp_cursor() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    page = [Listed(at + timedelta(seconds=1), "at://a", None), Listed(at, "at://b", None)]
    assert next_page_cursor("2026-01-02T03:04:05.123456Z", page, full=True) == "2026-01-02T03:04:05.124Z"
    assert next_page_cursor("1706::bafyabc", page, full=True) == "1706::bafyabc"  # a keyset: used as it is
    assert next_page_cursor(None, page, full=True) is None
    same = [Listed(at, "at://a", None), Listed(at, "at://b", None)]
    assert next_page_cursor("2026-01-02T03:04:05.123456Z", same, full=True) == "2026-01-02T03:04:05.123456Z"


def test_a_long_walk_moves_the_watermark_only_at_its_end_and_keeps_its_cursor_small() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hourly = [(start - timedelta(hours=n), f"at://did:plc:a/app.bsky.feed.post/{n}") for n in range(7)]

    def list_page(before: str | None) -> tuple[list[Listed], str | None]:
        offset = int(before or 0)
        chunk = hourly[offset : offset + 3]
        entries = [Listed(at, uri, item_stub(uri, at)) for at, uri in chunk]
        return entries, str(offset + 3) if offset + 3 < len(hourly) else None

    state: dict[str, Any] = {}
    delivered: list[str] = []
    going = True
    while going:
        items, state, going = bluesky_connector.walk(state, list_page, backfill=100)
        delivered += [item.native_id for item in items]
        if going:
            assert state["since"] is None  # not before the walk is through
            assert len(state["walk"]["delivered"]) <= 3  # what cannot come up again is forgotten
    assert delivered == [uri for _, uri in hourly]
    assert state["since"] == "2026-01-01T00:00:00.000000Z"
    assert list(state["seen"]) == [hourly[0][1]]  # only the overlap below the watermark
    assert bluesky_connector.walk(state, list_page, backfill=100)[0] == []


def item_stub(uri: str, at: datetime) -> IncomingItem:
    return IncomingItem(network="bluesky", native_id=uri, created_at=at, text=uri)
