"""API shapes for people and identities."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import InputSchema
from townhall.people.models import Lifecycle


class IdentityRead(Schema):
    id: int
    network: str
    native_id: str
    handle: str
    display_name: str
    profile_url: str
    followers: int | None
    verified: bool


class PersonBase(Schema):
    display_name: str
    email: str
    location: str
    lifecycle: str
    is_team_member: bool
    is_bot: bool


class PersonRead(PersonBase):
    id: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    identities: list[IdentityRead]


class PersonPage(Schema):
    items: list[PersonRead]
    next_cursor: str | None


class PersonUpdate(InputSchema):
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    location: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(default=None, max_length=10_000)
    lifecycle: Lifecycle | None = None
    is_team_member: bool | None = None
    is_bot: bool | None = None


class ActivityRead(Schema):
    id: int
    kind: str
    occurred_at: datetime
    network: str
    item_id: int | None
    text: str | None
    detail: dict
