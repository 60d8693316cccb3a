"""Publishing pages: the composer with live validation, a post, the calendar, approvals, campaigns, queues."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from townhall.connectors.models import Channel
from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.web import workspace_page
from townhall.publishing import approvals, compose, schedule
from townhall.publishing.forms import (
    ComposeForm,
    DecisionForm,
    RescheduleForm,
    SettleForm,
    add_service_error,
    channel_label,
)
from townhall.publishing.models import Decision, Post, PostEvent, PostStatus, QueueSlot, Target
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import can, record_audit

SERVICE_ERRORS = (Invalid, Conflict, NotFound)
# The services' names for what the composer calls otherwise.
COMPOSER_FIELDS = {
    "channel_ids": "channels",
    "campaign_id": "campaign",
    "scheduled_at": "time",
    "options.hashtags": "hashtags",
}
LIST_DAYS = 42


# The composer


@workspace_page("publishing.write")
def compose_new(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    initial: dict[str, Any] = {}
    if request.GET.get("date"):  # "new post on this day" from the calendar
        initial = {"timing": "at", "date": request.GET["date"], "time": request.GET.get("time") or "09:00"}
    form = _compose_form(workspace, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        post = _save(request, workspace, form, None)
        if post is not None:
            return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)
    return _composer_page(request, workspace, form, None)


@workspace_page("publishing.write")
def compose_edit(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    try:
        compose.check_editable(post)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)
    data = request.POST if request.method == "POST" else None
    form = _compose_form(workspace, data, initial=ComposeForm.initial_of(post, zone=workspace.timezone))
    if request.method == "POST" and form.is_valid() and _save(request, workspace, form, post) is not None:
        return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)
    return _composer_page(request, workspace, form, post)


def _compose_form(workspace: Workspace, data: QueryDict | None, *, initial: dict[str, Any]) -> ComposeForm:
    channels = compose.channels_to_publish(workspace=workspace)
    slotted = set(QueueSlot.objects.filter(channel__in=channels).values_list("channel_id", flat=True))
    return ComposeForm(
        data,
        initial=initial,
        channels=channels,
        campaigns=list(compose.campaigns_of(workspace=workspace)),
        slotted=[c for c in channels if c.pk in slotted],
        zone=workspace.timezone,
    )


def _save(request: HttpRequest, workspace: Workspace, form: ComposeForm, post: Post | None) -> Post | None:
    """Create or change the post, and submit it when asked; all or nothing, errors shown on the form."""
    data = form.cleaned_data
    submit = request.POST.get("action") == "submit"
    try:
        with transaction.atomic():
            when = _when(workspace, form)
            if post is None:
                post = compose.do_create_post(
                    workspace=workspace,
                    author=request.user,
                    body=data["body"],
                    channel_ids=data["channels"],
                    title=data["title"],
                    campaign_id=data["campaign"],
                    scheduled_at=when,
                    zone=workspace.timezone,
                    options=form.options(),
                )
                log_audit(request, workspace, "post.create", post)
            else:
                changes = _changes(post, form, when, workspace)
                if changes:
                    post = compose.do_update_post(post=post, actor=request.user, changes=changes)
                    log_audit(request, workspace, "post.update", post, fields=sorted(changes))
            if submit:
                post = approvals.do_submit(post=post, actor=request.user)
                log_audit(request, workspace, "post.submit", post)
    except SERVICE_ERRORS as exc:
        add_service_error(form, exc, rename=COMPOSER_FIELDS)
        return None
    messages.success(request, _saved_message(post, submitted=submit))
    return post


def _when(workspace: Workspace, form: ComposeForm) -> datetime | None:
    data = form.cleaned_data
    if data["timing"] == "at":
        return data["scheduled_at"]
    if data["timing"] == "slot":
        channel = Channel.objects.get(workspace=workspace, pk=data["slot_channel"])
        try:
            return schedule.next_free_slot(channel=channel, zone=workspace.timezone)
        except (NotFound, Conflict) as exc:
            raise Invalid(exc.message, field="slot_channel") from exc
    return None


def _changes(post: Post, form: ComposeForm, when: datetime | None, workspace: Workspace) -> dict[str, Any]:
    """Only what differs: the service counts every change it is given as new content needing approval."""
    data, options = form.cleaned_data, form.options()
    changes: dict[str, Any] = {}
    if data["body"] != post.body:
        changes["body"] = data["body"]
    if data["title"].strip() != post.title:
        changes["title"] = data["title"]
    if {**post.options, **options} != post.options:
        changes["options"] = options
    if data["campaign"] != post.campaign_id:
        changes["campaign_id"] = data["campaign"]
    before = post.scheduled_at
    if (before is None) != (when is None) or (before and when and abs(before - when) >= timedelta(minutes=1)):
        changes["scheduled_at"] = when
        if post.timezone != workspace.timezone:
            changes["timezone"] = workspace.timezone
    if set(data["channels"]) != set(post.targets.values_list("channel_id", flat=True)):
        changes["channel_ids"] = data["channels"]
    return changes


def _saved_message(post: Post, *, submitted: bool) -> str:
    if not submitted:
        return "Draft saved."
    if post.status == PostStatus.AWAITING_APPROVAL:
        return "Submitted for approval: its reviewers see it in their approvals."
    if post.scheduled_at is not None:
        return f"No approval needed: scheduled for {local_time(post.scheduled_at)}."
    return "No approval needed: publishing now."


def _composer_page(
    request: HttpRequest, workspace: Workspace, form: ComposeForm, post: Post | None
) -> HttpResponse:
    source = request.POST if form.is_bound else _as_query(form)
    context = {
        **base_context(request, workspace),
        "form": form,
        "post": post,
        "has_channels": bool(form.choice("channels").choices),
        **_preview_context(workspace, source, post),
    }
    return render(request, "publishing/compose.html", context, status=422 if form.errors else 200)


def _as_query(form: ComposeForm) -> QueryDict:
    """The form's initial values as the preview reads a submitted form."""
    initial = {**{n: f.initial for n, f in form.fields.items()}, **form.initial}
    query = QueryDict(mutable=True)
    query["body"] = initial.get("body") or ""
    query.setlist("channels", [str(pk) for pk in initial.get("channels") or []])
    query["campaign"] = str(initial.get("campaign") or "")
    query["hashtags"] = initial.get("hashtags") or "keep"
    for name in ("thread", "utm"):
        if initial.get(name):
            query[name] = "on"
    return query


