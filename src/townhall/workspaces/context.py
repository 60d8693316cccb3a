"""Template context: the workspaces the signed-in user can switch between."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from townhall.workspaces.services import workspaces_of


def workspaces(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"my_workspaces": workspaces_of(user=user)}
