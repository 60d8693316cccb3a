"""File formats Townhall imports: parsers that turn each row into an item or a reasoned rejection."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from townhall.core.errors import UnusableInput
from townhall.core.validation import has_lone_surrogate, unstorable
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

TWCS_COLUMNS = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
]
_TWCS_DATE = "%a %b %d %H:%M:%S %z %Y"
# A TWCS record starts with "<tweet id>,<author>,<True|False>,": used to recover from a broken quote
# that would otherwise swallow every following row into one field.
_TWCS_STRICT_START = re.compile(r"^\d+,[^,\"\n]+,(True|False),")
_MAX_RECORD_LINES = 200


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Physical lines with 1-based numbers; bytes that are not UTF-8 survive as surrogates for the caller."""
    if not path.exists():
        raise UnusableInput(f"file not found: {path}")
    if path.is_dir():
        raise UnusableInput(f"{path} is a directory, not a file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.decode("utf-8", errors="surrogateescape")


def _has_invalid_utf8(text: str) -> bool:
    """True when decoding kept undecodable bytes as surrogates (see read_lines)."""
    return has_lone_surrogate(text)


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def parse_twitter_date(value: str) -> datetime:
    """'Tue Oct 31 22:10:47 +0000 2017' -> aware UTC datetime; ValueError when it is not one.

    Hand-parsed because strptime was a tenth of the import's time; anything unusual falls back to it.
    """
    parts = value.split(" ")
    if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS and len(parts[3]) == 8:
        hour, minute, second = parts[3].split(":")
        return datetime(
            int(parts[5]), _MONTHS[parts[1]], int(parts[2]), int(hour), int(minute), int(second), tzinfo=UTC
        )
    return datetime.strptime(value, _TWCS_DATE).astimezone(UTC)


def _is_number(value: str) -> bool:
    # str.isdigit alone also takes superscripts and other scripts' digits, which are not tweet ids.
    return value.isascii() and value.isdigit()


def _quote_open(text: str) -> bool:
    return text.count('"') % 2 == 1


def twcs_records(path: Path) -> Iterator[tuple[int, str]]:
    """Logical CSV records (first physical line number, text), splitting off broken quoting early."""
    lines = read_lines(path)
    try:
        _, header = next(lines)
    except StopIteration:
        raise UnusableInput(f"{path.name} is empty; expected a TWCS CSV with a header row") from None
    found = [c.strip().strip('"') for c in header.lstrip("\ufeff").rstrip("\r\n").split(",")]
    if found != TWCS_COLUMNS:
        raise UnusableInput(
            f"{path.name} is not a Customer-Support-on-Twitter CSV: expected header "
            f"{','.join(TWCS_COLUMNS)}, found {','.join(found)[:200]!r}"
        )
    start, buffer, count = 0, "", 0
    for number, line in lines:
        if buffer and _TWCS_STRICT_START.match(line) and count > 0:
            # Still inside an open quote, but this line is clearly a new record: the old one was broken.
            yield start, buffer
            buffer = ""
        if not buffer:
            start, count = number, 0
        buffer += line
        count += 1
        if not _quote_open(buffer) or count >= _MAX_RECORD_LINES:
            yield start, buffer
            buffer = ""
    if buffer:
        yield start, buffer


def parse_twcs(path: Path) -> Iterator[IncomingItem | RowError]:
    """Items from a TWCS CSV. Brand accounts (inbound=False) are the workspace's own channels.

    The file is checked (exists, has the TWCS header) before this returns, so an unusable file fails
    at once instead of half-way through an import.
    """
    brands = twcs_brands(path)
    return _iter_twcs(path, {b.lower(): b for b in brands})


def _iter_twcs(path: Path, brands_lower: dict[str, str]) -> Iterator[IncomingItem | RowError]:
    for line, record in twcs_records(path):
        if not record.strip():
            continue
        yield _twcs_row(line, record, brands_lower)


def twcs_brands(path: Path) -> set[str]:
    """The brand handles in a TWCS file (authors of outbound rows); a first pass so inbound rows find them."""
    brands: set[str] = set()
    for _, record in twcs_records(path):
        parts = record.split(",", 3)
        if len(parts) == 4 and parts[2] in ("False", "false") and parts[1].strip():
            brands.add(parts[1].strip())
    return brands


def _twcs_row(line: int, record: str, brands: dict[str, str]) -> IncomingItem | RowError:
    if _has_invalid_utf8(record):
        return RowError(line, "row is not valid UTF-8")
    if "\x00" in record:
        return RowError(line, "row contains a NUL byte, which no text column can store")
    try:
        rows = list(csv.reader(io.StringIO(record), strict=True))
    except csv.Error as exc:
        return RowError(line, f"broken CSV quoting: {exc}")
    if len(rows) != 1:
        return RowError(line, "broken CSV quoting: row does not end where it should")
    row = rows[0]
    if len(row) != len(TWCS_COLUMNS):
        return RowError(line, f"expected {len(TWCS_COLUMNS)} columns, found {len(row)} (broken CSV quoting?)")
    tweet_id, author_id, inbound, created_at, text, _responses, parent = (v.strip() for v in row)
    if not _is_number(tweet_id):
        return RowError(line, f"tweet_id must be a number, got {tweet_id!r}")
    if not author_id:
        return RowError(line, "author_id is empty")
    if inbound not in ("True", "False", "true", "false"):
        return RowError(line, f"inbound must be True or False, got {inbound!r}")
    try:
        when = parse_twitter_date(created_at)
    except (ValueError, OverflowError):  # OverflowError: a valid date that falls outside datetime in UTC
        return RowError(
            line, f"created_at {created_at!r} is not a date like 'Tue Oct 31 22:10:47 +0000 2017'"
        )
    if not text:
        return RowError(line, "text is empty")
    if parent and not _is_number(parent):
        return RowError(line, f"in_response_to_tweet_id must be a number, got {parent!r}")
    is_inbound = inbound in ("True", "true")
    if is_inbound:
        channel = _addressed_brand(text, brands)
        author = IncomingAuthor(native_id=author_id, handle=author_id)
    else:
        channel, author = author_id, None
    return IncomingItem(
        network="twitter",
        native_id=tweet_id,
        created_at=when,
        text=text,
        kind="reply" if parent else ("mention" if is_inbound else "post"),
        direction="inbound" if is_inbound else "outbound",
        author=author,
        channel_handle=channel,
        parent_native_id=parent,
        raw={"author_id": author_id, "response_tweet_id": _responses},
        line=line,
    )


_MENTION = re.compile(r"@(\w{1,15})")


def _addressed_brand(text: str, brands: dict[str, str]) -> str:
    for handle in _MENTION.findall(text):
        brand = brands.get(handle.lower())
        if brand:
            return brand
    return ""


# The largest counts the columns hold (PositiveIntegerField, PositiveBigIntegerField on PostgreSQL).
_MAX_COUNT = 2**31 - 1
_MAX_BIG_COUNT = 2**63 - 1


class JsonlAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=200)
    handle: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=200)
    followers: int | None = Field(default=None, ge=0, le=_MAX_COUNT)
    verified: bool = False
    url: str = Field(default="", max_length=500)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # Like an item's id, an account id may come as a JSON integer (as X's API sends them).
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class JsonlMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    likes: int = Field(default=0, ge=0, le=_MAX_COUNT)
    reposts: int = Field(default=0, ge=0, le=_MAX_COUNT)
    replies: int = Field(default=0, ge=0, le=_MAX_COUNT)
    views: int | None = Field(default=None, ge=0, le=_MAX_BIG_COUNT)


