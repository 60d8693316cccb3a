"""Jobs: an import queued on a real Redis and run by a worker step, and the periodic jobs."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey import RedisHuey
from huey.contrib.djhuey import HUEY

from conftest import DEMO_CSV
from townhall import jobs
from townhall.items import tasks
from townhall.items.models import ImportRun, ImportStatus, Item
from townhall.workspaces.models import Workspace

REDIS_URL = os.environ.get("TOWNHALL_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_huey() -> Iterator[RedisHuey]:
    """A RedisHuey of its own (a unique name, so its queue shares nothing with anything else)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc}); start redis-server to run the job tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    huey = RedisHuey(name=f"townhall-test-{uuid.uuid4().hex}", url=REDIS_URL, immediate=False)
    yield huey
    huey.flush()
    huey.storage.conn.connection_pool.disconnect()


@pytest.mark.redis
def test_an_import_job_runs_through_redis(
    redis_huey: RedisHuey, workspace: Workspace, tmp_path: Path
) -> None:
    lines = DEMO_CSV.read_text().splitlines(keepends=True)[:81]
    upload = tmp_path / "upload.csv"
    upload.write_text("".join(lines))
    expected = len(list(csv.DictReader(lines)))
    run = ImportRun.objects.create(
        workspace=workspace, format="twcs", filename="upload.csv", upload=str(upload)
    )
    # The real task function, registered on this Redis-backed huey as the worker registers it on its own.
    run_import = redis_huey.task(retries=0, name=tasks.run_import.task_class.__name__)(tasks.run_import.func)

    run_import(run.pk)

    assert redis_huey.pending_count() == 1, "the job waits in Redis"
    run.refresh_from_db()
    assert run.status == ImportStatus.QUEUED and not Item.objects.exists()

    message = redis_huey.dequeue()  # what a worker does: take the job off the queue and run it
    assert message is not None
    redis_huey.execute(message)

    run.refresh_from_db()
    assert (run.status, run.imported, run.rejected) == (ImportStatus.DONE, expected, 0)
    assert Item.objects.filter(workspace=workspace).count() == expected
    assert redis_huey.pending_count() == 0
    assert redis_huey.dequeue() is None

    # a redelivered job finds the run finished and leaves it alone
    run_import(run.pk)
    redis_huey.execute(redis_huey.dequeue())
    run.refresh_from_db()
    assert (run.imported, run.duplicates) == (expected, 0)


def test_the_periodic_jobs_are_registered_on_cron_schedules() -> None:
    autodiscover_modules("tasks")  # what the worker (run_huey) does at start
    registered = {task.__name__ for task in HUEY._registry._periodic_tasks}
    assert {
        "purge_expired_sessions",
        "fail_stalled_imports",
        "retrain_understanding",
        "inbox_clock",
        "listening_pulse",
        "retry_webhooks",
        "publishing_clock",
    } <= registered

    def due(at: datetime) -> set[str]:
        return {task.name for task in HUEY.read_periodic(at)}

    every_minute = {"inbox_clock", "retry_webhooks", "publishing_clock"}
    every_5 = {"sync_channels"}
    every_10 = {"listening_pulse"}
    assert due(datetime(2026, 1, 1, 3, 17)) == {"purge_expired_sessions"} | every_minute
    assert (
        due(datetime(2026, 1, 1, 14, 40))
        == {"fail_stalled_imports", "retrain_understanding"} | every_minute | every_5 | every_10
    )
    assert due(datetime(2026, 1, 1, 14, 50)) == {"fail_stalled_imports"} | every_minute | every_5 | every_10
    assert due(datetime(2026, 1, 1, 14, 41)) == every_minute
    assert due(datetime(2026, 1, 1, 14, 45)) == every_minute | every_5


def test_fail_stalled_imports_marks_only_old_running_or_forgotten_queued_imports_failed(
    workspace: Workspace,
) -> None:
    now = timezone.now()

    def run(status: str, started_hours_ago: float | None) -> ImportRun:
        started = now - timedelta(hours=started_hours_ago) if started_hours_ago is not None else None
        return ImportRun.objects.create(
            workspace=workspace, format="twcs", filename=f"{status}.csv", status=status, started_at=started
        )

    stalled = run(ImportStatus.RUNNING, 7)
    recent = run(ImportStatus.RUNNING, 1)
    finished = run(ImportStatus.DONE, 30)
    queued = run(ImportStatus.QUEUED, None)
    forgotten = run(ImportStatus.QUEUED, None)
    ImportRun.objects.filter(pk=forgotten.pk).update(created_at=now - timedelta(hours=25))

    jobs.fail_stalled_imports.call_local()

    forgotten.refresh_from_db()
    assert forgotten.status == ImportStatus.FAILED
    assert "townhall worker" in forgotten.message

    stalled.refresh_from_db()
    assert stalled.status == ImportStatus.FAILED
    assert "start it again" in stalled.message and stalled.finished_at is not None
    for untouched, status in (
        (recent, ImportStatus.RUNNING),
        (finished, ImportStatus.DONE),
        (queued, "queued"),
    ):
        untouched.refresh_from_db()
        assert untouched.status == status and untouched.message == ""


def test_purge_expired_sessions_keeps_live_ones(db: None) -> None:
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )

    jobs.purge_expired_sessions.call_local()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
