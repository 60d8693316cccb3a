"""Spike and crisis alerts: replayed hourly series with injected spikes, and the detector's edge cases.

The replay simulates a topic's hourly mentions for 12 weeks at three sizes (5, 30 and 200 mentions an
hour on average), three fixed seeds each:

- the rate of an hour is the size times a daily profile in UTC (a night low near 03:00 at about an eighth
  of the mean, an evening peak at 1.6 times it) times a weekday profile (weekends at three quarters of
  weekdays) times a factor per day (log-normal, sigma 0.08: news days and quiet days);
- the count of an hour is Poisson of that rate times a gamma factor of mean 1 and sd 0.14, so counts are
  noisier than Poisson, as social streams are (six times the Poisson variance at 200 an hour);
- the first 4 weeks are normal traffic only; in the last 8 weeks a spike starts every 60 to 108 hours
  (about two a week), its shape taken in turn from:
  sudden1, sudden2, sudden3  x3 to x6 the hour's normal volume for 1, 2 or 3 hours;
  ramp2                      climbs to x4-x6 over 2 hours (half the rise, then all of it), holds 1 hour;
  ramp3                      climbs to x4-x6 over 3 hours (a third, two thirds, all of the rise);
  night                      x3 to x6 for 2 hours starting between 00:00 and 04:00 UTC, the daily low;
  each spike hour adds its share of the rise, and at least that share of 25 mentions (2.5 times the
  minimum volume): a burst of a few mentions at night is not what the alerts are for.

The product's periodic job judges every new complete hour, passing the hour and ratio of the topic's last
alert for the cooldown; the replay does the same over the whole series with `scan`, which
`test_scan_is_detect_hour_by_hour` shows is `detect` called hour by hour that way. A spike is detected in
time when an alert's window ends by the end of the spike's second hour; an alert outside every spike
(from its start to its end plus the cooldown) is a false alarm, counted over all 12 weeks from the
topic's second day.

For crises, each normal mention is negative with probability 0.15 and each mention a spike adds with
probability 0.6, so the negative share jumps from about 15% to about 50% during a spike.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.listening.evidence import explain
from townhall.listening.spikes import (
    HOUR,
    Spike,
    SpikeSettings,
    detect,
    detect_negative,
    expected_for,
    needed_history,
    scan,
    scan_negative,
)
from townhall.listening.trends import MentionRecord

START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
WEEKS = 12
WARM_UP_WEEKS = 4
HOURS = WEEKS * 168
SIZES = (5, 30, 200)
SEEDS = (0, 1, 2)
DEFAULTS = SpikeSettings()

_DAILY = [0.25, 0.18, 0.14, 0.12, 0.12, 0.16, 0.3, 0.55, 0.85, 1.1, 1.25, 1.35]
_DAILY += [1.45, 1.4, 1.35, 1.3, 1.3, 1.35, 1.45, 1.55, 1.6, 1.4, 0.95, 0.5]
DAILY = [d * 24 / sum(_DAILY) for d in _DAILY]
_WEEKLY = [1.05, 1.1, 1.1, 1.05, 1.0, 0.8, 0.75]
WEEKLY = [w * 7 / sum(_WEEKLY) for w in _WEEKLY]
SHAPES = {
    "sudden1": (1.0,),
    "sudden2": (1.0, 1.0),
    "sudden3": (1.0, 1.0, 1.0),
    "ramp2": (0.5, 1.0, 1.0),
    "ramp3": (1 / 3, 2 / 3, 1.0),
    "night": (1.0, 1.0),
}
MIN_RISE = 25.0


def poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw (Knuth's method, in slices of 50 so that exp(-rate) stays representable)."""
    count = 0
    while rate > 0:
        part = min(rate, 50.0)
        rate -= part
        limit, product = math.exp(-part), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


@dataclass(frozen=True)
class Injected:
    start: int  # hour index from START
    hours: int
    shape: str
    multiplier: float


@dataclass(frozen=True)
class Replayed:
    total: dict[datetime, int]
    negative: dict[datetime, int]
    spikes: tuple[Injected, ...]


