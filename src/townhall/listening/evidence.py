"""What a spike is made of: the terms, authors and posts of its window against the week before, and
the sentiment shift."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from townhall.listening.spikes import Spike
from townhall.listening.trends import MentionRecord, count_terms, emerging

SENTIMENTS = ("positive", "neutral", "negative", "unknown")


def _sentiment(mentions: Sequence[MentionRecord]) -> dict[str, Any]:
    counts = Counter(m.sentiment if m.sentiment in SENTIMENTS else "unknown" for m in mentions)
    total = len(mentions)
    shares = {label: round(counts[label] / total, 3) if total else 0.0 for label in SENTIMENTS}
    return {"mentions": total, **shares}


def explain(
    spike: Spike,
    during: Sequence[MentionRecord],
    before: Sequence[MentionRecord],
    *,
    exclude: Iterable[str] = (),
    limit: int = 5,
) -> dict[str, Any]:
    """Why a spike happened, as JSON: its volume, top terms, authors and posts, and the sentiment shift.

    `during` are the mentions of the spike's window; `before` those of a baseline period (the week before
    the window, say) that the terms are compared with.
    """
    excluded = frozenset(exclude)
    window = count_terms(during, per="post", exclude=excluded)
    baseline = count_terms(before, per="post", exclude=excluded)
    rising = emerging(window, baseline, min_count=3, min_ratio=1.5, min_score=3.84, limit=limit)

    authors: dict[str, list[int]] = {}
    for mention in during:
        if mention.author:
            posts_reach = authors.setdefault(mention.author, [0, 0])
            posts_reach[0] += 1
            posts_reach[1] = max(posts_reach[1], mention.reach)
    top_authors = sorted(authors.items(), key=lambda a: (-a[1][0], -a[1][1], a[0]))[:limit]
    top_posts = sorted(during, key=lambda m: (-m.engagement, -m.reach, m.created_at))[:limit]

    shift = None
    before_sentiment, during_sentiment = _sentiment(before), _sentiment(during)
    if before and during:
        shift = round(during_sentiment["negative"] - before_sentiment["negative"], 3)
    return {
        **spike.as_dict(),
        "terms": [
            {
                "term": t.term,
                "count": t.recent_count,
                "baseline_count": t.baseline_count,
                "ratio": t.ratio,
                "score": t.score,
                "examples": list(t.examples),
            }
            for t in rising
        ],
        "authors": [{"author": name, "mentions": n, "reach": reach} for name, (n, reach) in top_authors],
        "posts": [
            {
                "item_id": m.item_id,
                "author": m.author,
                "reach": m.reach,
                "engagement": m.engagement,
                "created_at": m.created_at.astimezone(UTC).isoformat(),
            }
            for m in top_posts
        ],
        "sentiment": {"before": before_sentiment, "during": during_sentiment, "negative_shift": shift},
    }
