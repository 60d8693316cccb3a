"""Inbox pages for managers and analysts: routing rules, teams, canned replies, and the report."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from townhall.core.web import workspace_page
from townhall.inbox import config, reports, rules, services
from townhall.inbox.forms import (
    CannedForm,
    ReportForm,
    RuleForm,
    TeamForm,
    add_service_error,
    team_members,
)
from townhall.inbox.models import RoutingRule, Team
from townhall.inbox.views import (
    ACTION_ERRORS,
    base_context,
    choices_of,
    errors_text,
    log_audit,
    span,
)
from townhall.workspaces.models import Workspace

# Set-up: rules, teams, canned replies


@workspace_page("inbox.manage")
def rule_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _rules_page(request, workspace, RuleForm(initial={"conditions": "{}", "actions": "[]"}))


@require_POST
@workspace_page("inbox.manage")
def rule_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = RuleForm(request.POST)
    if form.is_valid():
        try:
            rule = config.do_save_rule(workspace=workspace, data=form.rule_data())
        except ACTION_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, "rule.create", rule)
            messages.success(request, f"Rule “{rule.name}” saved; it runs after the ones above it.")
            return redirect("inbox:rules", slug=workspace.slug)
    return _rules_page(request, workspace, form, status=422)


@require_POST
@workspace_page("inbox.manage")
def rule_dry_run(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = RuleForm(request.POST)
    result = None
    if form.is_valid():
        try:
            result = config.dry_run(workspace=workspace, data=form.rule_data())
        except ACTION_ERRORS as exc:
            add_service_error(form, exc)
    return _rules_page(request, workspace, form, dry_run=result, status=200 if result else 422)


@require_POST
@workspace_page("inbox.manage")
def rule_toggle(request: HttpRequest, workspace: Workspace, rule_id: int) -> HttpResponse:
    rule = config.access_rule_by_id(workspace=workspace, rule_id=rule_id)
    try:
        config.do_save_rule(workspace=workspace, data={"enabled": not rule.enabled}, rule=rule)
    except ACTION_ERRORS as exc:
        messages.error(request, f"{rule.name}: {exc.message}")
    else:
        log_audit(request, workspace, "rule.update", rule, enabled=rule.enabled)
        messages.success(request, f"Rule “{rule.name}” {'enabled' if rule.enabled else 'disabled'}.")
    return redirect("inbox:rules", slug=workspace.slug)


def _rules_page(
    request: HttpRequest,
    workspace: Workspace,
    form: RuleForm,
    *,
    dry_run: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    listed = [
        {
            "rule": r,
            "description": rules.describe(r.conditions or {}),
            "actions": [a.get("type") for a in r.actions],
        }
        for r in RoutingRule.objects.filter(workspace=workspace)
    ]
    context = {
        **base_context(request, workspace),
        "page_name": "rules",
        "rules": listed,
        "form": form,
        "dry_run": dry_run,
    }
    return render(request, "inbox/rules.html", context, status=status)


@workspace_page("inbox.manage")
def team_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _teams_page(request, workspace, TeamForm())


@require_POST
@workspace_page("inbox.manage")
def team_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team = config.do_create_team(workspace=workspace, **form.cleaned_data)
        except ACTION_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, "team.create", team)
            messages.success(request, f"Team “{team.name}” created; now choose its members.")
            return redirect("inbox:teams", slug=workspace.slug)
    return _teams_page(request, workspace, form, status=422)


@require_POST
@workspace_page("inbox.manage")
def team_members_update(request: HttpRequest, workspace: Workspace, team_id: int) -> HttpResponse:
    team = config.access_team_by_id(workspace=workspace, team_id=team_id)
    user_ids = [u.pk for u in choices_of(workspace)["members"]]
    try:
        config.do_set_team_members(team=team, members=team_members(request.POST, user_ids=user_ids))
    except ACTION_ERRORS as exc:
        messages.error(request, f"{team.name}: {exc.message}")
    else:
        log_audit(request, workspace, "team.members", team)
        messages.success(request, f"Members of “{team.name}” saved.")
    return redirect("inbox:teams", slug=workspace.slug)


def _teams_page(
    request: HttpRequest, workspace: Workspace, form: TeamForm, *, status: int = 200
) -> HttpResponse:
    members = choices_of(workspace)["members"]
    teams = []
    for team in Team.objects.filter(workspace=workspace).prefetch_related("members"):
        capacity = {m.user_id: m.capacity for m in team.members.all()}
        teams.append(
            {
                "team": team,
                "rows": [
                    {"user": u, "member": u.pk in capacity, "capacity": capacity.get(u.pk, 0)}
                    for u in members
                ],
                "count": len(capacity),
            }
        )
    context = {**base_context(request, workspace), "page_name": "teams", "teams": teams, "form": form}
    return render(request, "inbox/teams.html", context, status=status)


@workspace_page("inbox.manage")
def canned_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    return _canned_page(request, workspace, CannedForm())


@require_POST
@workspace_page("inbox.manage")
def canned_create(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = CannedForm(request.POST)
    if form.is_valid():
        try:
            canned = config.do_save_canned(workspace=workspace, data=form.cleaned_data)
        except ACTION_ERRORS as exc:
            add_service_error(form, exc)
        else:
            log_audit(request, workspace, "canned_reply.create", canned)
            messages.success(request, f"Canned reply “{canned.title}” saved.")
            return redirect("inbox:canned", slug=workspace.slug)
    return _canned_page(request, workspace, form, status=422)


def _canned_page(
    request: HttpRequest, workspace: Workspace, form: CannedForm, *, status: int = 200
) -> HttpResponse:
    context = {
        **base_context(request, workspace),
        "page_name": "canned",
        "canned": services.canned_replies(workspace=workspace),
        "form": form,
    }
    return render(request, "inbox/canned.html", context, status=status)


# Report


@workspace_page("inbox.view")
def report(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = ReportForm(request.GET)
    figures = None
    if form.is_valid():
        since, until = form.period(zone=timezone.get_current_timezone())
        figures = reports.build(workspace=workspace, since=since, until=until, now=timezone.now())
    context = {
        **base_context(request, workspace),
        "page_name": "report",
        "form": form,
        "report": figures,
        "figures": _figures(figures) if figures else [],
        "volumes": _volumes(figures) if figures else [],
        "groups": _groups(figures) if figures else [],
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "inbox/report.html", context, status=200 if figures else 422)


@workspace_page("inbox.view")
def report_csv(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(errors_text(form), status=422, content_type="text/plain")
    since, until = form.period(zone=timezone.get_current_timezone())
    body = reports.to_csv(workspace=workspace, since=since, until=until, now=timezone.now())
    response = HttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-inbox.csv"'
    return response


def _figures(figures: dict[str, Any]) -> list[dict[str, str]]:
    """The headline numbers, as the report's tiles show them."""
    first, resolution, sla = figures["first_response_minutes"], figures["resolution_minutes"], figures["sla"]
    return [
        {"key": "conversations", "label": "conversations", "value": str(figures["conversations"])},
        {"key": "open", "label": "still open", "value": str(figures["open"])},
        {"key": "answered", "label": "answered", "value": str(figures["answered"])},
        {"key": "resolved", "label": "resolved", "value": str(figures["resolved"])},
        {
            "key": "first-response-median",
            "label": "median first response",
            "value": _minutes(first["median"]),
        },
        {"key": "first-response-p90", "label": "p90 first response", "value": _minutes(first["p90"])},
        {"key": "resolution-median", "label": "median resolution", "value": _minutes(resolution["median"])},
        {"key": "resolution-p90", "label": "p90 resolution", "value": _minutes(resolution["p90"])},
        {
            "key": "sla-first-response",
            "label": "first responses within SLA",
            "value": _rate(sla["first_response"]),
        },
        {"key": "sla-resolution", "label": "resolutions within SLA", "value": _rate(sla["resolution"])},
    ]


