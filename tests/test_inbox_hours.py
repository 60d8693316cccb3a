"""Business hours: reading them from settings, and the SLA clock across nights, holidays and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from townhall.core.errors import Invalid
from townhall.inbox.hours import (
    DAYS,
    Schedule,
    add_business_minutes,
    business_minutes_between,
    is_open,
    next_opening,
    parse_schedule,
    schedule_to_json,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(
    tz: str = "Europe/Paris", holidays: tuple[str, ...] = (), days: tuple[str, ...] = WEEKDAYS
) -> Schedule:
    return parse_schedule(tz, {day: [["09:00", "17:00"]] for day in days}, list(holidays))


def at(tz: str, *fields: int) -> datetime:
    """A local wall-clock time (year, month, day, ...); fold 0, the first of a repeated hour."""
    year, month, day, hour, minute, second, micro = (*fields, 0, 0, 0, 0)[:7]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=ZoneInfo(tz))


def paris(*fields: int) -> datetime:
    return at("Europe/Paris", *fields)


def new_york(*fields: int) -> datetime:
    return at("America/New_York", *fields)


# A 9-to-5 week (2025-06-13 is a Friday, far from clock changes)


@pytest.mark.parametrize(
    ("start", "minutes", "end"),
    [
        (paris(2025, 6, 13, 16, 30), 60, paris(2025, 6, 16, 9, 30)),  # Friday evening to Monday morning
        (paris(2025, 6, 16, 10, 0), 30, paris(2025, 6, 16, 10, 30)),
        (paris(2025, 6, 16, 7, 0), 30, paris(2025, 6, 16, 9, 30)),  # before opening: the clock starts at 9
        (paris(2025, 6, 16, 18, 0), 30, paris(2025, 6, 17, 9, 30)),
        (paris(2025, 6, 14, 12, 0), 30, paris(2025, 6, 16, 9, 30)),  # Saturday
        (paris(2025, 6, 16, 16, 0), 60, paris(2025, 6, 16, 17, 0)),  # ends at closing, not the next morning
        (paris(2025, 6, 16, 9, 0), 5 * 480, paris(2025, 6, 20, 17, 0)),
        (paris(2025, 6, 16, 9, 0), 5 * 480 + 1, paris(2025, 6, 23, 9, 1)),
        (paris(2025, 6, 16, 10, 0), 0, paris(2025, 6, 16, 10, 0)),
        (paris(2025, 6, 16, 17, 0), 0, paris(2025, 6, 17, 9, 0)),  # closing time is closed
        (paris(2025, 6, 16, 10, 0, 30, 500), 1.5, paris(2025, 6, 16, 10, 2, 0, 500)),
    ],
)
def test_add_business_minutes_on_a_nine_to_five_week(start: datetime, minutes: float, end: datetime) -> None:
    result = add_business_minutes(office(), start, minutes)
    assert result == end
    assert result.tzinfo is UTC


def test_a_lunch_break_is_skipped() -> None:
    lunch = parse_schedule("Europe/Paris", {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]}, [])
    assert add_business_minutes(lunch, paris(2025, 6, 16, 11, 30), 60) == paris(2025, 6, 16, 13, 30)
    assert business_minutes_between(lunch, paris(2025, 6, 16, 8, 0), paris(2025, 6, 16, 20, 0)) == 420
    assert not is_open(lunch, paris(2025, 6, 16, 12, 30))


def test_business_minutes_between() -> None:
    schedule = office()
    assert business_minutes_between(schedule, paris(2025, 6, 13, 16, 0), paris(2025, 6, 16, 10, 0)) == 120
    assert business_minutes_between(schedule, paris(2025, 6, 14, 0, 0), paris(2025, 6, 15, 23, 0)) == 0
    assert business_minutes_between(schedule, paris(2025, 6, 16, 10, 0), paris(2025, 6, 16, 9, 0)) == 0
    assert business_minutes_between(schedule, paris(2025, 6, 16, 10, 0), paris(2025, 6, 16, 10, 0)) == 0
    assert business_minutes_between(schedule, paris(2025, 6, 16, 10, 0), paris(2025, 6, 16, 10, 0, 30)) == 0.5


def test_is_open_and_next_opening() -> None:
    schedule = office()
    assert is_open(schedule, paris(2025, 6, 16, 9, 0))
    assert is_open(schedule, paris(2025, 6, 16, 16, 59, 59))
    assert not is_open(schedule, paris(2025, 6, 16, 17, 0))
    assert not is_open(schedule, paris(2025, 6, 14, 12, 0))
    assert next_opening(schedule, paris(2025, 6, 16, 12, 0)) == paris(2025, 6, 16, 12, 0)
    assert next_opening(schedule, paris(2025, 6, 13, 17, 0)) == paris(2025, 6, 16, 9, 0)
    assert next_opening(schedule, paris(2025, 6, 16, 8, 59)).tzinfo is UTC


# Holidays are closed local days


def test_holidays() -> None:
    # Independence Day 2025 is a Friday; the holiday is the local date, whatever the UTC date.
    schedule = office("America/New_York", holidays=("2025-07-04",))
    assert add_business_minutes(schedule, new_york(2025, 7, 3, 16, 30), 60) == new_york(2025, 7, 7, 9, 30)
    assert not is_open(schedule, new_york(2025, 7, 4, 12, 0))
    assert is_open(schedule, new_york(2025, 7, 3, 12, 0))
    assert (
        business_minutes_between(schedule, new_york(2025, 7, 3, 9, 0), new_york(2025, 7, 8, 9, 0)) == 2 * 480
    )


def test_holidays_can_close_for_most_of_a_year() -> None:
    closed = tuple((date(2025, 1, 1) + timedelta(days=n)).isoformat() for n in range(300))
    schedule = office("UTC", holidays=closed)
    assert add_business_minutes(schedule, at("UTC", 2025, 1, 1), 1) == at("UTC", 2025, 10, 28, 9, 1)


def test_a_schedule_closed_for_more_than_a_year_raises_rather_than_searching_forever() -> None:
    closed = tuple((date(2025, 1, 1) + timedelta(days=n)).isoformat() for n in range(400))
    schedule = office("UTC", holidays=closed)
    with pytest.raises(ValueError, match="no business hours for 367 days in a row from 2025-01-01"):
        add_business_minutes(schedule, at("UTC", 2025, 1, 1), 1)
    with pytest.raises(ValueError, match="no business hours"):
        next_opening(Schedule("UTC", {}), at("UTC", 2025, 1, 1))
    # A span inside the closed stretch needs no opening, so it does not raise.
    assert business_minutes_between(schedule, at("UTC", 2025, 1, 1), at("UTC", 2025, 12, 31)) == 0


# Clock changes: Europe/Paris goes forward on 2025-03-30 and back on 2025-10-26, at 02:00 and 03:00 local


def test_paris_spring_forward() -> None:
    week = office()
    assert add_business_minutes(week, paris(2025, 3, 28, 16, 30), 60) == paris(2025, 3, 31, 9, 30)
    assert paris(2025, 3, 31, 9, 30) == at("UTC", 2025, 3, 31, 7, 30)
    daily = office(days=DAYS)
    assert add_business_minutes(daily, paris(2025, 3, 29, 16, 30), 60) == at("UTC", 2025, 3, 30, 7, 30)
    always = parse_schedule("Europe/Paris", {day: [["00:00", "24:00"]] for day in DAYS}, [])
    assert business_minutes_between(always, paris(2025, 3, 30), paris(2025, 3, 31)) == 23 * 60
    assert add_business_minutes(always, paris(2025, 3, 30), 24 * 60) == paris(2025, 3, 31, 1, 0)


def test_paris_fall_back() -> None:
    assert add_business_minutes(office(), paris(2025, 10, 24, 16, 30), 60) == at("UTC", 2025, 10, 27, 8, 30)
    always = parse_schedule("Europe/Paris", {day: [["00:00", "24:00"]] for day in DAYS}, [])
    assert business_minutes_between(always, paris(2025, 10, 26), paris(2025, 10, 27)) == 25 * 60


@pytest.mark.parametrize(
    ("interval", "spring", "autumn"),
    [
        (["01:00", "04:00"], 120, 240),  # around the change: an hour less, an hour more
        (["02:30", "04:00"], 60, 150),  # opens at a time that never happens: at the jump, 03:00
        (["01:30", "02:30"], 30, 60),  # closes at a time that never happens
        (["02:15", "02:45"], 0, 30),  # entirely skipped
        (["02:30", "03:30"], 30, 120),  # opens at the first 02:30 of the repeated hour
    ],
)
def test_intervals_across_paris_clock_changes(interval: list[str], spring: int, autumn: int) -> None:
    schedule = parse_schedule("Europe/Paris", {"sun": [interval]}, [])
    assert business_minutes_between(schedule, paris(2025, 3, 29), paris(2025, 3, 31)) == spring
    assert business_minutes_between(schedule, paris(2025, 10, 25), paris(2025, 10, 27)) == autumn


def test_hours_that_a_clock_change_skips_entirely_are_never_open() -> None:
    schedule = parse_schedule("Europe/Paris", {"sun": [["02:15", "02:45"]]}, [])
    assert not is_open(schedule, at("UTC", 2025, 3, 30, 1, 0))
    assert add_business_minutes(schedule, paris(2025, 3, 29, 12, 0), 10) == paris(2025, 4, 6, 2, 25)


def test_an_interval_that_opens_in_the_skipped_hour_opens_at_the_jump() -> None:
    schedule = parse_schedule("Europe/Paris", {"sun": [["02:30", "04:00"]]}, [])
    assert next_opening(schedule, paris(2025, 3, 29, 12, 0)) == paris(2025, 3, 30, 3, 0)
    assert next_opening(schedule, paris(2025, 3, 29, 12, 0)) == at("UTC", 2025, 3, 30, 1, 0)


# America/New_York goes forward on 2025-03-09 and back on 2025-11-02, at 02:00 local


def test_new_york_clock_changes() -> None:
    week = office("America/New_York")
    assert add_business_minutes(week, new_york(2025, 3, 7, 16, 30), 60) == at("UTC", 2025, 3, 10, 13, 30)
    assert add_business_minutes(week, new_york(2025, 10, 31, 16, 30), 60) == at("UTC", 2025, 11, 3, 14, 30)
    assert business_minutes_between(week, new_york(2025, 3, 7, 9), new_york(2025, 3, 10, 17)) == 960
    always = parse_schedule("America/New_York", {day: [["00:00", "24:00"]] for day in DAYS}, [])
    assert business_minutes_between(always, new_york(2025, 3, 9), new_york(2025, 3, 10)) == 23 * 60
    assert business_minutes_between(always, new_york(2025, 11, 2), new_york(2025, 11, 3)) == 25 * 60
    # 01:30 happens twice on 2025-11-02: an hour of business time lies between the two.
    first = new_york(2025, 11, 2, 1, 30)
    second = first.replace(fold=1)
    assert business_minutes_between(always, first, second) == 60
    # (An aware time with fold=1 never compares equal to one in another zone: compare in UTC.)
    assert add_business_minutes(always, first, 60) == second.astimezone(UTC) == at("UTC", 2025, 11, 2, 6, 30)


def test_a_skipped_midnight() -> None:
    # America/Santiago goes from 2025-09-06 24:00 straight to 2025-09-07 01:00.
    schedule = parse_schedule("America/Santiago", {"sun": [["00:00", "02:00"]]}, [])
    assert next_opening(schedule, at("UTC", 2025, 9, 6, 12)) == at("UTC", 2025, 9, 7, 4, 0)
    assert business_minutes_between(schedule, at("UTC", 2025, 9, 6), at("UTC", 2025, 9, 8)) == 60


# Round the clock, and a night shift written as two touching days


def test_always_open() -> None:
    always = Schedule.always()
    start = at("UTC", 2025, 3, 30, 1, 30, 15)
    assert add_business_minutes(always, start, 10_000) == start + timedelta(minutes=10_000)
    assert business_minutes_between(always, start, start + timedelta(days=3)) == 3 * 24 * 60
    assert is_open(always, start)
    assert next_opening(always, start) == start


def test_a_night_shift_runs_across_midnight() -> None:
    nights = parse_schedule("Europe/Paris", {"fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00"]]}, [])
    assert add_business_minutes(nights, paris(2025, 6, 13, 23, 30), 60) == paris(2025, 6, 14, 0, 30)
    assert business_minutes_between(nights, paris(2025, 6, 13, 12), paris(2025, 6, 14, 12)) == 8 * 60
    assert is_open(nights, paris(2025, 6, 14, 0, 0))
    assert add_business_minutes(nights, paris(2025, 6, 13, 23, 0), 60) == paris(2025, 6, 14, 0, 0)
    # The night that the clocks go forward is an hour shorter.
    weekend = parse_schedule("Europe/Paris", {"sat": [["22:00", "24:00"]], "sun": [["00:00", "06:00"]]}, [])
    assert business_minutes_between(weekend, paris(2025, 3, 29, 12), paris(2025, 3, 30, 12)) == 7 * 60


def test_a_nine_to_five_has_no_night() -> None:
    schedule = office(days=DAYS)
    for hour in (17, 20, 23):
        assert not is_open(schedule, paris(2025, 6, 16, hour, 0))
    for hour in (0, 3, 8):
        assert not is_open(schedule, paris(2025, 6, 17, hour, 59))
    assert business_minutes_between(schedule, paris(2025, 6, 16, 17), paris(2025, 6, 17, 9)) == 0


def test_aware_datetimes_and_no_negative_minutes() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        add_business_minutes(office(), datetime(2025, 6, 16, 9), 10)
    with pytest.raises(ValueError, match="has no time zone"):
        is_open(office(), datetime(2025, 6, 16, 9))
    with pytest.raises(ValueError, match="minutes must not be negative"):
        add_business_minutes(office(), paris(2025, 6, 16, 9), -1)


# Reading schedules from settings


def test_parse_schedule() -> None:
    schedule = parse_schedule(
        "America/New_York",
        {"mon": [["13:00", "17:30"], ["08:00", "12:00"]], "sat": [["10:00", "24:00"]]},
        ["2025-12-25", "2025-01-01"],
    )
    assert schedule == Schedule(
        "America/New_York",
        {
            0: [(time(8), time(12)), (time(13), time(17, 30))],
            1: [],
            2: [],
            3: [],
            4: [],
            5: [(time(10), time(0))],
            6: [],
        },
        frozenset({date(2025, 12, 25), date(2025, 1, 1)}),
    )
    assert schedule_to_json(schedule) == {
        "timezone": "America/New_York",
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:30"]], "sat": [["10:00", "24:00"]]},
        "holidays": ["2025-01-01", "2025-12-25"],
    }
    assert parse_schedule(**schedule_to_json(schedule)) == schedule
    assert parse_schedule(**schedule_to_json(Schedule.always())) == Schedule.always()


@pytest.mark.parametrize(
    ("timezone", "weekly", "holidays", "where", "message"),
    [
        ("Mars/Olympus", {"mon": [["09:00", "17:00"]]}, [], "timezone", "unknown time zone 'Mars/Olympus'"),
        ("", {"mon": [["09:00", "17:00"]]}, [], "timezone", "unknown time zone ''"),
        ("../../etc/passwd", {"mon": [["09:00", "17:00"]]}, [], "timezone", "unknown time zone"),
        ("UTC", [["09:00", "17:00"]], [], "business_hours", "business hours must be an object"),
        (
            "UTC",
            {"monday": [["09:00", "17:00"]]},
            [],
            "business_hours.monday",
            "day must be one of mon, tue, ",
        ),
        (
            "UTC",
            {"mon": ["09:00", "17:00"]},
            [],
            "business_hours.mon[0]",
            'an interval is ["HH:MM", "HH:MM"]',
        ),
        ("UTC", {"mon": [["9:00", "17:00"]]}, [], "business_hours.mon[0]", "an interval is"),
        ("UTC", {"mon": [["09:00", "25:00"]]}, [], "business_hours.mon[0]", "an interval is"),
        ("UTC", {"mon": [["09:00"]]}, [], "business_hours.mon[0]", "an interval is"),
        ("UTC", {"mon": "09:00-17:00"}, [], "business_hours.mon", "a day takes a list of intervals"),
        (
            "UTC",
            {"tue": [["17:00", "09:00"]]},
            [],
            "business_hours.tue[0]",
            "17:00-09:00 ends before it starts",
        ),
        ("UTC", {"tue": [["22:00", "00:00"]]}, [], "business_hours.tue[0]", "(24:00 is the end of the day)"),
        ("UTC", {"tue": [["09:00", "09:00"]]}, [], "business_hours.tue[0]", "ends before it starts"),
        ("UTC", {"tue": [["24:00", "24:00"]]}, [], "business_hours.tue[0]", "ends before it starts"),
        (
            "UTC",
            {"wed": [["09:00", "12:00"], ["11:00", "13:00"]]},
            [],
            "business_hours.wed[1]",
            "11:00-13:00 overlaps another interval",
        ),
        (
            "UTC",
            {"wed": [["14:00", "18:00"], ["08:00", "10:00"], ["09:30", "11:00"]]},
            [],
            "business_hours.wed[2]",
            "09:30-11:00 overlaps",
        ),
        ("UTC", {}, [], "business_hours", "business hours need at least one open interval"),
        ("UTC", {"sun": []}, [], "business_hours", "at least one open interval"),
        ("UTC", {"mon": [["09:00", "17:00"]]}, "2025-12-25", "holidays", "holidays must be a list of dates"),
        ("UTC", {"mon": [["09:00", "17:00"]]}, ["2025-02-30"], "holidays[0]", "got '2025-02-30'"),
        (
            "UTC",
            {"mon": [["09:00", "17:00"]]},
            ["2025-12-25", "25/12/2025"],
            "holidays[1]",
            "a holiday is a date",
        ),
        ("UTC", {"mon": [["09:00", "17:00"]]}, ["20251225"], "holidays[0]", "a holiday is a date"),
    ],
)
def test_parse_schedule_says_what_is_wrong_and_where(
    timezone: str, weekly: Any, holidays: Any, where: str, message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        parse_schedule(timezone, weekly, holidays)
    assert caught.value.field == where
    assert message in caught.value.message


def test_touching_intervals_are_allowed() -> None:
    schedule = parse_schedule("UTC", {"thu": [["12:00", "17:00"], ["09:00", "12:00"]]}, [])
    assert business_minutes_between(schedule, at("UTC", 2025, 6, 19), at("UTC", 2025, 6, 20)) == 480


# Properties, over random schedules in time zones with unusual clock changes

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
]


def _day() -> st.SearchStrategy[list[list[str]]]:
    """Intervals on a quarter-hour grid, from an even number of distinct boundaries."""

    def clock(quarter: int) -> str:
        return "24:00" if quarter == 96 else f"{quarter // 4:02d}:{quarter % 4 * 15:02d}"

    def pairs(quarters: list[int]) -> list[list[str]]:
        ordered = sorted(quarters)[: len(quarters) // 2 * 2]
        return [[clock(a), clock(b)] for a, b in zip(ordered[::2], ordered[1::2], strict=True)]

    return st.lists(st.integers(0, 96), unique=True, max_size=6).map(pairs)


SCHEDULES = st.builds(
    lambda tz, weekly, holidays: parse_schedule(tz, weekly, [h.isoformat() for h in holidays]),
    st.sampled_from(ZONES),
    st.fixed_dictionaries({}, optional={day: _day() for day in DAYS}).filter(
        lambda weekly: any(weekly.values())
    ),
    st.lists(st.dates(date(2024, 12, 1), date(2026, 3, 1)), max_size=20),
)
INSTANTS = st.datetimes(datetime(2025, 1, 1), datetime(2025, 12, 31), timezones=st.just(UTC))
MINUTES = st.integers(0, 5000)


@settings(max_examples=150, deadline=None)
@given(SCHEDULES, INSTANTS, MINUTES)
def test_between_undoes_add(schedule: Schedule, start: datetime, minutes: int) -> None:
    end = add_business_minutes(schedule, start, minutes)
    assert end >= start
    assert business_minutes_between(schedule, start, end) == minutes


@settings(max_examples=150, deadline=None)
@given(SCHEDULES, INSTANTS, MINUTES, MINUTES)
def test_add_is_monotonic_in_minutes(schedule: Schedule, start: datetime, a: int, b: int) -> None:
    fewer, more = sorted((a, b))
    assert add_business_minutes(schedule, start, fewer) <= add_business_minutes(schedule, start, more)


@settings(max_examples=150, deadline=None)
@given(SCHEDULES, INSTANTS, MINUTES)
def test_the_answer_lies_in_an_open_period_or_at_its_end(
    schedule: Schedule, start: datetime, minutes: int
) -> None:
    end = add_business_minutes(schedule, start, minutes)
    if minutes == 0:
        assert is_open(schedule, end)
        assert end == next_opening(schedule, start)
    else:
        assert is_open(schedule, end - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(SCHEDULES, INSTANTS, st.integers(0, 20_000), st.integers(0, 20_000))
def test_between_adds_up(schedule: Schedule, start: datetime, first: int, second: int) -> None:
    middle = start + timedelta(minutes=first)
    end = middle + timedelta(minutes=second)
    whole = business_minutes_between(schedule, start, end)
    assert whole == pytest.approx(
        business_minutes_between(schedule, start, middle) + business_minutes_between(schedule, middle, end)
    )
    assert 0 <= whole <= first + second


@settings(max_examples=150, deadline=None)
@given(SCHEDULES, INSTANTS)
def test_next_opening_is_open_and_nothing_before_it_is(schedule: Schedule, start: datetime) -> None:
    opening = next_opening(schedule, start)
    assert is_open(schedule, opening)
    assert opening >= start
    assume(opening > start)
    assert business_minutes_between(schedule, start, opening) == 0
    assert not is_open(schedule, start)
