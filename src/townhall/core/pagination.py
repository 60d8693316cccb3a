"""Keyset (cursor) pagination: stable under inserts and fast at any depth, unlike OFFSET."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

from townhall.core.errors import Invalid
from townhall.core.validation import as_utc

M = TypeVar("M", bound=Model)


@dataclass
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def encode_cursor(when: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([when.isoformat(), pk]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return as_utc(datetime.fromisoformat(when)), int(pk)
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(
            "cursor is not one this API handed out; start again without it", field="cursor"
        ) from exc


def paginate_newest_first(queryset: QuerySet[M], *, field: str, cursor: str | None, limit: int) -> Page[M]:
    """Newest first by (field, pk); the cursor names the last row seen."""
    if cursor:
        when, pk = decode_cursor(cursor)
        # The redundant `<=` lets PostgreSQL start the index scan at the cursor instead of reading past
        # every earlier row (SQLite works the range out by itself).
        queryset = queryset.filter(
            Q(**{f"{field}__lte": when}), Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": pk})
        )
    rows = list(queryset.order_by(f"-{field}", "-pk")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, field), last.pk)
    return Page(rows, next_cursor)
