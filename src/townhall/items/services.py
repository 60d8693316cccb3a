"""Items: listing with filters, threads, and imports of files through the pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from townhall.core.errors import Invalid, NotFound, UnusableInput
from townhall.core.pagination import Page, paginate_newest_first
from townhall.core.storage import sqlite_tune_for_bulk_load
from townhall.core.validation import as_utc, unstorable
from townhall.items import importers
from townhall.items.models import Direction, ImportRun, ImportStatus, Item, Kind
from townhall.pipeline import IncomingItem, IngestStats, RowError, ingest
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import record_audit, zone_of

MAX_PAGE = 200


@dataclass
class ItemFilters:
    network: str | None = None
    channel: int | None = None
    direction: str | None = None
    kind: str | None = None
    person: int | None = None
    author: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    thread: int | None = None
    sentiment: str | None = None
    intent: str | None = None


def check_filters(filters: ItemFilters) -> None:
    for name in ("network", "author", "q"):
        problem = unstorable(getattr(filters, name))
        if problem:
            raise Invalid(f"{name} {problem}", field=name)
    if filters.direction and filters.direction not in Direction.values:
        raise Invalid(f"direction must be one of {', '.join(Direction.values)}", field="direction")
    if filters.kind and filters.kind not in Kind.values:
        raise Invalid(f"kind must be one of {', '.join(Kind.values)}", field="kind")
    for name in ("since", "until"):
        value = getattr(filters, name)
        if value is not None:
            try:
                setattr(filters, name, as_utc(value))  # also makes naive and aware values comparable
            except ValueError as exc:
                raise Invalid(f"{name}: {exc}", field=name) from None
    if filters.since and filters.until and filters.since > filters.until:
        raise Invalid("since must be before until", field="since")


def filter_items(*, workspace: Workspace, filters: ItemFilters) -> QuerySet[Item]:
    check_filters(filters)
    rows = Item.objects.filter(workspace=workspace)
    if filters.network:
        rows = rows.filter(network=filters.network)
    if filters.channel:
        rows = rows.filter(channel_id=filters.channel)
    if filters.direction:
        rows = rows.filter(direction=filters.direction)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.person:
        rows = rows.filter(person_id=filters.person)
    if filters.author:
        handle = filters.author.lstrip("@")
        rows = rows.filter(
            Q(author__handle__iexact=handle) | Q(channel__handle__iexact=handle, direction="outbound")
        )
    if filters.q:
        rows = rows.filter(text__icontains=filters.q)
    if filters.since:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until:
        rows = rows.filter(created_at__lt=filters.until)
    if filters.thread:
        rows = rows.filter(thread_root_id=filters.thread)
    if filters.sentiment:
        rows = rows.filter(enrichment__sentiment=filters.sentiment)
    if filters.intent:
        rows = rows.filter(enrichment__primary_intent=filters.intent)
    return rows


def list_items(
    *, workspace: Workspace, filters: ItemFilters, cursor: str | None = None, limit: int = 50
) -> Page[Item]:
    limit = max(1, min(limit, MAX_PAGE))
    rows = filter_items(workspace=workspace, filters=filters).select_related(
        "author", "channel", "person", "enrichment"
    )
    return paginate_newest_first(rows, field="created_at", cursor=cursor, limit=limit)


def access_item_by_id(*, workspace: Workspace, item_id: int) -> Item:
    item = (
        Item.objects.select_related("author", "channel", "person", "enrichment")
        .filter(workspace=workspace, pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(f"item {item_id} does not exist in this workspace")
    return item


def thread_of(*, item: Item) -> list[Item]:
    """Every item of the item's thread, oldest first."""
    root = item.thread_root_id or item.pk
    return list(
        Item.objects.filter(workspace_id=item.workspace_id, thread_root_id=root)
        .select_related("author", "channel", "person", "enrichment")
        .order_by("created_at", "pk")
    )


@dataclass
class DayVolume:
    day: date
    items: int


