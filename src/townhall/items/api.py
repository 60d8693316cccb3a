"""REST endpoints for items (list, thread, ingest) and file imports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from townhall.core.api_base import ERRORS, MAX_ID, client_ip
from townhall.enrich.api import read as read_understanding
from townhall.enrich.engine import IntentLabel
from townhall.enrich.schemas import SentimentLabel, UnderstandingRead
from townhall.items import importers, services
from townhall.items.models import Direction, ImportRun, Item, Kind
from townhall.items.schemas import ImportRunRead, IngestResult, ItemBatch, ItemPage, ItemRead, RowErrorRead
from townhall.people.schemas import IdentityRead
from townhall.pipeline import IncomingItem, RowError
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["items"])


def read(item: Item) -> ItemRead:
    return ItemRead(
        id=item.pk,
        network=item.network,
        native_id=item.native_id,
        kind=item.kind,
        direction=item.direction,
        channel_id=item.channel_id,
        channel_handle=item.channel.handle if item.channel else None,
        author=IdentityRead.from_orm(item.author) if item.author else None,
        person_id=item.person_id,
        parent_id=item.parent_id,
        thread_root_id=item.thread_root_id,
        created_at=item.created_at,
        text=item.text,
        language=item.language,
        likes=item.likes,
        reposts=item.reposts,
        replies=item.replies,
        views=item.views,
        url=item.url,
        understanding=understanding_of(item),
    )


def understanding_of(item: Item) -> UnderstandingRead | None:
    try:
        return read_understanding(item.enrichment)
    except ObjectDoesNotExist:
        return None


@router.get("/workspaces/{slug}/items", response={200: ItemPage, **ERRORS})
def list_items(
    request: HttpRequest,
    slug: str,
    network: str | None = None,
    channel: int | None = Query(None, ge=1, le=MAX_ID),
    direction: Direction | None = None,
    kind: Kind | None = None,
    person: int | None = Query(None, ge=1, le=MAX_ID),
    author: str | None = None,
    q: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sentiment: SentimentLabel | None = None,
    intent: IntentLabel | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> ItemPage:
    """Items newest first. Follow `next_cursor` for the next page; filters combine with AND."""
    workspace = access_workspace(user=request.user, slug=slug, permission="items.view")
    filters = services.ItemFilters(
        network=network,
        channel=channel,
        direction=direction,
        kind=kind,
        person=person,
        author=author,
        q=q,
        since=since,
        until=until,
        sentiment=sentiment,
        intent=intent,
    )
    page = services.list_items(workspace=workspace, filters=filters, cursor=cursor, limit=limit)
    return ItemPage(items=[read(i) for i in page.items], next_cursor=page.next_cursor)


@router.post("/workspaces/{slug}/items", response={200: IngestResult, **ERRORS})
def ingest_items(request: HttpRequest, slug: str, payload: ItemBatch) -> IngestResult:
    """Ingest items in the generic format. Bad items are rejected one by one (by index); the rest go in.

    Sending the same items again stores nothing twice.
    """
    workspace = access_workspace(user=request.user, slug=slug, permission="items.write")
    records: list[IncomingItem | RowError] = []
    for index, raw in enumerate(payload.items):
        parsed = importers.parse_item_dict(index, raw)
        records.append(parsed)
    stats = services.ingest_items(workspace=workspace, records=records)
    record_audit(
        actor=request.user,
        action="items.ingest",
        workspace=workspace,
        detail=stats.summary(),
        ip_address=client_ip(request),
    )
    return IngestResult(
        **stats.summary(), errors=[RowErrorRead(line=e.line, reason=e.reason) for e in stats.errors]
    )


@router.get("/workspaces/{slug}/items/{item_id}", response={200: ItemRead, **ERRORS})
def get_item(request: HttpRequest, slug: str, item_id: int) -> ItemRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="items.view")
    return read(services.access_item_by_id(workspace=workspace, item_id=item_id))


@router.get("/workspaces/{slug}/items/{item_id}/thread", response={200: list[ItemRead], **ERRORS})
def get_thread(request: HttpRequest, slug: str, item_id: int) -> list[ItemRead]:
    """Every item in the item's thread, oldest first."""
    workspace = access_workspace(user=request.user, slug=slug, permission="items.view")
    item = services.access_item_by_id(workspace=workspace, item_id=item_id)
    return [read(i) for i in services.thread_of(item=item)]


def read_run(run: ImportRun) -> ImportRunRead:
    return ImportRunRead(
        id=run.pk,
        format=run.format,
        filename=run.filename,
        status=run.status,
        imported=run.imported,
        duplicates=run.duplicates,
        rejected=run.rejected,
        errors=[RowErrorRead(**e) for e in run.errors],
        message=run.message,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


@router.get("/workspaces/{slug}/imports", response={200: list[ImportRunRead], **ERRORS})
def list_imports(request: HttpRequest, slug: str) -> list[ImportRunRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="imports.view")
    return [
        read_run(r)
        for r in ImportRun.objects.filter(workspace=workspace).order_by("-created_at", "-pk")[:100]
    ]


@router.post("/workspaces/{slug}/imports", response={202: ImportRunRead, **ERRORS})
def start_import(
    request: HttpRequest, slug: str, format: Form[Literal["twcs", "jsonl"]], file: File[UploadedFile]
) -> Status[ImportRunRead]:
    """Upload a file (`twcs` CSV or `jsonl`); it is imported by a job. Poll the run for its counts."""
    workspace = access_workspace(user=request.user, slug=slug, permission="imports.run")
    run = services.do_start_import(
        workspace=workspace, actor=request.user, fmt=format, upload=file, ip_address=client_ip(request)
    )
    return Status(202, read_run(run))


@router.get("/workspaces/{slug}/imports/{run_id}", response={200: ImportRunRead, **ERRORS})
def get_import(request: HttpRequest, slug: str, run_id: int) -> ImportRunRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="imports.view")
    return read_run(services.access_import_by_id(workspace=workspace, run_id=run_id))
