"""Shared fixtures: workspaces, users with roles, API clients, and the data files tests read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from townhall.workspaces import services
from townhall.workspaces.models import Workspace

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_CSV = REPO / "demo" / "twcs_sample.csv"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The headless-Chromium fixtures (tests/browser_support.py), for the tests that drive the pages.
pytest_plugins = ["browser_support"]


class ApiClient:
    """The REST API as a client sees it: JSON in, JSON out, a bearer token on every call."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api{path}", params)

    def post(self, path: str, data: Any) -> Any:
        return self.client.post(f"/api{path}", json.dumps(data), content_type="application/json")

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(f"/api{path}", json.dumps(data), content_type="application/json")

    def put(self, path: str, data: Any) -> Any:
        return self.client.put(f"/api{path}", json.dumps(data), content_type="application/json")

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api{path}")


@pytest.fixture
def workspace(db: None) -> Workspace:
    return services.do_create_workspace(slug="acme", name="Acme")


@pytest.fixture
def make_member(db: None) -> Callable[..., Any]:
    """make_member(workspace, role) -> a user with that role in the workspace."""
    counter = {"n": 0}

    def make(workspace: Workspace, role: str, *, username: str | None = None, staff: bool = False) -> Any:
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        user = services.do_create_user(username=name, password="a-long-test-password", superuser=staff)
        services.do_set_membership(workspace=workspace, user=user, role=role)
        return user

    return make


@pytest.fixture
def api_as(db: None) -> Callable[[Any], ApiClient]:
    """api_as(user) -> an API client authenticated with a fresh token of that user."""

    def make(user: Any) -> ApiClient:
        _, token = services.do_create_token(user=user, name="test")
        return ApiClient(token)

    return make


@pytest.fixture
def owner_api(
    workspace: Workspace, make_member: Callable[..., Any], api_as: Callable[[Any], ApiClient]
) -> ApiClient:
    return api_as(make_member(workspace, "owner"))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: ids repeat across tests, cached pages must not."""
    from django.core.cache import cache

    cache.clear()
