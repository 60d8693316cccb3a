"""Jobs of the inbox: sending what rules and agents queued, and the clock that fires SLA events."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import db_task

from townhall.inbox.models import Conversation, Delivery, Event, InboxSettings, RoutingRule, Status

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ATTEMPTS = 5


@db_task(retries=0)
def deliver(delivery_id: int) -> None:
    """Send one queued webhook; a finished one is left alone, so a redelivered job is harmless."""
    send_delivery(delivery_id)


def send_delivery(
    delivery_id: int, *, client: httpx.Client | None = None, connector: Any = None
) -> Delivery | None:
    """Send one delivery: a webhook over HTTP, anything else through the channel's connector."""
    delivery = Delivery.objects.filter(pk=delivery_id).select_related("item").first()
    if delivery is None or delivery.status not in ("queued", "failed"):
        return delivery
    if delivery.kind != "webhook":
        return _through_connector(delivery, connector)
    delivery.attempts += 1
    try:
        with client or httpx.Client(timeout=WEBHOOK_TIMEOUT) as http:
            response = http.post(delivery.target, json=delivery.payload)
        response.raise_for_status()
        delivery.status, delivery.error = "sent", ""
    except httpx.HTTPError as exc:
        delivery.status, delivery.error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "error", "attempts", "finished_at"])
    return delivery


def _through_connector(delivery: Delivery, connector: Any) -> Delivery:
    """Publish a reply or carry out moderation on the network; a published reply takes the network's id."""
    from townhall.connectors.base import Outgoing
    from townhall.connectors.http import ConnectorError
    from townhall.connectors.sync import connector_of
    from townhall.items.models import Item

    delivery.attempts += 1
    conversation = delivery.conversation
    item = delivery.item
    own = connector is None
    try:
        if conversation is None or conversation.channel is None or item is None:
            raise ConnectorError("the conversation, its channel or the item is gone")
        connector = connector or connector_of(conversation.channel)
        if delivery.kind in ("reply", "auto_ack"):
            parent = ""
            if item.parent_id is not None:
                parent = (
                    Item.objects.filter(pk=item.parent_id).values_list("native_id", flat=True).first() or ""
                )
            published = connector.publish(Outgoing(text=item.text, reply_to=parent))
            _adopt_network_id(item, published.native_id, published.url)
            delivery.target = published.native_id
        else:
            connector.moderate(delivery.kind, item.native_id, reason=delivery.payload.get("reason", ""))
            delivery.target = item.native_id
        delivery.status, delivery.error = "sent", ""
    except (ConnectorError, NotImplementedError) as exc:
        delivery.status, delivery.error = "failed", str(exc)[:1000]
    finally:
        if own and connector is not None:
            connector.close()
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "error", "attempts", "finished_at", "target"])
    return delivery


def _adopt_network_id(item: Any, native_id: str, url: str) -> None:
    """Our reply's placeholder id becomes the network's, so the next sync knows the reply as ours."""
    from django.db import IntegrityError

    from townhall.items.models import Item

    try:
        with transaction.atomic():
            Item.objects.filter(pk=item.pk).update(native_id=native_id, url=url[:1000])
    except IntegrityError:
        # A sync already brought the published reply in: keep that copy, drop the placeholder.
        Item.objects.filter(pk=item.pk).delete()


def retry_failed_deliveries(now: datetime) -> int:
    """Failed webhooks are tried again with a growing pause, up to MAX_ATTEMPTS."""
    retried = 0
    for delivery in Delivery.objects.filter(status="failed", attempts__lt=MAX_ATTEMPTS):
        wait = timedelta(minutes=2**delivery.attempts)
        if delivery.finished_at is None or delivery.finished_at + wait <= now:
            send_delivery(delivery.pk)
            retried += 1
    return retried


def tick(now: datetime | None = None) -> dict[str, int]:
    """Fire due SLA warnings and breaches, no-reply rules and snooze ends; each fires once per clock."""
    from townhall.inbox import routing

    now = now or timezone.now()
    counts = {"woken": 0, "sla_approaching": 0, "sla_breached": 0, "no_reply": 0}
    woken = Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now)
    for c in woken:
        c.status, c.snoozed_until = Status.OPEN, None
        c.save(update_fields=["status", "snoozed_until"])
        Event.objects.create(conversation=c, kind="status", text="open: snooze ended", created_at=now)
        counts["woken"] += 1
    warnings = dict(InboxSettings.objects.values_list("workspace_id", "sla_warning_minutes"))
    widest = max(warnings.values(), default=15)
    running = Conversation.objects.exclude(status=Status.RESOLVED).filter(
        sla_due__isnull=False, sla_due__lte=now + timedelta(minutes=widest)
    )
    contexts: dict[int, routing.Context] = {}
    for c in running.order_by("sla_due"):
        context = contexts.setdefault(c.workspace_id, routing.Context.load(c.workspace_id))
        context.now = now
        assert c.sla_due is not None
        if c.sla_due <= now and c.sla_breached_for != c.sla_due:
            with transaction.atomic():
                c.sla_breached_for = c.sla_due
                c.save(update_fields=["sla_breached_for"])
                Event.objects.create(
                    conversation=c,
                    kind="sla_breached",
                    text=f"{_clock(c)} target missed (due {c.sla_due:%Y-%m-%d %H:%M} UTC)",
                    created_at=now,
                )
                routing.fire(c, "sla_breached", context=context)
            counts["sla_breached"] += 1
        elif (
            c.sla_due > now
            and c.sla_due <= now + timedelta(minutes=warnings.get(c.workspace_id, 15))
            and c.sla_warned_for != c.sla_due
        ):
            with transaction.atomic():
                c.sla_warned_for = c.sla_due
                c.save(update_fields=["sla_warned_for"])
                routing.fire(c, "sla_approaching", context=context)
            counts["sla_approaching"] += 1
    counts["no_reply"] = _fire_no_reply(now)
    retry_failed_deliveries(now)
    return counts


def _clock(c: Conversation) -> str:
    from townhall.inbox.sla import which_clock

    return which_clock(c)


def _fire_no_reply(now: datetime) -> int:
    """Each no-reply rule fires once per wait: when the customer has waited its number of minutes."""
    from townhall.inbox import routing

    thresholds: dict[int, set[int]] = {}
    for workspace_id, events, minutes in RoutingRule.objects.filter(
        enabled=True, minutes__isnull=False
    ).values_list("workspace_id", "events", "minutes"):
        if "no_reply" in events and minutes:
            thresholds.setdefault(workspace_id, set()).add(minutes)
    fired = 0
    for workspace_id, all_minutes in thresholds.items():
        waiting = Conversation.objects.filter(
            workspace_id=workspace_id,
            status__in=[Status.OPEN, Status.PENDING],
            waiting_since__isnull=False,
            waiting_since__lte=now - timedelta(minutes=min(all_minutes)),
        )
        context = routing.Context.load(workspace_id)
        context.now = now
        for c in waiting:
            assert c.waiting_since is not None
            waited = (now - c.waiting_since).total_seconds() / 60
            done = set(
                Event.objects.filter(
                    conversation=c, kind="no_reply", text__endswith=c.waiting_since.isoformat()
                ).values_list("text", flat=True)
            )
            for minutes in sorted(m for m in all_minutes if m <= waited):
                mark = f"{minutes}@{c.waiting_since.isoformat()}"
                if mark in done:
                    continue
                Event.objects.create(conversation=c, kind="no_reply", text=mark, created_at=now)
                routing.fire(c, "no_reply", context=context, minutes=minutes)
                fired += 1
    return fired
