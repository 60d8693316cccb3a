"""The inbox acting on a real network: agents' replies and rules' moderation go out through the connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from conftest import ApiClient
from townhall.connectors.services import do_create_channel
from townhall.connectors.sync import do_sync
from townhall.inbox.models import Conversation, Delivery
from townhall.items.models import Direction, Item
from townhall.workspaces.models import Workspace

if TYPE_CHECKING:
    from peers.matrix import Synapse

pytest_plugins = ["peers.matrix"]


def test_a_reply_from_the_inbox_is_posted_in_the_room_and_the_next_sync_knows_it(
    synapse: Synapse,
    workspace: Workspace,
    owner_api: ApiClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    brand = synapse.register("inboxbrand", display_name="Acme")
    dana = synapse.register("inboxdana", display_name="Dana")
    room = brand.create_room("Acme help")
    dana.join(room)
    dana.send(room, "my order never arrived, can someone help?")
    channel = do_create_channel(
        workspace=workspace,
        network="matrix",
        handle=brand.user_id,
        credentials={
            "homeserver": synapse.base_url,
            "access_token": brand.access_token,
            "user_id": brand.user_id,
        },
    )
    assert do_sync(channel).imported == 1
    conversation = Conversation.objects.get(workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(
            f"/workspaces/acme/conversations/{conversation.pk}/replies", {"text": "Sorry Dana, checking now!"}
        )
    assert response.status_code == 200, response.content
    delivery = Delivery.objects.get(conversation=conversation, kind="reply")
    assert delivery.status == "sent", delivery.error
    reply = Item.objects.get(workspace=workspace, direction=Direction.OUTBOUND)
    assert reply.native_id == delivery.target and reply.native_id.startswith(f"{room}/$")
    event = brand.event(room, reply.native_id.split("/", 1)[1])
    assert event["content"]["body"].endswith("Sorry Dana, checking now!")
    assert "m.in_reply_to" in event["content"]["m.relates_to"]
    sync = do_sync(channel)
    assert (sync.imported, sync.duplicates) == (0, 1)  # our reply comes back, known by its id
    assert Item.objects.filter(workspace=workspace, direction=Direction.OUTBOUND).count() == 1


@pytest.mark.parametrize("action", ["delete"])
def test_a_rule_deletes_spam_in_the_room(
    synapse: Synapse,
    workspace: Workspace,
    owner_api: ApiClient,
    django_capture_on_commit_callbacks: Callable[..., Any],
    action: str,
) -> None:
    brand = synapse.register("rulebrand")
    spammer = synapse.register("rulespammer")
    room = brand.create_room("Acme lounge")
    spammer.join(room)
    owner_api.post(
        "/workspaces/acme/rules",
        {
            "name": "spam out",
            "events": ["item_received"],
            "conditions": {"all": [{"field": "text", "op": "contains", "value": "free crypto"}]},
            "actions": [{"type": action}, {"type": "no_action"}],
        },
    )
    spam_id = spammer.send(room, "free crypto at scam.example, DM me")
    channel = do_create_channel(
        workspace=workspace,
        network="matrix",
        handle=brand.user_id,
        credentials={
            "homeserver": synapse.base_url,
            "access_token": brand.access_token,
            "user_id": brand.user_id,
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        do_sync(channel)
    delivery = Delivery.objects.get(kind=action)
    assert delivery.status == "sent", delivery.error
    assert brand.event(room, spam_id)["content"] == {}  # redacted on the homeserver