@cache
def simulate(size: int, seed: int) -> Replayed:
    """A topic's hourly mentions over WEEKS weeks with spikes injected, as the module docstring says."""
    rng = random.Random(seed * 1000 + size)
    rate = []
    for i in range(HOURS):
        hour = START + i * HOUR
        if hour.hour == 0:
            day = math.exp(rng.gauss(0, 0.08))
        rate.append(size * DAILY[hour.hour] * WEEKLY[hour.weekday()] * day)
    extra = [0.0] * HOURS
    spikes = []
    shapes = list(SHAPES)
    t = WARM_UP_WEEKS * 168 + rng.randrange(24, 72)
    while t < HOURS - 24:
        shape = shapes[len(spikes) % len(shapes)]
        if shape == "night":
            t = t - t % 24 + 24 + rng.randrange(0, 5)
        multiplier = rng.uniform(4, 6) if shape.startswith("ramp") else rng.uniform(3, 6)
        for k, share in enumerate(SHAPES[shape]):
            extra[t + k] += share * max((multiplier - 1) * rate[t + k], MIN_RISE)
        spikes.append(Injected(t, len(SHAPES[shape]), shape, multiplier))
        t += rng.randrange(60, 108)
    total, negative = {}, {}
    for i in range(HOURS):
        normal = poisson(rng, rate[i] * rng.gammavariate(50, 1 / 50))
        added = poisson(rng, extra[i])
        total[START + i * HOUR] = normal + added
        negatives = sum(rng.random() < 0.15 for _ in range(normal))
        negative[START + i * HOUR] = negatives + sum(rng.random() < 0.6 for _ in range(added))
    return Replayed(total, negative, tuple(spikes))


@dataclass
class Outcome:
    injected: int
    delays: list[int]  # hours from a spike's start to the end of the first alert window catching it
    missed: list[Injected]
    false_alarms: list[int]  # hour indexes of the alerts' last hours
    weeks: float


