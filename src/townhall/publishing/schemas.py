"""API shapes of publishing: campaigns, posts and their variants, approvals, the schedule and its calendar."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as TimeOfDay
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from townhall.core.api_base import MAX_ID, InputSchema
from townhall.core.validation import as_utc
from townhall.publishing.compose import MAX_BODY


def _instant(value: datetime) -> datetime:
    # A time without an offset is ambiguous (the author's zone? the workspace's? UTC?): refused, not guessed.
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "naive_datetime",
            "give the time with its UTC offset, like 2026-05-04T09:00:00+02:00 or 2026-05-04T07:00:00Z",
        )
    try:
        return as_utc(value)
    except ValueError as exc:
        raise PydanticCustomError("datetime_range", str(exc)) from None


def _local_time(value: TimeOfDay) -> TimeOfDay:
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "aware_time",
            "a slot is a local time in the workspace's zone: give it without an offset, like 09:30",
        )
    return value


Instant = Annotated[datetime, AfterValidator(_instant)]
"""An ISO 8601 time with its offset, converted to UTC."""
LocalTime = Annotated[TimeOfDay, AfterValidator(_local_time)]

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PostStatusName = Literal[
    "draft",
    "awaiting_approval",
    "changes_requested",
    "approval_expired",
    "scheduled",
    "publishing",
    "published",
    "partly_published",
    "failed",
    "outcome_unknown",
    "cancelled",
]
RoleName = Literal["owner", "admin", "manager", "agent", "analyst", "requester"]


# -- campaigns ---------------------------------------------------------------------------------------


class CampaignRead(Schema):
    id: int
    name: str
    description: str
    color: str
    starts_on: date | None
    ends_on: date | None
    utm_campaign: str
    posts: int
    created_at: datetime


class CampaignCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    color: str = Field("#4f46e5", pattern=r"^#[0-9a-fA-F]{6}$")
    starts_on: date | None = None
    ends_on: date | None = None
    utm_campaign: str = Field(
        "", max_length=100, description="utm_campaign of its links; the name by default"
    )


class CampaignUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    starts_on: date | None = None
    ends_on: date | None = None
    utm_campaign: str | None = Field(None, max_length=100)


# -- composing ---------------------------------------------------------------------------------------


class OptionsIn(InputSchema):
    """How the variants are adapted; what is left out keeps its current (or default) value."""

    model_config = ConfigDict(extra="forbid")

    hashtags: Literal["keep", "end", "first_comment"] | None = None
    thread: bool | None = None
    numbering: bool | None = None
    utm: bool | None = None
    mentions: dict[str, dict[str, str]] | None = Field(
        None, description='A name\'s handle per network: {"acme": {"x": "acme", "bluesky": "acme.com"}}'
    )


class MediaIn(InputSchema):
    """An attachment as the networks judge it: its type, size, name, alt text and dimensions."""

    mime_type: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=0, le=2**53)
    filename: str = Field(min_length=1, max_length=255)
    alt_text: str = Field("", max_length=5000)
    width: int | None = Field(None, ge=1, le=100_000)
    height: int | None = Field(None, ge=1, le=100_000)
    duration_seconds: float | None = Field(None, ge=0, le=10**7)
    url: str = Field("", max_length=1000)


class PreviewIn(InputSchema):
    body: str = Field(max_length=MAX_BODY)
    channel_ids: list[Id] = Field(default_factory=list, max_length=50)
    options: OptionsIn | None = None
    campaign_id: Id | None = None
    media: list[MediaIn] = Field(default_factory=list, max_length=20)


class PostCreate(InputSchema):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    channel_ids: list[Id] = Field(min_length=1, max_length=50)
    title: str = Field("", max_length=200)
    campaign_id: Id | None = None
    scheduled_at: Instant | None = None
    timezone: str | None = Field(
        None, max_length=64, description="The zone it is planned in; by default the workspace's"
    )
    options: OptionsIn | None = None
    media: list[MediaIn] = Field(default_factory=list, max_length=20)
    approval_policy_id: Id | None = Field(
        None, description="Who reviews it; by default the workspace's default"
    )


class PostUpdate(InputSchema):
    body: str | None = Field(None, min_length=1, max_length=MAX_BODY)
    channel_ids: list[Id] | None = Field(None, min_length=1, max_length=50)
    title: str | None = Field(None, max_length=200)
    campaign_id: Id | None = None
    scheduled_at: Instant | None = None
    timezone: str | None = Field(None, max_length=64)
    options: OptionsIn | None = None
    media: list[MediaIn] | None = Field(None, max_length=20)
    approval_policy_id: Id | None = None


class VariantIn(InputSchema):
    parts: list[Annotated[str, Field(max_length=MAX_BODY)]] | None = Field(
        description="The variant written by hand, one text per post of a thread; null adapts it again",
        max_length=100,
    )


class EntityRead(Schema):
    kind: str
    start: int
    end: int
    text: str
    value: str
    byte_start: int | None = None
    byte_end: int | None = None


class LimitRead(Schema):
    name: str
    length: int
    limit: int


class PartRead(Schema):
    """One post of a variant (one of a thread) as its network counts it."""

    text: str
    length: int
    limit: int
    valid: bool
    counted_as: str
    entities: list[EntityRead]
    problems: list[str]
    extra_limits: list[LimitRead]


class VariantRead(Schema):
    channel_id: int
    channel: str
    network: str
    parts: list[PartRead]
    first_comment: str
    notes: list[str]
    problems: list[str]
    valid: bool
    edited: bool


class TargetRead(VariantRead):
    """A variant with where its publishing stands."""

    state: str
    scheduled_at: datetime | None
    published_at: datetime | None
    url: str
    native_id: str
    error: str
    attempts: int


class TargetSummary(Schema):
    channel_id: int
    channel: str
    network: str
    state: str
    scheduled_at: datetime | None
    url: str
    error: str


class PostBase(Schema):
    """What every listing and reading of a post shows."""

    id: int
    title: str
    body: str
    status: str
    campaign_id: int | None
    campaign: str | None
    author: str | None
    scheduled_at: datetime | None
    timezone: str
    version: int
    created_at: datetime
    updated_at: datetime


class PostSummary(PostBase):
    channels: list[TargetSummary]


class PostPage(Schema):
    items: list[PostSummary]
    next_cursor: str | None


class PostRead(PostBase):
    options: dict[str, Any]
    media: list[dict[str, Any]]
    policy_id: int | None
    submitted_at: datetime | None
    approved_at: datetime | None
    variants: list[TargetRead]


# -- approvals ---------------------------------------------------------------------------------------


class DecisionIn(InputSchema):
    decision: Literal["approve", "request_changes"]
    comment: str = Field("", max_length=5000)


class ApprovalRead(Schema):
    id: int
    step: str
    step_position: int
    user: str | None
    decision: str
    comment: str
    version: int
    created_at: datetime


class DecisionRead(ApprovalRead):
    post_status: str


class EventRead(Schema):
    id: int
    kind: str
    actor: str | None
    detail: dict[str, Any]
    created_at: datetime


class StepProgress(Schema):
    position: int
    name: str
    mode: str
    met: bool
    approved_by: list[str]
    waiting_for: list[str]


class HistoryRead(Schema):
    post_id: int
    status: str
    version: int
    steps: list[StepProgress]
    events: list[EventRead]
    approvals: list[ApprovalRead]


class StepIn(InputSchema):
    name: str = Field("", max_length=200)
    mode: Literal["any", "all"] = "any"
    role: RoleName | Literal[""] = ""
    approver_ids: list[Id] = Field(default_factory=list, max_length=100)


class PolicyIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    is_default: bool = False
    deadline_minutes: int = Field(0, ge=0, le=60 * 24 * 30)
    steps: list[StepIn] = Field(min_length=1, max_length=20)


class StepRead(Schema):
    position: int
    name: str
    mode: str
    role: str
    approver_ids: list[int]
    approvers: list[str]


class PolicyRead(Schema):
    id: int
    name: str
    is_default: bool
    deadline_minutes: int
    created_at: datetime
    steps: list[StepRead]


# -- the schedule ------------------------------------------------------------------------------------


class ScheduleIn(InputSchema):
    scheduled_at: Instant | None = Field(description="When to publish; null publishes it at once")


class SettleIn(InputSchema):
    published: bool
    url: str = Field("", max_length=1000, pattern=r"^(https?://\S+)?$")
    native_id: str = Field("", max_length=300)


class AttemptRead(Schema):
    id: int
    channel_id: int
    channel: str
    part: int
    action: str
    outcome: str
    idempotency_key: str
    worker: str
    native_id: str
    error: str
    started_at: datetime
    finished_at: datetime | None


class SlotIn(InputSchema):
    weekday: int = Field(ge=0, le=6, description="0 is Monday")
    time: LocalTime = Field(description="Local time in the workspace's zone, without an offset: 09:30")


class SlotsIn(InputSchema):
    slots: list[SlotIn] = Field(max_length=500)


class SlotRead(Schema):
    weekday: int
    day: str
    time: str


class SlotsRead(Schema):
    channel_id: int
    timezone: str
    slots: list[SlotRead]


class NextSlotRead(Schema):
    channel_id: int
    at: datetime
    local: datetime
    timezone: str


class BestSlotRead(Schema):
    hour_of_week: int
    weekday: int
    hour: int
    expected: float
    low: float
    high: float
    posts: int
    rate_per_1k: float | None


class BestTimesRead(Schema):
    channel_id: int
    timezone: str
    basis: str
    posts: int
    prior_posts: int
    top: list[BestSlotRead]
    scores: list[float]


class CalendarEntry(Schema):
    post_id: int
    title: str
    text: str
    status: str
    state: str
    channel_id: int
    channel: str
    network: str
    campaign_id: int | None
    campaign: str | None
    color: str | None
    at: datetime
    local: datetime
    url: str


class CalendarRead(Schema):
    timezone: str
    start: datetime
    end: datetime
    entries: list[CalendarEntry]


class MediaCombination(Schema):
    kinds: list[str]
    max_count: int | None


class MediaKindRead(Schema):
    mime_types: list[str] | None
    max_bytes: int | None
    max_duration_seconds: float | None
    aspect_ratio: list[float] | None
    alt_text: bool
    alt_text_max: int | None
    alt_text_unit: str | None


class MediaRulesRead(Schema):
    network: str
    label: str
    summary: str
    required: bool
    min_attachments: int
    max_attachments: int | None
    combinations: list[MediaCombination]
    kinds: dict[str, MediaKindRead]
    source: str
