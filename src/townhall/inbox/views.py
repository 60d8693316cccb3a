"""Inbox pages for agents: the list of conversations and one conversation with what can be done to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.web import count_param, wants_fragment, workspace_page
from townhall.enrich.models import Enrichment
from townhall.inbox import config, services
from townhall.inbox.forms import (
    BulkForm,
    ConversationUpdateForm,
    DelegateForm,
    InboxFilterForm,
    MergeForm,
    NoteForm,
    ReplyForm,
    SaveViewForm,
    add_service_error,
    filter_data,
)
from townhall.inbox.models import Conversation, Event, Label, SavedView, SlaPolicy, Status, Team
from townhall.inbox.routing import buying_stage
from townhall.leads.models import Lead
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import can, record_audit

PAGE_SIZE = 50
PAST_CONVERSATIONS = 10
VIEWS = [
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("my_teams", "My teams"),
    ("sla_at_risk", "SLA at risk"),
    ("all", "All open"),
]
# What the people reading the log call each event; other kinds read as their own words.
EVENT_WORDS = {
    "created": "started the conversation",
    "reply": "replied",
    "note": "left a note",
    "status": "set the status to",
    "priority": "set the priority to",
    "labelled": "added the label",
    "unlabelled": "removed the label",
    "sla_applied": "applied the SLA policy",
    "csat": "recorded a satisfaction score of",
    "reopened": "reopened it:",
}
ACTION_ERRORS = (Invalid, Conflict, NotFound)


# The list


@dataclass
class Row:
    """One conversation as the list shows it."""

    conversation: Conversation
    stage: str | None
    intents: list[str]
    clock: str
    clock_state: str  # overdue | soon | due | waiting | ""


@workspace_page("inbox.view")
def inbox_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    saved = _saved_view(request, workspace)
    teams = list(Team.objects.filter(workspace=workspace))
    labels = list(Label.objects.filter(workspace=workspace).order_by("name").values_list("name", flat=True))
    data = filter_data(saved.filters) if saved else request.GET
    form = InboxFilterForm(data, teams=teams, labels=labels)
    cursor = request.GET.get("cursor") or None
    page = None
    if form.is_valid():
        try:
            page = services.list_conversations(
                workspace=workspace, user=request.user, filters=form.filters(), cursor=cursor, limit=PAGE_SIZE
            )
        except Invalid as exc:
            form.add_error(None, exc.message)
    view = (form.cleaned_data.get("view") if form.is_valid() else None) or "all"
    context = {
        **base_context(request, workspace),
        "form": form,
        "page": page,
        "rows": _rows(workspace, page.items) if page else [],
        "shown": count_param(request, "shown") + (len(page.items) if page else 0),
        "saved": saved,
        "bulk_form": BulkForm(),
        "heading": saved.name if saved else dict(VIEWS)[view] if view != "all" else "All conversations",
        "here": request.get_full_path(),
    }
    if wants_fragment(request):
        return render(request, "inbox/_rows.html" if cursor else "inbox/_results.html", context)
    links = _view_links(request, workspace, active=f"saved:{saved.pk}" if saved else view)
    context["views"] = [link for link in links if not link.get("saved")]
    context["saved_views"] = [link for link in links if link.get("saved")]
    return render(request, "inbox/list.html", context)


def _saved_view(request: HttpRequest, workspace: Workspace) -> SavedView | None:
    raw = request.GET.get("saved") or ""
    if not raw.isdigit():
        return None
    return config.access_view_by_id(workspace=workspace, user=request.user, view_id=int(raw))


def _view_links(request: HttpRequest, workspace: Workspace, *, active: str) -> list[dict[str, Any]]:
    """The left column: the built-in views, then saved ones, each with how many conversations it holds."""
    base = reverse("inbox:list", args=[workspace.slug])
    links = []
    for key, name in VIEWS:
        filters = services.ConversationFilters(view=key)
        url = f"{base}?view={key}" if key != "all" else base
        links.append(
            {"key": key, "name": name, "url": url, "count": _count(workspace, request.user, filters)}
        )
    for view in config.views_for(workspace=workspace, user=request.user):
        try:
            filters = services.ConversationFilters(**view.filters)
        except TypeError:
            continue  # saved before a filter was renamed: still listed by the API, not countable here
        links.append(
            {
                "key": f"saved:{view.pk}",
                "name": view.name,
                "url": f"{base}?saved={view.pk}",
                "count": _count(workspace, request.user, filters),
                "saved": True,
                "shared": view.shared,
            }
        )
    for link in links:
        link["active"] = link["key"] == active
    return links


def _count(workspace: Workspace, user: Any, filters: services.ConversationFilters) -> int | None:
    try:
        return services.filter_conversations(workspace=workspace, user=user, filters=filters).count()
    except Invalid:
        return None


def _rows(workspace: Workspace, conversations: list[Conversation]) -> list[Row]:
    prefetch_related_objects(conversations, "person", "assignee", "team", "labels")
    now = timezone.now()
    warning = config.settings_of(workspace=workspace).sla_warning_minutes
    rows = []
    for c in conversations:
        clock, state = _clock(c, now, warning)
        rows.append(
            Row(
                conversation=c,
                stage=buying_stage(c.person.lifecycle) if c.person else None,
                intents=[t for t in c.intent_tags.split(",") if t and t != "other"],
                clock=clock,
                clock_state=state,
            )
        )
    return rows


def _clock(c: Conversation, now: datetime, warning: int) -> tuple[str, str]:
    """ "due in 12 min", "overdue 3 min" or "waiting 2 h": what an agent needs to know about time."""
    if c.status == Status.RESOLVED:
        return "", ""
    if c.sla_due is not None:
        minutes = (c.sla_due - now).total_seconds() / 60
        if minutes < 0:
            return f"overdue {span(-minutes)}", "overdue"
        return f"due in {span(minutes)}", "soon" if minutes <= warning else "due"
    if c.waiting_since is not None:
        return f"waiting {span((now - c.waiting_since).total_seconds() / 60)}", "waiting"
    return "", ""


def span(minutes: float) -> str:
    whole = round(minutes)
    if whole < 1:
        return "under a minute"
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days"


@require_POST
@workspace_page("inbox.write")
def bulk(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors_text(form))
        return redirect(back_url(request, workspace))
    changes, labels = form.changes(request.user)
    ids = form.cleaned_data["ids"]
    try:
        updated = services.do_bulk(
            workspace=workspace, actor=request.user, ids=ids, changes=changes, add_labels=labels
        )
    except ACTION_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        log_audit(request, workspace, "conversation.bulk_update", None, ids=ids)
        messages.success(request, f"{updated} conversation{'s' if updated != 1 else ''} updated.")
    return redirect(back_url(request, workspace))


@require_POST
@workspace_page("inbox.view")
def save_view(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = SaveViewForm(request.POST)
    teams = list(Team.objects.filter(workspace=workspace))
    labels = list(Label.objects.filter(workspace=workspace).values_list("name", flat=True))
    filters = InboxFilterForm(request.POST, teams=teams, labels=labels)
    if not (form.is_valid() and filters.is_valid()):
        messages.error(request, errors_text(form) or errors_text(filters))
        return redirect(back_url(request, workspace))
    try:
        view = config.do_save_view(
            workspace=workspace,
            owner=request.user,
            name=form.cleaned_data["name"],
            filters=filters.saved_filters(),
            shared=form.cleaned_data["shared"],
        )
    except ACTION_ERRORS as exc:
        messages.error(request, exc.message)
        return redirect(back_url(request, workspace))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(f"{reverse('inbox:list', args=[workspace.slug])}?saved={view.pk}")


# One conversation


@workspace_page("inbox.view")
def conversation(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    return _conversation_page(request, workspace, c)


@require_POST
@workspace_page("inbox.write")
def update(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    form = ConversationUpdateForm(request.POST, conversation=c, **choices_of(workspace))

    def run(_: dict[str, Any]) -> dict[str, Any]:
        changes = form.changes()
        add, remove = form.labels()
        services.do_update(
            conversation=c, actor=request.user, changes=changes, add_labels=add, remove_labels=remove
        )
        return {"changes": sorted(changes), "add_labels": add, "remove_labels": remove}

    return _act(request, workspace, c, name="update_form", form=form, run=run, audit="conversation.update")


@require_POST
@workspace_page("inbox.write")
def reply(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)

    def run(data: dict[str, Any]) -> dict[str, Any]:
        return {"item": services.do_reply(conversation=c, actor=request.user, text=data["text"]).pk}

    return _act(request, workspace, c, name="reply_form", form=ReplyForm(request.POST), run=run,
                audit="conversation.reply")  # fmt: skip


@require_POST
@workspace_page("inbox.write")
def note(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)

    def run(data: dict[str, Any]) -> dict[str, Any]:
        return {"event": services.do_note(conversation=c, actor=request.user, text=data["text"]).pk}

    return _act(request, workspace, c, name="note_form", form=NoteForm(request.POST), run=run,
                audit="conversation.note")  # fmt: skip


@require_POST
@workspace_page("inbox.write")
def delegate(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    choices = choices_of(workspace)
    form = DelegateForm(request.POST, members=choices["members"], teams=choices["teams"])

    def run(data: dict[str, Any]) -> dict[str, Any]:
        services.do_delegate(
            conversation=c,
            actor=request.user,
            team=data["team"],
            assignee=data["assignee"],
            note=data["note"],
        )
        return {"team": data["team"], "assignee": data["assignee"]}

    return _act(
        request, workspace, c, name="delegate_form", form=form, run=run, audit="conversation.delegate"
    )


@require_POST
@workspace_page("inbox.write")
def merge(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            target = services.access_conversation_by_id(
                workspace=workspace, conversation_id=form.cleaned_data["into"]
            )
            services.do_merge(source=c, target=target, actor=request.user)
        except ACTION_ERRORS as exc:
            form.add_error("into", exc.message)
        else:
            log_audit(request, workspace, "conversation.merge", c, into=target.pk)
            messages.success(request, f"Conversation {c.pk} was merged into this one.")
            url = reverse("inbox:conversation", args=[workspace.slug, target.pk])
            if wants_fragment(request):
                return HttpResponse(headers={"HX-Redirect": url})
            return redirect(url)
    return _conversation_page(request, workspace, c, bound={"merge_form": form}, status=422)


@require_POST
@workspace_page("inbox.view")
def reply_length(request: HttpRequest, workspace: Workspace, conversation_id: int) -> HttpResponse:
    """The reply's length as its network counts it, for the composer's counter."""
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    length, limit = services.reply_length(c.network, request.POST.get("text", ""))
    return render(request, "inbox/_reply_length.html", {"length": length, "limit": limit})


@workspace_page("inbox.view")
def canned_text(
    request: HttpRequest, workspace: Workspace, conversation_id: int, canned_id: int
) -> HttpResponse:
    """A canned reply with this conversation's variables filled in, for the composer to insert."""
    c = services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)
    canned = config.access_canned_by_id(workspace=workspace, canned_id=canned_id)
    text = services.render_template(canned.body, conversation=c, agent=request.user)
    length, limit = services.reply_length(c.network, text)
    return JsonResponse({"text": text, "length": length, "limit": limit})


