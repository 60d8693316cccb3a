"""What the pipeline carries: normalised items from any source, and the rows it had to reject."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class IncomingAuthor:
    native_id: str
    handle: str = ""
    display_name: str = ""
    followers: int | None = None
    verified: bool = False
    profile_url: str = ""


@dataclass(slots=True)
class IncomingItem:
    """One item as every source normalises it, before it is stored."""

    network: str
    native_id: str
    created_at: datetime
    text: str
    kind: str = "post"
    direction: str = "inbound"
    author: IncomingAuthor | None = None
    # Handle of the workspace's own channel this item belongs to (posted by it, or addressed to it).
    channel_handle: str = ""
    parent_native_id: str = ""
    url: str = ""
    language: str = ""
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    views: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    line: int | None = None  # where it came from in a file, for messages
    # Filled in by the stages:
    author_id: int | None = None
    person_id: int | None = None
    channel_id: int | None = None
    item_id: int | None = None
    enrichment: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class RowError:
    """A row that could not be taken, with where it was and why."""

    line: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}
