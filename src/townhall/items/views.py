"""Item pages: the filtered list, a thread, and file imports."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from townhall.connectors.services import list_channels
from townhall.core.errors import Invalid
from townhall.core.web import count_param, wants_fragment, workspace_page
from townhall.enrich.engine import CARE_INTENTS, SENTIMENTS
from townhall.items import services
from townhall.items.forms import ImportForm, ItemFilterForm
from townhall.items.models import ImportRun, ImportStatus
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import can

PAGE_SIZE = 50
ACTIVE = (ImportStatus.QUEUED, ImportStatus.RUNNING)
ERRORS_SHOWN = 500


@workspace_page("items.view")
def item_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = ItemFilterForm(request.GET, channels=list_channels(workspace=workspace))
    cursor = request.GET.get("cursor") or None
    shown_before = count_param(request, "shown")
    page = None
    if form.is_valid():
        try:
            filters = form.filters(zone=timezone.get_current_timezone())
            page = services.list_items(workspace=workspace, filters=filters, cursor=cursor, limit=PAGE_SIZE)
        except Invalid as exc:
            form.add_error(None, exc.message)
    context = {
        "workspace": workspace,
        "section": "items",
        "form": form,
        "page": page,
        "shown": shown_before + (len(page.items) if page else 0),
    }
    if wants_fragment(request):
        return render(request, "items/_rows.html" if cursor else "items/_results.html", context)
    volume = services.daily_volume(workspace=workspace)
    context["volume"] = volume
    context["volume_total"] = sum(v.items for v in volume)
    context["volume_json"] = [{"day": v.day.isoformat(), "items": v.items} for v in volume]
    return render(request, "items/list.html", context)


@workspace_page("items.view")
def thread(request: HttpRequest, workspace: Workspace, item_id: int) -> HttpResponse:
    item = services.access_item_by_id(workspace=workspace, item_id=item_id)
    thread_items = services.thread_of(item=item) or [item]
    return render(
        request,
        "items/thread.html",
        {
            "workspace": workspace,
            "section": "items",
            "item": item,
            "thread": thread_items,
            "can_correct": can(user=request.user, workspace=workspace, permission="items.write"),
            "sentiments": SENTIMENTS,
            "intents": CARE_INTENTS,
        },
    )


@workspace_page("imports.view")
def import_list(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    if wants_fragment(request):
        return render(request, "items/_import_runs.html", _runs_context(workspace))
    return _imports_page(request, workspace, ImportForm())


@require_POST
@workspace_page("imports.run")
def import_upload(request: HttpRequest, workspace: Workspace) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            run = services.do_start_import(
                workspace=workspace,
                actor=request.user,
                fmt=form.cleaned_data["format"],
                upload=form.cleaned_data["file"],
                source="ui",
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except Invalid as exc:
            form.add_error("format", exc.message)
        else:
            messages.success(request, f"{run.filename} is queued for import.")
            return redirect("items:import_detail", slug=workspace.slug, run_id=run.pk)
    return _imports_page(request, workspace, form, status=400)


@workspace_page("imports.view")
def import_detail(request: HttpRequest, workspace: Workspace, run_id: int) -> HttpResponse:
    run = services.access_import_by_id(workspace=workspace, run_id=run_id)
    context = {
        "workspace": workspace,
        "section": "imports",
        "run": run,
        "active": run.status in ACTIVE,
        "errors": run.errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, len(run.errors) - ERRORS_SHOWN),
    }
    template = "items/_import_run.html" if wants_fragment(request) else "items/import_detail.html"
    return render(request, template, context)


def _imports_page(
    request: HttpRequest, workspace: Workspace, form: ImportForm, status: int = 200
) -> HttpResponse:
    context = {
        **_runs_context(workspace),
        "section": "imports",
        "form": form if can(user=request.user, workspace=workspace, permission="imports.run") else None,
    }
    return render(request, "items/imports.html", context, status=status)


def _runs_context(workspace: Workspace) -> dict[str, object]:
    runs: list[ImportRun] = services.list_import_runs(workspace=workspace)
    return {"workspace": workspace, "runs": runs, "active": any(run.status in ACTIVE for run in runs)}
