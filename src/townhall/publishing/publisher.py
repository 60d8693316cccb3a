"""The publishing worker: sends due targets through their channel's connector, each exactly once.

How "exactly once" holds when a request times out or the worker is killed at any instant:

1. A due target is claimed with one conditional UPDATE (scheduled → publishing, with a lease), so two workers
   never hold the same target; a target whose worker died is claimed again when its lease runs out.
2. Before each part is sent, an `Attempt` row (outcome "started", the part's idempotency key) is committed.
3. The answer is committed with the part's network id in one transaction.
4. A part whose last attempt is "started" (the worker died) or "timed_out" has an unknown outcome: before
   anything is sent again the connector looks the key up on the network; found, it is kept as published,
   not found, it is sent. A connector that cannot look up leaves the target "outcome unknown" for a person.

A refusal by the network (a 4xx: bad credentials, a text it rejects) fails the target with the network's own
message; it can be retried safely, since the idempotency keys stay the same.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from townhall.connectors.base import Connector, Outgoing, Published
from townhall.connectors.http import AuthError, ConnectorError
from townhall.connectors.models import Channel
from townhall.core.errors import TownhallError
from townhall.publishing.compose import label_of, record
from townhall.publishing.models import Attempt, AttemptOutcome, Target, TargetState
from townhall.publishing.schedule import refresh_status

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
# Waits before asking the network again about an attempt whose outcome is unknown.
UNKNOWN_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
ConnectorFactory = Callable[[Channel], Connector]
# A part whose last attempt ended so has an unknown outcome: it is looked up before anything is sent.
UNSETTLED = (AttemptOutcome.STARTED, AttemptOutcome.TIMED_OUT)


class _Unknown(Exception):
    """The network may or may not have the post: ask it before sending again."""


class _Undecidable(Exception):
    """The network cannot be asked: a person has to settle the outcome."""


class _Refused(Exception):
    """The network said no: the target failed, with its message."""


class _LeaseLost(Exception):
    """Another worker claimed the target after this one's lease ran out."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _due(now: datetime) -> Q:
    return (
        Q(state=TargetState.SCHEDULED, scheduled_at__lte=now)
        | Q(state=TargetState.OUTCOME_UNKNOWN, next_attempt_at__lte=now)
        | Q(state=TargetState.PUBLISHING, lease_until__lt=now)
    )


