"""Channels: creating, listing and editing the workspace's connected accounts and sources."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from townhall.connectors.models import Channel, ChannelStatus, Network
from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.services import apply_changes, check_choice
from townhall.workspaces.models import Workspace

EDITABLE = ("display_name", "is_ours", "status", "settings", "credentials")


def check_channel(*, network: str, handle: str) -> None:
    if network not in Network.values:
        raise Invalid(f"network must be one of {', '.join(Network.values)}, got {network!r}", field="network")
    if not handle.strip():
        raise Invalid("handle must not be empty", field="handle")


def list_channels(*, workspace: Workspace) -> list[Channel]:
    return list(Channel.objects.filter(workspace=workspace).order_by("network", "handle"))


def access_channel_by_id(*, workspace: Workspace, channel_id: int) -> Channel:
    channel = Channel.objects.filter(workspace=workspace, pk=channel_id).first()
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist in this workspace")
    return channel


def do_create_channel(
    *,
    workspace: Workspace,
    network: str,
    handle: str,
    display_name: str = "",
    is_ours: bool = True,
    credentials: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> Channel:
    check_channel(network=network, handle=handle)
    try:
        with transaction.atomic():
            return Channel.objects.create(
                workspace=workspace,
                network=network,
                handle=handle.strip(),
                display_name=display_name,
                is_ours=is_ours,
                credentials=credentials or {},  # type: ignore[misc]  # encrypted by the field
                settings=settings or {},
            )
    except IntegrityError:
        raise Conflict(
            f"channel {network}:{handle} already exists in this workspace", field="handle"
        ) from None


def do_update_channel(*, channel: Channel, changes: dict[str, Any]) -> Channel:
    if "status" in changes:
        check_choice(changes["status"], field="status", choices=ChannelStatus.values)
    return apply_changes(channel, changes, editable=EDITABLE)


def do_delete_channel(*, channel: Channel) -> None:
    channel.delete()
