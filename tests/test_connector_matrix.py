"""The Matrix connector against a real Synapse: sync from joined rooms, replies, and room moderation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from townhall.connectors import matrix
from townhall.connectors.base import Outgoing
from townhall.connectors.http import AuthError, ConnectorError, HttpClient
from townhall.connectors.matrix import KEY_FIELD, MatrixConnector, transaction_id
from townhall.connectors.models import Channel
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import config_of, do_sync
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

if TYPE_CHECKING:  # pytest imports the module itself, as a plugin, so that its asserts are rewritten
    from peers.matrix import MatrixUser, Synapse

pytest_plugins = ["peers.matrix"]  # the `synapse` server fixture
_counter = {"n": 0}


def fresh(server: Synapse, name: str, display_name: str = "", *, admin: bool = False) -> MatrixUser:
    """A user with a name no other test took (all tests share one homeserver)."""
    _counter["n"] += 1
    return server.register(f"{name}{_counter['n']}", display_name=display_name, admin=admin)


def brand_channel(workspace: Workspace, server: Synapse, brand: MatrixUser, **settings: Any) -> Channel:
    return do_create_channel(
        workspace=workspace,
        network="matrix",
        handle=brand.user_id,
        credentials={
            "homeserver": server.base_url,
            "access_token": brand.access_token,
            "user_id": brand.user_id,
        },
        settings=settings,
    )


def q(part: str) -> str:
    return quote(part, safe="")


def items_of(workspace: Workspace) -> dict[str, Item]:
    """The stored Matrix items by text."""
    found = Item.objects.filter(workspace=workspace, network="matrix").select_related("author", "channel")
    return {item.text: item for item in found}


def test_check_tells_good_credentials_from_bad(synapse: Synapse, workspace: Workspace) -> None:
    brand = fresh(synapse, "brand")
    channel = brand_channel(workspace, synapse, brand)
    health = MatrixConnector(config_of(channel)).check()
    assert health.ok, health.message
    assert health.account == brand.user_id

    bad_token = config_of(channel)
    bad_token.credentials["access_token"] = "syt_not_a_token"
    health = MatrixConnector(bad_token).check()
    assert not health.ok and "401" in health.message

    nowhere = config_of(channel)
    nowhere.credentials["homeserver"] = "http://127.0.0.1:9"
    health = MatrixConnector(nowhere, http=HttpClient(retries=0)).check()
    assert not health.ok


def test_sync_reply_and_moderation_on_a_real_homeserver(synapse: Synapse, workspace: Workspace) -> None:
    brand = fresh(synapse, "brand", "Acme Support")
    alice = fresh(synapse, "alice", "Alice Liddell")
    bob = fresh(synapse, "bob")
    spammer = fresh(synapse, "spammer", "Cheap Deals")
    room = brand.create_room("Acme community")
    for member in (alice, bob, spammer):
        member.join(room)
    question = alice.send(room, "Is the export broken for anyone else?")
    # A reply as pre-1.13 clients send it: the quoted parent heads the body.
    bob.send(room, f"> <{alice.user_id}> Is the export broken for anyone else?\n\nSame here since Monday",
             relates_to={"m.in_reply_to": {"event_id": question}})  # fmt: skip
    alice.send(room, "Only CSV fails for me", relates_to={"rel_type": "m.thread", "event_id": question,
               "is_falling_back": True, "m.in_reply_to": {"event_id": question}})  # fmt: skip
    spam = spammer.send(room, "BUY CHEAP FOLLOWERS at spam.example")
    brand.send(room, "We are looking into it")
    # A 1:1 room: the brand's client lists it in m.direct when it accepts the invite.
    carol = fresh(synapse, "carol", "Carol")
    dm_room = carol.create_room("", invite=[brand.user_id], direct=True)
    brand.join(dm_room)
    brand.call("PUT", f"/_matrix/client/v3/user/{q(brand.user_id)}/account_data/m.direct",
               {carol.user_id: [dm_room]})  # fmt: skip
    carol.send(dm_room, "Can you refund my order?")

    channel = brand_channel(workspace, synapse, brand)
    connector = MatrixConnector(config_of(channel))
    result = do_sync(channel, connector=connector)
    assert not result.error, result.error
    assert result.imported == 6

    stored = items_of(workspace)
    asked = stored["Is the export broken for anyone else?"]
    assert asked.native_id == f"{room}/{question}"
    assert (asked.kind, asked.direction) == ("chat_message", "inbound")
    assert asked.author is not None and asked.author.native_id == alice.user_id
    assert asked.author.display_name == "Alice Liddell"
    assert asked.channel is not None and asked.channel.pk == channel.pk
    same = stored["Same here since Monday"]  # the quoted fallback is gone
    assert same.parent_id == asked.pk and same.author is not None and same.author.handle == bob.user_id
    in_thread = stored["Only CSV fails for me"]
    assert in_thread.parent_native_id == asked.native_id and in_thread.thread_root_id == asked.pk
    ours = stored["We are looking into it"]
    assert ours.direction == "outbound"
    refund = stored["Can you refund my order?"]
    assert refund.kind == "dm" and refund.author is not None and refund.author.display_name == "Carol"

    # The cursor stands after everything delivered: nothing again, not even as a duplicate.
    again = do_sync(channel, connector=connector)
    assert (again.error, again.imported, again.duplicates) == ("", 0, 0)
    alice.send(room, "Any news?")
    later = do_sync(channel, connector=connector)
    assert (later.imported, later.duplicates) == (1, 0)
    assert "Any news?" in items_of(workspace)

    # A reply from Townhall lands in the room of the message answered, as a reply to it.
    published = connector.publish(Outgoing(text="A fix ships today", reply_to=asked.native_id))
    assert published.native_id.startswith(f"{room}/$")
    sent = alice.event(room, published.raw["event_id"])
    assert sent["sender"] == brand.user_id and sent["content"]["body"] == "A fix ships today"
    assert sent["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == question
    assert sent["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    # Answering inside a thread keeps the answer in the thread.
    threaded = connector.publish(Outgoing(text="CSV is the one we fixed", reply_to=in_thread.native_id))
    relation = alice.event(room, threaded.raw["event_id"])["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == question
    assert relation["m.in_reply_to"]["event_id"] == in_thread.native_id.split("/", 1)[1]
    mine = do_sync(channel, connector=connector)
    assert mine.imported == 2
    reply = items_of(workspace)["A fix ships today"]
    assert reply.direction == "outbound" and reply.parent_id == asked.pk

    # Moderation: the spam is redacted and its author banned, as the other members see it.
    spam_item = stored["BUY CHEAP FOLLOWERS at spam.example"]
    connector.moderate("delete", spam_item.native_id, reason="spam")
    redacted = alice.event(room, spam)
    assert redacted["content"] == {}
    assert redacted["unsigned"]["redacted_because"]["sender"] == brand.user_id
    connector.moderate("ban", spam_item.native_id, reason="spam")  # the author of that message
    assert alice.membership(room, spammer.user_id) == "ban"
    refused = spammer.server.client.post(
        f"{synapse.base_url}/_matrix/client/v3/join/{q(room)}",
        json={},
        headers={"Authorization": f"Bearer {spammer.access_token}"},
    )
    assert refused.status_code == 403


def test_kick_mute_report_and_block(synapse: Synapse, workspace: Workspace) -> None:
    brand = fresh(synapse, "brand")
    troll = fresh(synapse, "troll")
    rude = fresh(synapse, "rude")
    admin = fresh(synapse, "admin", admin=True)
    room = brand.create_room("Support")
    troll.join(room)
    rude.join(room)
    insult = rude.send(room, "you all are useless")
    connector = MatrixConnector(config_of(brand_channel(workspace, synapse, brand)))

    connector.moderate("kick", f"{room}/{troll.user_id}", reason="off topic")
    assert brand.membership(room, troll.user_id) == "leave"

    connector.moderate("mute", rude.user_id)  # a bare user id: every joined room where they are
    levels = brand.call("GET", f"/_matrix/client/v3/rooms/{q(room)}/state/m.room.power_levels/")
    assert levels["users"][rude.user_id] == -1
    muted = synapse.client.put(
        f"{synapse.base_url}/_matrix/client/v3/rooms/{q(room)}/send/m.room.message/after-mute",
        json={"msgtype": "m.text", "body": "still here"},
        headers={"Authorization": f"Bearer {rude.access_token}"},
    )
    assert muted.status_code == 403

    connector.moderate("report", f"{room}/{insult}", reason="abusive")
    reports = admin.call("GET", "/_synapse/admin/v1/event_reports", room_id=room)["event_reports"]
    assert [(r["event_id"], r["reason"], r["sender"]) for r in reports] == [(insult, "abusive", rude.user_id)]
    connector.moderate("report", rude.user_id, reason="harasses members")  # a user report: no error

    connector.moderate("block", f"{room}/{insult}")
    ignored = brand.call(
        "GET", f"/_matrix/client/v3/user/{q(brand.user_id)}/account_data/m.ignored_user_list"
    )
    assert rude.user_id in ignored["ignored_users"]


def test_moderating_without_power_is_refused_not_an_auth_failure(
    synapse: Synapse, workspace: Workspace
) -> None:
    brand = fresh(synapse, "brand")
    owner = fresh(synapse, "owner")
    other = fresh(synapse, "other")
    room = owner.create_room("Someone else's room")
    brand.join(room)
    other.join(room)
    connector = MatrixConnector(config_of(brand_channel(workspace, synapse, brand)))
    with pytest.raises(ConnectorError) as refused:
        connector.moderate("kick", f"{room}/{other.user_id}")
    assert not isinstance(refused.value, AuthError)
    assert refused.value.status == 403
    with pytest.raises(ConnectorError, match="<room_id>/<event_id>"):
        connector.moderate("delete", other.user_id)


def test_a_sync_cut_short_resumes_exactly_where_it_stopped(
    synapse: Synapse, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "PAGE_SIZE", 2)
    brand = fresh(synapse, "brand")
    fan = fresh(synapse, "fan")
    room = brand.create_room("Busy room")
    elsewhere = fan.create_room("Not for this channel")
    fan.join(room)
    brand.join(elsewhere)
    fan.send(elsewhere, "outside the channel's rooms")
    for n in range(5):
        fan.send(room, f"message {n}")
    channel = brand_channel(workspace, synapse, brand, rooms=[room])
    connector = MatrixConnector(config_of(channel))

    imported = [do_sync(channel, connector=connector, max_pages=1).imported for _ in range(4)]
    assert imported == [2, 2, 1, 0]
    assert sorted(items_of(workspace)) == [f"message {n}" for n in range(5)]
    channel.refresh_from_db()
    assert list(channel.cursor["rooms"]) == [room]


def own_messages(user: MatrixUser, room: str, text: str) -> list[dict[str, Any]]:
    """The user's messages in the room that say `text`, as any member reads the room."""
    page = user.call("GET", f"/_matrix/client/v3/rooms/{q(room)}/messages", dir="b", limit=100)
    return [
        e
        for e in page["chunk"]
        if e["type"] == "m.room.message" and e["sender"] == user.user_id and e["content"].get("body") == text
    ]