def _groups(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Per agent and per team, each row's numbers formatted for the tables."""
    tables = []
    for key, title in (("agents", "Per agent"), ("teams", "Per team")):
        rows = [
            {
                "name": name,
                "conversations": g["conversations"],
                "resolved": g["resolved"],
                "first_response": _minutes(g["first_response_minutes"]["median"]),
                "resolution": _minutes(g["resolution_minutes"]["median"]),
                "sla": _rate(g["sla_first_response"]),
                "csat": "—" if g["csat"] is None else f"{g['csat']:.2f}",
            }
            for name, g in figures[key].items()
        ]
        tables.append({"key": key, "title": title, "rows": rows})
    return tables


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} min"
    return span(value)


def _rate(attainment: dict[str, Any]) -> str:
    if attainment["rate"] is None:
        return "—"
    return f"{attainment['rate'] * 100:.0f}% ({attainment['met']} of {attainment['n']})"


def _volumes(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each volume breakdown with every count's share of the largest, for the bars."""
    titles = {
        "sentiment": "By sentiment",
        "intent": "By intent",
        "label": "By label",
        "channel": "By channel",
    }
    tables = []
    for key, title in titles.items():
        counts: dict[str, int] = figures["volume"].get(key, {})
        top = max(counts.values(), default=0)
        rows = [
            {"name": name, "count": n, "share": round(100 * n / top) if top else 0}
            for name, n in counts.items()
        ]
        tables.append({"key": key, "title": title, "rows": rows})
    return tables
