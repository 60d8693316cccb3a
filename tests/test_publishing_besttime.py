"""Best time to post: the hour-of-week model on hand-made histories, its properties, and the channel's own
posts read from the database in the workspace's time zone, across daylight-saving changes."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townhall.connectors.models import Channel
from townhall.connectors.services import do_create_channel
from townhall.pipeline.records import IncomingItem
from townhall.pipeline.runner import ingest
from townhall.publishing import besttime
from townhall.publishing.besttime import Observation, score
from townhall.workspaces.models import Workspace

PARIS = ZoneInfo("Europe/Paris")


def week(day: int, hour: int) -> int:
    """Hour of the week: day 0 is Monday."""
    return day * 24 + hour


TUE_9 = week(1, 9)
SUN_2 = week(6, 2)


def steady(hours: tuple[int, ...] = (12, 18), per_hour: int = 5, engagement: int = 10) -> list[Observation]:
    """A channel's ordinary week: a few posts at the same hours every day, with ordinary engagement."""
    return [
        Observation(week(day, hour), engagement + i % 3 - 1)
        for day in range(7)
        for hour in hours
        for i in range(per_hour)
    ]


def test_the_hour_that_clearly_does_best_comes_out_on_top() -> None:
    history = steady((8, 12, 17, 21)) + [Observation(TUE_9, 35 + i % 10) for i in range(10)]

    result = score(history)

    assert (result.basis, result.posts, result.prior_posts) == ("channel", len(history), 0)
    best = result.top[0]
    assert (best.hour_of_week, best.weekday, best.hour, best.posts) == (TUE_9, 1, 9, 10)
    assert 10 < best.low <= best.expected <= best.high < 45
    assert len(result.top) == 5
    hours = [slot.hour_of_week for slot in result.top]
    assert all(abs(a - b) >= 2 for a in hours for b in hours if a != b)


@pytest.mark.parametrize("luck", [60, 1000, 10**6])
def test_one_lucky_post_does_not_beat_twenty_solid_ones(luck: int) -> None:
    wed_9, fri_3 = week(2, 9), week(4, 3)
    history = [*steady(), *[Observation(wed_9, 30)] * 20, Observation(fri_3, luck)]

    result = score(history)

    assert result.top[0].hour_of_week == wed_9
    assert result.scores[wed_9] > result.scores[fri_3]
    lucky = next(slot for slot in score(history, top=168).top if slot.hour_of_week == fri_3)
    assert lucky.posts == 1 and lucky.expected < 30
    # One post says little: its interval is wider, relative to its estimate, than twenty posts'.
    solid = result.top[0]
    assert (lucky.high - lucky.low) / lucky.expected > (solid.high - solid.low) / solid.expected


def test_smoothing_wraps_around_the_end_of_the_week() -> None:
    sunday_23 = week(6, 23)
    history = [*steady((12,)), *[Observation(sunday_23, 50)] * 10]

    result = score(history)

    assert result.top[0].hour_of_week == sunday_23
    quiet = result.scores[week(4, 4)]  # Friday 04:00: no post near it
    assert result.scores[0] == pytest.approx(result.scores[sunday_23 - 1])
    assert result.scores[0] > result.scores[1] > quiet
    assert result.scores[0] == pytest.approx(result.scores[1], rel=0.5)


def test_the_same_hour_on_other_days_pulls_weakly() -> None:
    history = [*steady((12,)), *[Observation(week(day, 20), 40) for day in (0, 1, 2, 3, 4) for _ in range(4)]]

    result = score(history)

    saturday_20, saturday_4 = week(5, 20), week(5, 4)
    assert result.scores[saturday_4] < result.scores[saturday_20] < result.scores[week(2, 20)]


def test_an_empty_history_recommends_nothing_and_says_so() -> None:
    result = score([], [])

    assert (result.basis, result.posts, result.prior_posts, result.top) == ("none", 0, 0, ())
    assert result.scores == (0.0,) * 168


def test_a_few_posts_and_no_workspace_history_use_a_flat_prior() -> None:
    result = score([Observation(TUE_9, 5), Observation(week(3, 14), 1)])

    assert (result.basis, result.posts) == ("none", 2)
    assert result.top[0].hour_of_week == TUE_9


def test_a_new_channel_leans_on_the_rest_of_the_workspace() -> None:
    workspace = [*steady(), *[Observation(TUE_9, 40)] * 30]
    channel = [Observation(week(0, 12), 3), Observation(week(3, 18), 2)]

    result = score(channel, workspace)

    assert (result.basis, result.posts, result.prior_posts) == ("workspace", 2, len(workspace))
    assert result.top[0].hour_of_week == TUE_9
    # The workspace's shape, moved toward the channel's own (much lower) level.
    assert result.top[0].expected < score(workspace).top[0].expected


