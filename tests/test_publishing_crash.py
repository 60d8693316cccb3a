"""Crash test: publishing workers SIGKILLed at random points while 200 posts go out through a network that
sometimes answers too late. After the last restart every post is on the network exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

POSTS = 200
KILLS = 12
SLOW_SHARE = 0.12  # the share of posts the network takes but answers after the client gave up
HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(
    os.environ.get("TOWNHALL_DATABASE_URL", "").startswith("postgres"),
    reason="runs once, on its own SQLite file, in the SQLite pass",
)


class FakeNetwork(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.posts: dict[str, str] = {}
        self.received: Counter[str] = Counter()
        self.lookups = 0
        self.slow = 0
        self.rng = random.Random(7)


class Handler(BaseHTTPRequestHandler):
    server: FakeNetwork

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.received[body["key"]] += 1
            native_id = self.server.posts.setdefault(body["key"], f"status-{len(self.server.posts) + 1}")
            slow = self.server.rng.random() < SLOW_SHARE
            self.server.slow += slow
        if slow:
            time.sleep(1.0)  # the post is kept; the answer comes after the client's 0.5 s timeout
        self._answer(200, {"id": native_id})

    def do_GET(self) -> None:
        key = self.path.rsplit("/", 1)[-1]
        with self.server.lock:
            self.server.lookups += 1
            native_id = self.server.posts.get(key)
        self._answer(200, {"id": native_id}) if native_id else self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up or was killed

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def network() -> Iterator[FakeNetwork]:
    server = FakeNetwork()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_killed_workers_publish_every_post_exactly_once(network: FakeNetwork, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{network.server_address[1]}"
    env = {
        **os.environ,
        "TOWNHALL_TESTING": "1",
        "TOWNHALL_DATA_DIR": str(tmp_path),
        "TOWNHALL_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.sqlite3'}",
        "PYTHONPATH": str(HERE),
    }
    script = str(HERE / "publishing_crash_worker.py")
    subprocess.run([sys.executable, script, "seed", str(POSTS)], env=env, check=True, timeout=300)
    serve = subprocess.Popen(
        [sys.executable, script, "serve", base],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert serve.stdin is not None and serve.stdout is not None

    def ask(command: str) -> Any:
        serve.stdin.write(command + "\n")  # type: ignore[union-attr]
        serve.stdin.flush()  # type: ignore[union-attr]
        return json.loads(serve.stdout.readline())  # type: ignore[union-attr]

    rng = random.Random(11)
    try:
        for _ in range(KILLS):
            pid = ask("spawn")
            time.sleep(rng.uniform(0.05, 0.6))
            os.kill(pid, signal.SIGKILL)
            ask("reap")
        ask("spawn")
        assert ask("wait") == 0
        result = ask("report")
    finally:
        serve.kill()
        serve.wait()

    # Shown with `pytest -s`: what the kills and the slow answers left behind, and how it was settled.
    print(
        json.dumps(
            {"kills": KILLS, "slow_answers": network.slow, "lookups": network.lookups, **result["attempts"]}
        )
    )
    assert result["targets"] == {"published": POSTS}, result
    assert len(network.posts) == POSTS  # none lost
    assert set(network.received.values()) == {1}, "a post reached the network twice"
    assert sorted(network.posts.values()) == result["published_ids"]
    # The kills and the slow answers left attempts without an answer, and each was settled by a lookup.
    attempts = result["attempts"]
    assert network.slow > 0 and attempts.get("send:timed_out", 0) > 0
    assert attempts.get("lookup:found", 0) >= attempts.get("send:timed_out", 0)
    assert attempts.get("send:started", 0) + attempts.get("lookup:found", 0) > 0