def test_a_post_sent_with_a_key_is_found_by_lookup_and_sent_once(
    synapse: Synapse, workspace: Workspace
) -> None:
    brand = fresh(synapse, "brand")
    fan = fresh(synapse, "fan")
    room = brand.create_room("Announcements")
    fan.join(room)
    channel = brand_channel(workspace, synapse, brand, default_room=room)
    post = Outgoing(text="Version 2 ships today", idempotency_key="scheduled-post-17")
    assert MatrixConnector(config_of(channel)).lookup(post) is None

    published = MatrixConnector(config_of(channel)).publish(post)
    sent = fan.event(room, published.raw["event_id"])
    assert sent["content"]["body"] == "Version 2 ships today"
    assert sent["content"][KEY_FIELD] == "scheduled-post-17"
    fan.send(room, "Great news")  # others talk after it: lookup reads past them
    brand.send(room, "Release notes follow")

    # Another worker, after the first one's attempt timed out: it finds the message rather than sending it.
    found = MatrixConnector(config_of(channel)).lookup(post)
    assert found is not None
    assert (found.native_id, found.url, found.raw) == (published.native_id, published.url, published.raw)
    unused = Outgoing(text="Version 2 ships today", idempotency_key="scheduled-post-18")
    assert MatrixConnector(config_of(channel)).lookup(unused) is None

    # Sending it again anyway: the same transaction, so the homeserver answers with the same event.
    again = MatrixConnector(config_of(channel)).publish(post)
    assert again.native_id == published.native_id
    assert len(own_messages(brand, room, "Version 2 ships today")) == 1
    assert transaction_id("scheduled-post-17") == transaction_id("scheduled-post-17")
    assert transaction_id("a/b c") != transaction_id("a/b d")


