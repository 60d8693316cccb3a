"""The schedule: approved posts on the calendar, queue slots and the next free one, cancelling, retrying.

Instants are stored in UTC; calendars, slots and "next free slot" work in the workspace's IANA zone, so a
slot at 09:00 stays at 09:00 local across daylight-saving changes (a local time that does not exist that day
is skipped, an ambiguous one is taken at its first occurrence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from townhall.connectors.models import Channel
from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.publishing.compose import is_past, label_of, record
from townhall.publishing.models import Post, PostStatus, QueueSlot, Target, TargetState
from townhall.workspaces.models import Workspace

SLOT_HORIZON_DAYS = 56
# A post's status, read from its targets' states in this order of precedence.
_BUSY = (TargetState.PUBLISHING, TargetState.SCHEDULED)


def refresh_status(post: Post) -> str:
    """Set the post's status from its targets' once it is past review; return it."""
    states = set(post.targets.values_list("state", flat=True))
    if not states or post.status in (
        PostStatus.DRAFT,
        PostStatus.AWAITING_APPROVAL,
        PostStatus.CHANGES_REQUESTED,
        PostStatus.APPROVAL_EXPIRED,
    ):
        return post.status
    if states <= {TargetState.CANCELLED}:
        status = PostStatus.CANCELLED
    elif TargetState.PUBLISHING in states:
        status = PostStatus.PUBLISHING
    elif TargetState.OUTCOME_UNKNOWN in states:
        status = PostStatus.OUTCOME_UNKNOWN
    elif states <= {TargetState.PUBLISHED, TargetState.CANCELLED}:
        status = PostStatus.PUBLISHED
    elif TargetState.SCHEDULED in states:
        status = PostStatus.SCHEDULED
    elif TargetState.PUBLISHED in states:
        status = PostStatus.PARTLY_PUBLISHED
    else:
        status = PostStatus.FAILED
    if status != post.status:
        Post.objects.filter(pk=post.pk).update(status=status, updated_at=timezone.now())
        post.status = status
    return status


def schedule_approved(post: Post, *, actor: Any) -> Post:
    """An approved (or approval-free) post goes on the schedule: at its time, or now when it has none."""
    when = post.scheduled_at or timezone.now()
    post.targets.exclude(state__in=[TargetState.PUBLISHED, TargetState.PUBLISHING]).update(
        state=TargetState.SCHEDULED, scheduled_at=when, error=""
    )
    post.status = PostStatus.SCHEDULED
    post.save(update_fields=["status", "updated_at"])
    record(post, "scheduled", actor=actor, at=when.isoformat())
    if when <= timezone.now():
        _publish_soon()
    return post


def _publish_soon() -> None:
    """Send what is due as soon as this transaction commits, not at the worker's next round."""
    from townhall.publishing.tasks import publish_due

    transaction.on_commit(publish_due)


@transaction.atomic
def do_reschedule(*, post: Post, actor: Any, when: datetime | None) -> Post:
    """Move a scheduled post (or one under review) to another time; None publishes it at once."""
    from townhall.core.validation import as_utc

    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.status in (PostStatus.PUBLISHED, PostStatus.PUBLISHING, PostStatus.CANCELLED):
        raise Conflict(f"the post is {post.get_status_display().lower()}; it cannot move")
    when = as_utc(when) if when is not None else None
    if when is not None and is_past(when):
        raise Invalid("that time is in the past", field="scheduled_at")
    post.scheduled_at = when
    post.save(update_fields=["scheduled_at", "updated_at"])
    post.targets.filter(state=TargetState.SCHEDULED).update(scheduled_at=when or timezone.now())
    if when is None:
        _publish_soon()
    record(post, "rescheduled", actor=actor, at=when.isoformat() if when else "now")
    return post


