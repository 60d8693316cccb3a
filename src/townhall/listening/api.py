"""REST endpoints of listening: topics and queries, their series, share of voice, trends and alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from townhall.core.api_base import ERRORS, MAX_ID
from townhall.core.errors import Invalid
from townhall.core.pagination import paginate_newest_first
from townhall.core.validation import as_utc
from townhall.listening import alerts, insights, services
from townhall.listening.models import Alert, ListeningQuery, Mention, Topic
from townhall.listening.schemas import (
    AlertRead,
    EmergingRead,
    GranularityName,
    MentionPage,
    MentionRead,
    PreviewIn,
    PreviewResult,
    QueryCreate,
    QueryRead,
    QueryUpdate,
    SeriesRead,
    ShareOfVoiceRead,
    SuggestionRead,
    TopAuthor,
    TopicCreate,
    TopicRead,
    TopicUpdate,
    TopPost,
)
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["listening"])
BASE = "/workspaces/{slug}/listening"


def read_query(q: ListeningQuery) -> QueryRead:
    return QueryRead(
        id=q.pk,
        topic_id=q.topic_id,
        name=q.name,
        text=q.text,
        active=q.active,
        version=q.version,
        backfill_status=q.backfill_status,
        backfill_matched=q.backfill_matched,
        backfill_error=q.backfill_error,
        created_at=q.created_at,
        updated_at=q.updated_at,
    )


def read_topic(t: Topic) -> TopicRead:
    return TopicRead(
        id=t.pk,
        name=t.name,
        kind=t.kind,
        description=t.description,
        active=t.active,
        alerts=t.alerts,
        alert_settings=t.alert_settings,
        created_at=t.created_at,
        queries=[read_query(q) for q in t.queries.order_by("pk")],
    )


def read_alert(a: Alert) -> AlertRead:
    return AlertRead(
        id=a.pk,
        topic_id=a.topic_id,
        topic=a.topic.name,
        kind=a.kind,
        window_start=a.window_start,
        window_end=a.window_end,
        observed=a.observed,
        expected=a.expected,
        z=a.z,
        explanation=a.explanation,
        created_at=a.created_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by.get_username() if a.acknowledged_by else None,
    )


def _audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(actor=request.user, action=action, target=target, workspace=workspace, detail=detail)


def _topic(request: HttpRequest, slug: str, topic_id: int, permission: str) -> Topic:
    workspace = access_workspace(user=request.user, slug=slug, permission=permission)
    return services.access_topic_by_id(workspace=workspace, topic_id=topic_id)


def _range(since: datetime | None, until: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    until = as_utc(until) if until else timezone.now()
    since = as_utc(since) if since else until - default
    if since > until:
        raise Invalid("since must be before until", field="since")
    return since, until


# Topics


@router.get(f"{BASE}/topics", response={200: list[TopicRead], **ERRORS})
def list_topics(request: HttpRequest, slug: str) -> list[TopicRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    return [read_topic(t) for t in services.topics_of(workspace=workspace)]


@router.post(f"{BASE}/topics", response={201: TopicRead, **ERRORS})
def create_topic(request: HttpRequest, slug: str, payload: TopicCreate) -> Status[TopicRead]:
    """Create a topic with its queries; each query is matched against stored history by a job."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.manage")
    topic = services.do_create_topic(
        workspace=workspace,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        queries=payload.queries,
        alerts=payload.alerts,
        alert_settings=payload.alert_settings,
    )
    _audit(request, workspace, "topic.create", topic)
    return Status(201, read_topic(topic))


@router.get(f"{BASE}/topics/{{topic_id}}", response={200: TopicRead, **ERRORS})
def get_topic(request: HttpRequest, slug: str, topic_id: int) -> TopicRead:
    return read_topic(_topic(request, slug, topic_id, "listening.view"))


