"""Spike and crisis alerts: a topic's expected hourly volume, and whether its latest hours depart from it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import numpy as np

HourlySeries = Mapping[datetime, float]
"""Mentions per hour, keyed by the hour's start (timezone-aware); an hour that is missing counts 0."""

HOUR = timedelta(hours=1)
MAD_TO_SD = 1.4826  # the MAD of normal data times this is its standard deviation
CLIP = 3.0  # residuals further than this many deviations from the median are outliers
CLIPPED_SD = 0.9865  # the standard deviation of a normal variable cut at ±3
# The variance of the median of n normal values of variance 1; about π/2n for larger n.
MEDIAN_VARIANCE = {1: 1.0, 2: 0.5, 3: 0.449, 4: 0.298, 5: 0.287, 6: 0.215, 7: 0.210}
WINDOWS = (1, 2)  # hours summed before judging: one hour for sudden spikes, two for ramps
RESIDUAL_HOURS = 168  # the noise is fitted on the last week
FIT_MIN_EXPECTED = 10.0  # windows expected below this are Poisson whatever the relative noise: not fitted on
MIN_RESIDUALS = 48  # fewer windows than this to fit on: a quiet topic is Poisson, a new one PRIOR_NOISE
PRIOR_NOISE = 0.3  # relative noise assumed for a new topic: a prudent figure for social streams
MAX_NOISE = 4.0  # relative noise beyond this leaves nothing to detect
LEVEL_HOURS = 72  # the expectation follows a rise that holds for more than half of this many hours
LEVEL_MIN_RISE = 1.25  # smaller rises are the day-to-day drift the noise fit already allows for

Basis = Literal["hour_of_week", "hour_of_day", "none"]
Kind = Literal["volume", "negative"]


@dataclass(frozen=True)
class SpikeSettings:
    """The detector's settings; docs/listening-alerts.md says what each does and why its default."""

    z_threshold: float = 3.25
    min_volume: int = 10
    min_ratio: float = 1.5
    baseline_weeks: int = 4
    cooldown_hours: int = 6
    escalation: float = 2.0
    min_history_hours: int = 24
    negative_min_volume: int = 5
    negative_share_shift: float = 0.15

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be at least {low}" for name, low in _LEAST.items() if getattr(self, name) < low
        ]
        if self.negative_share_shift > 1:
            problems.append("negative_share_shift is a share, at most 1")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any]) -> SpikeSettings:
        """The defaults with a topic's `alert_settings` overrides; ValueError names a wrong key or value."""
        kinds = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if name not in kinds:
                raise ValueError(f"unknown alert setting {name!r}; known: {', '.join(kinds)}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"alert setting {name!r} must be a number, got {value!r}")
            if kinds[name] == "int" and value != int(value):
                raise ValueError(f"alert setting {name!r} must be a whole number, got {value!r}")
            values[name] = int(value) if kinds[name] == "int" else float(value)
        return cls(**values)


_LEAST = {
    "z_threshold": 0.5,
    "min_volume": 0,
    "min_ratio": 1.0,
    "baseline_weeks": 1,
    "cooldown_hours": 0,
    "escalation": 1.0,
    "min_history_hours": 24,  # the first baseline is the same hour the day before
    "negative_min_volume": 0,
    "negative_share_shift": 0.0,
}
DEFAULT_SETTINGS = SpikeSettings()


@dataclass(frozen=True)
class Expectation:
    """What an hour should hold: the expected count, the noise around it, and what it was drawn from."""

    hour: datetime
    expected: float
    scale: float  # one standard deviation of the count around `expected`
    basis: Basis
    history_hours: int
    samples: int = 0  # how many past hours the median was taken over
    level: float = 1.0  # how far above their baseline the last days ran; scales `expected`
    noise: float = 0.0  # relative noise on top of Poisson, fitted on the last week

    @property
    def ready(self) -> bool:
        """Whether the topic has enough history for this hour to be judged."""
        return self.basis != "none"


@dataclass(frozen=True)
class Spike:
    """An hour (or two) far above what was expected; `share` fields only on negative spikes."""

    kind: Kind
    window_start: datetime
    window_end: datetime  # exclusive: the start of the hour after the last one counted
    observed: float
    expected: float
    z: float
    ratio: float
    share: float | None = None
    baseline_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The spike as JSON-ready values, times in ISO 8601 UTC."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "observed": self.observed,
            "expected": round(self.expected, 2),
            "z": round(self.z, 2),
            "ratio": round(self.ratio, 2),
        }
        if self.share is not None and self.baseline_share is not None:
            out["share"] = round(self.share, 3)
            out["baseline_share"] = round(self.baseline_share, 3)
        return out


