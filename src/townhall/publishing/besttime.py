"""Best time to post: the expected engagement of a post for each hour of the week, from our own history.

The model. A post published in local hour-of-week h (0 = Monday 00:00 in the workspace's time zone) earns
engagement y ~ Poisson(lambda_h), with lambda_h ~ Gamma(k * m_h, k): a prior of mean m_h worth k posts.
The posterior mean (k * m_h + sum y) / (k + n) is the hour's own average once it has many posts and the
prior's when it has none. Neighbouring hours share their evidence: each hour's sums (sum y, n) are spread
over the hours around it with a circular kernel, since the week wraps (Sunday 23:00 touches Monday 00:00),
and weakly over the same hour on the other days, so a slot is judged with the posts around it.

The prior mean m_h is empirical. With enough history it is the channel's own mean engagement per post
(basis "channel"). With little, it is the hour profile of the workspace's other posts, scaled to the
channel's level (basis "workspace"). With neither, it is flat (basis "none"), and no slot is recommended
while there is no post at all.

Two choices keep the scores sane. One viral post is luck, not a property of its hour: engagement is capped
at twice the channel's 90th percentile before it counts. And the prior strength k is fixed, not fitted to
the spread between hours: a fitted strength moves with every post, so an hour's score could fall when one
of its posts did better. The credible interval does reflect the spread of engagement per
post: the posterior is widened by its dispersion (variance / mean), as in a quasi-Poisson model.

Impressions, when known, give each slot an engagement rate per 1,000 impressions, estimated the same way.
It is shown, not ranked on: the posting hour changes the reach too, and the rate would favour quiet hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from scipy.stats import gamma

from townhall.connectors.models import Channel
from townhall.items.models import Direction, Item, Kind
from townhall.publishing.schedule import local_instant

HOURS = 168
PRIOR_POSTS = 8.0  # k: the posts an hour needs before its own average weighs as much as the prior
MIN_CHANNEL_POSTS = 30  # below this the channel leans on the rest of the workspace
CAP_QUANTILE, CAP_FACTOR = 0.9, 2.0
CREDIBLE = 0.8
NEIGHBOURS = (1.0, 0.5, 0.15)  # kernel weight of the hours 0, 1 and 2 away
OTHER_DAYS = 0.05  # weight of the same hour on each of the other six days
MIN_GAP = 2  # top slots lie this many hours apart, so one good stretch of hours does not fill the list

Basis = Literal["channel", "workspace", "none"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One published post: its local hour of the week, engagement, and impressions when known."""

    hour_of_week: int
    engagement: int
    impressions: int | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """An hour of the week to post in, with the expected engagement per post and its credible interval."""

    hour_of_week: int
    expected: float
    low: float
    high: float
    posts: int  # the channel's own posts published in this hour
    rate_per_1k: float | None  # engagement per 1,000 impressions, when impressions are known

    @property
    def weekday(self) -> int:
        return self.hour_of_week // 24

    @property
    def hour(self) -> int:
        return self.hour_of_week % 24


@dataclass(frozen=True, slots=True)
class BestTimes:
    scores: tuple[float, ...]  # expected engagement per post, for each of the 168 hours of the week
    top: tuple[Slot, ...]
    basis: Basis
    posts: int  # the channel's posts behind the scores
    prior_posts: int  # the workspace's other posts behind the prior (basis "workspace")


@cache
def _kernel() -> np.ndarray:
    weights = np.zeros((HOURS, HOURS))
    for h in range(HOURS):
        for distance, weight in enumerate(NEIGHBOURS):
            weights[h, (h + distance) % HOURS] = weights[h, (h - distance) % HOURS] = weight
        for day in range(1, 7):
            weights[h, (h + 24 * day) % HOURS] += OTHER_DAYS
    return weights


def _cap(observations: Sequence[Observation]) -> float:
    if not observations:
        return 0.0
    engagement = np.array([o.engagement for o in observations], dtype=float)
    # The floor keeps a channel whose posts mostly earn nothing from having all its engagement capped away.
    return CAP_FACTOR * max(float(np.quantile(engagement, CAP_QUANTILE)), 1.0)


def _capped(observations: Sequence[Observation], cap: float) -> np.ndarray:
    return np.minimum(np.array([o.engagement for o in observations], dtype=float), cap)


def _per_hour(observations: Sequence[Observation], values: np.ndarray | None = None) -> np.ndarray:
    hours = np.array([o.hour_of_week for o in observations], dtype=int)
    return np.bincount(hours, weights=values, minlength=HOURS).astype(float)


