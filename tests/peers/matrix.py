"""A real Synapse homeserver on loopback for the Matrix connector's tests, with users made on demand."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SYNAPSE_PYTHON = Path(
    os.environ.get("SYNAPSE_PYTHON", REPO / ".peers" / "matrix" / "venv" / "bin" / "python")
)
SHARED_SECRET = "test-shared-secret"
START_TIMEOUT = 30.0

CONFIG = """\
server_name: "localhost"
public_baseurl: "http://127.0.0.1:{port}/"
pid_file: "{data}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database: {{name: sqlite3, args: {{database: "{data}/homeserver.db"}}}}
log_config: "{data}/log.config"
media_store_path: "{data}/media"
signing_key_path: "{data}/signing.key"
registration_shared_secret: "{secret}"
macaroon_secret_key: "test-macaroon-secret"
form_secret: "test-form-secret"
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
allow_public_rooms_over_federation: false
url_preview_enabled: false
enable_registration: false
bcrypt_rounds: 4
presence: {{enabled: false}}
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
rc_admin_redaction: {{per_second: 1000, burst_count: 1000}}
"""

LOG_CONFIG = """\
version: 1
formatters: {{plain: {{format: "%(asctime)s %(levelname)s %(name)s %(message)s"}}}}
handlers: {{file: {{class: logging.FileHandler, formatter: plain, filename: "{data}/homeserver.log"}}}}
root: {{level: WARNING, handlers: [file]}}
disable_existing_loggers: false
"""


@dataclass
class MatrixUser:
    user_id: str
    access_token: str
    server: Synapse

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A client-server API call as this user; the JSON reply (an error status fails the test)."""
        response = self.server.client.request(
            method,
            f"{self.server.base_url}{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.access_token}"},
        )
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def create_room(self, name: str, *, invite: list[str] | None = None, direct: bool = False) -> str:
        body: dict[str, Any] = {"name": name, "preset": "private_chat" if direct else "public_chat"}
        if invite:
            body["invite"] = invite
        if direct:
            body["is_direct"] = True
        return str(self.call("POST", "/_matrix/client/v3/createRoom", body)["room_id"])

    def join(self, room_id: str) -> None:
        self.call("POST", f"/_matrix/client/v3/join/{q(room_id)}", {})

    def send(self, room_id: str, text: str, *, relates_to: dict[str, Any] | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if relates_to:
            content["m.relates_to"] = relates_to
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/send/m.room.message/{uuid.uuid4().hex}"
        return str(self.call("PUT", path, content)["event_id"])

    def set_display_name(self, name: str) -> None:
        self.call("PUT", f"/_matrix/client/v3/profile/{q(self.user_id)}/displayname",
                  {"displayname": name})  # fmt: skip

    def event(self, room_id: str, event_id: str) -> Any:
        return self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/event/{q(event_id)}")

    def membership(self, room_id: str, user_id: str) -> str:
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/state/m.room.member/{q(user_id)}"
        return str(self.call("GET", path)["membership"])


@dataclass
class Synapse:
    base_url: str
    data: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def register(self, localpart: str, *, admin: bool = False, display_name: str = "") -> MatrixUser:
        """A new account through the shared-secret admin API (milliseconds, unlike the CLI's ~3 s)."""
        url = f"{self.base_url}/_synapse/admin/v1/register"
        nonce = self.client.get(url).json()["nonce"]
        password = f"{localpart}-password"
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))  # fmt: skip
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        response = self.client.post(url, json=body)
        assert response.status_code == 200, response.text
        reply = response.json()
        user = MatrixUser(user_id=reply["user_id"], access_token=reply["access_token"], server=self)
        if display_name:
            user.set_display_name(display_name)
        return user

    def log_tail(self, lines: int = 30) -> str:
        log = self.data / "homeserver.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"
        )


def q(part: str) -> str:
    return quote(part, safe="")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(message: str) -> None:
    """Fail in CI (the server must run there), skip on a machine where it was not installed."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """Synapse on 127.0.0.1, a free port, SQLite in a temp dir; stopped by its PID when the session ends."""
    if not SYNAPSE_PYTHON.exists():
        _unavailable(f"Synapse is not installed at {SYNAPSE_PYTHON}: run tests/peers/install_matrix.sh")
    data = tmp_path_factory.mktemp("synapse")
    port = _free_port()
    config = data / "homeserver.yaml"
    config.write_text(CONFIG.format(port=port, data=data, secret=SHARED_SECRET))
    (data / "log.config").write_text(LOG_CONFIG.format(data=data))
    server = Synapse(base_url=f"http://127.0.0.1:{port}", data=data)
    command = [str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "-c", str(config)]
    keys = subprocess.run([*command, "--generate-keys"], capture_output=True, text=True, timeout=60)
    if keys.returncode != 0:
        _unavailable(f"Synapse could not generate its keys: {keys.stderr[-2000:]}")
    output = (data / "stdout.log").open("wb")
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=data)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                stdout = (data / "stdout.log").read_text(errors="replace")[-2000:]
                _unavailable(
                    f"Synapse exited with {process.returncode} on start:\n{stdout}\n{server.log_tail()}"
                )
            try:
                if server.client.get(f"{server.base_url}/_matrix/client/versions").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                _unavailable(f"Synapse did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
        server.client.close()
