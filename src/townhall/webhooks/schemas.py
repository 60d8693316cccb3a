"""API shapes of webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import InputSchema


class WebhookCreate(InputSchema):
    url: str = Field(min_length=1, max_length=500)
    events: list[str] = Field(default_factory=list, max_length=20)
    name: str = Field("", max_length=100)


class WebhookRead(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="the signing secret, shown only in this response")


class WebhookCallRead(Schema):
    id: int
    delivery_id: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    response_status: int | None
    error: str
    created_at: datetime
    next_attempt_at: datetime | None
