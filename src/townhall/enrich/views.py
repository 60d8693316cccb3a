"""Relabelling an item from its thread page (htmx swaps the item's understanding in place)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from townhall.core.errors import Invalid
from townhall.core.web import workspace_page
from townhall.enrich import engine, services
from townhall.items.services import access_item_by_id
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import record_audit


def context(workspace: Workspace, item: object, *, error: str = "") -> dict[str, object]:
    return {
        "workspace": workspace,
        "message": item,
        "sentiments": engine.SENTIMENTS,
        "intents": engine.CARE_INTENTS,
        "error": error,
        "can_correct": True,  # only reached through a view that checked items.write
    }


@require_POST
@workspace_page("items.write")
def correct(request: HttpRequest, workspace: Workspace, item_id: int) -> HttpResponse:
    item = access_item_by_id(workspace=workspace, item_id=item_id)
    error = ""
    try:
        if request.POST.get("sentiment"):
            corrected = services.do_correct(
                item=item, field="sentiment", labels=[request.POST["sentiment"]], actor=request.user
            )
            record_audit(
                actor=request.user, action="item.correct", target=corrected, workspace=workspace, source="ui",
                detail={"item": item.pk, "field": "sentiment", "labels": corrected.labels},
            )  # fmt: skip
        intents = request.POST.getlist("intent")
        if intents:
            corrected = services.do_correct(item=item, field="intent", labels=intents, actor=request.user)
            record_audit(
                actor=request.user, action="item.correct", target=corrected, workspace=workspace, source="ui",
                detail={"item": item.pk, "field": "intent", "labels": corrected.labels},
            )  # fmt: skip
    except Invalid as exc:
        error = exc.message
    item = access_item_by_id(workspace=workspace, item_id=item_id)
    status = 422 if error else 200
    return render(request, "enrich/_understanding.html", context(workspace, item, error=error), status=status)
