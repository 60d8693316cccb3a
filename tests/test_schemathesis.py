"""Property-based API testing: every operation in /api/openapi.json, fuzzed through the WSGI app.

Each operation gets its own seeded workspace (function-scoped `db`: every example of one operation shares
the test's transaction, and the next operation starts clean). Requests carry a valid owner token and the
seeded workspace's slug, so generated data reaches the real handlers instead of stopping at 401/404.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from townhall.connectors.models import Channel
from townhall.items.models import ImportRun, Item
from townhall.pipeline import IncomingAuthor, IncomingItem, ingest
from townhall.workspaces import services
from townhall.wsgi import application


@pytest.fixture(autouse=True)
def keep_the_test_transaction() -> Iterator[None]:
    """Django closes "old" connections around every WSGI request; inside a test that closes the test's own
    transaction on PostgreSQL. Django's test client disconnects the same handlers; so does this fixture."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db: None) -> dict[str, Any]:
    """A workspace with an owner token, a thread with people, a channel and an import run."""
    owner = services.do_create_user(username="olga", password="a-long-test-password", superuser=True)
    workspace = services.do_create_workspace(slug="acme", owner=owner)
    services.do_create_user(username="zoe", password="a-long-test-password")
    when = datetime(2026, 1, 1, tzinfo=UTC)
    ingest(
        workspace.pk,
        [
            IncomingItem(
                network="mastodon",
                native_id=str(n),
                created_at=when.replace(hour=n),
                text=f"message {n}",
                author=IncomingAuthor(native_id=f"a{n % 2}", handle=f"user{n % 2}") if n % 3 else None,
                direction="inbound" if n % 3 else "outbound",
                channel_handle="acme@social.example",
                parent_native_id=str(n - 1) if n > 1 else "",
            )
            for n in range(1, 6)
        ],
    )
    run = ImportRun.objects.create(workspace=workspace, format="twcs", filename="old.csv", status="done")
    _, token = services.do_create_token(user=owner, name="schemathesis")
    item = Item.objects.get(workspace=workspace, native_id="4")
    return {
        "token": token,
        "channel_id": Channel.objects.get(workspace=workspace).pk,
        "person_id": item.person_id,
        "item_id": item.pk,
        "run_id": run.pk,
    }


# Loaded once at collection: the schema itself needs no database. Every request is aimed at the seeded
# workspace; the token is added per test, since each test seeds its own.
schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json",
    application,
    config=SchemathesisConfig.from_dict({"parameters": {"path.slug": "acme"}}),
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def aim_at_seeded_rows(case: Any, seeded: dict[str, Any]) -> None:
    """Swap the even generated ids for rows that exist (and some usernames for a real user), so examples
    also get past the lookups into the handlers; odd ids and malformed values still test the misses."""
    for name, value in (case.path_parameters or {}).items():
        if name in seeded and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = seeded[name]
    body = case.body
    username = body.get("username") if isinstance(body, dict) else None
    if case.operation.path.endswith("/members") and isinstance(username, str) and len(username) % 2 == 0:
        body["username"] = "zoe"


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, seeded: dict[str, Any]) -> None:
    aim_at_seeded_rows(case, seeded)
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded['token']}"}, checks=CHECKS)
