"""Business hours and the SLA clock: when a workspace is open, and how much open time two instants hold."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from townhall.core.errors import Invalid

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = time(0, 0)
MAX_CLOSED_DAYS = 366
_ONE_DAY = timedelta(days=1)
_CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Schedule:
    """When a workspace is open: intervals per weekday (0 is Monday) in its time zone, less holidays.

    An interval is [start, end) in local wall-clock time, to the minute; an end of 00:00 means the end of
    the day (written "24:00" in JSON), so (00:00, 00:00) is the whole day. Intervals stay within their day:
    a night shift is the end of one day and the start of the next, which touch and run on as one stretch.
    """

    timezone: str
    weekly: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def always(cls) -> Schedule:
        """Open around the clock, every day, in UTC."""
        return cls("UTC", {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)})


def parse_schedule(timezone: Any, weekly: Any, holidays: Any) -> Schedule:
    """The schedule described by settings JSON (``{"mon": [["09:00", "17:00"]], ...}``), or Invalid.

    Error fields are named as the settings store them: ``timezone``, ``business_hours.mon[0]``,
    ``holidays[2]``.
    """
    if not isinstance(timezone, str) or not _zone_exists(timezone):
        raise Invalid(
            f"unknown time zone {timezone!r}; use an IANA name such as Europe/Paris", field="timezone"
        )
    if not isinstance(weekly, Mapping):
        raise Invalid(
            'business hours must be an object such as {"mon": [["09:00", "17:00"]]}', field="business_hours"
        )
    days: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for key, intervals in weekly.items():
        if key not in DAYS:
            raise Invalid(f"day must be one of {', '.join(DAYS)}, got {key!r}", field=f"business_hours.{key}")
        days[DAYS.index(key)] = _parse_day(intervals, f"business_hours.{key}")
    if not any(days.values()):
        raise Invalid("business hours need at least one open interval", field="business_hours")
    if not isinstance(holidays, list):
        raise Invalid('holidays must be a list of dates such as "2026-12-25"', field="holidays")
    closed: set[date] = set()
    for i, holiday in enumerate(holidays):
        try:
            if not isinstance(holiday, str) or not _ISO_DATE.fullmatch(holiday):
                raise ValueError
            closed.add(date.fromisoformat(holiday))
        except ValueError:
            raise Invalid(
                f'a holiday is a date such as "2026-12-25", got {holiday!r}', field=f"holidays[{i}]"
            ) from None
    return Schedule(timezone, days, frozenset(closed))


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _parse_day(intervals: Any, path: str) -> list[tuple[time, time]]:
    if not isinstance(intervals, list):
        raise Invalid('a day takes a list of intervals such as [["09:00", "17:00"]]', field=path)
    parsed: list[tuple[int, int, int]] = []  # start and end in minutes of the day, and the index
    for i, interval in enumerate(intervals):
        if not (
            isinstance(interval, list)
            and len(interval) == 2
            and all(isinstance(clock, str) and _CLOCK.fullmatch(clock) for clock in interval)
        ):
            raise Invalid(f'an interval is ["HH:MM", "HH:MM"], got {interval!r}', field=f"{path}[{i}]")
        start, end = (int(clock[:2]) * 60 + int(clock[3:]) for clock in interval)
        if end <= start:
            raise Invalid(
                f"{interval[0]}-{interval[1]} ends before it starts (24:00 is the end of the day)",
                field=f"{path}[{i}]",
            )
        parsed.append((start, end, i))
    parsed.sort()
    for (_, end, _), (start, _, i) in itertools.pairwise(parsed):
        if start < end:
            raise Invalid(
                f"{intervals[i][0]}-{intervals[i][1]} overlaps another interval", field=f"{path}[{i}]"
            )
    return [(_clock(start), _clock(end)) for start, end, _ in parsed]


def _clock(minutes: int) -> time:
    return MIDNIGHT if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """The schedule as parse_schedule's keyword arguments: ``parse_schedule(**schedule_to_json(s)) == s``."""
    weekly = {
        DAYS[day]: [
            [f"{start:%H:%M}", "24:00" if end == MIDNIGHT else f"{end:%H:%M}"] for start, end in intervals
        ]
        for day, intervals in sorted(schedule.weekly.items())
        if intervals
    }
    holidays = [holiday.isoformat() for holiday in sorted(schedule.holidays)]
    return {"timezone": schedule.timezone, "weekly": weekly, "holidays": holidays}


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the workspace is open at this instant."""
    moment = _utc(at)
    zone = ZoneInfo(schedule.timezone)
    day = moment.astimezone(zone).date()
    # Neighbouring days too: where clocks go back at midnight, a repeated hour belongs to the next day's
    # intervals, and a time zone's days are not all 24 hours.
    return any(
        opens <= moment < closes
        for when in (day - _ONE_DAY, day, day + _ONE_DAY)
        for opens, closes in _periods(schedule, zone, when)
    )


def next_opening(schedule: Schedule, at: datetime) -> datetime:
    """The first instant at or after `at` when the workspace is open (`at` itself when open then)."""
    since = _utc(at)
    for opens, _ in _open_periods(schedule, since):
        return max(opens, since)
    raise AssertionError("open periods never run out")


def add_business_minutes(schedule: Schedule, start: datetime, minutes: float) -> datetime:
    """The UTC instant when this much open time has passed since start (counted from the next opening).

    The answer lies inside an open period or at its end: 60 minutes from 16:00 on a 9-17 day is 17:00 that
    day, not 09:00 the next.
    """
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")
    since = _utc(start)
    left = timedelta(minutes=minutes)
    for opens, closes in _open_periods(schedule, since):
        begin = max(opens, since)
        if left <= closes - begin:
            return begin + left
        left -= closes - begin
    raise AssertionError("open periods never run out")


def business_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Open minutes from start to end; 0 when end is not after start."""
    since, until = _utc(start), _utc(end)
    total = timedelta()
    if until <= since:
        return 0.0
    for opens, closes in _open_periods(schedule, since, until=until):
        if opens >= until:
            break
        total += min(closes, until) - max(opens, since)
    return total / timedelta(minutes=1)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no time zone; business hours need aware datetimes")
    return value.astimezone(UTC)


