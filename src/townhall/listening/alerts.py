"""Spike alerts: judge each topic's complete hours, explain what drove a spike, tell whoever listens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from townhall.core.errors import NotFound
from townhall.listening import evidence, spikes, trends
from townhall.listening.models import (
    Alert,
    AlertKind,
    DetectorState,
    Granularity,
    Mention,
    MentionRollup,
    Topic,
)
from townhall.listening.rollups import HOUR, hour_of
from townhall.workspaces.models import Workspace


def alerts_of(
    *, workspace: Workspace, topic: Topic | None = None, limit: int = 50, unacknowledged: bool = False
) -> QuerySet[Alert]:
    """Alerts newest first."""
    found = Alert.objects.filter(workspace=workspace).select_related("topic", "acknowledged_by")
    if topic is not None:
        found = found.filter(topic=topic)
    if unacknowledged:
        found = found.filter(acknowledged_at__isnull=True)
    return found.order_by("-window_end", "-pk")[:limit]


def access_alert_by_id(*, workspace: Workspace, alert_id: int) -> Alert:
    alert = Alert.objects.filter(workspace=workspace, pk=alert_id).select_related("topic").first()
    if alert is None:
        raise NotFound(f"alert {alert_id} does not exist in this workspace")
    return alert


def do_acknowledge(*, alert: Alert, user: Any) -> Alert:
    """Mark an alert as seen by someone; acknowledging twice keeps the first."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


# -- detection ---------------------------------------------------------------------------------------

MAX_REPLAY = timedelta(hours=48)  # after a pause, the detector judges at most the last two days
EXPLAIN_BASELINE = timedelta(days=7)
MAX_EXPLAIN = 20_000
TOP_POSTS_FOR_RULES = 20


def run(*, now: datetime | None = None) -> list[Alert]:
    """Judge every complete hour of every watched topic not judged yet; returns the alerts raised."""
    now = now or timezone.now()
    last_complete = hour_of(now) - HOUR
    raised: list[Alert] = []
    for topic in Topic.objects.filter(active=True, alerts=True):
        raised.extend(judge(topic, until=last_complete))
    return raised


def judge(topic: Topic, *, until: datetime) -> list[Alert]:
    """Judge the topic's hours after the last judged one up to `until` (an hour start)."""
    try:
        settings = spikes.SpikeSettings.from_overrides(topic.alert_settings)
    except ValueError:
        settings = spikes.DEFAULT_SETTINGS
    with transaction.atomic():
        state, _ = DetectorState.objects.select_for_update().get_or_create(topic=topic)
        first = until if state.last_hour is None else state.last_hour + HOUR
        first = max(first, until - MAX_REPLAY + HOUR)
        if first > until:
            return []
        total, negative, since = _series(topic, first=first, until=until, settings=settings)
        found = spikes.scan(
            total, first, until, settings, since=since, **_last_alert(topic, AlertKind.VOLUME)
        )
        found += spikes.scan_negative(
            total, negative, first, until, settings, since=since, **_last_alert(topic, AlertKind.NEGATIVE)
        )
        raised = [a for a in (_raise(topic, spike) for spike in found) if a is not None]
        state.last_hour = until
        state.save(update_fields=["last_hour"])
    return raised


def _series(
    topic: Topic, *, first: datetime, until: datetime, settings: spikes.SpikeSettings
) -> tuple[dict[datetime, float], dict[datetime, float], datetime | None]:
    """The topic's hourly volume and negative mentions, as far back as the detector reads."""
    rows = MentionRollup.objects.filter(
        topic=topic,
        granularity=Granularity.HOUR,
        bucket__gte=first - spikes.needed_history(settings),
        bucket__lte=until,
    ).values_list("bucket", "volume", "negative")
    total: dict[datetime, float] = {}
    negative: dict[datetime, float] = {}
    for bucket, volume, neg in rows:
        total[bucket] = float(volume)
        negative[bucket] = float(neg)
    oldest = MentionRollup.objects.filter(topic=topic, granularity=Granularity.HOUR).aggregate(
        m=Min("bucket")
    )
    # History starts with the topic's first mention or, for a quiet topic, when it was created.
    since = min(filter(None, [oldest["m"], hour_of(topic.created_at)]))
    return total, negative, since


def _last_alert(topic: Topic, kind: str) -> dict[str, Any]:
    """The hour that raised the topic's last alert of this kind, and how far above normal it was."""
    last = Alert.objects.filter(topic=topic, kind=kind).order_by("-window_end").first()
    if last is None:
        return {"last_alert_at": None, "last_alert_ratio": None}
    return {
        "last_alert_at": last.window_end - HOUR,
        "last_alert_ratio": last.observed / max(last.expected, 1.0),
    }


