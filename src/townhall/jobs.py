"""Every periodic job, registered in one place on wall-clock (cron) schedules."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_expired_sessions() -> None:
    """Daily: drop sessions past their expiry so the table stays small."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    log.info("purged %d expired sessions", deleted)


@db_periodic_task(crontab(minute="*/10"))
def fail_stalled_imports() -> None:
    """Every 10 minutes: mark imports whose worker died (6 h running) or never came (a day queued)."""
    from townhall.items.models import ImportRun, ImportStatus

    now = timezone.now()
    ImportRun.objects.filter(status=ImportStatus.RUNNING, started_at__lt=now - timedelta(hours=6)).update(
        status=ImportStatus.FAILED,
        message="the worker running this import stopped; start it again",
        finished_at=now,
    )
    ImportRun.objects.filter(status=ImportStatus.QUEUED, created_at__lt=now - timedelta(hours=24)).update(
        status=ImportStatus.FAILED,
        message="no job worker picked this import up within a day; is `townhall worker` running?",
        finished_at=now,
    )


@db_periodic_task(crontab(minute="40"))
def retrain_understanding() -> None:
    """Hourly: workspaces whose agents corrected sentiment or intents get their adapters refitted."""
    from townhall.enrich.services import do_retrain_stale

    refreshed = do_retrain_stale()
    if refreshed:
        log.info("retrained understanding for workspaces %s", refreshed)


@db_periodic_task(crontab(minute="*"))
def inbox_clock() -> None:
    """Every minute: SLA warnings and breaches, no-reply rules, snoozes that end, webhook retries."""
    from townhall.inbox.tasks import tick

    fired = tick()
    if any(fired.values()):
        log.info("inbox clock: %s", fired)


@db_periodic_task(crontab(minute="*/5"))
def sync_channels() -> None:
    """Every 5 minutes: queue a sync of every active channel whose connector reads."""
    from townhall.connectors.sync import channels_to_sync
    from townhall.connectors.tasks import sync_channel

    for channel in channels_to_sync():
        sync_channel(channel.pk)


@db_periodic_task(crontab(minute="*/10"))
def listening_pulse() -> None:
    """Every 10 minutes: take new mentions into the hourly and daily series, then judge complete hours."""
    from townhall.listening import alerts, rollups

    taken = rollups.run()
    raised = alerts.run()
    if taken or raised:
        log.info("listening: %d mentions rolled up, %d alerts raised", taken, len(raised))


@db_periodic_task(crontab(minute="*"))
def retry_webhooks() -> None:
    """Every minute: send again the webhook calls whose pause after a failure is over."""
    from townhall.webhooks.services import retry_due

    sent = retry_due()
    if sent:
        log.info("webhooks: %d calls tried again", sent)


@db_periodic_task(crontab(minute="*"))
def publishing_clock() -> None:
    """Every minute: expire approvals past their deadline, then publish every target that is due."""
    from townhall.publishing.approvals import expire_overdue
    from townhall.publishing.publisher import run_due

    expired = expire_overdue()
    counts = run_due()
    if expired or counts:
        log.info("publishing: %d approvals expired, targets %s", expired, counts)