def daily_volume(*, workspace: Workspace, days: int = 30) -> list[DayVolume]:
    """Items per day over the last `days` days that have data, in the workspace's time zone, gaps as zero.

    The window ends on the day of the newest item rather than today, so an archive imported from years ago
    still has a chart.
    """
    days = max(1, days)
    rows = Item.objects.filter(workspace=workspace)
    last = rows.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is None:
        return []
    zone = zone_of(workspace=workspace)
    first_day = timezone.localtime(last, zone).date() - timedelta(days=days - 1)
    # One counted index range per day rather than GROUP BY TruncDate: on SQLite TruncDate is a Python
    # function called per row (1.3 s for 250k items in the window at 1M stored, against 30 ms this way),
    # and day boundaries computed here stay exact across daylight-saving changes on every dialect.
    volume = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        begins = datetime.combine(day, time.min, tzinfo=zone)
        ends = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        volume.append(DayVolume(day, rows.filter(created_at__gte=begins, created_at__lt=ends).count()))
    return volume


def ingest_items(*, workspace: Workspace, records: list[IncomingItem | RowError]) -> IngestStats:
    return ingest(workspace.pk, records)


def do_import_file(
    *,
    workspace: Workspace,
    path: Path,
    fmt: str,
    run: ImportRun | None = None,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
) -> ImportRun:
    """Import a file through the pipeline; bad rows are rejected with their line, the rest goes in.

    Raises UnusableInput when the file itself cannot be read (missing, wrong format); the run records it.
    """
    if run is None:
        run = ImportRun.objects.create(workspace=workspace, format=fmt, filename=path.name, created_by=actor)
    run.status, run.started_at = ImportStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        records = importers.parse(path, fmt)
        sqlite_tune_for_bulk_load()
        stats = ingest(workspace.pk, records, import_run_id=run.pk, progress=progress)
    except UnusableInput as exc:
        run.status, run.message, run.finished_at = ImportStatus.FAILED, exc.message, timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        raise
    except Exception as exc:
        run.status, run.message, run.finished_at = (
            ImportStatus.FAILED,
            f"import stopped: {exc}",
            timezone.now(),
        )
        run.save(update_fields=["status", "message", "finished_at"])
        raise
    run.imported, run.duplicates, run.rejected = stats.imported, stats.duplicates, stats.rejected
    run.errors = [e.as_dict() for e in stats.errors]
    run.status, run.finished_at = ImportStatus.DONE, timezone.now()
    run.save()
    return run


def list_import_runs(*, workspace: Workspace, limit: int = 100) -> list[ImportRun]:
    """The workspace's latest import runs, newest first."""
    return list(
        ImportRun.objects.filter(workspace=workspace)
        .select_related("created_by")
        .order_by("-created_at", "-pk")[: max(1, limit)]
    )


def access_import_by_id(*, workspace: Workspace, run_id: int) -> ImportRun:
    run = ImportRun.objects.filter(workspace=workspace, pk=run_id).first()
    if run is None:
        raise NotFound(f"import {run_id} does not exist in this workspace")
    return run


def do_start_import(
    *,
    workspace: Workspace,
    actor: Any,
    fmt: str,
    upload: UploadedFile,
    source: str = "api",
    ip_address: str | None = None,
) -> ImportRun:
    """Keep an uploaded file under the data directory and queue its import as a job (after commit)."""
    from townhall.items import tasks

    if fmt not in importers.FORMATS:
        raise Invalid(f"format must be one of {', '.join(importers.FORMATS)}", field="format")
    folder = Path(settings.MEDIA_ROOT) / "imports" / workspace.slug
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(upload.name or "upload").name
    path = folder / f"{uuid.uuid4().hex}-{name}"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    run = ImportRun.objects.create(
        workspace=workspace,
        format=fmt,
        filename=name,
        upload=str(path),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record_audit(
        actor=actor,
        action="import.start",
        target=run,
        workspace=workspace,
        detail={"format": fmt, "filename": name},
        source=source,
        ip_address=ip_address,
    )
    transaction.on_commit(lambda: tasks.run_import(run.pk))
    run.refresh_from_db()
    return run
