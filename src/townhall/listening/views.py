"""Listening pages: topics and share of voice, a topic's dashboard, the query editor, the alert feed."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from townhall.core.errors import Conflict, Invalid
from townhall.core.web import wants_fragment, workspace_page
from townhall.listening import alerts, insights, services
from townhall.listening.display import alert_card, caret, highlight
from townhall.listening.forms import (
    AlertFilterForm,
    QueryForm,
    TopicCreateForm,
    TopicSettingsForm,
    add_service_error,
)
from townhall.listening.models import (
    BackfillStatus,
    Granularity,
    ListeningQuery,
    Mention,
    MentionRollup,
    Topic,
)
from townhall.listening.rollups import hour_of
from townhall.people.models import Identity
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import can, record_audit

# key -> (label, how far back, bucket size)
RANGES = {
    "24h": ("24 hours", timedelta(hours=24), Granularity.HOUR),
    "7d": ("7 days", timedelta(days=7), Granularity.HOUR),
    "30d": ("30 days", timedelta(days=30), Granularity.DAY),
    "90d": ("90 days", timedelta(days=90), Granularity.DAY),
}
DEFAULT_RANGE = "7d"
SHARE_OF_VOICE_DAYS = 30
IN_PROGRESS = (BackfillStatus.PENDING, BackfillStatus.RUNNING)
SERVICE_ERRORS = (Invalid, Conflict)


# Topics and share of voice


@workspace_page("listening.view")
def home(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _home_page(request, workspace, TopicCreateForm())


@require_POST
@workspace_page("listening.manage")
def topic_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = TopicCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            topic = services.do_create_topic(
                workspace=workspace, name=data["name"], kind=data["kind"], queries=[data["query"]]
            )
        except SERVICE_ERRORS as exc:
            add_service_error(form, exc, rename={"text": "query"})
        else:
            log_audit(request, workspace, "topic.create", topic)
            messages.success(request, f"Listening to “{topic.name}”: its query is matched against history.")
            return redirect("listening:topic", slug=workspace.slug, topic_id=topic.pk)
    return _home_page(request, workspace, form, status=422)


def _home_page(
    request: HttpRequest, workspace: Workspace, form: TopicCreateForm, *, status: int = 200
) -> HttpResponse:
    now = insights.as_of(Topic.objects.filter(workspace=workspace), timedelta(days=SHARE_OF_VOICE_DAYS))
    sov = insights.share_of_voice(workspace, since=now - timedelta(days=SHARE_OF_VOICE_DAYS), until=now)
    context = {
        **base_context(request, workspace),
        "topics": _topic_rows(workspace, now),
        "sov": sov["topics"],
        "sov_chart": _sov_chart(sov) if sov["topics"] else None,
        "sov_days": SHARE_OF_VOICE_DAYS,
        "alert_cards": [alert_card(a) for a in alerts.alerts_of(workspace=workspace, limit=5)],
        "suggestions": insights.newsjacking_cached(workspace, now=now, limit=6),
        "as_of": now if now < timezone.now() - timedelta(hours=1) else None,
        "form": form,
        "query_error": _query_error(form, "query"),
    }
    return render(request, "listening/home.html", context, status=status)


def _topic_rows(workspace: Workspace, now: datetime) -> list[dict[str, Any]]:
    """Each topic with its queries, its mentions of the last 7 days and how far its backfills are."""
    topics = list(services.topics_of(workspace=workspace))
    week = dict(
        MentionRollup.objects.filter(
            topic__in=topics, granularity=Granularity.HOUR, bucket__gt=hour_of(now - timedelta(days=7))
        )
        .values("topic_id")
        .annotate(n=Sum("volume"))
        .values_list("topic_id", "n")
    )
    states: dict[int, Counter[str]] = defaultdict(Counter)
    for topic_id, state in ListeningQuery.objects.filter(topic__in=topics).values_list(
        "topic_id", "backfill_status"
    ):
        states[topic_id][state] += 1
    return [
        {
            "topic": t,
            "queries": sum(states[t.pk].values()),
            "week": week.get(t.pk, 0),
            "backfill": [(s.value, s.label, states[t.pk][s]) for s in BackfillStatus if states[t.pk][s]],
        }
        for t in topics
    ]


def _sov_chart(sov: dict[str, Any]) -> dict[str, Any]:
    return {
        "tz": timezone.get_current_timezone_name(),
        "granularity": sov["granularity"],
        "labels": [b["bucket"].isoformat() for b in sov["series"]],
        "topics": [
            {
                "name": t["name"],
                "shares": [round(b["shares"].get(t["topic_id"], 0.0) * 100, 1) for b in sov["series"]],
            }
            for t in sov["topics"]
        ],
    }


# One topic


@workspace_page("listening.view")
def topic(request: HttpRequest, workspace: Workspace, topic_id: int) -> HttpResponse:
    t = services.access_topic_by_id(workspace=workspace, topic_id=topic_id)
    return _topic_page(request, workspace, t, TopicSettingsForm.of(t))


@require_POST
@workspace_page("listening.manage")
def topic_update(request: HttpRequest, workspace: Workspace, topic_id: int) -> HttpResponse:
    t = services.access_topic_by_id(workspace=workspace, topic_id=topic_id)
    form = TopicSettingsForm(request.POST, prefix="settings")
    if form.is_valid():
        changes = form.changes(t)
        try:
            services.do_update_topic(topic=t, changes=changes)
        except SERVICE_ERRORS as exc:
            add_service_error(form, exc)
            t.refresh_from_db()
        else:
            log_audit(request, workspace, "topic.update", t, fields=sorted(changes))
            messages.success(request, "Topic settings saved.")
            return redirect("listening:topic", slug=workspace.slug, topic_id=t.pk)
    return _topic_page(request, workspace, t, form, status=422)


@require_POST
@workspace_page("listening.manage")
def topic_delete(request: HttpRequest, workspace: Workspace, topic_id: int) -> HttpResponse:
    t = services.access_topic_by_id(workspace=workspace, topic_id=topic_id)
    log_audit(request, workspace, "topic.delete", t)
    services.do_delete_topic(topic=t)
    messages.success(request, f"Stopped listening to “{t.name}” and removed its mentions.")
    return redirect("listening:home", slug=workspace.slug)


def _topic_page(
    request: HttpRequest,
    workspace: Workspace,
    t: Topic,
    settings_form: TopicSettingsForm,
    *,
    status: int = 200,
) -> HttpResponse:
    key = request.GET.get("range") or DEFAULT_RANGE
    if key not in RANGES:
        key = DEFAULT_RANGE
    label, span, granularity = RANGES[key]
    now = insights.as_of(Topic.objects.filter(pk=t.pk), span)
    points = insights.series(t, granularity=granularity, since=now - span, until=now)
    since = points[0].bucket if points else now - span
    totals = {
        name: sum(getattr(p, name) for p in points) for name in ("volume", "reach", "positive", "negative")
    }
    totals["authors"] = Mention.objects.filter(topic=t, created_at__gte=since, created_at__lte=now).aggregate(
        n=Count("author_id", distinct=True)
    )["n"]
    authors = insights.top_authors(t, since=since, until=now)
    people = dict(
        Identity.objects.filter(pk__in=[a["author_id"] for a in authors]).values_list("pk", "person_id")
    )
    context = {
        **base_context(request, workspace),
        "topic": t,
        "ranges": [(k, v[0]) for k, v in RANGES.items()],
        "range": key,
        "range_label": label,
        "as_of": now if now < timezone.now() - timedelta(hours=1) else None,
        "totals": totals,
        "chart": _volume_chart(points, granularity),
        "chart_rows": [p for p in points if p.volume],
        "top_posts": insights.top_posts(t, since=since, until=now),
        "top_authors": [{**a, "person_id": people.get(a["author_id"])} for a in authors],
        "emerging": insights.emerging(t, now=now, limit=10),
        "alert_cards": [alert_card(a) for a in alerts.alerts_of(workspace=workspace, topic=t, limit=10)],
        "settings_form": settings_form,
        **_queries_context(t),
    }
    return render(request, "listening/topic.html", context, status=status)


def _volume_chart(points: list[insights.Point], granularity: str) -> dict[str, Any]:
    return {
        "tz": timezone.get_current_timezone_name(),
        "granularity": granularity,
        "labels": [p.bucket.isoformat() for p in points],
        "positive": [p.positive for p in points],
        "neutral": [p.neutral for p in points],
        "negative": [p.negative for p in points],
        "unscored": [max(0, p.volume - p.positive - p.neutral - p.negative) for p in points],
    }


@workspace_page("listening.view")
def queries(request: HttpRequest, workspace: Workspace, topic_id: int) -> HttpResponse:
    """The topic's queries; polled while a backfill runs, and the page reloads once every one is done."""
    t = services.access_topic_by_id(workspace=workspace, topic_id=topic_id)
    context = {**base_context(request, workspace), "topic": t, **_queries_context(t)}
    response = render(request, "listening/_queries.html", context)
    if request.GET.get("polled") and not context["backfilling"] and wants_fragment(request):
        response["HX-Refresh"] = "true"  # the counts and charts now include what the backfill found
    return response