def needed_history(settings: SpikeSettings = DEFAULT_SETTINGS) -> timedelta:
    """How far before the first hour to judge the series must reach; older hours are never read."""
    # back to the judged day's start, a week of residuals, the hours that set their level, their baselines
    return (26 + RESIDUAL_HOURS + LEVEL_HOURS + settings.baseline_weeks * 168) * HOUR


def _utc_hour(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"hour {moment!r} must be timezone-aware")
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _variance(expected: float, n: int, noise: float) -> float:
    """Poisson variance plus relative noise, widened by the uncertainty of a median of n hours; at least 1."""
    return max((1 + _median_variance(n)) * (expected + (noise * expected) ** 2), 1.0)


def _median_variance(n: int) -> float:
    return MEDIAN_VARIANCE.get(n, math.pi / (2 * n))


def _stabilised(count: float, noise: float) -> float:
    """A count on a scale where its noise is about 1 at any size: Anscombe's root, turning into a log."""
    root = math.sqrt(max(count, 0.0) + 0.375)
    return 2 * root if noise <= 0 else 2 / noise * math.asinh(noise * root)


def _z(observed: float, expected: float, n: int, noise: float) -> float:
    """How many standard deviations `observed` lies above `expected`, a median of n past hours."""
    spread = math.sqrt(1 + _median_variance(n))
    return (_stabilised(observed, noise) - _stabilised(expected, noise)) / spread


