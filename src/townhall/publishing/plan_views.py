"""Planning pages of publishing: the approvals queue, the calendar, campaigns and queue slots."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from townhall.connectors.models import Channel
from townhall.core.errors import Conflict
from townhall.core.web import workspace_page
from townhall.publishing import approvals, besttime, compose, schedule
from townhall.publishing.forms import (
    WEEKDAYS,
    CalendarFilterForm,
    CampaignForm,
    SlotsForm,
    add_service_error,
    channel_label,
)
from townhall.publishing.models import Campaign, PostStatus
from townhall.publishing.views import LIST_DAYS, SERVICE_ERRORS, approval_steps, base_context, log_audit
from townhall.workspaces.models import Workspace

# Approvals


@workspace_page("publishing.view")
def approval_queue(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    """Posts awaiting approval: those this user can decide on now, then the rest with whom they wait for."""
    waiting = list(
        compose.posts_of(workspace=workspace)
        .filter(status=PostStatus.AWAITING_APPROVAL)
        .prefetch_related("targets__channel")
        .order_by("submitted_at", "pk")
    )
    yours: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for post in waiting:
        row = {"post": post, "step": next((s for s in approval_steps(post) if s["current"]), None)}
        (yours if approvals.can_decide(post, request.user) else others).append(row)
    context = {**base_context(request, workspace), "yours": yours, "others": others}
    return render(request, "publishing/approvals.html", context)


# The calendar


@workspace_page("publishing.view")
def calendar(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    zone = ZoneInfo(workspace.timezone)
    channels = compose.channels_to_publish(workspace=workspace)
    campaigns = list(compose.campaigns_of(workspace=workspace))
    form = CalendarFilterForm(request.GET, channels=channels, campaigns=campaigns)
    form.is_valid()  # a bad value drops only its own filter
    data = form.cleaned_data
    view = data.get("view") or "month"
    today = timezone.now().astimezone(zone).date()
    anchor = data.get("on") or today
    first, last, before, after = _period(view, anchor)
    channel_id = data.get("channel")
    entries = schedule.calendar(
        workspace=workspace,
        start=_midnight(first, zone),
        end=_midnight(last + timedelta(days=1), zone),
        channel_ids=[channel_id] if channel_id else None,
        campaign_id=data.get("campaign"),
        statuses=[data["status"]] if data.get("status") else None,
    )
    by_day: dict[date, list[schedule.Entry]] = defaultdict(list)
    for entry in entries:
        by_day[entry.local.date()].append(entry)
    best_channel = next((c for c in channels if c.pk == channel_id), channels[0] if channels else None)
    best = _best_times(best_channel, workspace) if best_channel else None
    query = {k: data[k] for k in ("channel", "campaign", "status") if data.get(k)}
    context = {
        **base_context(request, workspace),
        "form": form,
        "view": view,
        "views": [("month", "Month"), ("week", "Week"), ("list", "List")],
        "title": _period_title(view, first, last),
        "anchor": anchor,
        "today": today,
        "prev": before,
        "next": after,
        "query": urlencode(query),
        "list_length": LIST_DAYS,
        "entries": entries,
        "best_channel": best_channel,
        "best": best,
        "campaigns": [c for c in campaigns if any(e.post.campaign_id == c.pk for e in entries)],
    }
    if view == "month":
        context["weeks"] = [
            [
                {"date": d, "in_month": d.month == anchor.month, "entries": by_day.get(d, [])}
                for d in (first + timedelta(days=7 * w + i) for i in range(7))
            ]
            for w in range((last - first).days // 7 + 1)
        ]
    elif view == "week":
        days = [first + timedelta(days=i) for i in range(7)]
        best_hours = {s.hour_of_week: s for s in best["top"]} if best else {}
        context["days"] = days
        context["hours"] = [
            {
                "hour": hour,
                "cells": [
                    {
                        "date": d,
                        "entries": [e for e in by_day.get(d, []) if e.local.hour == hour],
                        "best": best_hours.get(d.weekday() * 24 + hour),
                    }
                    for d in days
                ],
            }
            for hour in range(24)
        ]
    else:
        context["list_days"] = [(d, by_day[d]) for d in sorted(by_day)]
    return render(request, "publishing/calendar.html", context)


def _period(view: str, anchor: date) -> tuple[date, date, date, date]:
    """The first and last day shown, and the anchors of the previous and next period."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6), first - timedelta(days=7), first + timedelta(days=7)
    if view == "list":
        return (
            anchor,
            anchor + timedelta(days=LIST_DAYS - 1),
            anchor - timedelta(days=LIST_DAYS),
            anchor + timedelta(days=LIST_DAYS),
        )
    month = anchor.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    previous = (month - timedelta(days=1)).replace(day=1)
    first = month - timedelta(days=month.weekday())
    end = following - timedelta(days=1)
    last = end + timedelta(days=6 - end.weekday())
    return first, last, previous, following


