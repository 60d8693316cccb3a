"""API shapes for workspaces, memberships and tokens."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import InputSchema
from townhall.workspaces.models import Role


class WorkspaceBase(Schema):
    name: str = Field(max_length=200)
    timezone: str = Field(default="UTC", max_length=64)


class WorkspaceCreate(InputSchema, WorkspaceBase):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class WorkspaceRead(WorkspaceBase):
    slug: str
    role: str | None = None
    created_at: datetime


class MembershipCreate(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    role: Role


class MembershipRead(Schema):
    username: str
    role: str


class AuditRead(Schema):
    id: int
    actor: str | None
    action: str
    target_type: str
    target_id: str
    detail: dict
    source: str
    created_at: datetime
