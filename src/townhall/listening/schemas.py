"""API shapes of listening."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import InputSchema

TopicKindName = Literal["brand", "competitor", "industry", "campaign", "custom"]
GranularityName = Literal["hour", "day"]


class QueryRead(Schema):
    id: int
    topic_id: int
    name: str
    text: str
    active: bool
    version: int
    backfill_status: str
    backfill_matched: int
    backfill_error: str
    created_at: datetime
    updated_at: datetime


class QueryCreate(InputSchema):
    text: str = Field(min_length=1, max_length=4000)
    name: str = Field("", max_length=100)


class QueryUpdate(InputSchema):
    text: str | None = Field(None, min_length=1, max_length=4000)
    name: str | None = Field(None, max_length=100)
    active: bool | None = None


class TopicRead(Schema):
    id: int
    name: str
    kind: str
    description: str
    active: bool
    alerts: bool
    alert_settings: dict[str, float]
    created_at: datetime
    queries: list[QueryRead]


class TopicCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    kind: TopicKindName = "brand"
    description: str = Field("", max_length=2000)
    queries: list[str] = Field(default_factory=list, max_length=50)
    alerts: bool = True
    alert_settings: dict[str, float] = Field(default_factory=dict)


class TopicUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: TopicKindName | None = None
    description: str | None = Field(None, max_length=2000)
    active: bool | None = None
    alerts: bool | None = None
    alert_settings: dict[str, float] | None = None


class PreviewIn(InputSchema):
    query: str = Field(min_length=1, max_length=4000)
    limit: int = Field(20, ge=1, le=100)
    scan: int = Field(5000, ge=1, le=50_000)


class Post(Schema):
    item_id: int
    text: str
    url: str
    network: str
    created_at: datetime
    author: str
    likes: int
    reposts: int
    replies: int


class PreviewPost(Post):
    terms: list[str]


class PreviewResult(Schema):
    matched: int
    scanned: int
    items: list[PreviewPost]


class PointRead(Schema):
    bucket: datetime
    volume: int
    unique_authors: int
    reach: int
    positive: int
    neutral: int
    negative: int


class SeriesRead(Schema):
    topic_id: int
    granularity: GranularityName
    points: list[PointRead]


class VoiceShare(Schema):
    topic_id: int
    name: str
    kind: str
    volume: int
    reach: int
    positive: int
    negative: int
    share_of_volume: float
    share_of_reach: float
    share_of_positive: float
    net_sentiment: float


class VoiceBucket(Schema):
    bucket: datetime
    shares: dict[int, float]


class ShareOfVoiceRead(Schema):
    granularity: GranularityName
    topics: list[VoiceShare]
    series: list[VoiceBucket]


class TopPost(Post):
    reach: int
    engagement: int | None


class TopAuthor(Schema):
    author_id: int
    handle: str
    mentions: int
    reach: int


class MentionRead(Schema):
    id: int
    topic_id: int
    query_id: int
    item_id: int
    created_at: datetime
    sentiment: str
    reach: int
    terms: list[str]
    text: str
    author: str
    network: str
    url: str


class MentionPage(Schema):
    items: list[MentionRead]
    next_cursor: str | None


class EmergingRead(Schema):
    term: str
    recent_count: int
    baseline_count: int
    score: float
    ratio: float
    examples: list[Post]


class SuggestionTopic(Schema):
    topic_id: int
    name: str
    co_occurrences: int


class SuggestionRead(Schema):
    term: str
    score: float
    topics: list[SuggestionTopic]
    examples: list[Post]


class AlertRead(Schema):
    id: int
    topic_id: int
    topic: str
    kind: str
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    z: float
    explanation: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
