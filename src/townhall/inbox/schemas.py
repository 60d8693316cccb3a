"""API shapes of the inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import MAX_ID, InputSchema
from townhall.items.schemas import ItemRead

StatusName = Literal["open", "pending", "snoozed", "resolved"]
PriorityName = Literal["urgent", "high", "medium", "low", "none"]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ConversationRead(Schema):
    id: int
    network: str
    channel_id: int | None
    person_id: int | None
    person_name: str | None
    buying_stage: str | None
    subject: str
    status: str
    snoozed_until: datetime | None
    priority: str
    assignee_id: int | None
    assignee: str | None
    team_id: int | None
    team: str | None
    labels: list[str]
    sla_policy_id: int | None
    sla_due: datetime | None
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    sentiment: str
    primary_intent: str
    intents: list[str]
    no_action: bool
    inbound_count: int
    first_inbound_at: datetime | None
    last_inbound_at: datetime | None
    first_response_at: datetime | None
    waiting_since: datetime | None
    last_activity_at: datetime
    resolved_at: datetime | None
    csat: int | None
    merged_into_id: int | None


class ConversationPage(Schema):
    items: list[ConversationRead]
    next_cursor: str | None


class EventRead(Schema):
    id: int
    kind: str
    actor: str | None
    rule_id: int | None
    rule: str | None
    text: str
    detail: dict[str, Any]
    created_at: datetime


class ConversationDetail(ConversationRead):
    items: list[ItemRead]
    events: list[EventRead]


class ConversationUpdate(InputSchema):
    status: StatusName | None = None
    snoozed_until: datetime | None = None
    priority: PriorityName | None = None
    assignee: int | None = Field(None, ge=0, le=MAX_ID)
    team: int | None = Field(None, ge=0, le=MAX_ID)
    sla_policy: int | None = Field(None, ge=0, le=MAX_ID)
    csat: int | None = Field(None, ge=1, le=5)
    add_labels: list[str] = Field(default_factory=list, max_length=50)
    remove_labels: list[str] = Field(default_factory=list, max_length=50)


class BulkUpdate(ConversationUpdate):
    ids: list[Id] = Field(min_length=1, max_length=500)


class BulkResult(Schema):
    updated: int


class ReplyCreate(InputSchema):
    text: str = Field(max_length=40_000)


class NoteCreate(InputSchema):
    text: str = Field(min_length=1, max_length=10_000)


class DelegateCreate(InputSchema):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    assignee: int | None = Field(None, ge=1, le=MAX_ID)
    note: str = Field("", max_length=2000)


class MergeCreate(InputSchema):
    into: int = Field(ge=1, le=MAX_ID)


class TeamMemberIn(Schema):
    user: int = Field(ge=1, le=MAX_ID)
    capacity: int = Field(0, ge=0, le=10_000)


class TeamCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=300)
    members: list[TeamMemberIn] = Field(default_factory=list, max_length=500)


class TeamRead(Schema):
    id: int
    name: str
    description: str
    members: list[TeamMemberIn]


class AvailabilityUpdate(InputSchema):
    availability: Literal["online", "busy", "offline"]


class SlaPolicyIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    first_response_minutes: int | None = Field(None, ge=1, le=525_600)
    next_response_minutes: int | None = Field(None, ge=1, le=525_600)
    resolution_minutes: int | None = Field(None, ge=1, le=5_256_000)
    business_hours_only: bool = False


class SlaPolicyRead(SlaPolicyIn):
    id: int


class RuleIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    events: list[str] = Field(min_length=1, max_length=10)
    conditions: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)
    stop: bool = False
    enabled: bool = True
    minutes: int | None = Field(None, ge=1, le=525_600)


class RuleUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    events: list[str] | None = Field(None, min_length=1, max_length=10)
    conditions: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20)
    stop: bool | None = None
    enabled: bool | None = None
    minutes: int | None = Field(None, ge=1, le=525_600)


class RuleRead(Schema):
    id: int
    name: str
    position: int
    enabled: bool
    events: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    stop: bool
    minutes: int | None
    fired: int
    description: str


class RuleOrder(InputSchema):
    ids: list[Id] = Field(min_length=1, max_length=1000)


class DryRunIn(InputSchema):
    conditions: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    days: int = Field(7, ge=1, le=90)


class DryRunExample(Schema):
    item: int
    conversation: int
    text: str


class DryRunResult(Schema):
    days: int
    items: int
    matched: int
    would: list[str]
    description: str
    examples: list[DryRunExample]


class CannedIn(InputSchema):
    shortcut: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)


class CannedRead(CannedIn):
    id: int


class CannedRendered(Schema):
    text: str
    length: int
    limit: int


class SavedViewIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    filters: dict[str, Any]
    shared: bool = True


class SavedViewRead(SavedViewIn):
    id: int


class InboxSettingsIn(InputSchema):
    timezone: str | None = Field(None, max_length=64)
    business_hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = Field(None, max_length=400)
    auto_ack_allowed: bool | None = None
    live_window_minutes: int | None = Field(None, ge=0, le=525_600)
    sla_warning_minutes: int | None = Field(None, ge=1, le=10_080)


class InboxSettingsRead(Schema):
    timezone: str
    business_hours: dict[str, list[list[str]]]
    holidays: list[str]
    auto_ack_allowed: bool
    live_window_minutes: int
    sla_warning_minutes: int


class NotificationRead(Schema):
    id: int
    conversation_id: int | None
    text: str
    created_at: datetime
    read_at: datetime | None


class DeliveryRead(Schema):
    id: int
    kind: str
    target: str
    status: str
    error: str
    item_id: int | None
    created_at: datetime