def _period_title(view: str, first: date, last: date) -> str:
    if view == "month":
        middle = first + (last - first) / 2
        return f"{middle:%B %Y}"
    return f"{first.day} {first:%b %Y} to {last.day} {last:%b %Y}"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _best_times(channel: Channel, workspace: Workspace) -> dict[str, Any]:
    found = besttime.best_times(channel=channel, tz=workspace.timezone, now=timezone.now())
    # Slots that expect no engagement at all are no advice: there is nothing to go on yet.
    top = list(found.top) if any(slot.expected > 0 for slot in found.top) else []
    return {
        "top": top,
        "rows": [
            {
                "slot": slot,
                "day": WEEKDAYS[slot.weekday],
                "start": f"{slot.hour:02d}:00",
                "end": f"{(slot.hour + 1) % 24:02d}:00",
            }
            for slot in top
        ],
        "basis": found.basis,
        "posts": found.posts,
        "prior_posts": found.prior_posts,
    }


# Campaigns


@workspace_page("publishing.view")
def campaign_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _campaigns_page(request, workspace, CampaignForm())


@require_POST
@workspace_page("publishing.manage")
def campaign_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = CampaignForm(request.POST)
    if _save_campaign(request, workspace, form, None) is not None:
        return redirect("publishing:campaigns", slug=workspace.slug)
    return _campaigns_page(request, workspace, form)


def _campaigns_page(request: HttpRequest, workspace: Workspace, form: CampaignForm) -> HttpResponse:
    rows = compose.campaigns_of(workspace=workspace).annotate(post_count=Count("posts"))
    context = {**base_context(request, workspace), "campaigns": rows, "form": form}
    return render(request, "publishing/campaigns.html", context, status=422 if form.errors else 200)


@workspace_page("publishing.manage")
def campaign_edit(request: HttpRequest, workspace: Workspace, campaign_id: int) -> HttpResponse:
    campaign = compose.access_campaign_by_id(workspace=workspace, campaign_id=campaign_id)
    form = CampaignForm(request.POST) if request.method == "POST" else CampaignForm.of(campaign)
    if request.method == "POST" and _save_campaign(request, workspace, form, campaign) is not None:
        return redirect("publishing:campaigns", slug=workspace.slug)
    context = {**base_context(request, workspace), "campaign": campaign, "form": form}
    return render(request, "publishing/campaign_form.html", context, status=422 if form.errors else 200)


def _save_campaign(
    request: HttpRequest, workspace: Workspace, form: CampaignForm, campaign: Campaign | None
) -> Campaign | None:
    if not form.is_valid():
        return None
    values = {name: form.cleaned_data[name] for name in CampaignForm.FIELDS}
    try:
        saved = compose.do_save_campaign(workspace=workspace, campaign=campaign, **values)
    except SERVICE_ERRORS as exc:
        add_service_error(form, exc)
        return None
    log_audit(request, workspace, "campaign.update" if campaign else "campaign.create", saved)
    messages.success(request, f"Campaign “{saved.name}” saved.")
    return saved


# Queue slots


@workspace_page("publishing.manage")
def slot_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    rows = []
    for channel in compose.channels_to_publish(workspace=workspace):
        slots = list(schedule.slots_of(channel=channel))
        try:
            upcoming = schedule.next_free_slot(channel=channel, zone=workspace.timezone) if slots else None
        except Conflict:
            upcoming = None
        rows.append(
            {
                "channel": channel,
                "label": channel_label(channel),
                "slots": [f"{WEEKDAYS[s.weekday][:3]} {s.time:%H:%M}" for s in slots],
                "next": upcoming,
            }
        )
    context = {**base_context(request, workspace), "rows": rows, "weekdays": WEEKDAYS}
    return render(request, "publishing/slots.html", context)


@workspace_page("publishing.manage")
def slot_edit(request: HttpRequest, workspace: Workspace, channel_id: int) -> HttpResponse:
    channel = next((c for c in compose.channels_to_publish(workspace=workspace) if c.pk == channel_id), None)
    if channel is None:
        raise Http404("no such channel to publish to in this workspace")
    current = [(s.weekday, s.time) for s in schedule.slots_of(channel=channel)]
    form = SlotsForm(request.POST) if request.method == "POST" else SlotsForm.of(current)
    if request.method == "POST" and form.is_valid():
        slots = form.slots()
        if not form.errors:
            try:
                schedule.do_set_slots(channel=channel, slots=slots)
            except SERVICE_ERRORS as exc:
                add_service_error(form, exc)
            else:
                log_audit(request, workspace, "queue.update", channel, slots=len(slots))
                messages.success(
                    request,
                    f"Queue of {channel_label(channel)} saved: "
                    f"{len(slots)} slot{pluralize(len(slots))} a week",
                )
                return redirect("publishing:slots", slug=workspace.slug)
    context = {
        **base_context(request, workspace),
        "channel": channel,
        "label": channel_label(channel),
        "form": form,
        "day_fields": [form[f"day{n}"] for n in range(len(WEEKDAYS))],
    }
    return render(request, "publishing/slot_form.html", context, status=422 if form.errors else 200)