def _queries_context(t: Topic) -> dict[str, Any]:
    found = list(t.queries.order_by("pk"))
    return {"queries": found, "backfilling": any(q.backfill_status in IN_PROGRESS for q in found)}


# The query editor


@workspace_page("listening.manage")
def query_new(request: HttpRequest, workspace: Workspace, topic_id: int) -> HttpResponse:
    t = services.access_topic_by_id(workspace=workspace, topic_id=topic_id)
    form = QueryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            query = services.do_create_query(
                topic=t, text=form.cleaned_data["text"], name=form.cleaned_data["name"]
            )
        except SERVICE_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, "listening_query.create", query)
            messages.success(request, "Query saved: matching it against stored history.")
            return redirect("listening:topic", slug=workspace.slug, topic_id=t.pk)
    return _editor_page(request, workspace, t, form, None)


@workspace_page("listening.manage")
def query_edit(request: HttpRequest, workspace: Workspace, query_id: int) -> HttpResponse:
    query = services.access_query_by_id(workspace=workspace, query_id=query_id)
    form = QueryForm(request.POST or None, initial={"name": query.name, "text": query.text})
    if request.method == "POST" and form.is_valid():
        changes = {"name": form.cleaned_data["name"], "text": form.cleaned_data["text"]}
        try:
            services.do_update_query(query=query, changes=changes)
        except SERVICE_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, "listening_query.update", query, fields=sorted(changes))
            messages.success(request, "Query saved.")
            return redirect("listening:topic", slug=workspace.slug, topic_id=query.topic_id)
    return _editor_page(request, workspace, query.topic, form, query)