def claim(*, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[int]:
    """Take up to `limit` due targets for this worker; each row is taken by exactly one conditional UPDATE."""
    candidates = Target.objects.filter(_due(now)).order_by("scheduled_at", "pk").values_list("pk", flat=True)
    claimed = []
    for pk in list(candidates[: limit * 2]):
        taken = Target.objects.filter(_due(now), pk=pk).update(
            state=TargetState.PUBLISHING, lease_until=now + lease, attempts=F("attempts") + 1
        )
        if taken:
            claimed.append(pk)
        if len(claimed) >= limit:
            break
    return claimed


def default_factory(channel: Channel) -> Connector:
    from townhall.connectors.sync import connector_of

    return connector_of(channel)


def run_due(
    *,
    now: datetime | None = None,
    factory: ConnectorFactory | None = None,
    limit: int = 20,
    lease: timedelta = LEASE,
    worker: str | None = None,
) -> dict[str, int]:
    """Publish every target due at `now`; returns how many ended in each state."""
    now = now or timezone.now()
    worker = worker or worker_name()
    counts: dict[str, int] = {}
    for pk in claim(now=now, limit=limit, lease=lease):
        state = publish_target(pk, factory=factory or default_factory, worker=worker, lease=lease)
        counts[state] = counts.get(state, 0) + 1
    return counts


def publish_target(
    target_id: int, *, factory: ConnectorFactory, worker: str, lease: timedelta = LEASE
) -> str:
    """Send the claimed target's remaining parts; returns the state it ends in."""
    target = Target.objects.select_related("channel", "post__workspace").get(pk=target_id)
    if target.state != TargetState.PUBLISHING:
        return str(target.state)
    connector: Connector | None = None
    try:
        connector = _open(factory, target)
        for index in range(len(target.published_parts), len(target.texts)):
            outgoing = _outgoing(target, index)
            last = _last_attempt(target, index)
            found = _answered(last)
            if found is None and last is not None and last.outcome in UNSETTLED:
                found = _look_up(target, index, outgoing, connector, worker)
            if found is None:
                found = _send(target, index, outgoing, connector, worker)
            _keep_part(target, index, found, lease=lease)
        _finish(target)
    except _LeaseLost:
        log.warning("target %s was taken over by another worker after its lease ran out", target.pk)
        return str(Target.objects.filter(pk=target.pk).values_list("state", flat=True).first() or "")
    except _Unknown as exc:
        _give_up(target, _set_unknown, str(exc), retry=True)
    except _Undecidable as exc:
        _give_up(target, _set_unknown, str(exc), retry=False)
    except (_Refused, ConnectorError) as exc:  # ConnectorError: a lookup the network refused
        _give_up(target, _set_failed, str(exc))
    except Exception as exc:
        log.exception("publishing target %s failed unexpectedly", target.pk)
        _give_up(target, _set_failed, f"{type(exc).__name__}: {exc}")
    finally:
        if connector is not None:
            connector.close()
    refresh_status(target.post)
    return str(target.state)


def _open(factory: ConnectorFactory, target: Target) -> Connector:
    try:
        connector = factory(target.channel)
    except TownhallError as exc:
        raise _Refused(
            f"{target.channel.get_network_display()} has no connector that publishes for Townhall: "
            "post it by hand, then mark it published with its link"
        ) from exc
    if target.post.media and not connector.capabilities.media:
        connector.close()
        # Never publish a post without the images it was approved with.
        raise _Refused(f"{label_of(target.channel)} cannot attach media through Townhall")
    return connector


def _give_up(target: Target, settle: Callable[..., None], error: str, **options: Any) -> None:
    try:
        settle(target, error, **options)
    except _LeaseLost:
        log.warning("target %s was taken over by another worker after its lease ran out", target.pk)


def _write(target: Target, **fields: Any) -> None:
    """Write the target only while this worker still holds its lease: a worker that took it over after
    the lease ran out owns it now, and this one stops (the lease is the fencing token)."""
    held = target.lease_until
    fields["updated_at"] = timezone.now()
    mine = Target.objects.filter(pk=target.pk, state=TargetState.PUBLISHING, lease_until=held)
    if not mine.update(**fields):
        raise _LeaseLost
    for name, value in fields.items():
        setattr(target, name, value)


def _outgoing(target: Target, index: int) -> Outgoing:
    """Part `index`: a thread's part replies to the one before it, the first comment to the first part."""
    answered = index - 1 if index < len(target.parts) else 0
    reply_to = target.published_parts[answered]["native_id"] if index else ""
    return Outgoing(
        text=target.texts[index],
        reply_to=reply_to,
        media=list(target.post.media) if index == 0 else [],
        idempotency_key=target.part_key(index),
    )


def _last_attempt(target: Target, index: int) -> Attempt | None:
    return Attempt.objects.filter(target=target, part=index).order_by("-started_at", "-pk").first()


def _answered(last: Attempt | None) -> Published | None:
    """The part the network already has, when the last attempt recorded it but the target did not (the
    worker died, or lost its lease, between the two writes)."""
    if (
        last is not None
        and last.outcome in (AttemptOutcome.PUBLISHED, AttemptOutcome.FOUND)
        and last.native_id
    ):
        return Published(native_id=last.native_id, url=last.url)
    return None


def _look_up(
    target: Target, index: int, outgoing: Outgoing, connector: Connector, worker: str
) -> Published | None:
    attempt = Attempt.objects.create(
        target=target,
        part=index,
        idempotency_key=outgoing.idempotency_key,
        action="lookup",
        worker=worker,
        started_at=timezone.now(),
    )
    try:
        found = connector.lookup(outgoing)
    except NotImplementedError as exc:
        _close(attempt, AttemptOutcome.STARTED, error=str(exc))
        raise _Undecidable(
            f"an earlier attempt may have published part {index + 1}, and "
            f"{target.channel.get_network_display()} cannot be asked: check the channel, then settle it"
        ) from exc
    except ConnectorError as exc:
        _close(attempt, AttemptOutcome.TIMED_OUT, error=str(exc))
        raise _Unknown(f"could not ask the network whether part {index + 1} went through: {exc}") from exc
    _close(
        attempt,
        AttemptOutcome.FOUND if found else AttemptOutcome.NOT_FOUND,
        native_id=found.native_id if found else "",
        url=found.url if found else "",
    )
    return found


def _send(target: Target, index: int, outgoing: Outgoing, connector: Connector, worker: str) -> Published:
    # Committed before the network is called: if this process dies, the next worker sees it and looks up.
    attempt = Attempt.objects.create(
        target=target,
        part=index,
        idempotency_key=outgoing.idempotency_key,
        action="send",
        worker=worker,
        started_at=timezone.now(),
    )
    try:
        published = connector.publish(outgoing)
    except (AuthError, NotImplementedError) as exc:
        _close(attempt, AttemptOutcome.FAILED, error=str(exc))
        raise _Refused(str(exc)) from exc
    except ConnectorError as exc:
        if exc.retryable or exc.status is None or exc.status >= 500:
            _close(attempt, AttemptOutcome.TIMED_OUT, error=str(exc))
            raise _Unknown(f"no clear answer from the network for part {index + 1}: {exc}") from exc
        _close(attempt, AttemptOutcome.FAILED, error=str(exc))
        raise _Refused(str(exc)) from exc
    except (TimeoutError, OSError) as exc:
        _close(attempt, AttemptOutcome.TIMED_OUT, error=f"{type(exc).__name__}: {exc}")
        raise _Unknown(f"no answer from the network for part {index + 1}: {exc}") from exc
    _close(attempt, AttemptOutcome.PUBLISHED, native_id=published.native_id, url=published.url)
    return published


def _close(attempt: Attempt, outcome: str, *, native_id: str = "", url: str = "", error: str = "") -> None:
    Attempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome,
        native_id=native_id[:300],
        url=url[:1000],
        error=error[:2000],
        finished_at=timezone.now(),
    )


