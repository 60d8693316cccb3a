"""Checks on text from outside that every entry point shares: what neither database can store."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


def has_lone_surrogate(text: str) -> bool:
    """True for text that is not valid Unicode (undecodable bytes kept as surrogates, a "\\ud800" escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC (a naive value is taken as UTC); ValueError when outside years 1-9999.

    PostgreSQL refuses offsets beyond +-15:59 that Python and ISO 8601 allow, so times from outside are
    converted before they reach a query.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} falls outside the years 1 to 9999 in UTC") from None


def _shown(key: Any) -> str:
    # Paths go into error messages, which are stored and shown too: unprintable characters are escaped.
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(key))


def unstorable(value: Any) -> str | None:
    """Why a parsed JSON value cannot be stored in either database, or None when it can.

    PostgreSQL refuses NUL characters in text and JSON, lone surrogates cannot be encoded by either
    database, and NaN/Infinity are not JSON; any of them would abort a whole write at insert time.
    The answer names where the problem is ("raw.tags[2] contains ...") for nested values.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, current = stack.pop()
        subject = f"{where} " if where else ""
        if isinstance(current, str):
            if "\x00" in current:
                return f"{subject}contains a NUL character (\\u0000), which cannot be stored"
            if has_lone_surrogate(current):
                return f"{subject}contains a lone surrogate (such as \\ud800), which is not valid Unicode"
        elif isinstance(current, float) and not math.isfinite(current):
            return f"{subject}is {current!r}, which is not a JSON number"
        elif isinstance(current, dict):
            for key, child in current.items():
                path = f"{where}.{_shown(key)}" if where else _shown(key)
                stack.extend([(f"{path} (a key)", key), (path, child)])
        elif isinstance(current, list | tuple):
            stack.extend((f"{where}[{i}]" if where else f"[{i}]", child) for i, child in enumerate(current))
    return None
