"""API shapes for channels. Credentials go in, never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from townhall.connectors.models import ChannelStatus, Network
from townhall.core.api_base import InputSchema


class ChannelBase(Schema):
    display_name: str = Field(default="", max_length=200)
    is_ours: bool = True


class ChannelCreate(InputSchema, ChannelBase):
    network: Network
    handle: str = Field(min_length=1, max_length=200)
    credentials: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


class ChannelUpdate(InputSchema):
    display_name: str | None = Field(default=None, max_length=200)
    is_ours: bool | None = None
    status: ChannelStatus | None = None
    credentials: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class ChannelRead(ChannelBase):
    id: int
    network: str
    handle: str
    status: str
    has_credentials: bool
    last_synced_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    health: str
    failures: int
    connector: str | None
    capabilities: dict[str, Any]
    created_at: datetime


class HealthRead(Schema):
    ok: bool
    message: str
    account: str


class SyncQueued(Schema):
    channel: int
    queued: bool


class CredentialFieldRead(Schema):
    name: str
    label: str
    secret: bool
    required: bool
    help: str


class ConnectorRead(Schema):
    name: str
    label: str
    capabilities: dict[str, Any]
    credential_fields: list[CredentialFieldRead]
