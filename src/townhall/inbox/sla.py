"""SLA clocks: when each conversation's first response, next response and resolution are due."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from townhall.inbox.hours import Schedule, add_business_minutes, parse_schedule
from townhall.inbox.models import Conversation, InboxSettings, SlaPolicy, Status


def schedule_for(workspace_id: int) -> Schedule:
    """The workspace's business hours; round the clock when none are set."""
    found = (
        InboxSettings.objects.filter(workspace_id=workspace_id)
        .values_list("business_hours", "holidays", "workspace__timezone")
        .first()
    )
    if found is None or not found[0]:
        return Schedule.always()
    weekly, holidays, tz = found
    return _parse(tz, _freeze(weekly), tuple(holidays or ()))


def _freeze(weekly: dict[str, list[list[str]]]) -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
    return tuple(sorted((day, tuple(tuple(i) for i in spans)) for day, spans in weekly.items()))


@lru_cache(maxsize=256)
def _parse(
    tz: str, weekly: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...], holidays: tuple[str, ...]
) -> Schedule:
    return parse_schedule(tz, {day: [list(span) for span in spans] for day, spans in weekly}, list(holidays))


def due(start: datetime, minutes: int | None, *, policy: SlaPolicy, schedule: Schedule) -> datetime | None:
    if minutes is None:
        return None
    if policy.business_hours_only:
        return add_business_minutes(schedule, start, minutes)
    return start + timedelta(minutes=minutes)


def recompute(conversation: Conversation, *, schedule: Schedule | None = None) -> None:
    """Set the three due dates and `sla_due` (the earliest still running) from the policy and the clocks."""
    c = conversation
    policy: SlaPolicy | None = c.sla_policy if c.sla_policy_id else None
    c.first_response_due = c.next_response_due = c.resolution_due = c.sla_due = None
    if policy is None or c.first_inbound_at is None:
        return
    schedule = schedule or schedule_for(c.workspace_id)
    if c.first_response_at is None:
        c.first_response_due = due(
            c.first_inbound_at, policy.first_response_minutes, policy=policy, schedule=schedule
        )
    elif c.waiting_since is not None:
        c.next_response_due = due(
            c.waiting_since, policy.next_response_minutes, policy=policy, schedule=schedule
        )
    if c.status != Status.RESOLVED:
        c.resolution_due = due(
            c.first_inbound_at, policy.resolution_minutes, policy=policy, schedule=schedule
        )
    running = []
    if c.status != Status.RESOLVED:
        running = [d for d in (c.first_response_due, c.next_response_due, c.resolution_due) if d is not None]
    c.sla_due = min(running) if running else None


def which_clock(conversation: Conversation) -> str:
    """Name of the target `sla_due` stands for, for messages."""
    c = conversation
    for name, value in (
        ("first response", c.first_response_due),
        ("next response", c.next_response_due),
        ("resolution", c.resolution_due),
    ):
        if value is not None and value == c.sla_due:
            return name
    return "response"