def _posterior(total: np.ndarray, count: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape and rate of each hour's Gamma posterior, from kernel-smoothed sums."""
    return PRIOR_POSTS * prior + _kernel() @ total, PRIOR_POSTS + _kernel() @ count


def _rates(observations: Sequence[Observation]) -> np.ndarray | None:
    seen = [o for o in observations if o.impressions]
    if not seen:
        return None
    engagement = _per_hour(seen, np.array([o.engagement for o in seen], dtype=float))
    impressions = _per_hour(seen, np.array([o.impressions for o in seen], dtype=float))
    per_post = impressions.sum() / len(seen)
    overall = engagement.sum() / impressions.sum()
    shape = PRIOR_POSTS * per_post * overall + _kernel() @ engagement
    return 1000 * shape / (PRIOR_POSTS * per_post + _kernel() @ impressions)


def _check(observations: Iterable[Observation]) -> None:
    for o in observations:
        if not 0 <= o.hour_of_week < HOURS or o.engagement < 0:
            raise ValueError(f"not an observation: {o}")


def score(
    channel: Sequence[Observation], workspace: Sequence[Observation] = (), *, top: int = 5
) -> BestTimes:
    """Score the hours of the week from a channel's posts, and the workspace's other posts for a prior."""
    # A canonical order makes the floating-point sums, hence the scores, independent of the input order.
    own = sorted(channel, key=lambda o: (o.hour_of_week, o.engagement, o.impressions or 0))
    rest = sorted(workspace, key=lambda o: (o.hour_of_week, o.engagement, o.impressions or 0))
    _check(own)
    _check(rest)
    basis: Basis
    if len(own) >= MIN_CHANNEL_POSTS or not rest:
        basis, prior_posts = ("channel" if len(own) >= MIN_CHANNEL_POSTS else "none"), 0
        engagement = _capped(own, _cap(own))
        level = float(engagement.mean()) if own else 0.0
        prior = np.full(HOURS, level)
        spread = engagement
    else:
        basis, prior_posts = "workspace", len(rest)
        theirs = _capped(rest, _cap(rest))
        shape, rate = _posterior(_per_hour(rest, theirs), _per_hour(rest), np.full(HOURS, theirs.mean()))
        profile = shape / rate
        # A few posts cannot tell a viral one apart: they are capped as the workspace's would be.
        engagement = _capped(own, _cap([*own, *rest]))
        level = (PRIOR_POSTS * float(theirs.mean()) + engagement.sum()) / (PRIOR_POSTS + len(own))
        mean = float(profile.mean())
        prior = profile * (level / mean) if mean > 0 else np.full(HOURS, level)
        spread = np.concatenate([engagement, theirs])
    shape, rate = _posterior(_per_hour(own, engagement), _per_hour(own), prior)
    expected = shape / rate
    centre = float(spread.mean()) if spread.size else 0.0
    dispersion = max(1.0, float(spread.var()) / centre) if centre > 0 else 1.0
    posts = _per_hour(own)
    rates = _rates(own)

    def slot(h: int) -> Slot:
        low, high = (0.0, 0.0)
        if shape[h] > 0:
            tails = ((1 - CREDIBLE) / 2, (1 + CREDIBLE) / 2)
            low, high = (
                float(q) for q in gamma.ppf(tails, shape[h] / dispersion, scale=dispersion / rate[h])
            )
        rate_per_1k = None if rates is None else float(rates[h])
        mean = float(expected[h])
        return Slot(h, mean, min(low, mean), max(high, mean), int(posts[h]), rate_per_1k)

    chosen: list[int] = []
    if own or rest:
        for h in sorted(range(HOURS), key=lambda h: (-expected[h], h)):
            if len(chosen) == top or expected[h] <= 0:
                break  # an hour expecting nothing is no recommendation
            if all(min((h - c) % HOURS, (c - h) % HOURS) >= MIN_GAP for c in chosen):
                chosen.append(h)
    scores = tuple(float(s) for s in expected)
    return BestTimes(scores, tuple(slot(h) for h in chosen), basis, len(own), prior_posts)


def next_slot(hours: Iterable[int], *, tz: str, after: datetime) -> datetime | None:
    """The first start of one of these local hours of the week after `after`, in UTC; None without hours.

    A local time that does not exist (the hour skipped when clocks go forward) is passed over; one that
    happens twice (when they go back) counts at its first occurrence only.
    """
    wanted = set(hours)
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if not wanted:
        return None
    zone = ZoneInfo(tz)
    start = after.astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None, fold=0)
    # Two weeks of wall-clock hours: an hour skipped this week comes back the next.
    for step in range(2 * HOURS + 1):
        wall = start + timedelta(hours=step)
        if wall.weekday() * 24 + wall.hour not in wanted:
            continue
        at = local_instant(wall.date(), wall.time(), zone)
        if at is not None and at > after:
            return at
    return None


def hour_of_week(at: datetime, zone: ZoneInfo) -> int:
    """The local hour of the week of an aware instant: 0 is Monday 00:00 in the zone."""
    local = at.astimezone(zone)
    return local.weekday() * 24 + local.hour


def _history(
    posts: Iterable[tuple[datetime, int, int, int, int | None]], zone: ZoneInfo
) -> list[Observation]:
    return [
        Observation(hour_of_week(at, zone), likes + reposts + replies, views)
        for at, likes, reposts, replies, views in posts
    ]


def best_times(*, channel: Channel, tz: str, now: datetime, days: int = 180, top: int = 5) -> BestTimes:
    """The best hours of the week for a channel, from our own posts of the `days` days before `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz)
    # Replies and direct messages answer someone: their time is not ours to choose.
    posts = Item.objects.filter(
        workspace_id=channel.workspace_id,
        direction=Direction.OUTBOUND,
        kind=Kind.POST,
        created_at__gte=now - timedelta(days=days),
        created_at__lt=now,
    )
    fields = ("created_at", "likes", "reposts", "replies", "views")
    own = _history(posts.filter(channel=channel).values_list(*fields), zone)
    rest: list[Observation] = []
    if len(own) < MIN_CHANNEL_POSTS:
        rest = _history(posts.exclude(channel=channel).values_list(*fields), zone)
    return score(own, rest, top=top)


def next_best(*, channel: Channel, tz: str, after: datetime, top: int = 5) -> datetime | None:
    """The next instant (UTC) after `after` in one of the channel's top slots; None without history."""
    times = best_times(channel=channel, tz=tz, now=after, top=top)
    return next_slot((s.hour_of_week for s in times.top), tz=tz, after=after)
