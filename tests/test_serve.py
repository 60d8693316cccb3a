"""`townhall serve` runs the real server (gunicorn + the job worker) on a fresh data directory."""

from __future__ import annotations

import csv
import io
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import DEMO_CSV


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {
        **os.environ,
        "TOWNHALL_DATA_DIR": str(tmp_path),
        "TOWNHALL_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "TOWNHALL_TESTING": "0",
    }
    env.pop("TOWNHALL_JOBS_URL", None)
    subprocess.run([sys.executable, "-m", "townhall", "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "townhall", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/login/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        server.kill()
        output = server.stdout.read().decode() if server.stdout else ""
        pytest.fail(f"townhall serve did not answer within 30 s:\n{output[-2000:]}")
    yield base, tmp_path, env
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def test_serve_answers_pages_api_and_local_assets(served) -> None:  # type: ignore[no-untyped-def]
    base, data_dir, _ = served
    login = httpx.get(f"{base}/login/")
    assert login.status_code == 200
    assert "csrfmiddlewaretoken" in login.text
    assert httpx.get(f"{base}/", follow_redirects=False).status_code == 302  # signed out: to the login page
    spec = httpx.get(f"{base}/api/openapi.json").json()
    assert spec["info"]["title"] == "Townhall API"
    assert httpx.get(f"{base}/api/workspaces").status_code == 401
    for asset in ("vendor/htmx.min.js", "vendor/chart.umd.js"):
        response = httpx.get(f"{base}/static/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 10_000
    # the embedded default keeps its SQLite file, job store and generated secret in the data directory
    assert (data_dir / "serve.sqlite3").exists()
    assert (data_dir / "secret_key").exists()


def test_an_uploaded_import_is_run_by_the_job_worker_beside_the_server(served) -> None:  # type: ignore[no-untyped-def]
    base, _, env = served
    townhall = [sys.executable, "-m", "townhall"]
    subprocess.run([*townhall, "workspace", "create", "acme"], env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *townhall,
            "user",
            "create",
            "ana",
            "--password",
            "a-long-test-password",
            "--workspace",
            "acme",
            "--role",
            "manager",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*townhall, "token", "create", "--user", "ana"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    with DEMO_CSV.open(newline="") as handle:
        records = list(itertools.islice(csv.reader(handle), 41))  # the header and 40 real rows
    body = io.StringIO()
    csv.writer(body).writerows(records)
    started = httpx.post(
        f"{base}/api/workspaces/acme/imports",
        headers=headers,
        data={"format": "twcs"},
        files={"file": ("sample.csv", body.getvalue(), "text/csv")},
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    run_url = f"{base}/api/workspaces/acme/imports/{started.json()['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = httpx.get(run_url, headers=headers).json()
        if run["status"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert run["status"] == "done", run
    assert (run["imported"], run["rejected"]) == (40, 0)
    listed = httpx.get(f"{base}/api/workspaces/acme/items", headers=headers, params={"limit": 100}).json()
    assert len(listed["items"]) == run["imported"]