@require_POST
@workspace_page("publishing.write")
def preview(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Each chosen channel's variant of the text as typed, with its counts and problems; nothing is saved."""
    post = None
    if (request.POST.get("post") or "").isdigit():
        post = compose.access_post_by_id(workspace=workspace, post_id=int(request.POST["post"]))
    context = {"workspace": workspace, **_preview_context(workspace, request.POST, post)}
    return render(request, "publishing/_variants.html", context)


def _preview_context(workspace: Workspace, data: QueryDict, post: Post | None) -> dict[str, Any]:
    body = (data.get("body") or "").replace("\r\n", "\n")
    ids = [int(v) for v in data.getlist("channels") if v.isdigit()]
    if not ids:
        return {"variants": [], "preview_hint": "Choose a channel to see its variant."}
    if not body.strip():
        return {"variants": [], "preview_hint": "Write the post to see each channel's variant."}
    campaign = data.get("campaign") or ""
    options = {
        "hashtags": data.get("hashtags") or "keep",
        "thread": data.get("thread") == "on",
        "utm": data.get("utm") == "on",
    }
    try:
        found = _previews(workspace, body, ids, options, int(campaign) if campaign.isdigit() else None, post)
    except SERVICE_ERRORS as exc:
        return {"variants": [], "preview_error": exc.message}
    return {"variants": variant_cards(found)}


def _previews(
    workspace: Workspace,
    body: str,
    channel_ids: list[int],
    options: dict[str, Any],
    campaign_id: int | None,
    post: Post | None,
) -> list[compose.Preview]:
    options = compose.check_options(options)
    campaign = (
        compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id) if campaign_id else None
    )
    channels = compose.publishable_channels(workspace=workspace, channel_ids=channel_ids)
    by_hand = {t.channel_id: t.parts for t in post.targets.filter(edited=True)} if post else {}
    shown = []
    for channel in channels:
        found = compose.preview_for(
            channel,
            body,
            options=options,
            campaign=campaign,
            post_id=post.pk if post else None,
            media=post.media if post else None,
            parts=by_hand.get(channel.pk),
        )
        if channel.pk in by_hand:
            found.notes = ["written by hand: kept as written; re-adapt it on the post's page"]
        shown.append(found)
    return shown