def test_impressions_give_a_rate_per_thousand() -> None:
    history = [replace(o, impressions=o.engagement * 100) for o in steady()]

    result = score(history)

    assert all(slot.rate_per_1k == pytest.approx(10.0) for slot in result.top)
    assert all(slot.rate_per_1k is None for slot in score(steady()).top)


def test_an_hour_outside_the_week_is_refused() -> None:
    with pytest.raises(ValueError, match="not an observation"):
        score([Observation(168, 1)])


observations = st.builds(
    Observation,
    hour_of_week=st.integers(0, 167),
    engagement=st.integers(0, 10**6),
    impressions=st.none() | st.integers(0, 10**9),
)
histories = st.lists(observations, max_size=80)


@given(histories, histories)
def test_scores_are_finite_and_never_negative(
    channel: list[Observation], workspace: list[Observation]
) -> None:
    result = score(channel, workspace)

    assert len(result.scores) == 168
    assert all(math.isfinite(s) and s >= 0 for s in result.scores)
    for slot in result.top:
        assert 0 <= slot.low <= slot.expected <= slot.high < math.inf
        assert slot.rate_per_1k is None or 0 <= slot.rate_per_1k < math.inf


@given(histories, histories, st.randoms(use_true_random=False))
def test_the_order_of_posts_does_not_matter(
    channel: list[Observation], workspace: list[Observation], rnd: random.Random
) -> None:
    shuffled, others = channel[:], workspace[:]
    rnd.shuffle(shuffled)
    rnd.shuffle(others)

    assert score(shuffled, others) == score(channel, workspace)


@given(st.lists(observations, min_size=1, max_size=80), histories, st.data())
def test_more_engagement_never_lowers_the_score_of_its_hour(
    channel: list[Observation], workspace: list[Observation], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(channel) - 1))
    bumped = channel[:]
    bumped[i] = replace(channel[i], engagement=channel[i].engagement + data.draw(st.integers(1, 10**6)))
    hour = channel[i].hour_of_week

    before, after = score(channel, workspace).scores[hour], score(bumped, workspace).scores[hour]

    assert after >= before * (1 - 1e-12)


def test_next_slot_skips_the_hour_that_does_not_exist_when_clocks_go_forward() -> None:
    saturday = datetime(2026, 3, 28, 12, tzinfo=UTC)  # clocks go forward on Sunday 29 March, 02:00 -> 03:00

    assert besttime.next_slot([SUN_2], tz="Europe/Paris", after=saturday) == datetime(
        2026, 4, 5, 0, tzinfo=UTC
    )
    assert besttime.next_slot([SUN_2 + 1], tz="Europe/Paris", after=saturday) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )


def test_next_slot_takes_the_first_of_an_hour_that_happens_twice() -> None:
    saturday = datetime(2026, 10, 24, 12, tzinfo=UTC)  # clocks go back on Sunday 25 October, 03:00 -> 02:00
    first = datetime(2026, 10, 25, 0, tzinfo=UTC)  # 02:00 summer time

    assert besttime.next_slot([SUN_2], tz="Europe/Paris", after=saturday) == first
    between = first + timedelta(minutes=30)
    assert besttime.next_slot([SUN_2], tz="Europe/Paris", after=between) == datetime(
        2026, 11, 1, 1, tzinfo=UTC
    )


def test_next_slot_is_strictly_after_and_none_without_slots() -> None:
    tuesday_9 = datetime(2026, 6, 2, 9, tzinfo=PARIS)

    assert besttime.next_slot([TUE_9], tz="Europe/Paris", after=tuesday_9) == tuesday_9 + timedelta(days=7)
    assert besttime.next_slot([TUE_9], tz="Europe/Paris", after=tuesday_9 - timedelta(seconds=1)) == tuesday_9
    assert besttime.next_slot([], tz="Europe/Paris", after=tuesday_9) is None
    with pytest.raises(ValueError, match="aware"):
        besttime.next_slot([TUE_9], tz="Europe/Paris", after=datetime(2026, 6, 2))


def local_days(first: datetime, last: datetime, weekday: int, hour: int) -> list[datetime]:
    """Every given weekday at this local hour in Paris, between two dates, as aware instants."""
    days = (last - first).days + 1
    dates = [first + timedelta(days=d) for d in range(days)]
    return [datetime(d.year, d.month, d.day, hour, tzinfo=PARIS) for d in dates if d.weekday() == weekday]


NATIVE_IDS = itertools.count()