def _open_periods(
    schedule: Schedule, since: datetime, *, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """The open periods, in UTC and in order, that end after `since`: through `until`'s day, or forever.

    Whole closed days cost one look each; a schedule closed for more than MAX_CLOSED_DAYS days in a row
    raises ValueError rather than searching for an opening that will never come.
    """
    zone = ZoneInfo(schedule.timezone)
    # A day early: one more look, and safe wherever a clock change moves midnight.
    day = since.astimezone(zone).date() - _ONE_DAY
    last = None if until is None else until.astimezone(zone).date() + _ONE_DAY
    closed_run = 0
    while last is None or day <= last:
        periods = _periods(schedule, zone, day)
        closed_run = 0 if periods else closed_run + 1
        if closed_run > MAX_CLOSED_DAYS:
            first = day - (closed_run - 1) * _ONE_DAY
            raise ValueError(
                f"no business hours for {closed_run} days in a row from {first}: holidays too long?"
            )
        for opens, closes in periods:
            if closes > since:
                yield opens, closes
        day += _ONE_DAY


def _periods(schedule: Schedule, zone: ZoneInfo, day: date) -> list[tuple[datetime, datetime]]:
    """The day's open intervals as UTC instants, without those a clock change made empty."""
    if day in schedule.holidays:
        return []
    periods = []
    for start, end in sorted(schedule.weekly.get(day.weekday(), [])):
        opens = _instant(day, start, zone)
        closes = _instant(day + _ONE_DAY, MIDNIGHT, zone) if end == MIDNIGHT else _instant(day, end, zone)
        if opens < closes:
            periods.append((opens, closes))
    return periods


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant that a local wall-clock time on a day stands for.

    A time that happens twice as clocks go back is its first occurrence (fold=0). A time that never happens
    as clocks go forward is the moment of the jump: mapping it with either offset would let a later wall
    time fall before an earlier one, and an interval such as 02:30-03:00 end before it starts.
    """
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    wall = local.replace(tzinfo=None)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # The jump lies between the two readings of the skipped time; find its second by bisection.
    earliest = local.replace(fold=1).astimezone(UTC)
    low, high = 0, int((instant - earliest).total_seconds())
    while low < high:
        middle = (low + high) // 2
        if (earliest + timedelta(seconds=middle)).astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle + 1
    return earliest + timedelta(seconds=low)