@router.patch(f"{BASE}/topics/{{topic_id}}", response={200: TopicRead, **ERRORS})
def update_topic(request: HttpRequest, slug: str, topic_id: int, payload: TopicUpdate) -> TopicRead:
    topic = _topic(request, slug, topic_id, "listening.manage")
    changes = payload.model_dump(exclude_unset=True)
    services.do_update_topic(topic=topic, changes=changes)
    _audit(request, topic.workspace, "topic.update", topic, fields=sorted(changes))
    return read_topic(topic)


@router.delete(f"{BASE}/topics/{{topic_id}}", response={204: None, **ERRORS})
def delete_topic(request: HttpRequest, slug: str, topic_id: int) -> Status[None]:
    topic = _topic(request, slug, topic_id, "listening.manage")
    _audit(request, topic.workspace, "topic.delete", topic)
    services.do_delete_topic(topic=topic)
    return Status(204, None)


# Queries


@router.post(f"{BASE}/topics/{{topic_id}}/queries", response={201: QueryRead, **ERRORS})
def create_query(request: HttpRequest, slug: str, topic_id: int, payload: QueryCreate) -> Status[QueryRead]:
    """Add a query to a topic. A query that does not parse is a 422 naming the position."""
    topic = _topic(request, slug, topic_id, "listening.manage")
    query = services.do_create_query(topic=topic, text=payload.text, name=payload.name)
    _audit(request, topic.workspace, "listening_query.create", query)
    query.refresh_from_db()
    return Status(201, read_query(query))


@router.get(f"{BASE}/queries/{{query_id}}", response={200: QueryRead, **ERRORS})
def get_query(request: HttpRequest, slug: str, query_id: int) -> QueryRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    return read_query(services.access_query_by_id(workspace=workspace, query_id=query_id))


@router.patch(f"{BASE}/queries/{{query_id}}", response={200: QueryRead, **ERRORS})
def update_query(request: HttpRequest, slug: str, query_id: int, payload: QueryUpdate) -> QueryRead:
    """Edit a query; a new text drops its matches and backfills history again."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.manage")
    query = services.access_query_by_id(workspace=workspace, query_id=query_id)
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    services.do_update_query(query=query, changes=changes)
    _audit(request, workspace, "listening_query.update", query, fields=sorted(changes))
    query.refresh_from_db()
    return read_query(query)


@router.delete(f"{BASE}/queries/{{query_id}}", response={204: None, **ERRORS})
def delete_query(request: HttpRequest, slug: str, query_id: int) -> Status[None]:
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.manage")
    query = services.access_query_by_id(workspace=workspace, query_id=query_id)
    _audit(request, workspace, "listening_query.delete", query)
    services.do_delete_query(query=query)
    return Status(204, None)


@router.post(f"{BASE}/preview", response={200: PreviewResult, **ERRORS})
def preview(request: HttpRequest, slug: str, payload: PreviewIn) -> dict[str, Any]:
    """Try a query against the workspace's most recent items without saving it."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    return insights.preview(workspace, text=payload.query, limit=payload.limit, scan=payload.scan)


# What a topic's mentions say


@router.get(f"{BASE}/topics/{{topic_id}}/series", response={200: SeriesRead, **ERRORS})
def topic_series(
    request: HttpRequest,
    slug: str,
    topic_id: int,
    granularity: GranularityName = "day",
    since: datetime | None = None,
    until: datetime | None = None,
) -> SeriesRead:
    """Volume, unique authors, reach and sentiment mix per hour or day (UTC); zeros where it was quiet."""
    topic = _topic(request, slug, topic_id, "listening.view")
    since, until = _range(since, until, timedelta(days=30 if granularity == "day" else 2))
    points = insights.series(topic, granularity=granularity, since=since, until=until)
    return SeriesRead.model_validate(
        {"topic_id": topic.pk, "granularity": granularity, "points": [p.as_dict() for p in points]}
    )


