"""mastodon-mock on loopback for the Mastodon connector's tests: no Mastodon server installs here.

mastodon-mock (MIT, FastAPI + SQLite) is a test dependency of the project (`pip install -e '.[test]'`), so
there is no install script: the server runs in-process, in a thread, on a free port of 127.0.0.1, with an
in-memory database and its media in the session's tmp dir (left alone it writes to the system temp dir).
PEERS.md §3 says why there is no real server, and where the mock is more permissive than Mastodon.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx
import pytest


@dataclass
class MastodonUser:
    username: str
    display_name: str
    id: str
    access_token: str


@dataclass
class MastodonMock:
    """The running mock, with users made on demand and their API calls."""

    base_url: str
    http: httpx.Client
    _names: Iterator[int] = field(default_factory=lambda: count(1))

    def user(self, name: str, display_name: str = "") -> MastodonUser:
        """A new local account with its own token; the name gets a number so tests never share one."""
        username = f"{name}{next(self._names)}"
        made = self.http.post(
            "/api/v1/_mock/dev_user", json={"username": username, "display_name": display_name or username}
        )
        made.raise_for_status()
        body = made.json()
        return MastodonUser(username, body["display_name"], str(body["id"]), body["access_token"])

    def call(self, user: MastodonUser, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method, path, headers={"Authorization": f"Bearer {user.access_token}"}, **kwargs
        )

    def post(self, user: MastodonUser, text: str, **fields: Any) -> dict[str, Any]:
        """A status by `user`; `fields` are the API's (in_reply_to_id, visibility, ...)."""
        response = self.call(user, "POST", "/api/v1/statuses", json={"status": text, **fields})
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture(scope="session")
def mastodon_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MastodonMock]:
    """One mastodon-mock for the session (it starts in 1.5-3 s)."""
    media = tmp_path_factory.mktemp("mastodon-media")
    try:
        from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedConfig
        from mastodon_mock.testing import MockServer

        config = MastodonMockConfig(
            database=DatabaseConfig(path=":memory:"),
            seed=SeedConfig(),
            media_storage_path=str(media),
            url_scheme="http",  # links and profile URLs as the tests reach them
        )
        server = MockServer(config=config, startup_timeout=30.0).start()
    except Exception as exc:
        message = (
            f"mastodon-mock could not start ({exc!r}); it is a test dependency: pip install -e '.[test]'\n"
            + "".join(traceback.format_exception(exc)[-6:])
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    client = httpx.Client(base_url=server.base_url, timeout=20.0)
    try:
        yield MastodonMock(base_url=server.base_url, http=client)
    finally:
        client.close()
        server.stop()