@require_POST
@workspace_page("listening.manage")
def query_delete(request: HttpRequest, workspace: Workspace, query_id: int) -> HttpResponse:
    query = services.access_query_by_id(workspace=workspace, query_id=query_id)
    log_audit(request, workspace, "listening_query.delete", query)
    services.do_delete_query(query=query)
    messages.success(request, "Query removed, with the mentions only it had found.")
    return redirect("listening:topic", slug=workspace.slug, topic_id=query.topic_id)


def _editor_page(
    request: HttpRequest, workspace: Workspace, t: Topic, form: QueryForm, query: ListeningQuery | None
) -> HttpResponse:
    text = form.data.get("text", "") if form.is_bound else form.initial.get("text", "")
    context = {
        **base_context(request, workspace),
        "topic": t,
        "query": query,
        "form": form,
        "query_error": _query_error(form, "text"),
        **({} if form.errors else _preview_context(workspace, text)),
    }
    status = 422 if form.errors else 200
    return render(request, "listening/query_form.html", context, status=status)


@require_POST
@workspace_page("listening.view")
def preview(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """What the query as typed matches among the workspace's latest items; nothing is saved."""
    context = {"workspace": workspace, **_preview_context(workspace, request.POST.get("text", ""))}
    return render(request, "listening/_preview.html", context)


def _preview_context(workspace: Workspace, text: str) -> dict[str, Any]:
    if not text.strip():
        return {"preview": None}
    try:
        found = insights.preview(workspace, text=text)
    except Invalid as exc:
        return {"preview": None, "query_error": caret(text, exc.message)}
    for post in found["items"]:
        post["html"] = highlight(post["text"], post.get("terms", []))
    return {"preview": found}


def _query_error(form: Any, field: str) -> dict[str, Any] | None:
    errors = form.errors.get(field) if form.is_bound else None
    if not errors:
        return None
    return caret(form.data.get(field, ""), str(errors[0]))


# Alerts


@workspace_page("listening.view")
def alert_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    topics = list(services.topics_of(workspace=workspace))
    form = AlertFilterForm(request.GET, topics=topics)
    chosen, unacknowledged = None, False
    if form.is_valid():
        chosen = next((t for t in topics if t.pk == form.cleaned_data["topic"]), None)
        unacknowledged = form.cleaned_data["unacknowledged"]
    found = alerts.alerts_of(workspace=workspace, topic=chosen, unacknowledged=unacknowledged, limit=100)
    context = {
        **base_context(request, workspace),
        "form": form,
        "alert_cards": [alert_card(a) for a in found],
        "filtered": chosen is not None or unacknowledged,
    }
    template = "listening/_alert_list.html" if wants_fragment(request) else "listening/alerts.html"
    return render(request, template, context)


@require_POST
@workspace_page("listening.manage")
def acknowledge(request: HttpRequest, workspace: Workspace, alert_id: int) -> HttpResponse:
    alert = alerts.do_acknowledge(
        alert=alerts.access_alert_by_id(workspace=workspace, alert_id=alert_id), user=request.user
    )
    log_audit(request, workspace, "alert.acknowledge", alert)
    if wants_fragment(request):
        context = {**base_context(request, workspace), "card": alert_card(alert)}
        return render(request, "listening/_alert.html", context)
    return redirect("listening:alerts", slug=workspace.slug)


# Shared


def base_context(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "section": "listening",
        "can_manage": can(user=request.user, workspace=workspace, permission="listening.manage"),
    }


def log_audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(
        actor=request.user, action=action, target=target, workspace=workspace, detail=detail, source="ui",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
