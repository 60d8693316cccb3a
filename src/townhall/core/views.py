"""Pages shared by every workspace: home (pick a workspace)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from townhall.workspaces.services import workspaces_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    mine = workspaces_of(user=request.user)
    if len(mine) == 1:
        return redirect("items:list", slug=mine[0].slug)
    return render(request, "core/home.html", {"workspaces": mine})
