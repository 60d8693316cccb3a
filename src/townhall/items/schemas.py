"""API shapes for items and imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from townhall.enrich.schemas import UnderstandingRead
from townhall.people.schemas import IdentityRead


class ItemRead(Schema):
    id: int
    network: str
    native_id: str
    kind: str
    direction: str
    channel_id: int | None
    channel_handle: str | None
    author: IdentityRead | None
    person_id: int | None
    parent_id: int | None
    thread_root_id: int | None
    created_at: datetime
    text: str
    language: str
    likes: int
    reposts: int
    replies: int
    views: int | None
    url: str
    understanding: UnderstandingRead | None = None


class ItemPage(Schema):
    items: list[ItemRead]
    next_cursor: str | None


class ItemBatch(Schema):
    """Items in the generic import format (see docs/import-format.md); each is checked on its own."""

    # Any, not dict: an item that is not an object is rejected by its index like any other bad item,
    # instead of failing the whole batch.
    items: list[Any] = Field(max_length=5000)


class RowErrorRead(Schema):
    line: int | None
    reason: str


class IngestResult(Schema):
    imported: int
    duplicates: int
    rejected: int
    errors: list[RowErrorRead]


class ImportRunRead(Schema):
    id: int
    format: str
    filename: str
    status: str
    imported: int
    duplicates: int
    rejected: int
    errors: list[RowErrorRead]
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