def _raise(topic: Topic, spike: spikes.Spike) -> Alert | None:
    """Store the alert with its explanation; after commit, tell webhooks, rules and the team."""
    if Alert.objects.filter(topic=topic, kind=spike.kind, window_end=spike.window_end).exists():
        return None
    explanation = explain(topic, spike)
    alert = Alert.objects.create(
        workspace_id=topic.workspace_id,
        topic=topic,
        kind=spike.kind,
        window_start=spike.window_start,
        window_end=spike.window_end,
        observed=spike.observed,
        expected=spike.expected,
        z=spike.z,
        explanation=explanation,
    )
    alert_id = alert.pk
    transaction.on_commit(lambda: announce(alert_id))
    return alert


def explain(topic: Topic, spike: spikes.Spike) -> dict[str, Any]:
    """The spike's evidence: its terms, authors and posts against the week before, and the sentiment shift."""
    from townhall.listening.insights import posts

    during = _mention_records(topic, spike.window_start, spike.window_end)
    before = _mention_records(topic, spike.window_start - EXPLAIN_BASELINE, spike.window_start)
    exclude = trends.own_terms(topic.queries.values_list("text", flat=True))
    found = evidence.explain(spike, during, before, exclude=exclude)
    shown = posts([int(p["item_id"]) for p in found.get("posts", [])])
    top_posts = [
        {**shown[int(p["item_id"])], **p} for p in found.get("posts", []) if int(p["item_id"]) in shown
    ]
    return {
        **{k: v for k, v in found.items() if k not in ("terms", "authors", "posts")},
        "top_terms": found.get("terms", []),
        "top_authors": found.get("authors", []),
        "top_posts": top_posts,
        "driving_items": [m.item_id for m in during][:TOP_POSTS_FOR_RULES],
    }


def _mention_records(topic: Topic, start: datetime, end: datetime) -> list[trends.MentionRecord]:
    """The topic's mentioned items of a window, one record each, with the sentiment the mention copied."""
    rows = (
        Mention.objects.filter(topic=topic, created_at__gte=start, created_at__lt=end)
        .order_by("-reach", "-created_at")
        .values_list(
            "item_id",
            "item__author__handle",
            "item__text",
            "created_at",
            "reach",
            "item__likes",
            "item__reposts",
            "item__replies",
            "sentiment",
        )[:MAX_EXPLAIN]
    )
    seen: dict[int, trends.MentionRecord] = {}
    for item_id, handle, text, at, reach, likes, reposts, replies, sentiment in rows:
        if item_id not in seen:
            seen[item_id] = trends.MentionRecord(
                item_id=item_id,
                author=handle or "",
                text=text,
                created_at=at,
                reach=reach,
                engagement=likes + reposts + replies,
                sentiment=sentiment,
            )
    return list(seen.values())


def payload_of(alert: Alert) -> dict[str, Any]:
    """The alert as webhooks receive it."""
    return {
        "alert": alert.pk,
        "kind": alert.kind,
        "topic": {"id": alert.topic_id, "name": alert.topic.name, "kind": alert.topic.kind},
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "observed": alert.observed,
        "expected": round(alert.expected, 2),
        "z": round(alert.z, 2),
        "explanation": alert.explanation,
    }


def summary(alert: Alert) -> str:
    what = "Negative-sentiment spike" if alert.kind == AlertKind.NEGATIVE else "Spike"
    return (
        f"{what} on {alert.topic.name}: {alert.observed:.0f} mentions "
        f"against {alert.expected:.1f} expected ({alert.window_start:%Y-%m-%d %H:%M} UTC)"
    )


def announce(alert_id: int) -> None:
    """Tell everyone who listens: webhooks, the managers' notifications, and inbox rules on the posts."""
    from townhall.inbox.models import ConversationItem, Notification
    from townhall.inbox.routing import Context, fire
    from townhall.webhooks.services import do_emit
    from townhall.workspaces.models import Membership, Role

    alert = Alert.objects.select_related("topic").filter(pk=alert_id).first()
    if alert is None:
        return
    with transaction.atomic():
        do_emit(workspace_id=alert.workspace_id, event="listening.alert", payload=payload_of(alert))
        managers = Membership.objects.filter(
            workspace_id=alert.workspace_id, role__in=[Role.OWNER, Role.ADMIN, Role.MANAGER]
        ).values_list("user_id", flat=True)
        Notification.objects.bulk_create(
            [
                Notification(workspace_id=alert.workspace_id, user_id=u, text=summary(alert)[:500])
                for u in managers
            ]
        )
        items = alert.explanation.get("driving_items", [])
        entries = ConversationItem.objects.filter(item_id__in=items).select_related("conversation")
        context: Context | None = None
        done: set[int] = set()
        for entry in entries:
            conversation = entry.conversation
            if conversation.pk in done:
                continue
            done.add(conversation.pk)
            context = context or Context.load(alert.workspace_id)
            fire(
                conversation,
                "listening_alert",
                context=context,
                item_id=entry.item_id,
                extra={"alert_kind": alert.kind, "alert_topic": alert.topic_id},
            )
