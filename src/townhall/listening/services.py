"""Topics and their listening queries: check, create, edit, remove; backfilling a query over history."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.services import check_choice
from townhall.enrich.models import Enrichment
from townhall.items.models import Item
from townhall.listening import rollups, stage
from townhall.listening.matcher import Matcher
from townhall.listening.models import (
    BackfillStatus,
    ListeningQuery,
    Mention,
    Topic,
    TopicKind,
)
from townhall.listening.query import Node, QueryError, parse
from townhall.listening.spikes import SpikeSettings
from townhall.workspaces.models import Workspace

log = logging.getLogger(__name__)
BACKFILL_CHUNK = 2_000
MAX_QUERY_LENGTH = 4_000


# -- checks ------------------------------------------------------------------------------------------


def check_query(text: str) -> Node:
    """The parsed query, or Invalid naming the position and what was expected there."""
    if not text.strip():
        raise Invalid("the query is empty", field="text")
    if len(text) > MAX_QUERY_LENGTH:
        raise Invalid(f"a query may be at most {MAX_QUERY_LENGTH} characters", field="text")
    try:
        return parse(text)
    except QueryError as exc:
        raise Invalid(
            f"the query does not parse: expected {exc.expected} (at position {exc.position})", field="text"
        ) from exc


def check_alert_settings(value: Any) -> dict[str, float]:
    """The topic's detector overrides, checked against the detector's own settings and limits."""
    if not isinstance(value, dict):
        raise Invalid("alert_settings must be an object", field="alert_settings")
    try:
        SpikeSettings.from_overrides(value)
    except (ValueError, TypeError) as exc:
        raise Invalid(str(exc), field="alert_settings") from exc
    return {key: float(number) for key, number in value.items()}


# -- topics ------------------------------------------------------------------------------------------


def topics_of(*, workspace: Workspace) -> QuerySet[Topic]:
    return Topic.objects.filter(workspace=workspace).order_by("name")


def access_topic_by_id(*, workspace: Workspace, topic_id: int) -> Topic:
    topic = Topic.objects.filter(workspace=workspace, pk=topic_id).first()
    if topic is None:
        raise NotFound(f"topic {topic_id} does not exist in this workspace")
    return topic


def do_create_topic(
    *,
    workspace: Workspace,
    name: str,
    kind: str = TopicKind.BRAND,
    description: str = "",
    queries: list[str] | None = None,
    alerts: bool = True,
    alert_settings: dict[str, Any] | None = None,
) -> Topic:
    """Create a topic, optionally with its first queries (each backfilled over history)."""
    name = name.strip()
    if not name:
        raise Invalid("a topic needs a name", field="name")
    check_choice(kind, field="kind", choices=TopicKind.values)
    nodes = [check_query(q) for q in queries or []]
    settings = check_alert_settings(alert_settings or {})
    with transaction.atomic():
        if Topic.objects.filter(workspace=workspace, name=name).exists():
            raise Conflict(f"a topic named {name!r} already exists", field="name")
        topic = Topic.objects.create(
            workspace=workspace,
            name=name[:100],
            kind=kind,
            description=description,
            alerts=alerts,
            alert_settings=settings,
        )
        for text, _ in zip(queries or [], nodes, strict=True):
            _create_query(topic, text=text)
    return topic


def do_update_topic(*, topic: Topic, changes: dict[str, Any]) -> Topic:
    editable = {"name", "kind", "description", "active", "alerts", "alert_settings"}
    unknown = set(changes) - editable
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(sorted(editable))}")
    if "kind" in changes:
        check_choice(changes["kind"], field="kind", choices=TopicKind.values)
    if "alert_settings" in changes:
        changes["alert_settings"] = check_alert_settings(changes["alert_settings"])
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()[:100]
        if not changes["name"]:
            raise Invalid("a topic needs a name", field="name")
        clash = Topic.objects.filter(workspace_id=topic.workspace_id, name=changes["name"]).exclude(
            pk=topic.pk
        )
        if clash.exists():
            raise Conflict(f"a topic named {changes['name']!r} already exists", field="name")
    with transaction.atomic():
        for key, value in changes.items():
            setattr(topic, key, value)
        topic.save()
        if "active" in changes:
            # The matcher is compiled again when a query's time moves; a topic switched on or off moves them.
            topic.queries.update(updated_at=timezone.now())
    return topic


def do_delete_topic(*, topic: Topic) -> None:
    topic.delete()


# -- queries -----------------------------------------------------------------------------------------


def access_query_by_id(*, workspace: Workspace, query_id: int) -> ListeningQuery:
    query = ListeningQuery.objects.filter(workspace=workspace, pk=query_id).select_related("topic").first()
    if query is None:
        raise NotFound(f"listening query {query_id} does not exist in this workspace")
    return query


def do_create_query(*, topic: Topic, text: str, name: str = "") -> ListeningQuery:
    """Add a query to a topic; its matches over stored history are found by a backfill job."""
    check_query(text)
    with transaction.atomic():
        return _create_query(topic, text=text, name=name)


def _create_query(topic: Topic, *, text: str, name: str = "") -> ListeningQuery:
    query = ListeningQuery.objects.create(
        workspace_id=topic.workspace_id, topic=topic, text=text, name=name[:100]
    )
    _schedule_backfill(query)
    return query


def do_update_query(*, query: ListeningQuery, changes: dict[str, Any]) -> ListeningQuery:
    """Edit a query; a new text drops its old matches and backfills the new one."""
    editable = {"text", "name", "active"}
    unknown = set(changes) - editable
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(sorted(editable))}")
    new_text = "text" in changes and changes["text"] != query.text
    if new_text:
        check_query(changes["text"])
    with transaction.atomic():
        for key, value in changes.items():
            setattr(query, key, value[:100] if key == "name" else value)
        if new_text:
            query.version += 1
            _drop_mentions(query)
            query.backfill_status = BackfillStatus.PENDING
            query.backfill_cursor = 0
            query.backfill_matched = 0
            query.backfill_error = ""
        query.save()
        if new_text or (changes.get("active") and query.backfill_status != BackfillStatus.DONE):
            _schedule_backfill(query)
    return query


def do_delete_query(*, query: ListeningQuery) -> None:
    with transaction.atomic():
        _drop_mentions(query)
        query.delete()


def _drop_mentions(query: ListeningQuery) -> None:
    times = list(Mention.objects.filter(query=query).values_list("created_at", flat=True))
    Mention.objects.filter(query=query).delete()
    rollups.mark_stale(query.topic_id, times)
    transaction.on_commit(_queue_rollup)


def _queue_rollup() -> None:
    from townhall.listening.tasks import roll_up

    roll_up()


def _schedule_backfill(query: ListeningQuery) -> None:
    from townhall.listening.tasks import backfill

    query_id, version = query.pk, query.version
    transaction.on_commit(lambda: backfill(query_id, version))


# -- backfill ----------------------------------------------------------------------------------------


def do_backfill(*, query_id: int, version: int, chunk: int = BACKFILL_CHUNK) -> ListeningQuery | None:
    """Match one query against the workspace's stored items, from where an earlier run stopped.

    Items the pipeline brings in meanwhile are matched by the listen stage (the query is already active),
    and a match found by both is stored once. Each chunk's mentions and the cursor that follows them are
    committed together; an edit of the query (a new version) stops the run.
    """
    query = ListeningQuery.objects.filter(pk=query_id).first()
    if query is None or query.version != version:
        return query
    try:
        node = check_query(query.text)
    except Invalid as exc:
        ListeningQuery.objects.filter(pk=query_id).update(
            backfill_status=BackfillStatus.FAILED, backfill_error=exc.message
        )
        return query
    matcher = Matcher({query.pk: node})
    owners = {query.pk: (query.workspace_id, query.topic_id)}
    ListeningQuery.objects.filter(pk=query_id, version=version).update(backfill_status=BackfillStatus.RUNNING)
    cursor = query.backfill_cursor
    while True:
        with transaction.atomic():
            current = ListeningQuery.objects.select_for_update().filter(pk=query_id).first()
            if current is None or current.version != version:
                return current
            ids = list(
                Item.objects.filter(workspace_id=query.workspace_id, pk__gt=cursor)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk]
            )
            if not ids:
                current.backfill_status = BackfillStatus.DONE
                current.backfill_version = version
                current.save(update_fields=["backfill_status", "backfill_version"])
                break
            rows = stage.mention_rows(candidates_for(ids), matcher, owners)
            stage.store(rows)
            cursor = ids[-1]
            current.backfill_cursor = cursor
            current.backfill_matched += len(rows)
            current.save(update_fields=["backfill_cursor", "backfill_matched"])
    rollups.run()
    return ListeningQuery.objects.filter(pk=query_id).first()


def candidates_for(ids: list[int]) -> list[stage.Candidate]:
    """Stored items as the matcher sees them, with what their mention rows copy."""
    reads: dict[int, dict[str, Any]] = {
        e["item_id"]: dict(e)
        for e in Enrichment.objects.filter(item_id__in=ids).values(
            "item_id", "language", "sentiment", "intents"
        )
    }
    rows = Item.objects.filter(pk__in=ids).values_list(
        "pk",
        "workspace_id",
        "created_at",
        "author_id",
        "author__handle",
        "author__followers",
        "text",
        "language",
        "network",
        "channel_id",
        "channel__handle",
        "url",
    )
    return [
        stage.candidate(
            item_id=pk,
            workspace_id=ws,
            created_at=created,
            author_id=author_id,
            handle=handle or "",
            followers=followers,
            text=text,
            language=lang,
            network=network,
            channel_id=channel_id,
            channel_handle=channel or "",
            url=url,
            reading=reads.get(pk, {}),
        )
        for pk, ws, created, author_id, handle, followers, text, lang, network, channel_id, channel, url in (
            rows
        )
    ]


DEMO_TOPICS = (
    ("Delta", TopicKind.BRAND, ["@delta OR #delta OR (delta AND (flight* OR airline* OR plane* OR gate))"]),
    ("American Airlines", TopicKind.COMPETITOR, ['@americanair OR "american airlines"']),
    ("Southwest", TopicKind.COMPETITOR, ['@southwestair OR "southwest airlines" OR #southwest']),
    ("British Airways", TopicKind.COMPETITOR, ['@british_airways OR "british airways"']),
    ("Air travel", TopicKind.INDUSTRY, ['flight* OR airport* OR luggage OR baggage OR "boarding pass"']),
    ("Outages", TopicKind.CUSTOM, ['outage* OR "not working" OR "is down" OR "went down"']),
)


def do_seed_demo(*, workspace: Workspace) -> None:
    """The demo workspace's topics: an airline brand, its competitors, the industry, outages."""
    for name, kind, queries in DEMO_TOPICS:
        if not Topic.objects.filter(workspace=workspace, name=name).exists():
            do_create_topic(workspace=workspace, name=name, kind=kind, queries=queries)