class JsonlItem(BaseModel):
    """The generic item format, one JSON object per line; documented in docs/import-format.md."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    network: str = Field(min_length=1, max_length=16, pattern=r"^[a-z][a-z0-9_]*$")
    id: str = Field(min_length=1, max_length=200)
    created_at: datetime
    text: str = Field(default="", max_length=100_000)
    kind: str = Field(
        default="post", pattern=r"^(post|comment|reply|dm|mention|review|forum_post|chat_message)$"
    )
    direction: str = Field(default="inbound", pattern=r"^(inbound|outbound)$")
    author: JsonlAuthor | None = None
    channel: str = Field(default="", max_length=200)
    in_reply_to: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=1000)
    language: str = Field(default="", max_length=8)
    metrics: JsonlMetrics = Field(default_factory=JsonlMetrics)
    raw: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem:
            raise ValueError(problem)
        return data

    @field_validator("id", "in_reply_to", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("created_at needs a time zone (e.g. 2024-05-01T10:00:00Z)")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("created_at falls outside the years 1 to 9999 once converted to UTC") from None

    def to_incoming(self, line: int | None = None) -> IncomingItem:
        author = None
        if self.author is not None:
            author = IncomingAuthor(
                native_id=self.author.id,
                handle=self.author.handle,
                display_name=self.author.name,
                followers=self.author.followers,
                verified=self.author.verified,
                profile_url=self.author.url,
            )
        return IncomingItem(
            network=self.network,
            native_id=self.id,
            created_at=self.created_at,
            text=self.text,
            kind=self.kind,
            direction=self.direction,
            author=author,
            channel_handle=self.channel,
            parent_native_id=self.in_reply_to,
            url=self.url,
            language=self.language,
            likes=self.metrics.likes,
            reposts=self.metrics.reposts,
            replies=self.metrics.replies,
            views=self.metrics.views,
            raw=self.raw,
            line=line,
        )


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "item"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_jsonl_line(line: int, text: str) -> IncomingItem | RowError | None:
    if not text.strip():
        return None
    if _has_invalid_utf8(text):
        return RowError(line, "line is not valid UTF-8")
    try:
        data = json.loads(text, parse_constant=_not_a_number)
    except json.JSONDecodeError as exc:
        return RowError(line, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except ValueError as exc:  # NaN/Infinity, or an integer too long to convert
        return RowError(line, f"not valid JSON: {exc}")
    except RecursionError:
        return RowError(line, "not valid JSON: nested too deeply")
    if not isinstance(data, dict):
        return RowError(line, f"expected a JSON object, found {type(data).__name__}")
    try:
        return JsonlItem.model_validate(data).to_incoming(line)
    except ValidationError as exc:
        return RowError(line, describe_validation_error(exc))


def parse_jsonl(path: Path) -> Iterator[IncomingItem | RowError]:
    """Items from a JSON Lines file; the first line is checked before this returns."""
    lines = read_lines(path)
    first = next(lines, None)
    if first is None:
        raise UnusableInput(f"{path.name} is empty; expected one JSON object per line")
    stripped = first[1].lstrip("\ufeff").strip()
    if not stripped.startswith("{"):
        raise UnusableInput(
            f"{path.name} is not JSON Lines: line 1 should be a JSON object, found {stripped[:40]!r}"
        )
    return _iter_jsonl((first[0], first[1].lstrip("\ufeff")), lines)


def _iter_jsonl(
    first: tuple[int, str], lines: Iterator[tuple[int, str]]
) -> Iterator[IncomingItem | RowError]:
    for number, text in itertools.chain([first], lines):
        parsed = parse_jsonl_line(number, text)
        if parsed is not None:
            yield parsed


FORMATS = ("twcs", "jsonl")


def count_rows(path: Path) -> int:
    """A cheap upper bound on rows (newlines), for the progress bar."""
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def parse(path: Path, fmt: str) -> Iterator[IncomingItem | RowError]:
    if fmt == "twcs":
        return parse_twcs(path)
    if fmt == "jsonl":
        return parse_jsonl(path)
    raise UnusableInput(f"unknown import format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def parse_item_dict(index: int, data: object) -> IncomingItem | RowError:
    """One item from an API payload, in the generic format; errors name its index in the batch."""
    if not isinstance(data, dict):
        return RowError(index, f"item {index}: expected a JSON object, found {type(data).__name__}")
    try:
        return JsonlItem.model_validate(data).to_incoming(index)
    except ValidationError as exc:
        return RowError(index, f"item {index}: {describe_validation_error(exc)}")
