"""REST endpoints for channels."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from townhall.connectors import services
from townhall.connectors.models import Channel
from townhall.connectors.registry import connector_for, connectors
from townhall.connectors.schemas import (
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    ConnectorRead,
    CredentialFieldRead,
    HealthRead,
    SyncQueued,
)
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
        last_success_at=channel.last_success_at,
        last_error=channel.last_error,
        health=channel.health,
        failures=channel.failures,
        connector=channel.connector_kind if connector_for(channel.connector_kind) else None,
        capabilities=_capabilities(channel),
        created_at=channel.created_at,
    )


def _capabilities(channel: Channel) -> dict[str, Any]:
    cls = connector_for(channel.connector_kind)
    return cls.capabilities.as_dict() if cls is not None else {}


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


@router.get("/workspaces/{slug}/connectors", response={200: list[ConnectorRead], **ERRORS})
def list_connectors(request: HttpRequest, slug: str) -> list[ConnectorRead]:
    """The networks and sources this installation can connect, what each can do, and its connect form."""
    access_workspace(user=request.user, slug=slug, permission="channels.view")
    return [
        ConnectorRead(
            name=name,
            label=cls.label,
            capabilities=cls.capabilities.as_dict(),
            credential_fields=[
                CredentialFieldRead(
                    name=f.name, label=f.label, secret=f.secret, required=f.required, help=f.help
                )
                for f in cls.credential_fields
            ],
        )
        for name, cls in sorted(connectors().items())
    ]


@router.post("/workspaces/{slug}/channels/{channel_id}/check", response={200: HealthRead, **ERRORS})
def check_channel(request: HttpRequest, slug: str, channel_id: int) -> HealthRead:
    """Test the channel's connection and credentials now."""
    from townhall.connectors.sync import do_check

    workspace = access_workspace(user=request.user, slug=slug, permission="channels.manage")
    channel = services.access_channel_by_id(workspace=workspace, channel_id=channel_id)
    health = do_check(channel)
    return HealthRead(ok=health.ok, message=health.message, account=health.account)


@router.post("/workspaces/{slug}/channels/{channel_id}/sync", response={202: SyncQueued, **ERRORS})
def sync_now(request: HttpRequest, slug: str, channel_id: int) -> Status[SyncQueued]:
    """Queue a sync of the channel now (the periodic job syncs every 5 minutes anyway)."""
    from townhall.connectors.sync import connector_of
    from townhall.connectors.tasks import sync_channel

    workspace = access_workspace(user=request.user, slug=slug, permission="channels.manage")
    channel = services.access_channel_by_id(workspace=workspace, channel_id=channel_id)
    connector_of(channel).close()  # a channel no connector reads is refused here, not in the job
    record_audit(
        actor=request.user,
        action="channel.sync",
        target=channel,
        workspace=workspace,
        ip_address=client_ip(request),
    )
    sync_channel(channel.pk)
    return Status(202, SyncQueued(channel=channel.pk, queued=True))