def _keep_part(target: Target, index: int, published: Published, *, lease: timedelta) -> None:
    parts = [*target.published_parts[:index], {"native_id": published.native_id, "url": published.url}]
    first = {"native_id": published.native_id[:300], "url": published.url[:1000]} if index == 0 else {}
    _write(target, published_parts=parts, lease_until=timezone.now() + lease, **first)


def _finish(target: Target) -> None:
    with transaction.atomic():
        _write(
            target,
            state=TargetState.PUBLISHED,
            error="",
            published_at=timezone.now(),
            next_attempt_at=None,
            lease_until=None,
        )
        record(
            target.post,
            "published",
            channel=label_of(target.channel),
            url=target.url,
            parts=len(target.parts),
        )
    _store_item(target)


def _set_unknown(target: Target, error: str, *, retry: bool) -> None:
    unknowns = Attempt.objects.filter(target=target, outcome=AttemptOutcome.TIMED_OUT).count()
    wait = UNKNOWN_BACKOFF[min(max(unknowns - 1, 0), len(UNKNOWN_BACKOFF) - 1)]
    _write(
        target,
        state=TargetState.OUTCOME_UNKNOWN,
        error=error[:2000],
        lease_until=None,
        next_attempt_at=timezone.now() + wait if retry else None,
    )
    record(
        target.post, "outcome_unknown", channel=label_of(target.channel), error=error[:500], will_retry=retry
    )


def _set_failed(target: Target, error: str) -> None:
    _write(target, state=TargetState.FAILED, error=error[:2000], lease_until=None, next_attempt_at=None)
    record(target.post, "failed", channel=label_of(target.channel), error=error[:500])


def _store_item(target: Target) -> None:
    """The published post joins the workspace's items, so its replies thread to it and its metrics count."""
    from townhall.items.models import Direction, Item

    if not target.native_id:
        return
    channel = target.channel
    try:
        with transaction.atomic():
            Item.objects.get_or_create(
                workspace_id=channel.workspace_id,
                network=channel.network,
                native_id=target.native_id,
                defaults={
                    "channel": channel,
                    "direction": Direction.OUTBOUND,
                    "created_at": target.published_at or timezone.now(),
                    "text": "\n\n".join(target.parts),
                    "url": target.url[:1000],
                    "raw": {"townhall_post": target.post_id},
                },
            )
    except IntegrityError:  # a sync brought it in at the same moment
        pass