def _sorted_median(values: np.ndarray) -> float:
    """The median of an array; np.median costs more than the sort itself on a week of hours."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    return float(ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2)


def _clipped_spread(values: np.ndarray) -> float:
    """The standard deviation of the values within 3 robust deviations of their median, made consistent.

    Outliers (last week's spikes) are left out as with the MAD, but the spread of the rest is measured
    about twice as precisely.
    """
    middle = _sorted_median(values)
    deviations = np.abs(values - middle)
    limit = CLIP * MAD_TO_SD * _sorted_median(deviations)
    kept = deviations[deviations <= limit]
    if limit <= 0 or len(kept) == 0:
        return 0.0
    return float(np.sqrt(np.mean(kept**2))) / CLIPPED_SD


def _fit_noise(residuals: list[tuple[float, float, int]]) -> float:
    """The relative noise that gives the residuals' z a robust spread of 1; 0 when Poisson noise fits."""
    # _z over arrays: this runs a dozen times per day of series
    observed = np.sqrt(np.array([x for x, _, _ in residuals]) + 0.375)
    expected = np.sqrt(np.array([e for _, e, _ in residuals]) + 0.375)
    weight = 1 / np.sqrt(1 + np.array([_median_variance(n) for _, _, n in residuals]))

    def spread(noise: float) -> float:
        if noise <= 0:
            z = 2 * (observed - expected) * weight
        else:
            z = 2 / noise * (np.arcsinh(noise * observed) - np.arcsinh(noise * expected)) * weight
        return _clipped_spread(z)

    if spread(0.0) <= 1.0:
        return 0.0
    low, high = 0.0, 0.25
    while spread(high) > 1.0:
        if high >= MAX_NOISE:
            return MAX_NOISE
        low, high = high, high * 2
    for _ in range(8):
        middle = (low + high) / 2
        low, high = (middle, high) if spread(middle) > 1.0 else (low, middle)
    return high


class _Model:
    """A series as counts per hour since its first hour, with its baselines, level and noise cached."""

    def __init__(
        self,
        series: HourlySeries,
        since: datetime | None,
        settings: SpikeSettings,
        first: datetime,
        last: datetime,
    ) -> None:
        self.settings = settings
        self.counts: list[float] = []
        self.origin = _utc_hour(since if since is not None else min(series)) if series or since else None
        self._seasonal: dict[int, tuple[float, int, Basis] | None] = {}
        self._level: dict[int, float] = {}
        self._noise: dict[tuple[int, int], float] = {}
        self._windows: dict[tuple[int, int], tuple[float, float, int] | None] = {}
        self._prefix: list[float] | None = None
        if self.origin is None:
            return
        end = self.index(last) + 1
        start = self.index(first) - needed_history(settings) // HOUR
        self.counts = [0.0] * max(end, 0)
        for hour, count in series.items():
            if hour.tzinfo is None:
                raise ValueError(f"series hour {hour!r} must be timezone-aware")
            i = self.index(hour)
            if max(start, 0) <= i < end:
                self.counts[i] += float(count)

    def index(self, hour: datetime) -> int:
        assert self.origin is not None
        return (hour - self.origin) // HOUR

    def hour(self, i: int) -> datetime:
        assert self.origin is not None
        return self.origin + i * HOUR

    def day(self, i: int) -> int:
        """The index of the first hour of hour i's UTC day."""
        assert self.origin is not None
        return i - (self.origin.hour + i) % 24

    def count(self, i: int) -> float:
        return self.counts[i] if 0 <= i < len(self.counts) else 0.0

    def total(self, start: int, end: int) -> float:
        """The sum of the counts of hours start to end - 1."""
        if self._prefix is None:
            self._prefix = [0.0]
            for count in self.counts:
                self._prefix.append(self._prefix[-1] + count)
        clip = len(self.counts)
        start, end = min(max(start, 0), clip), min(max(end, 0), clip)
        return self._prefix[end] - self._prefix[start] if end > start else 0.0

    def seasonal(self, i: int) -> tuple[float, int, Basis] | None:
        """The median count at this hour of the week over the last weeks, or of the day over the last week."""
        if i in self._seasonal:
            return self._seasonal[i]
        found: tuple[float, int, Basis] | None = None
        if i >= self.settings.min_history_hours:
            weeks = [i - k * 168 for k in range(1, self.settings.baseline_weeks + 1) if i - k * 168 >= 0]
            if len(weeks) >= min(2, self.settings.baseline_weeks):
                found = (statistics.median(self.counts[j] for j in weeks), len(weeks), "hour_of_week")
            else:
                days = [i - d * 24 for d in range(1, 8) if i - d * 24 >= 0]
                found = (statistics.median(self.counts[j] for j in days), len(days), "hour_of_day")
        self._seasonal[i] = found
        return found

    def level(self, day: int) -> float:
        """How far above their baselines the last LEVEL_HOURS ran (the median hour's ratio), at least 1."""
        if day not in self._level:
            ratios = []
            for j in range(day - LEVEL_HOURS, day):
                found = self.seasonal(j)
                if found is not None:
                    ratios.append((self.count(j) + 1) / (found[0] + 1))
            enough = len(ratios) >= LEVEL_HOURS // 2
            level = statistics.median(ratios) if enough else 1.0
            self._level[day] = level if level >= LEVEL_MIN_RISE else 1.0
        return self._level[day]

    def expected(self, i: int) -> tuple[float, int, Basis] | None:
        found = self.seasonal(i)
        if found is None:
            return None
        value, n, basis = found
        return value * self.level(self.day(i)), n, basis

    def window(self, i: int, length: int) -> tuple[float, float, int] | None:
        """Observed and expected sums of the `length` hours ending with hour i, and their fewest samples."""
        key = (i, length)
        if key not in self._windows:
            found = [self.expected(j) for j in range(i - length + 1, i + 1)]
            window = None
            if all(f is not None for f in found):
                observed = sum(self.count(j) for j in range(i - length + 1, i + 1))
                expected = sum(f[0] for f in found if f is not None)
                window = (observed, expected, min(f[1] for f in found if f is not None))
            self._windows[key] = window
        return self._windows[key]

    def noise(self, i: int, length: int = 1) -> float:
        """The relative noise of `length`-hour sums, fitted on the week before hour i's day."""
        key = (self.day(i), length)
        if key not in self._noise:
            windows = [self.window(j, length) for j in range(key[0] - RESIDUAL_HOURS, key[0])]
            known = [w for w in windows if w is not None]
            fit = [w for w in known if w[1] >= FIT_MIN_EXPECTED]
            if len(fit) >= MIN_RESIDUALS:
                self._noise[key] = _fit_noise(fit)
            else:
                self._noise[key] = 0.0 if len(known) >= MIN_RESIDUALS else PRIOR_NOISE
        return self._noise[key]

    def expectation(self, i: int) -> Expectation:
        found = self.expected(i)
        if found is None:
            return Expectation(self.hour(i), 0.0, 1.0, "none", max(i, 0))
        expected, n, basis = found
        noise = self.noise(i)
        scale = math.sqrt(_variance(expected, n, noise))
        return Expectation(self.hour(i), expected, scale, basis, i, n, self.level(self.day(i)), noise)


def expected_for(
    series: HourlySeries,
    at: datetime,
    settings: SpikeSettings = DEFAULT_SETTINGS,
    *,
    since: datetime | None = None,
) -> Expectation:
    """The expected count of hour `at` and the noise around it, from the hours before it."""
    hour = _utc_hour(at)
    model = _Model(series, since, settings, hour, hour)
    if model.origin is None:
        return Expectation(hour, 0.0, 1.0, "none", 0)
    return model.expectation(model.index(hour))


def _spike(model: _Model, i: int, min_ratio: float, *, min_volume: float, kind: Kind) -> Spike | None:
    """The strongest of the windows ending with hour i that passes every test."""
    settings = model.settings
    best: Spike | None = None
    for length in WINDOWS:
        window = model.window(i, length)
        if window is None:
            break
        observed, expected, n = window
        z = _z(observed, expected, n, model.noise(i, length))
        ratio = observed / max(expected, 1.0)
        ratio_needed = max(settings.min_ratio, min_ratio)
        passes = z >= settings.z_threshold and ratio >= ratio_needed and observed >= min_volume
        if passes and (best is None or z > best.z):
            best = Spike(kind, model.hour(i - length + 1), model.hour(i + 1), observed, expected, z, ratio)
    return best


def _negative_spike(negative: _Model, total: _Model, i: int, min_ratio: float) -> Spike | None:
    settings = negative.settings
    spike = _spike(negative, i, min_ratio, min_volume=settings.negative_min_volume, kind="negative")
    if spike is None:
        return None
    start = negative.index(spike.window_start)
    window_total = total.total(start, i + 1)
    share = min(1.0, spike.observed / window_total) if window_total > 0 else 1.0
    base_start = start - settings.baseline_weeks * 168
    base_total = total.total(base_start, start)
    base_share = min(1.0, negative.total(base_start, start) / base_total) if base_total > 0 else 0.0
    if share - base_share < settings.negative_share_shift:
        return None
    return replace(spike, share=share, baseline_share=base_share)


def scan(
    series: HourlySeries,
    first: datetime,
    last: datetime,
    settings: SpikeSettings = DEFAULT_SETTINGS,
    *,
    since: datetime | None = None,
    last_alert_at: datetime | None = None,
    last_alert_ratio: float | None = None,
) -> list[Spike]:
    """The volume spikes of hours `first` to `last` (both included), judged one by one with the cooldown.

    The same as calling `detect` for each hour in turn, passing on the last spike found, with the work
    shared between hours.
    """
    first, last = _utc_hour(first), _utc_hour(last)
    model = _Model(series, since, settings, first, last)
    judge = partial(_spike, model, min_volume=settings.min_volume, kind="volume")
    return _scan(model, first, last, last_alert_at, last_alert_ratio, judge)


def scan_negative(
    total: HourlySeries,
    negative: HourlySeries,
    first: datetime,
    last: datetime,
    settings: SpikeSettings = DEFAULT_SETTINGS,
    *,
    since: datetime | None = None,
    last_alert_at: datetime | None = None,
    last_alert_ratio: float | None = None,
) -> list[Spike]:
    """The negative spikes of hours `first` to `last`, as `scan` finds volume spikes."""
    first, last = _utc_hour(first), _utc_hour(last)
    if since is None and total:
        since = min(total)
    totals = _Model(total, since, settings, first, last)
    negatives = _Model(negative, since, settings, first, last)
    judge = partial(_negative_spike, negatives, totals)
    return _scan(negatives, first, last, last_alert_at, last_alert_ratio, judge)


def _scan(
    model: _Model,
    first: datetime,
    last: datetime,
    last_alert_at: datetime | None,
    last_ratio: float | None,
    judge: Callable[[int, float], Spike | None],
) -> list[Spike]:
    """Judge hours first to last; within the cooldown after an alert only an escalation alerts again."""
    if model.origin is None:
        return []
    settings = model.settings
    previous = None if last_alert_at is None else model.index(_utc_hour(last_alert_at))
    found = []
    for i in range(model.index(first), model.index(last) + 1):
        cooling = previous is not None and i - previous < settings.cooldown_hours
        if cooling and last_ratio is None:
            continue
        spike = judge(i, settings.escalation * last_ratio if cooling and last_ratio is not None else 0.0)
        if spike is not None:
            found.append(spike)
            previous, last_ratio = i, spike.ratio
    return found


def detect(
    series: HourlySeries,
    at: datetime,
    settings: SpikeSettings = DEFAULT_SETTINGS,
    *,
    since: datetime | None = None,
    last_alert_at: datetime | None = None,
    last_alert_ratio: float | None = None,
) -> Spike | None:
    """A volume spike in the window ending with hour `at`, or None.

    `last_alert_at` is the hour whose judgement raised the topic's last volume alert (its `window_end`
    minus an hour) and `last_alert_ratio` its `ratio`: for `cooldown_hours` after it, only a spike
    `escalation` times as far above normal alerts.
    """
    found = scan(
        series,
        at,
        at,
        settings,
        since=since,
        last_alert_at=last_alert_at,
        last_alert_ratio=last_alert_ratio,
    )
    return found[0] if found else None


def detect_negative(
    total: HourlySeries,
    negative: HourlySeries,
    at: datetime,
    settings: SpikeSettings = DEFAULT_SETTINGS,
    *,
    since: datetime | None = None,
    last_alert_at: datetime | None = None,
    last_alert_ratio: float | None = None,
) -> Spike | None:
    """A crisis in the window ending with hour `at`: negative mentions spike and their share rises.

    `last_alert_at` and `last_alert_ratio` come from the topic's last negative alert, as for `detect`.
    """
    found = scan_negative(
        total,
        negative,
        at,
        at,
        settings,
        since=since,
        last_alert_at=last_alert_at,
        last_alert_ratio=last_alert_ratio,
    )
    return found[0] if found else None