def test_lookup_finds_replies_and_only_the_channels_own_messages(
    synapse: Synapse, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = fresh(synapse, "brand")
    fan = fresh(synapse, "fan")
    room = brand.create_room("Support")
    fan.join(room)
    question = fan.send(room, "Is the export broken?")
    connector = MatrixConnector(config_of(brand_channel(workspace, synapse, brand)))
    reply = Outgoing(text="A fix ships today", reply_to=f"{room}/{question}", idempotency_key="reply-3")
    published = connector.publish(reply)
    found = connector.lookup(reply)
    assert found is not None and found.native_id == published.native_id

    # Someone else's message carrying a key is not the channel's post.
    path = f"/_matrix/client/v3/rooms/{q(room)}/send/m.room.message/copycat"
    fan.call("PUT", path, {"msgtype": "m.text", "body": "me too", KEY_FIELD: "reply-4"})
    assert (
        connector.lookup(Outgoing(text="me too", extra={"room_id": room}, idempotency_key="reply-4")) is None
    )
    with pytest.raises(NotImplementedError):
        connector.lookup(Outgoing(text="A fix ships today", reply_to=f"{room}/{question}"))

    # It reads back LOOKUP_DEPTH of the channel's messages, a page at a time, and no further.
    monkeypatch.setattr(matrix, "PAGE_SIZE", 2)
    monkeypatch.setattr(matrix, "LOOKUP_DEPTH", 4)
    for n in range(3):
        brand.send(room, f"later {n}")
    found = connector.lookup(reply)
    assert found is not None and found.native_id == published.native_id
    brand.send(room, "later 3")
    assert connector.lookup(reply) is None