def _act(
    request: HttpRequest,
    workspace: Workspace,
    c: Conversation,
    *,
    name: str,
    form: forms.Form,
    run: Callable[[dict[str, Any]], dict[str, Any]],
    audit: str,
) -> HttpResponse:
    """Validate, call the service, then show the conversation again: refreshed, or with the form's errors."""
    if form.is_valid():
        try:
            detail = run(form.cleaned_data)
        except ACTION_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, audit, c, **detail)
            if wants_fragment(request):
                c.refresh_from_db()
                return _conversation_page(request, workspace, c)
            return redirect("inbox:conversation", slug=workspace.slug, conversation_id=c.pk)
    c.refresh_from_db()
    return _conversation_page(request, workspace, c, bound={name: form}, status=422)


def _conversation_page(
    request: HttpRequest,
    workspace: Workspace,
    c: Conversation,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    choices = choices_of(workspace)
    members: list[Any] = choices["members"]
    teams: list[Team] = choices["teams"]
    events = services.events_of(c)
    users = {u.pk: u.get_username() for u in members}
    team_names = {t.pk: t.name for t in teams}
    sent_by = {e.detail.get("item"): e.actor for e in events if e.kind == "reply" and e.actor}
    items = services.items_of(c)
    context = {
        **base_context(request, workspace),
        "conversation": c,
        "items": [{"item": i, "sent_by": sent_by.get(i.pk)} for i in items],
        "log": [_log_entry(e, users, team_names) for e in events],
        "person": _person_panel(workspace, c),
        "labels": sorted(label.name for label in c.labels.all()),
        "canned": services.canned_replies(workspace=workspace),
        "reply_limit": services.reply_length(c.network, "")[1],
        "reply_used": 0,
        "update_form": ConversationUpdateForm(conversation=c, **choices),
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "delegate_form": DelegateForm(members=members, teams=teams),
        "merge_form": MergeForm(),
        "usernames": sorted(users.values()),
        **(bound or {}),
    }
    reply_form = context["reply_form"]
    if reply_form.is_bound:
        context["reply_used"] = services.reply_length(c.network, reply_form.data.get("text", ""))[0]
    template = "inbox/_conversation.html" if wants_fragment(request) else "inbox/conversation.html"
    return render(request, template, context, status=status)


def choices_of(workspace: Workspace) -> dict[str, Any]:
    members = list(get_user_model().objects.filter(memberships__workspace=workspace).order_by("username"))
    return {
        "members": members,
        "teams": list(Team.objects.filter(workspace=workspace)),
        "policies": list(SlaPolicy.objects.filter(workspace=workspace).order_by("name")),
    }


@dataclass
class LogEntry:
    event: Event
    who: str
    what: str
    text: str


def _log_entry(e: Event, users: dict[int, str], teams: dict[int, str]) -> LogEntry:
    who = e.actor.get_username() if e.actor else f"Rule “{e.rule.name}”" if e.rule else "Townhall"
    detail = e.detail or {}
    to = " · ".join(
        part
        for part in (
            f"team {teams.get(detail['team'], detail['team'])}" if detail.get("team") else "",
            users.get(detail["assignee"], f"user {detail['assignee']}") if detail.get("assignee") else "",
        )
        if part
    )
    if e.kind == "delegated":
        return LogEntry(e, who, f"handed the conversation to {to or 'nobody available'}", e.text)
    if e.kind == "assigned":
        return LogEntry(e, who, f"assigned it to {to}" if to else e.text, "")
    if e.kind == "merged":
        return LogEntry(e, who, f"merged conversation {detail.get('from')} into this one", "")
    if e.kind in ("reply", "note", "escalated"):
        return LogEntry(e, who, EVENT_WORDS.get(e.kind, "escalated"), e.text)
    words = EVENT_WORDS.get(e.kind, e.kind.replace("_", " "))
    return LogEntry(e, who, f"{words} {e.text}".strip(), "")


def _person_panel(workspace: Workspace, c: Conversation) -> dict[str, Any] | None:
    """Who wrote: accounts, buying stage, how they have felt over time, their other conversations, a lead."""
    person = c.person
    if person is None:
        return None
    counts = dict(
        Enrichment.objects.filter(workspace=workspace, item__person=person)
        .values("sentiment")
        .annotate(n=Count("item"))
        .values_list("sentiment", "n")
    )
    past = list(
        Conversation.objects.filter(workspace=workspace, person=person, merged_into__isnull=True)
        .exclude(pk=c.pk)
        .order_by("-last_activity_at", "-pk")[:PAST_CONVERSATIONS]
    )
    return {
        "person": person,
        "stage": buying_stage(person.lifecycle),
        "identities": list(person.identities.order_by("network", "handle")),
        "sentiment": [(s, counts.get(s, 0)) for s in ("positive", "neutral", "negative") if counts.get(s)],
        "past": past,
        "lead": Lead.objects.filter(workspace=workspace, person=person).first(),
    }


# Shared


def base_context(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    user: AbstractBaseUser | Any = request.user
    return {
        "workspace": workspace,
        "section": "inbox",
        "can_write": can(user=user, workspace=workspace, permission="inbox.write"),
        "can_manage": can(user=user, workspace=workspace, permission="inbox.manage"),
    }


def log_audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(
        actor=request.user, action=action, target=target, workspace=workspace, detail=detail, source="ui",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip


def back_url(request: HttpRequest, workspace: Workspace) -> str:
    """Where a list action returns: the list the user came from, never another site."""
    wanted = request.POST.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return reverse("inbox:list", args=[workspace.slug])


def errors_text(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)