@router.get(f"{BASE}/share-of-voice", response={200: ShareOfVoiceRead, **ERRORS})
def share_of_voice(
    request: HttpRequest,
    slug: str,
    granularity: GranularityName = "day",
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The brand's topics against the competitors': shares of volume, reach and positive mentions."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    since, until = _range(since, until, timedelta(days=30))
    return insights.share_of_voice(workspace, since=since, until=until, granularity=granularity)


@router.get(f"{BASE}/topics/{{topic_id}}/mentions", response={200: MentionPage, **ERRORS})
def topic_mentions(
    request: HttpRequest,
    slug: str,
    topic_id: int,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> MentionPage:
    """The topic's mentions newest first, each with the query and terms that matched."""
    topic = _topic(request, slug, topic_id, "listening.view")
    queryset = Mention.objects.filter(topic=topic).select_related("item", "item__author")
    page = paginate_newest_first(queryset, field="created_at", cursor=cursor, limit=limit)
    return MentionPage(
        items=[
            MentionRead(
                id=m.pk,
                topic_id=m.topic_id,
                query_id=m.query_id,
                item_id=m.item_id,
                created_at=m.created_at,
                sentiment=m.sentiment,
                reach=m.reach,
                terms=m.terms,
                text=m.item.text,
                author=m.item.author.handle if m.item.author else "",
                network=m.item.network,
                url=m.item.url,
            )
            for m in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get(f"{BASE}/topics/{{topic_id}}/top-posts", response={200: list[TopPost], **ERRORS})
def topic_top_posts(
    request: HttpRequest,
    slug: str,
    topic_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(10, ge=1, le=100),
) -> list[dict[str, Any]]:
    topic = _topic(request, slug, topic_id, "listening.view")
    since, until = _range(since, until, timedelta(days=7))
    return insights.top_posts(topic, since=since, until=until, limit=limit)


@router.get(f"{BASE}/topics/{{topic_id}}/top-authors", response={200: list[TopAuthor], **ERRORS})
def topic_top_authors(
    request: HttpRequest,
    slug: str,
    topic_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(10, ge=1, le=100),
) -> list[dict[str, Any]]:
    topic = _topic(request, slug, topic_id, "listening.view")
    since, until = _range(since, until, timedelta(days=7))
    return insights.top_authors(topic, since=since, until=until, limit=limit)


@router.get(f"{BASE}/topics/{{topic_id}}/emerging", response={200: list[EmergingRead], **ERRORS})
def topic_emerging(
    request: HttpRequest, slug: str, topic_id: int, limit: int = Query(20, ge=1, le=100)
) -> list[dict[str, Any]]:
    """Terms and hashtags rising in the topic's last day against its previous week, with example posts."""
    topic = _topic(request, slug, topic_id, "listening.view")
    return insights.emerging(topic, limit=limit)


@router.get(f"{BASE}/newsjacking", response={200: list[SuggestionRead], **ERRORS})
def newsjacking(request: HttpRequest, slug: str, limit: int = Query(10, ge=1, le=50)) -> list[dict[str, Any]]:
    """Terms rising in everything the workspace hears that also come up with its brand or industry topics."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    return insights.newsjacking(workspace, limit=limit)


# Alerts


@router.get(f"{BASE}/alerts", response={200: list[AlertRead], **ERRORS})
def list_alerts(
    request: HttpRequest,
    slug: str,
    topic: int | None = Query(None, ge=1, le=MAX_ID),
    unacknowledged: bool = False,
    limit: int = Query(50, ge=1, le=200),
) -> list[AlertRead]:
    """Spike alerts newest first, each with the evidence that explains it."""
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.view")
    chosen = services.access_topic_by_id(workspace=workspace, topic_id=topic) if topic else None
    found = alerts.alerts_of(workspace=workspace, topic=chosen, limit=limit, unacknowledged=unacknowledged)
    return [read_alert(a) for a in found]


@router.post(f"{BASE}/alerts/{{alert_id}}/acknowledge", response={200: AlertRead, **ERRORS})
def acknowledge_alert(request: HttpRequest, slug: str, alert_id: int) -> AlertRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="listening.manage")
    alert = alerts.do_acknowledge(
        alert=alerts.access_alert_by_id(workspace=workspace, alert_id=alert_id), user=request.user
    )
    _audit(request, workspace, "alert.acknowledge", alert)
    return read_alert(alert)