@transaction.atomic
def do_cancel(*, post: Post, actor: Any) -> Post:
    """Take the post off the schedule: targets not yet on their way are cancelled; published ones stay."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    stoppable = [TargetState.DRAFT, TargetState.AWAITING_APPROVAL, TargetState.SCHEDULED, TargetState.FAILED]
    if not post.targets.filter(state__in=stoppable).exists():
        raise Conflict("nothing of this post can be cancelled: it is published or being published")
    post.targets.filter(state__in=stoppable).update(state=TargetState.CANCELLED)
    if post.status in (PostStatus.AWAITING_APPROVAL, PostStatus.DRAFT, PostStatus.CHANGES_REQUESTED):
        post.status = PostStatus.CANCELLED
        post.save(update_fields=["status", "updated_at"])
    refresh_status(post)
    record(post, "cancelled", actor=actor)
    return post


@transaction.atomic
def do_retry(*, target: Target, actor: Any) -> Target:
    """Try a failed or outcome-unknown target again; an unknown outcome is looked up before a send."""
    target = Target.objects.select_for_update().get(pk=target.pk)
    if target.state not in (TargetState.FAILED, TargetState.OUTCOME_UNKNOWN):
        raise Conflict(
            f"the {label_of(target.channel)} variant is {target.get_state_display().lower()}, not failed"
        )
    target.state, target.next_attempt_at, target.lease_until = TargetState.SCHEDULED, None, None
    target.scheduled_at = timezone.now()
    target.save(update_fields=["state", "next_attempt_at", "lease_until", "scheduled_at", "updated_at"])
    refresh_status(target.post)
    _publish_soon()
    record(target.post, "retry", actor=actor, channel=label_of(target.channel))
    return target


@transaction.atomic
def do_settle(*, target: Target, actor: Any, published: bool, url: str = "", native_id: str = "") -> Target:
    """A person settles an outcome the network cannot be asked about: the part is there (its link), or not.

    Recorded as a lookup by hand: the worker neither sends a part that is there nor looks up one that is not.
    """
    from townhall.publishing.models import Attempt, AttemptOutcome

    target = Target.objects.select_for_update().select_related("channel", "post").get(pk=target.pk)
    if target.state == TargetState.FAILED and published:
        pass  # posted by hand where Townhall could not publish
    elif target.state != TargetState.OUTCOME_UNKNOWN:
        raise Conflict(
            f"the {label_of(target.channel)} variant is {target.get_state_display().lower()}, not unknown"
        )
    index = len(target.published_parts)
    Attempt.objects.create(
        target=target,
        part=index,
        idempotency_key=target.part_key(index),
        action="lookup",
        outcome=AttemptOutcome.FOUND if published else AttemptOutcome.NOT_FOUND,
        worker=f"by hand: {actor}",
        native_id=native_id[:300],
        url=url[:1000],
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    target.next_attempt_at = None
    if published:
        target.published_parts = [*target.published_parts, {"native_id": native_id, "url": url}]
        if index == 0:
            target.native_id, target.url = native_id[:300], url[:1000]
        done = len(target.published_parts) >= len(target.texts)
        target.state = TargetState.PUBLISHED if done else TargetState.SCHEDULED
        target.published_at = timezone.now() if done else None
        target.error = ""
    else:
        target.state, target.error = TargetState.FAILED, "not published (checked by hand); retry to send it"
    target.save()
    refresh_status(target.post)
    record(
        target.post, "settled", actor=actor, channel=label_of(target.channel), published=published, url=url
    )
    return target


# -- queue slots -------------------------------------------------------------------------------------


def slots_of(*, channel: Channel) -> QuerySet[QueueSlot]:
    return QueueSlot.objects.filter(channel=channel)


def do_set_slots(*, channel: Channel, slots: list[tuple[int, time]]) -> list[QueueSlot]:
    """Replace the channel's queue: (weekday 0 = Monday, local time) pairs."""
    for weekday, at in slots:
        if not 0 <= weekday <= 6:
            raise Invalid("weekday must be 0 (Monday) to 6 (Sunday)", field="slots")
        if at.tzinfo is not None:
            raise Invalid("a slot is a local time in the workspace's zone, without an offset", field="slots")
    with transaction.atomic():
        QueueSlot.objects.filter(channel=channel).delete()
        made = [
            QueueSlot(channel=channel, weekday=w, time=t.replace(second=0, microsecond=0)) for w, t in slots
        ]
        QueueSlot.objects.bulk_create(made, ignore_conflicts=True)
    return list(slots_of(channel=channel))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of `at` on `day` in `zone`; None when that local time does not exist that day."""
    local = datetime.combine(day, at, tzinfo=zone).replace(fold=0)
    as_utc = local.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return as_utc


def next_free_slot(*, channel: Channel, zone: str, after: datetime | None = None) -> datetime:
    """The first queue slot after `after` (now) with nothing scheduled on the channel at that instant."""
    slots = list(slots_of(channel=channel))
    if not slots:
        raise NotFound(f"channel {channel} has no queue slots; add some first")
    tz = ZoneInfo(zone)
    after = after or timezone.now()
    taken = set(
        Target.objects.filter(
            channel=channel,
            scheduled_at__gt=after,
            scheduled_at__lte=after + timedelta(days=SLOT_HORIZON_DAYS + 1),
        )
        .exclude(state__in=[TargetState.CANCELLED, TargetState.FAILED])
        .values_list("scheduled_at", flat=True)
    )
    start = after.astimezone(tz).date()
    for offset in range(SLOT_HORIZON_DAYS):
        day = start + timedelta(days=offset)
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            instant = local_instant(day, slot.time, tz)
            if instant is not None and instant > after and instant not in taken:
                return instant
    raise Conflict(f"every queue slot of {channel} is taken for the next {SLOT_HORIZON_DAYS} days")


# -- the calendar ------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One target on the calendar, in the workspace's zone."""

    post: Post
    target: Target
    local: datetime


def calendar(
    *,
    workspace: Workspace,
    start: datetime,
    end: datetime,
    channel_ids: list[int] | None = None,
    campaign_id: int | None = None,
    statuses: list[str] | None = None,
) -> list[Entry]:
    """The targets scheduled or published between `start` and `end` (UTC), filtered, in time order."""
    tz = ZoneInfo(workspace.timezone)
    when = Q(published_at__gte=start, published_at__lt=end) | Q(
        published_at__isnull=True, scheduled_at__gte=start, scheduled_at__lt=end
    )
    unplanned = Q(post__scheduled_at__gte=start, post__scheduled_at__lt=end, scheduled_at__isnull=True)
    targets = Target.objects.filter(when | unplanned, post__workspace=workspace).select_related(
        "post__campaign", "channel"
    )
    if channel_ids:
        targets = targets.filter(channel_id__in=channel_ids)
    if campaign_id:
        targets = targets.filter(post__campaign_id=campaign_id)
    if statuses:
        targets = targets.filter(Q(state__in=statuses) | Q(post__status__in=statuses))
    entries = []
    for target in targets:
        instant = target.published_at or target.scheduled_at or target.post.scheduled_at
        if instant is not None:
            entries.append(Entry(target.post, target, instant.astimezone(tz)))
    return sorted(entries, key=lambda e: (e.local, e.target.pk))


def due_count(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Target.objects.filter(state=TargetState.SCHEDULED, scheduled_at__lte=now).count()
