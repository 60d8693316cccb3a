"""What the listening pages and API read: series, share of voice, top posts and authors of a topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, Sum
from django.utils import timezone

from townhall.core.storage import chunked
from townhall.items.models import Direction, Item
from townhall.listening import trends
from townhall.listening.matcher import Matcher
from townhall.listening.models import Granularity, ListeningQuery, Mention, MentionRollup, Topic, TopicKind
from townhall.listening.rollups import DAY, HOUR, day_of, hour_of
from townhall.people.models import Identity
from townhall.workspaces.models import Workspace

MAX_BUCKETS = 24 * 93  # three months of hours, ten years of days at most in one series


@dataclass(frozen=True, slots=True)
class Point:
    bucket: datetime
    volume: int = 0
    unique_authors: int = 0
    reach: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "volume": self.volume,
            "unique_authors": self.unique_authors,
            "reach": self.reach,
            "positive": self.positive,
            "neutral": self.neutral,
            "negative": self.negative,
        }


def bounds(granularity: str, since: datetime, until: datetime) -> tuple[datetime, datetime, timedelta]:
    """The first and last bucket start of [since, until] and the step, capped at MAX_BUCKETS buckets."""
    step = HOUR if granularity == Granularity.HOUR else DAY
    floor = hour_of if granularity == Granularity.HOUR else day_of
    first, last = floor(since), floor(until)
    if (last - first) / step >= MAX_BUCKETS:
        first = last - step * (MAX_BUCKETS - 1)
    return first, last, step


def series(topic: Topic, *, granularity: str, since: datetime, until: datetime) -> list[Point]:
    """One point per hour or day of the range, zeros where nothing was said."""
    first, last, step = bounds(granularity, since, until)
    stored = {
        r.bucket: r
        for r in MentionRollup.objects.filter(
            topic=topic, granularity=granularity, bucket__gte=first, bucket__lte=last
        )
    }
    points = []
    at = first
    while at <= last:
        r = stored.get(at)
        points.append(
            Point(at, r.volume, r.unique_authors, r.reach, r.positive, r.neutral, r.negative)
            if r
            else Point(at)
        )
        at += step
    return points


def share_of_voice(
    workspace: Workspace, *, since: datetime, until: datetime, granularity: str = Granularity.DAY
) -> dict[str, Any]:
    """Brand and competitor topics side by side: shares of volume, reach and positive voice.

    Sentiment-weighted share is the share of positive mentions (each topic's positive mentions over
    all the compared topics' positive mentions); net sentiment is (positive - negative) / volume.
    """
    topics = list(
        Topic.objects.filter(workspace=workspace, kind__in=[TopicKind.BRAND, TopicKind.COMPETITOR]).order_by(
            "kind", "name"
        )
    )
    first, last, step = bounds(granularity, since, until)
    rows = (
        MentionRollup.objects.filter(
            topic__in=topics, granularity=granularity, bucket__gte=first, bucket__lte=last
        )
        .values("topic_id")
        .annotate(
            volume=Sum("volume"), reach=Sum("reach"), positive=Sum("positive"), negative=Sum("negative")
        )
    )
    totals: dict[int, dict[str, Any]] = {row["topic_id"]: dict(row) for row in rows}
    all_volume = sum(row["volume"] for row in totals.values())
    all_reach = sum(row["reach"] for row in totals.values())
    all_positive = sum(row["positive"] for row in totals.values())
    per_bucket: dict[datetime, dict[int, int]] = {}
    for bucket, topic_id, volume in MentionRollup.objects.filter(
        topic__in=topics, granularity=granularity, bucket__gte=first, bucket__lte=last
    ).values_list("bucket", "topic_id", "volume"):
        per_bucket.setdefault(bucket, {})[topic_id] = volume
    buckets = []
    at = first
    while at <= last:
        counts = per_bucket.get(at, {})
        total = sum(counts.values())
        buckets.append(
            {"bucket": at, "shares": {t.pk: (counts.get(t.pk, 0) / total if total else 0.0) for t in topics}}
        )
        at += step
    out = []
    for t in topics:
        r: dict[str, Any] = totals.get(t.pk) or {"volume": 0, "reach": 0, "positive": 0, "negative": 0}
        out.append(
            {
                "topic_id": t.pk,
                "name": t.name,
                "kind": t.kind,
                "volume": r["volume"],
                "reach": r["reach"],
                "positive": r["positive"],
                "negative": r["negative"],
                "share_of_volume": r["volume"] / all_volume if all_volume else 0.0,
                "share_of_reach": r["reach"] / all_reach if all_reach else 0.0,
                "share_of_positive": r["positive"] / all_positive if all_positive else 0.0,
                "net_sentiment": (r["positive"] - r["negative"]) / r["volume"] if r["volume"] else 0.0,
            }
        )
    return {"topics": out, "series": buckets, "granularity": granularity}


def top_posts(topic: Topic, *, since: datetime, until: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The topic's most seen posts of the range: by the author's reach, then by engagement."""
    rows = (
        Mention.objects.filter(topic=topic, created_at__gte=since, created_at__lt=until)
        .values("item_id")
        .annotate(reach=Max("reach"))
        .annotate(
            engagement=Max(F("item__likes") + F("item__reposts") + F("item__replies")),
        )
        .order_by("-reach", "-engagement", "-item_id")[:limit]
    )
    ranked = list(rows)
    items = posts([r["item_id"] for r in ranked])
    return [{**items[r["item_id"]], "reach": r["reach"], "engagement": r["engagement"]} for r in ranked]


def posts(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Items as the listening pages show them, by id."""
    rows = Item.objects.filter(pk__in=ids).values(
        "id", "text", "url", "network", "created_at", "author__handle", "likes", "reposts", "replies"
    )
    return {
        r["id"]: {
            "item_id": r["id"],
            "text": r["text"],
            "url": r["url"],
            "network": r["network"],
            "created_at": r["created_at"],
            "author": r["author__handle"] or "",
            "likes": r["likes"],
            "reposts": r["reposts"],
            "replies": r["replies"],
        }
        for r in rows
    }


def top_authors(topic: Topic, *, since: datetime, until: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Who mentioned the topic most in the range, with their reach."""
    rows = (
        Mention.objects.filter(
            topic=topic, created_at__gte=since, created_at__lt=until, author_id__isnull=False
        )
        .values("author_id")
        .annotate(mentions=Count("item_id", distinct=True), reach=Max("reach"))
        .order_by("-mentions", "-reach", "author_id")[:limit]
    )
    ranked = list(rows)
    handles = dict(
        Identity.objects.filter(pk__in=[r["author_id"] for r in ranked]).values_list("pk", "handle")
    )
    return [{**r, "handle": handles.get(r["author_id"] or 0, "")} for r in ranked]


def preview(workspace: Workspace, *, text: str, limit: int = 20, scan: int = 5000) -> dict[str, Any]:
    """How a query, as typed, would match the workspace's most recent items (nothing is stored)."""
    from townhall.listening.services import candidates_for, check_query

    matcher = Matcher({0: check_query(text)})
    ids = list(
        Item.objects.filter(workspace=workspace)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:scan]
    )
    matched: list[tuple[int, list[str]]] = []
    for part in chunked(ids, 1000):
        by_id = {c.item_id: c for c in candidates_for(part)}
        ordered = [by_id[i] for i in part if i in by_id]
        for candidate, found in zip(ordered, matcher.match_many([c.view for c in ordered]), strict=True):
            if 0 in found:
                matched.append((candidate.item_id, found[0]))
    shown = matched[:limit]
    items = posts([i for i, _ in shown])
    return {
        "matched": len(matched),
        "scanned": len(ids),
        "items": [{**items[i], "terms": terms} for i, terms in shown if i in items],
    }


RECENT = timedelta(hours=24)
BASELINE = timedelta(days=7)
MAX_RECENT = 20_000
MAX_BASELINE = 50_000
NEWSJACKING_TTL = 600  # seconds


def _records(queryset: Any, *, limit: int) -> list[trends.MentionRecord]:
    """Items of a window as the trend functions read them, most recent first, one per item."""
    rows = queryset.order_by("-created_at").values_list(
        "id", "author__handle", "text", "created_at", "author__followers", "likes", "reposts", "replies"
    )[:limit]
    return [
        trends.MentionRecord(
            item_id=pk,
            author=handle or "",
            text=text,
            created_at=at,
            reach=followers or 0,
            engagement=likes + reposts + replies,
        )
        for pk, handle, text, at, followers, likes, reposts, replies in rows
    ]


def _topic_items(topic: Topic, since: datetime, until: datetime) -> Any:
    ids = Mention.objects.filter(topic=topic, created_at__gte=since, created_at__lt=until).values("item_id")
    return Item.objects.filter(pk__in=ids)


def emerging(topic: Topic, *, now: datetime | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Terms rising in the topic's last 24 hours against the 7 days before, without the topic's own terms."""
    now = now or timezone.now()
    exclude = trends.own_terms(topic.queries.values_list("text", flat=True))
    recent = trends.count_terms(
        _records(_topic_items(topic, now - RECENT, now), limit=MAX_RECENT), exclude=exclude
    )
    baseline = trends.count_terms(
        _records(_topic_items(topic, now - RECENT - BASELINE, now - RECENT), limit=MAX_BASELINE),
        exclude=exclude,
    )
    found = trends.emerging(recent, baseline, limit=limit)
    return _with_examples(
        [
            {
                "term": t.term,
                "recent_count": t.recent_count,
                "baseline_count": t.baseline_count,
                "score": t.score,
                "ratio": t.ratio,
                "examples": list(t.examples),
            }
            for t in found
        ]
    )


def newsjacking(
    workspace: Workspace, *, now: datetime | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """Terms rising in everything the workspace hears that also come up in its brand or industry topics."""
    now = now or timezone.now()
    inbound = Item.objects.filter(workspace=workspace, direction=Direction.INBOUND)
    topics = list(
        Topic.objects.filter(workspace=workspace, active=True, kind__in=[TopicKind.BRAND, TopicKind.INDUSTRY])
    )
    if not topics:
        return []
    exclude = trends.own_terms(ListeningQuery.objects.filter(topic__in=topics).values_list("text", flat=True))
    recent_records = _records(
        inbound.filter(created_at__gte=now - RECENT, created_at__lt=now), limit=MAX_RECENT
    )
    recent = trends.count_terms(recent_records, exclude=exclude)
    baseline = trends.count_terms(
        _records(
            inbound.filter(created_at__gte=now - RECENT - BASELINE, created_at__lt=now - RECENT),
            limit=MAX_BASELINE,
        ),
        exclude=exclude,
    )
    rising = trends.emerging(recent, baseline, limit=50)
    if not rising:
        return []
    names = {t.pk: t.name for t in topics}
    per_topic = {t.pk: _records(_topic_items(t, now - RECENT, now), limit=MAX_RECENT) for t in topics}
    suggestions = trends.newsjacking(rising, trends.co_occurrence(rising, per_topic), limit=limit * 3)
    grouped: dict[str, dict[str, Any]] = {}
    for s in suggestions:
        entry = grouped.setdefault(s.term, {"term": s.term, "score": 0.0, "topics": [], "examples": []})
        entry["score"] = max(entry["score"], s.score)
        entry["topics"].append(
            {"topic_id": s.topic, "name": names.get(int(s.topic), ""), "co_occurrences": s.together}
        )
        entry["examples"].extend(e for e in s.examples if e not in entry["examples"])
    ranked = sorted(grouped.values(), key=lambda e: (-e["score"], e["term"]))[:limit]
    for entry in ranked:
        entry["examples"] = entry["examples"][:3]
    return _with_examples(ranked)


def _with_examples(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace example item ids by the posts themselves."""
    shown = posts([int(i) for e in entries for i in e["examples"]])
    for e in entries:
        e["examples"] = [shown[int(i)] for i in e["examples"] if int(i) in shown]
    return entries


def as_of(topics: Any, span: timedelta, *, now: datetime | None = None) -> datetime:
    """The end of the range a page shows: now, or for topics quiet all through the range (an imported
    archive), the hour after their latest mention, so the page shows when they were talked about."""
    now = now or timezone.now()
    latest = Mention.objects.filter(topic__in=topics).aggregate(m=Max("created_at"))["m"]
    if latest is None or latest >= now - span:
        return now
    return hour_of(latest) + HOUR


def newsjacking_cached(workspace: Workspace, *, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Newsjacking suggestions, computed at most once per workspace every 10 minutes."""
    key = f"listening:newsjacking:{workspace.pk}:{limit}:{int(now.timestamp()) // NEWSJACKING_TTL}"
    found = cache.get(key)
    if found is None:
        found = newsjacking(workspace, now=now, limit=limit)
        cache.set(key, found, NEWSJACKING_TTL)
    return list(found)
