"""REST endpoints for channels."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from townhall.connectors import services
from townhall.connectors.models import Channel
from townhall.connectors.schemas import ChannelCreate, ChannelRead, ChannelUpdate
from townhall.core.api_base import ERRORS, client_ip
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["channels"])


def read(channel: Channel) -> ChannelRead:
    return ChannelRead(
        id=channel.pk,
        network=channel.network,
        handle=channel.handle,
        display_name=channel.display_name,
        is_ours=channel.is_ours,
        status=channel.status,
        has_credentials=bool(channel.credentials),
        last_synced_at=channel.last_synced_at,
        last_error=channel.last_error,
        created_at=channel.created_at,
    )


@router.get("/workspaces/{slug}/channels", response={200: list[ChannelRead], **ERRORS})
def list_channels(request: HttpRequest, slug: str) -> list[ChannelRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="channels.view")
    return [read(c) for c in services.list_channels(workspace=workspace)]


@router.post("/workspaces/{slug}/channels", response={201: ChannelRead, **ERRORS})
def create_channel(request: HttpRequest, slug: str, payload: ChannelCreate) -> Status[ChannelRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="channels.manage")
    channel = services.do_create_channel(workspace=workspace, **payload.dict())
    record_audit(
        actor=request.user,
        action="channel.create",
        target=channel,
        workspace=workspace,
        detail={"network": channel.network, "handle": channel.handle},
        ip_address=client_ip(request),
    )
    return Status(201, read(channel))


@router.get("/workspaces/{slug}/channels/{channel_id}", response={200: ChannelRead, **ERRORS})
def get_channel(request: HttpRequest, slug: str, channel_id: int) -> ChannelRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="channels.view")
    return read(services.access_channel_by_id(workspace=workspace, channel_id=channel_id))


@router.patch("/workspaces/{slug}/channels/{channel_id}", response={200: ChannelRead, **ERRORS})
def update_channel(request: HttpRequest, slug: str, channel_id: int, payload: ChannelUpdate) -> ChannelRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="channels.manage")
    channel = services.access_channel_by_id(workspace=workspace, channel_id=channel_id)
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    channel = services.do_update_channel(channel=channel, changes=changes)
    record_audit(
        actor=request.user,
        action="channel.update",
        target=channel,
        workspace=workspace,
        detail={"fields": sorted(changes)},
        ip_address=client_ip(request),
    )
    return read(channel)


@router.delete("/workspaces/{slug}/channels/{channel_id}", response={204: None, **ERRORS})
def delete_channel(request: HttpRequest, slug: str, channel_id: int) -> Status[None]:
    workspace = access_workspace(user=request.user, slug=slug, permission="channels.manage")
    channel = services.access_channel_by_id(workspace=workspace, channel_id=channel_id)
    record_audit(
        actor=request.user,
        action="channel.delete",
        target=channel,
        workspace=workspace,
        detail={"network": channel.network, "handle": channel.handle},
        ip_address=client_ip(request),
    )
    services.do_delete_channel(channel=channel)
    return Status(204, None)
