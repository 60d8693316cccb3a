"""The pipeline's listen stage: each new item goes once through one matcher over all active queries."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex
from django.db.models import Count, Max

from townhall.core.storage import insert_rows
from townhall.listening.matcher import ItemView, Matcher
from townhall.listening.models import ListeningQuery, Mention
from townhall.listening.query import Node, QueryError, parse
from townhall.pipeline.records import IncomingItem

_URL_RE = regex.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")
MENTION_COLUMNS = (
    "workspace_id",
    "topic_id",
    "query_id",
    "item_id",
    "created_at",
    "author_id",
    "reach",
    "sentiment",
    "terms",
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """The matcher over every active query, and where each query belongs."""

    key: tuple[Any, ...]
    matcher: Matcher[int]
    owners: dict[int, tuple[int, int]]  # query id -> (workspace id, topic id)


@dataclass(slots=True)
class Candidate:
    """An item as the matcher and the mention row need it."""

    item_id: int
    workspace_id: int
    created_at: datetime
    author_id: int | None
    reach: int
    sentiment: str
    view: ItemView


_lock = threading.Lock()
_compiled: Compiled | None = None


def urls_in(text: str, *extra: str) -> tuple[str, ...]:
    """The links an item carries: those written in its text, and its own URL when it has one."""
    found = [u.rstrip(".,;:!?)]") for u in _URL_RE.findall(text)] if "http" in text or "www." in text else []
    return tuple(found + [u for u in extra if u])


def _active() -> Any:
    return ListeningQuery.objects.filter(active=True, topic__active=True)


def compiled() -> Compiled:
    """The matcher for the current set of active queries, compiled again only when a query changed."""
    global _compiled
    stats = _active().aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    key = (stats["n"], stats["last"], stats["top"])
    current = _compiled
    if current is not None and current.key == key:
        return current
    with _lock:
        if _compiled is not None and _compiled.key == key:
            return _compiled
        nodes: dict[int, Node] = {}
        owners: dict[int, tuple[int, int]] = {}
        for qid, workspace_id, topic_id, text in _active().values_list(
            "id", "workspace_id", "topic_id", "text"
        ):
            try:
                nodes[qid] = parse(text)
            except QueryError:
                continue  # stored before a grammar change; the query page shows the error
            owners[qid] = (workspace_id, topic_id)
        _compiled = Compiled(key=key, matcher=Matcher(nodes), owners=owners)
        return _compiled


def forget_compiled() -> None:
    """Drop the compiled matcher (tests that rewrite queries behind the services' back)."""
    global _compiled
    _compiled = None


def mention_rows(
    candidates: Iterable[Candidate],
    matcher: Matcher[int],
    owners: dict[int, tuple[int, int]],
) -> list[tuple[Any, ...]]:
    """One row per (query, item) match, keeping only queries of the item's own workspace."""
    rows = []
    batch = list(candidates)
    for c, found in zip(batch, matcher.match_many([c.view for c in batch]), strict=True):
        for qid, terms in found.items():
            workspace_id, topic_id = owners[qid]
            if workspace_id != c.workspace_id:
                continue
            rows.append(
                (
                    c.workspace_id,
                    topic_id,
                    qid,
                    c.item_id,
                    c.created_at,
                    c.author_id,
                    c.reach,
                    c.sentiment,
                    terms,
                )
            )
    return rows


def store(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert mention rows; a match already stored (a backfill that ran twice) is kept once."""
    insert_rows(Mention, MENTION_COLUMNS, rows, returning_ids=False)


def candidate(
    *,
    item_id: int,
    workspace_id: int,
    created_at: datetime,
    author_id: int | None,
    handle: str,
    followers: int | None,
    text: str,
    language: str,
    network: str,
    channel_id: int | None,
    channel_handle: str,
    url: str,
    reading: dict[str, Any],
) -> Candidate:
    """An item, stored or arriving, as the matcher sees it; `reading` is its understanding, if any."""
    return Candidate(
        item_id=item_id,
        workspace_id=workspace_id,
        created_at=created_at,
        author_id=author_id,
        reach=followers or 0,
        sentiment=reading.get("sentiment", "unknown"),
        view=ItemView(
            text=text,
            author=handle,
            lang=language or reading.get("language", ""),
            network=network,
            channel_id=str(channel_id or ""),
            channel_handle=channel_handle,
            urls=urls_in(text, url),
            sentiment=reading.get("sentiment", ""),
            intents=tuple(i["label"] for i in reading.get("intents", ())),
        ),
    )


def listen_batch(workspace_id: int, items: list[IncomingItem]) -> None:
    """Match the batch's new items against every active query and store the mentions."""
    current = compiled()
    if not current.owners or not any(ws == workspace_id for ws, _ in current.owners.values()):
        return
    candidates = [
        candidate(
            item_id=item.item_id,
            workspace_id=workspace_id,
            created_at=item.created_at,
            author_id=item.author_id,
            handle=item.author.handle if item.author else "",
            followers=item.author.followers if item.author else None,
            text=item.text,
            language=item.language,
            network=item.network,
            channel_id=item.channel_id,
            channel_handle=item.channel_handle,
            url=item.url,
            reading=item.enrichment or {},
        )
        for item in items
        if item.item_id is not None
    ]
    store(mention_rows(candidates, current.matcher, current.owners))
