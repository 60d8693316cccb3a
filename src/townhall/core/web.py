"""What every workspace page shares: sign-in, the workspace access check, and htmx request details."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from townhall.core.errors import Forbidden, NotFound
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, zone_of

P = ParamSpec("P")
WorkspacePage = Callable[Concatenate[HttpRequest, Workspace, P], HttpResponse]


def workspace_page(permission: str) -> Callable[[WorkspacePage[P]], Callable[..., HttpResponse]]:
    """Turn `view(request, workspace, ...)` into a signed-in page at a URL with `<slug>`.

    The workspace comes from `access_workspace` only, and times render in its time zone. Someone outside
    the workspace gets a 404 (they learn nothing about it), a member whose role lacks `permission` a 403;
    a `NotFound` raised inside the view (an item of another workspace, say) is a 404 as well.
    """

    def decorate(view: WorkspacePage[P]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def page(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                workspace = access_workspace(user=request.user, slug=slug, permission=permission)
                with timezone.override(zone_of(workspace=workspace)):
                    response = view(request, workspace, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            # One URL answers htmx with a fragment and a browser with a whole page; caches must not mix them.
            patch_vary_headers(response, ["HX-Request"])
            return response

        return page

    return decorate


def wants_fragment(request: HttpRequest) -> bool:
    """True for an htmx swap; false for a normal visit and for htmx restoring a page from history."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def count_param(request: HttpRequest, name: str) -> int:
    """A non-negative whole number from the query string; anything else counts as 0."""
    try:
        return max(0, int(request.GET.get(name) or 0))
    except ValueError:
        return 0