def judge(found: list[Spike], spikes: tuple[Injected, ...]) -> Outcome:
    alerts = [(s.window_end - START) // HOUR - 1 for s in found]  # the index of each alert's last hour
    delays, missed = [], []
    for spike in spikes:
        caught = [a for a in alerts if spike.start <= a < spike.start + spike.hours + DEFAULTS.cooldown_hours]
        if caught and caught[0] <= spike.start + 1:
            delays.append(caught[0] - spike.start + 1)
        else:
            missed.append(spike)
    false_alarms = [
        a
        for a in alerts
        if not any(s.start <= a < s.start + s.hours + DEFAULTS.cooldown_hours for s in spikes)
    ]
    return Outcome(len(spikes), delays, missed, false_alarms, (HOURS - 24) / 168)


def replay_volume(size: int, seed: int) -> Outcome:
    replayed = simulate(size, seed)
    found = scan(replayed.total, START + 24 * HOUR, START + (HOURS - 1) * HOUR, since=START)
    return judge(found, replayed.spikes)


def replay_negative(size: int, seed: int) -> Outcome:
    replayed = simulate(size, seed)
    first, last = START + 24 * HOUR, START + (HOURS - 1) * HOUR
    found = scan_negative(replayed.total, replayed.negative, first, last, since=START)
    return judge(found, replayed.spikes)


@pytest.mark.parametrize("size", SIZES)
def test_replay_detects_every_injected_volume_spike_within_two_hours(size: int) -> None:
    outcomes = [replay_volume(size, seed) for seed in SEEDS]
    missed = [m for o in outcomes for m in o.missed]
    assert not missed, f"missed at {size}/h: {missed}"
    assert all(d <= 2 for o in outcomes for d in o.delays)
    alarms = sum(len(o.false_alarms) for o in outcomes)
    weeks = sum(o.weeks for o in outcomes)
    assert alarms <= weeks, f"{alarms} false alarms in {weeks:.0f} weeks at {size}/h"
    assert alarms <= weeks / 4  # the margin measured: about one false alarm in ten weeks


@pytest.mark.parametrize("size", SIZES)
def test_replay_detects_every_injected_crisis_within_two_hours(size: int) -> None:
    outcomes = [replay_negative(size, seed) for seed in SEEDS]
    missed = [m for o in outcomes for m in o.missed]
    assert not missed, f"missed at {size}/h: {missed}"
    alarms = sum(len(o.false_alarms) for o in outcomes)
    assert alarms <= sum(o.weeks for o in outcomes) / 4


def quiet_hour(replayed: Replayed, near: int) -> int:
    """The first hour from `near` on with no injected spike within two days."""
    hour = near
    while any(abs(s.start - hour) < 48 for s in replayed.spikes):
        hour += 1
    return hour


def test_a_spike_of_ordinary_mentions_is_no_crisis() -> None:
    replayed = simulate(30, 0)
    at = START + quiet_hour(replayed, 9 * 168 + 14) * HOUR
    total = dict(replayed.total)
    negative = dict(replayed.negative)
    # five times the volume, with the usual share of negatives (a post gone viral for good reasons)
    total[at] = 5 * total[at]
    negative[at] = round(0.15 * total[at])
    assert detect(total, at, since=START) is not None
    assert detect_negative(total, negative, at, since=START) is None
    # the same hour with half of it negative is a crisis
    negative[at] = total[at] // 2
    crisis = detect_negative(total, negative, at, since=START)
    assert crisis is not None and crisis.kind == "negative"
    assert crisis.share is not None and crisis.baseline_share is not None
    assert crisis.share - crisis.baseline_share >= DEFAULTS.negative_share_shift
    assert 0.1 < crisis.baseline_share < 0.2


def test_scan_is_detect_hour_by_hour() -> None:
    """The job's loop: judge each hour, remember the hour and ratio of the last alert."""
    replayed = simulate(30, 1)
    first = START + (WARM_UP_WEEKS * 168 + 20) * HOUR  # the first spike comes 24 to 72 hours in
    hours = [first + i * HOUR for i in range(4 * 24)]
    last_at: datetime | None = None
    last_ratio: float | None = None
    one_by_one = []
    for hour in hours:
        spike = detect(replayed.total, hour, since=START, last_alert_at=last_at, last_alert_ratio=last_ratio)
        if spike is not None:
            one_by_one.append(spike)
            last_at, last_ratio = hour, spike.ratio
    assert one_by_one, "the stretch should hold a spike"
    assert scan(replayed.total, hours[0], hours[-1], since=START) == one_by_one


def test_the_series_is_read_only_back_to_the_needed_history() -> None:
    replayed = simulate(200, 2)
    at = START + (10 * 168 + 40) * HOUR
    trimmed = {hour: n for hour, n in replayed.total.items() if at - needed_history() <= hour <= at}
    assert expected_for(trimmed, at, since=START) == expected_for(replayed.total, at, since=START)
    assert detect(trimmed, at, since=START) == detect(replayed.total, at, since=START)


def test_detect_reads_no_hour_after_the_one_judged() -> None:
    replayed = simulate(5, 0)
    at = START + replayed.spikes[0].start * HOUR
    past = {hour: n for hour, n in replayed.total.items() if hour <= at}
    spike = detect(replayed.total, at, since=START)
    assert spike is not None and spike == detect(past, at, since=START)


def flat(hours: int, count: float = 20.0, start: datetime = START) -> dict[datetime, float]:
    return {start + i * HOUR: count for i in range(hours)}


def test_an_empty_series_is_never_a_spike() -> None:
    assert detect({}, START) is None
    assert detect_negative({}, {}, START) is None
    assert scan({}, START, START + 48 * HOUR) == []
    expectation = expected_for({}, START)
    assert not expectation.ready and expectation.basis == "none"


def test_a_new_topic_is_judged_after_a_day_of_history() -> None:
    series = flat(23, 5.0)
    series[START + 23 * HOUR] = 500
    assert detect(series, START + 23 * HOUR) is None
    assert not expected_for(series, START + 23 * HOUR).ready

    series = flat(24, 5.0)
    series[START + 24 * HOUR] = 500
    spike = detect(series, START + 24 * HOUR)
    assert spike is not None and spike.expected == 5.0 and spike.observed == 500
    assert expected_for(series, START + 24 * HOUR).basis == "hour_of_day"
    # a quiet topic's missing hours count as zero mentions
    sparse = {START: 1.0, START + 30 * HOUR: 40.0}
    assert detect(sparse, START + 30 * HOUR) is not None


def test_the_baseline_is_the_same_hour_of_the_week_once_there_are_two_weeks() -> None:
    series = flat(3 * 168, 10.0)
    for week in range(3):
        series[START + (week * 168 + 50) * HOUR] = 100.0  # a weekly show, same hour every week
    at = START + (3 * 168 + 50) * HOUR
    series[at] = 100.0
    expectation = expected_for(series, at)
    assert expectation.basis == "hour_of_week" and expectation.samples == 3
    assert expectation.expected == 100.0
    assert detect(series, at) is None


def test_the_cooldown_holds_back_a_second_alert_unless_it_is_twice_as_far_above_normal() -> None:
    series = flat(4 * 168, 20.0)
    first = START + (3 * 168 + 10) * HOUR
    series[first] = 100.0
    series[first + 3 * HOUR] = 100.0
    series[first + 4 * HOUR] = 250.0
    series[first + 7 * HOUR] = 100.0
    found = scan(series, first - 5 * HOUR, first + 10 * HOUR)
    # five times the normal 20, again 3 hours later: held back; then 12.5 times: alerts, and raises the bar
    assert [((s.window_end - first) // HOUR, s.ratio) for s in found] == [(1, 5.0), (5, 12.5)]
    after = {"last_alert_at": first}
    assert detect(series, first + 3 * HOUR, **after) is None
    assert detect(series, first + 3 * HOUR, **after, last_alert_ratio=5.0) is None
    assert detect(series, first + 4 * HOUR, **after, last_alert_ratio=5.0) is not None
    assert detect(series, first + 7 * HOUR, **after) is not None  # 7 hours after: the cooldown is over
    assert detect(series, first + 7 * HOUR, SpikeSettings(cooldown_hours=12), **after) is None


def test_a_spike_needs_the_minimum_volume_and_ratio() -> None:
    quiet = flat(2 * 168, 0.0)
    at = START + 2 * 168 * HOUR
    assert detect({**quiet, at: 9.0}, at) is None
    assert detect({**quiet, at: 10.0}, at) is not None
    assert detect({**quiet, at: 9.0}, at, SpikeSettings(min_volume=5)) is not None

    busy = flat(2 * 168, 1000.0)
    # 30% more on a steady 1,000 an hour is far outside Poisson noise, but not a spike
    assert detect({**busy, at: 1300.0}, at) is None
    assert detect({**busy, at: 1300.0}, at, SpikeSettings(min_ratio=1.2)) is not None
    assert detect({**busy, at: 1600.0}, at) is not None


def test_hours_are_utc_whatever_the_keys_time_zone() -> None:
    """A series keyed in Paris time across the spring DST change reads exactly as the same series in UTC."""
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2024, 3, 3, tzinfo=UTC)  # four weeks before 31 March, when Paris moves to UTC+2
    rng = random.Random(7)
    daily = [20 + 15 * math.sin(h * math.pi / 12) for h in range(24)]
    utc = {start + i * HOUR: float(poisson(rng, daily[i % 24])) for i in range(5 * 168)}
    at = datetime(2024, 3, 31, 2, tzinfo=UTC)
    utc[at] = 200.0
    local = {hour.astimezone(paris): n for hour, n in utc.items()}
    assert scan(local, at - 48 * HOUR, at + 48 * HOUR) == scan(utc, at - 48 * HOUR, at + 48 * HOUR)
    assert detect(local, at.astimezone(paris)) == detect(utc, at)
    assert detect(utc, at) is not None
    with pytest.raises(ValueError, match="timezone-aware"):
        detect(utc, datetime(2024, 3, 31, 2))
    with pytest.raises(ValueError, match="timezone-aware"):
        detect({datetime(2024, 3, 31, 2): 1.0}, at, since=start)


def test_a_lasting_rise_becomes_the_new_normal_within_three_days() -> None:
    rng = random.Random(3)
    series = {START + i * HOUR: float(poisson(rng, 40 * DAILY[i % 24])) for i in range(8 * 168)}
    step = 5 * 168 + 8
    for i in range(step, 8 * 168):
        series[START + i * HOUR] = float(poisson(rng, 100 * DAILY[i % 24]))
    found = scan(series, START + (step - 24) * HOUR, START + (8 * 168 - 1) * HOUR)
    assert found, "the rise itself is news"
    assert all(s.window_end <= START + (step + 72) * HOUR for s in found)


def test_settings_from_a_topics_overrides() -> None:
    assert SpikeSettings.from_overrides({}) == SpikeSettings()
    custom = SpikeSettings.from_overrides({"z_threshold": 4, "cooldown_hours": 12.0})
    assert custom.z_threshold == 4.0 and custom.cooldown_hours == 12
    with pytest.raises(ValueError, match="unknown alert setting 'threshold'"):
        SpikeSettings.from_overrides({"threshold": 4})
    for wrong in ("10", None, True, math.nan):
        with pytest.raises(ValueError, match="must be a number"):
            SpikeSettings.from_overrides({"min_volume": wrong})
    with pytest.raises(ValueError, match="whole number"):
        SpikeSettings.from_overrides({"cooldown_hours": 1.5})
    with pytest.raises(ValueError, match=r"min_ratio must be at least 1\.0"):
        SpikeSettings(min_ratio=0.5)
    with pytest.raises(ValueError, match="at most 1"):
        SpikeSettings(negative_share_shift=1.5)


def mention(
    item: int, author: str, text: str, sentiment: str, reach: int = 100, engagement: int = 0
) -> MentionRecord:
    return MentionRecord(
        item, author, text, START + item * timedelta(minutes=1), reach, engagement, sentiment
    )


def test_explain_names_what_drove_the_spike() -> None:
    before = [
        mention(
            i, f"user{i % 40}", f"acme coffee is nice, order number {i}", "positive" if i % 3 else "neutral"
        )
        for i in range(200)
    ]
    during = [
        mention(1000 + i, f"fan{i}", f"acme app outage again, checkout broken #acmedown {i}", "negative")
        for i in range(60)
    ]
    during += [
        mention(2000 + i, "bigpress", "Acme app outage: what we know", "neutral", 90_000, 400)
        for i in range(3)
    ]
    during += [mention(3000 + i, f"fan{i}", "acme coffee is nice", "positive") for i in range(10)]
    spike = Spike("volume", START, START + HOUR, 73.0, 15.0, 9.1, 4.87)
    explanation = explain(spike, during, before, exclude={"acme"})

    assert json.loads(json.dumps(explanation)) == explanation
    assert explanation["observed"] == 73.0 and explanation["expected"] == 15.0
    terms = [t["term"] for t in explanation["terms"]]
    assert terms[0] == "app outage" and "#acmedown" in terms
    assert "acme" not in terms and "outage" not in terms  # the query term; the pair says it better
    assert explanation["authors"][0] == {"author": "bigpress", "mentions": 3, "reach": 90_000}
    assert explanation["posts"][0]["item_id"] == 2000
    assert explanation["posts"][0]["created_at"].endswith("+00:00")
    sentiment = explanation["sentiment"]
    assert sentiment["before"]["negative"] == 0.0 and sentiment["during"]["negative"] == round(60 / 73, 3)
    assert sentiment["negative_shift"] == round(60 / 73, 3)
    assert sum(sentiment["during"][label] for label in ("positive", "neutral", "negative", "unknown")) == (
        pytest.approx(1.0, abs=0.01)
    )


def test_explain_with_no_baseline_mentions_still_answers() -> None:
    spike = Spike("negative", START, START + 2 * HOUR, 12.0, 2.0, 5.0, 6.0, 0.8, 0.1)
    explanation = explain(spike, [mention(1, "a", "refund please", "negative")], [])
    assert explanation["terms"] == [] and explanation["sentiment"]["negative_shift"] is None
    assert explanation["share"] == 0.8 and explanation["baseline_share"] == 0.1


counts = st.one_of(st.integers(0, 50), st.integers(0, 5000), st.floats(0, 1e6, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(counts, max_size=600),
    offset=st.integers(0, 700),
    last=st.one_of(st.none(), st.integers(0, 700)),
)
def test_detect_never_raises_and_every_spike_is_above_what_was_expected(
    values: list[float], offset: int, last: int | None
) -> None:
    series = {START + i * HOUR: v for i, v in enumerate(values)}
    at = START + offset * HOUR
    last_at = None if last is None else START + last * HOUR
    spike = detect(series, at, last_alert_at=last_at, last_alert_ratio=10.0)
    if spike is not None:
        assert spike.observed > spike.expected
        assert spike.z >= DEFAULTS.z_threshold and spike.ratio >= DEFAULTS.min_ratio
        assert spike.observed >= DEFAULTS.min_volume and spike.window_end == at + HOUR
        assert all(math.isfinite(v) for v in (spike.observed, spike.expected, spike.z, spike.ratio))
    negatives = {hour: v / 2 for hour, v in series.items()}
    crisis = detect_negative(series, negatives, at)
    assert crisis is None or crisis.observed > crisis.expected
    expectation = expected_for(series, at)
    assert math.isfinite(expectation.expected) and expectation.scale >= 1.0


@settings(max_examples=30, deadline=None)
@given(level=st.floats(0, 10_000, allow_nan=False), weeks=st.integers(1, 5), offset=st.integers(0, 167))
def test_a_steady_series_never_alerts(level: float, weeks: int, offset: int) -> None:
    series = flat(weeks * 168 + offset, level)
    assert scan(series, START + 24 * HOUR, START + (weeks * 168 + offset) * HOUR) == []
