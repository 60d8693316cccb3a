"""Hourly and daily series of each topic's mentions: resumable roll-ups behind a watermark.

Each pass takes the mentions stored since the watermark (and the hours marked stale when mentions were
removed), computes every hour and day they touch again from the mentions themselves, and moves the
watermark in the same transaction. A pass cut off half-way leaves the watermark where the last committed
chunk put it, and computing a bucket twice writes the same row: nothing is ever counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import transaction

from townhall.core.storage import bulk_insert, chunked, in_chunk_size
from townhall.listening.models import Granularity, Mention, MentionRollup, RollupState, StaleBucket

STATE = "mentions"
CHUNK = 20_000
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(at: datetime) -> datetime:
    return hour_of(at).replace(hour=0)


def run(*, chunk: int = CHUNK, max_chunks: int | None = None) -> int:
    """Bring every series up to date; returns how many mentions were taken in."""
    taken = 0
    done = 0
    while max_chunks is None or done < max_chunks:
        with transaction.atomic():
            state, _ = RollupState.objects.select_for_update().get_or_create(name=STATE)
            fresh = list(
                Mention.objects.filter(pk__gt=state.last_id)
                .order_by("pk")
                .values_list("pk", "topic_id", "created_at")[:chunk]
            )
            stale = list(StaleBucket.objects.values_list("pk", "topic_id", "hour")[:chunk])
            if not fresh and not stale:
                return taken
            touched: dict[int, set[datetime]] = defaultdict(set)
            for _, topic_id, at in fresh:
                touched[topic_id].add(hour_of(at))
            for _, topic_id, at in stale:
                touched[topic_id].add(hour_of(at))
            for topic_id, hours in touched.items():
                recompute(topic_id, hours)
            if fresh:
                state.last_id = fresh[-1][0]
                state.save(update_fields=["last_id", "updated_at"])
            for ids in chunked([pk for pk, _, _ in stale], in_chunk_size()):
                StaleBucket.objects.filter(pk__in=ids).delete()
        taken += len(fresh)
        done += 1
    return taken


def recompute(topic_id: int, hours: set[datetime]) -> None:
    """Write again the roll-ups of these hours of one topic and of the days they fall in."""
    days = {day_of(h) for h in hours}
    buckets = {(Granularity.HOUR, h) for h in hours} | {(Granularity.DAY, d) for d in days}
    # Per bucket: item -> (author, reach, sentiment); an item two queries matched counts once.
    seen: dict[tuple[str, datetime], dict[int, tuple[int | None, int, str]]] = defaultdict(dict)
    for start, end in _spans(sorted(days)):
        rows = Mention.objects.filter(topic_id=topic_id, created_at__gte=start, created_at__lt=end)
        for item_id, author_id, reach, sentiment, at in rows.values_list(
            "item_id", "author_id", "reach", "sentiment", "created_at"
        ).iterator(chunk_size=5000):
            hour = hour_of(at)
            if hour in hours:
                seen[(Granularity.HOUR, hour)][item_id] = (author_id, reach, sentiment)
            seen[(Granularity.DAY, day_of(at))][item_id] = (author_id, reach, sentiment)
    for level in (Granularity.HOUR, Granularity.DAY):
        starts = [b for g, b in buckets if g == level]
        for part in chunked(starts, in_chunk_size()):
            MentionRollup.objects.filter(topic_id=topic_id, granularity=level, bucket__in=part).delete()
    rows_out = []
    for (granularity, bucket), items in seen.items():
        sentiments = [s for _, _, s in items.values()]
        rows_out.append(
            MentionRollup(
                topic_id=topic_id,
                granularity=granularity,
                bucket=bucket,
                volume=len(items),
                unique_authors=len({a if a is not None else -i for i, (a, _, _) in items.items()}),
                reach=sum(r for _, r, _ in items.values()),
                positive=sentiments.count("positive"),
                neutral=sentiments.count("neutral"),
                negative=sentiments.count("negative"),
            )
        )
    bulk_insert(MentionRollup, rows_out)


def _spans(days: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive days joined into ranges, so a backfill over a year reads its mentions in few queries."""
    spans: list[tuple[datetime, datetime]] = []
    for day in days:
        if spans and spans[-1][1] == day:
            spans[-1] = (spans[-1][0], day + DAY)
        else:
            spans.append((day, day + DAY))
    return spans


def mark_stale(topic_id: int, times: list[datetime]) -> None:
    """Hours whose mentions were removed: the next pass computes them again."""
    hours = {hour_of(t) for t in times}
    StaleBucket.objects.bulk_create(
        [StaleBucket(topic_id=topic_id, hour=h) for h in hours], ignore_conflicts=True, batch_size=500
    )