def variant_cards(found: list[compose.Preview]) -> list[dict[str, Any]]:
    """What a variant card shows; test ids name the network (and the channel when a network repeats)."""
    networks = [p.network for p in found]
    cards = []
    for p in found:
        key = p.network if networks.count(p.network) == 1 else f"{p.network}-{p.channel.pk}"
        parts = []
        for number, (text, checked) in enumerate(zip(p.parts, p.validations, strict=False), 1):
            parts.append(
                {
                    "number": number,
                    "text": text,
                    "length": checked["length"],
                    "limit": checked["limit"],
                    "over": checked["length"] > checked["limit"],
                    "counted_as": checked["counted_as"],
                    "extra": checked["extra_limits"],
                    "testid": f"count-{key}" if number == 1 else f"count-{key}-{number}",
                }
            )
        cards.append(
            {
                "key": key,
                "channel": p.channel,
                "label": channel_label(p.channel),
                "parts": parts,
                "notes": p.notes,
                "problems": p.problems,
                "valid": p.valid,
                "first_comment": p.first_comment,
                "media": p.media.get("summary", ""),
                "edited": p.edited,
            }
        )
    return cards


# A post


@workspace_page("publishing.view")
def post_detail(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    return _post_page(request, workspace, post, DecisionForm())


def _post_page(
    request: HttpRequest, workspace: Workspace, post: Post, decision_form: DecisionForm, *, status: int = 200
) -> HttpResponse:
    context = base_context(request, workspace)
    try:
        compose.check_editable(post)
        editable = True
    except Conflict:
        editable = False
    targets = list(post.targets.select_related("channel").order_by("pk"))
    cards = variant_cards(compose.target_previews(post))
    local = post.scheduled_at.astimezone(ZoneInfo(workspace.timezone)) if post.scheduled_at else None
    context.update(
        post=post,
        rows=[{"target": t, "card": c, "links": _links(t)} for t, c in zip(targets, cards, strict=False)],
        editable=editable and context["can_write"],
        submittable=post.status in compose.UNSUBMITTED and context["can_write"],
        cancellable=context["can_manage"] and post.status not in (PostStatus.CANCELLED, PostStatus.PUBLISHED),
        reschedulable=context["can_manage"]
        and post.status in (PostStatus.AWAITING_APPROVAL, PostStatus.SCHEDULED, PostStatus.APPROVAL_EXPIRED),
        reschedule_form=RescheduleForm(
            initial={"date": local.date(), "time": local.time()} if local else {}, zone=workspace.timezone
        ),
        steps=approval_steps(post),
        can_decide=approvals.can_decide(post, request.user),
        decision_form=decision_form,
        events=[_event_line(e) for e in approvals.history(post)],
    )
    return render(request, "publishing/post.html", context, status=status)


def _links(target: Target) -> list[str]:
    links = [str(p.get("url") or "") for p in target.published_parts if p.get("url")]
    return links or ([target.url] if target.url else [])


def approval_steps(post: Post) -> list[dict[str, Any]]:
    """The approval's steps with who approved the current version and who it waits for, by name."""
    states = approvals.progress(post)
    ids = set().union(*(s.reviewers | s.approved_by for s in states)) if states else set()
    names = {u.pk: u.get_full_name() or u.get_username() for u in get_user_model().objects.filter(pk__in=ids)}
    current = next((s for s in states if not s.met), None)
    return [
        {
            "name": s.step.name,
            "mode": s.step.get_mode_display(),
            "role": s.step.get_role_display() if s.step.role else "",
            "met": s.met,
            "current": s is current and post.status == PostStatus.AWAITING_APPROVAL,
            "approved": sorted(names.get(pk, f"user {pk}") for pk in s.approved_by),
            "waiting": sorted(names.get(pk, f"user {pk}") for pk in s.waiting_for),
        }
        for s in states
    ]


EVENT_WORDS = {
    "created": "created the post",
    "edited": "edited the post",
    "variant_edited": "changed a variant",
    "submitted": "submitted it for approval",
    Decision.APPROVE: "approved",
    Decision.REQUEST_CHANGES: "requested changes",
    "approved": "completed the approval",
    "approval_expired": "approval expired",
    "scheduled": "scheduled it",
    "rescheduled": "moved it",
    "cancelled": "cancelled",
    "retry": "retried",
    "settled": "settled by hand",
    "published": "published",
    "failed": "failed",
    "outcome_unknown": "outcome unknown",
}


def _event_line(event: PostEvent) -> dict[str, Any]:
    """One line of history: who did what, and the details that matter to a reader."""
    d = event.detail or {}
    facts: list[str] = []
    if event.kind == "submitted":
        reason = d.get("reason") if d.get("reason") != "submitted" else ""
        facts.append(f"version {d.get('version')}" + (f" ({reason})" if reason else ""))
    if d.get("step"):
        facts.append(f"step “{d['step']}”")
    if d.get("channel"):
        facts.append(str(d["channel"]))
    if d.get("channels"):
        facts.append(", ".join(map(str, d["channels"])))
    if event.kind == "edited":
        changed = ", ".join(d.get("changed") or []) or "title only"
        facts.append(f"{changed} → version {d.get('version')}")
    if event.kind == "variant_edited":
        facts.append("written by hand" if d.get("by_hand") else "adapted again")
    if d.get("at"):
        facts.append(
            "to publish at once" if d["at"] == "now" else f"for {local_time(datetime.fromisoformat(d['at']))}"
        )
    if event.kind == "settled":
        facts.append("published" if d.get("published") else "not published")
    if event.kind == "outcome_unknown" and not d.get("will_retry"):
        facts.append("waiting for a person")
    return {
        "event": event,
        "what": EVENT_WORDS.get(event.kind, event.kind.replace("_", " ")),
        "facts": facts,
        "comment": d.get("comment") or "",
        "error": d.get("error") or "",
        "url": d.get("url") or "",
    }


@require_POST
@workspace_page("publishing.write")
def submit(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    try:
        post = approvals.do_submit(post=post, actor=request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        log_audit(request, workspace, "post.submit", post)
        messages.success(request, _saved_message(post, submitted=True))
    return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)


@require_POST
@workspace_page("publishing.view")
def decide(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    """Approve or request changes; who may is the approval policy's business, checked by the service."""
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        decision, comment = form.cleaned_data["decision"], form.cleaned_data["comment"]
        try:
            approvals.do_decide(post=post, actor=request.user, decision=decision, comment=comment)
        except (Invalid, Conflict) as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, f"post.{decision}", post)
            post.refresh_from_db()
            if decision == Decision.REQUEST_CHANGES:
                messages.success(request, "Changes requested: the post is back with its author.")
            elif post.status == PostStatus.AWAITING_APPROVAL:
                messages.success(request, "Approved: the post now waits for the next step.")
            else:
                when = local_time(post.scheduled_at) if post.scheduled_at else "now"
                messages.success(request, f"Approved: the post is scheduled for {when}.")
            return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)
    return _post_page(request, workspace, post, form, status=422)


@require_POST
@workspace_page("publishing.write")
def variant(request: HttpRequest, workspace: Workspace, post_id: int, channel_id: int) -> HttpResponse:
    """Write one channel's variant by hand, or adapt it again from the post."""
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    target = compose.access_target(post=post, channel_id=channel_id)
    readapt = request.POST.get("action") == "readapt"
    parts = None if readapt else [p.replace("\r\n", "\n") for p in request.POST.getlist("part") if p.strip()]
    try:
        compose.do_edit_variant(target=target, actor=request.user, parts=parts)
    except SERVICE_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        log_audit(request, workspace, "post.variant", post, channel=str(target.channel), by_hand=not readapt)
        messages.success(
            request,
            f"The {channel_label(target.channel)} variant is {'adapted again' if readapt else 'saved'}.",
        )
    return redirect(_post_url(workspace, post, f"variant-{channel_id}"))


@require_POST
@workspace_page("publishing.manage")
def retry(request: HttpRequest, workspace: Workspace, post_id: int, channel_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    target = compose.access_target(post=post, channel_id=channel_id)
    try:
        schedule.do_retry(target=target, actor=request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        log_audit(request, workspace, "post.retry", post, channel=str(target.channel))
        messages.success(request, f"{channel_label(target.channel)}: sending again.")
    return redirect(_post_url(workspace, post, f"variant-{channel_id}"))


@require_POST
@workspace_page("publishing.manage")
def settle(request: HttpRequest, workspace: Workspace, post_id: int, channel_id: int) -> HttpResponse:
    """A person says whether a post whose outcome the network cannot tell is there (with its link) or not."""
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    target = compose.access_target(post=post, channel_id=channel_id)
    published = request.POST.get("action") == "published"
    form = SettleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "the link is not a valid URL")
    elif published and not form.cleaned_data["url"]:
        messages.error(request, "give the link of the post on the network")
    else:
        try:
            schedule.do_settle(
                target=target, actor=request.user, published=published, url=form.cleaned_data["url"]
            )
        except SERVICE_ERRORS as exc:
            messages.error(request, exc.message)
        else:
            log_audit(
                request, workspace, "post.settle", post, channel=str(target.channel), published=published
            )
            messages.success(
                request,
                f"{channel_label(target.channel)}: marked {'published' if published else 'not published'}.",
            )
    return redirect(_post_url(workspace, post, f"variant-{channel_id}"))


@require_POST
@workspace_page("publishing.manage")
def reschedule(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    form = RescheduleForm(request.POST, zone=workspace.timezone)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        try:
            post = schedule.do_reschedule(post=post, actor=request.user, when=form.cleaned_data["when"])
        except SERVICE_ERRORS as exc:
            messages.error(request, exc.message)
        else:
            log_audit(request, workspace, "post.reschedule", post)
            when = local_time(post.scheduled_at) if post.scheduled_at else "now"
            messages.success(request, f"Moved to {when}.")
    return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)


@require_POST
@workspace_page("publishing.manage")
def cancel(request: HttpRequest, workspace: Workspace, post_id: int) -> HttpResponse:
    post = compose.access_post_by_id(workspace=workspace, post_id=post_id)
    try:
        schedule.do_cancel(post=post, actor=request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, exc.message)
    else:
        log_audit(request, workspace, "post.cancel", post)
        messages.success(request, "Cancelled: nothing more of it will be published.")
    return redirect("publishing:post", slug=workspace.slug, post_id=post.pk)


def _post_url(workspace: Workspace, post: Post, anchor: str = "") -> str:
    url = reverse("publishing:post", kwargs={"slug": workspace.slug, "post_id": post.pk})
    return f"{url}#{anchor}" if anchor else url


# Shared


def base_context(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    user = request.user
    return {
        "workspace": workspace,
        "section": "publishing",
        "can_write": can(user=user, workspace=workspace, permission="publishing.write"),
        "can_manage": can(user=user, workspace=workspace, permission="publishing.manage"),
        "awaiting_count": Post.objects.filter(
            workspace=workspace, status=PostStatus.AWAITING_APPROVAL
        ).count(),
    }


def local_time(instant: datetime) -> str:
    """An instant as the workspace reads it: the page renders in its zone, and the zone is named."""
    local = timezone.localtime(instant)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {timezone.get_current_timezone_name()}"


def log_audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(
        actor=request.user, action=action, target=target, workspace=workspace, detail=detail, source="ui",
        ip_address=request.META.get("REMOTE_ADDR"),
    )  # fmt: skip