def publish(workspace: Workspace, posts: list[tuple[datetime, int, int, int]], **fields: str) -> None:
    """Store posts (likes, reposts, replies), by default ours on the acme channel, as a connector would."""
    base = {"kind": "post", "direction": "outbound", "channel_handle": "acme", **fields}
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="mastodon",
                native_id=f"s{next(NATIVE_IDS)}",
                created_at=at,
                text="a post",
                likes=likes,
                reposts=reposts,
                replies=replies,
                **base,
            )
            for at, likes, reposts, replies in posts
        ],
    )


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    workspace.timezone = "Europe/Paris"
    workspace.save()
    return do_create_channel(workspace=workspace, network="mastodon", handle="acme")


SPRING = (datetime(2026, 2, 1), datetime(2026, 5, 31))


def test_best_times_reads_our_posts_in_local_time_across_the_spring_change(
    workspace: Workspace, channel: Channel
) -> None:
    tuesdays = local_days(*SPRING, weekday=1, hour=9)  # 08:00 UTC before 29 March, 07:00 UTC after
    publish(workspace, [(at, 10, 10, 10) for at in tuesdays])
    publish(workspace, [(at, 20, 0, 0) for at in local_days(*SPRING, weekday=3, hour=15)])
    publish(workspace, [(at, 15, 1, 0) for at in local_days(*SPRING, weekday=5, hour=11)])

    result = besttime.best_times(channel=channel, tz=workspace.timezone, now=datetime(2026, 6, 1, tzinfo=UTC))

    assert (result.basis, result.posts) == ("channel", 3 * len(tuesdays))
    best = result.top[0]
    assert (best.weekday, best.hour, best.posts) == (1, 9, len(tuesdays))
    assert best.expected == pytest.approx(30, rel=0.15)


def test_only_our_own_recent_posts_on_the_channel_count(workspace: Workspace, channel: Channel) -> None:
    tuesdays, fridays = local_days(*SPRING, weekday=1, hour=9), local_days(*SPRING, weekday=4, hour=16)
    publish(workspace, [(at, 30, 0, 0) for at in tuesdays])
    publish(workspace, [(at, 10, 0, 0) for at in fridays])
    wednesday_20 = local_days(*SPRING, weekday=2, hour=20)
    loud = [(at, 5000, 0, 0) for at in wednesday_20]
    publish(workspace, loud, direction="inbound", kind="mention")
    publish(workspace, loud, kind="reply")
    publish(workspace, loud, channel_handle="other")
    publish(workspace, [(at - timedelta(days=365), 5000, 0, 0) for at in wednesday_20])

    result = besttime.best_times(channel=channel, tz="Europe/Paris", now=datetime(2026, 6, 1, tzinfo=UTC))

    assert result.top[0].hour_of_week == TUE_9
    assert result.posts == len(tuesdays) + len(fridays)
    assert result.top[0].expected < 40


def test_a_new_channel_is_scored_from_the_rest_of_the_workspace(
    workspace: Workspace, channel: Channel
) -> None:
    publish(
        workspace, [(at, 40, 0, 0) for at in local_days(*SPRING, weekday=1, hour=9)], channel_handle="big"
    )
    publish(
        workspace, [(at, 10, 0, 0) for at in local_days(*SPRING, weekday=4, hour=16)], channel_handle="big"
    )
    publish(workspace, [(datetime(2026, 5, 4, 12, tzinfo=PARIS), 2, 0, 0)])

    result = besttime.best_times(channel=channel, tz="Europe/Paris", now=datetime(2026, 6, 1, tzinfo=UTC))

    assert (result.basis, result.posts, result.top[0].hour_of_week) == ("workspace", 1, TUE_9)
    assert result.prior_posts == 2 * len(local_days(*SPRING, weekday=1, hour=9))


def test_next_best_passes_over_the_missing_hour_of_the_spring_change(
    workspace: Workspace, channel: Channel
) -> None:
    winter = (datetime(2025, 10, 1), datetime(2026, 3, 22))
    publish(workspace, [(at, 25, 5, 5) for at in local_days(*winter, weekday=6, hour=2)])
    publish(workspace, [(at, 8, 1, 0) for at in local_days(*winter, weekday=2, hour=14)])
    saturday = datetime(2026, 3, 28, 12, tzinfo=UTC)

    at = besttime.next_best(channel=channel, tz="Europe/Paris", after=saturday, top=1)

    # Sunday 29 March has no 02:00 in Paris; the Sunday after, 02:00 summer time is midnight UTC.
    assert at == datetime(2026, 4, 5, 0, tzinfo=UTC)
    assert at.astimezone(PARIS).hour == 2


def test_next_best_without_any_history_is_none(channel: Channel) -> None:
    assert (
        besttime.next_best(channel=channel, tz="Europe/Paris", after=datetime(2026, 6, 1, tzinfo=UTC)) is None
    )
