"""API shapes for what Townhall understood of an item, and corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from townhall.core.api_base import InputSchema

SentimentLabel = Literal["negative", "neutral", "positive", "unknown"]


class IntentScore(Schema):
    label: str
    p: float


class UnderstandingRead(Schema):
    path: str
    language: str
    language_confidence: float
    sentiment: str
    sentiment_score: float
    sentiment_confidence: float
    intents: list[IntentScore]
    primary_intent: str
    spam_probability: float
    toxicity: str
    toxicity_probability: float
    entities: dict[str, list[str]]
    sentiment_source: str
    intent_source: str
    enriched_at: datetime


class CorrectionCreate(InputSchema):
    field: Literal["sentiment", "intent"]
    labels: list[str] = Field(min_length=1, max_length=14)


class RetrainResult(Schema):
    examples: dict[str, int]
