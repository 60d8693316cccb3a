"""The publishing worker for the crash test, run as its own process on its own SQLite file.

    python publishing_crash_worker.py seed N               create a workspace, a channel and N posts due now
    python publishing_crash_worker.py serve NETWORK_URL    read commands on stdin:
        spawn   fork a worker that publishes until nothing is left; print its pid (the test SIGKILLs it)
        wait    wait for the last worker to finish; print its exit status
        report  print the targets' states and the attempts' outcomes as JSON

Workers are forked from a process that already loaded Django, so a kill-and-restart costs milliseconds.
The network is the test's HTTP fake: it keeps every post it receives, and sometimes answers too late.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from typing import Any

import django
import httpx

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.settings")
django.setup()

from django.db import connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from townhall.connectors.base import Capabilities, ChannelConfig, Connector, Outgoing, Published  # noqa: E402
from townhall.connectors.http import ConnectorError  # noqa: E402
from townhall.connectors.models import Channel  # noqa: E402
from townhall.publishing import approvals, compose, publisher  # noqa: E402
from townhall.publishing.models import Attempt, Target, TargetState  # noqa: E402
from townhall.workspaces.services import do_create_workspace  # noqa: E402

CLIENT_TIMEOUT = 0.5
LEASE = timedelta(seconds=1)
publisher.UNKNOWN_BACKOFF = (timedelta(seconds=0.2),)


class HttpFakeConnector(Connector):
    """Publishes to the test's fake network over HTTP, with a client timeout shorter than its slow answers."""

    network = "fake"
    label = "Fake network"
    capabilities = Capabilities(publish=True)

    def __init__(self, config: ChannelConfig, *, base: str) -> None:
        super().__init__(config)
        self.client = httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT)

    def publish(self, post: Outgoing) -> Published:
        try:
            response = self.client.post("/posts", json={"key": post.idempotency_key, "text": post.text})
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"ReadTimeout on POST /posts: {exc}", retryable=True) from exc
        response.raise_for_status()
        return Published(native_id=response.json()["id"])

    def lookup(self, post: Outgoing) -> Published | None:
        try:
            response = self.client.get(f"/posts/{post.idempotency_key}")
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"ReadTimeout on GET /posts: {exc}", retryable=True) from exc
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return Published(native_id=response.json()["id"])

    def close(self) -> None:
        self.client.close()
        super().close()


def seed(count: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    workspace = do_create_workspace(slug="crash", name="Crash")
    channel = Channel.objects.create(workspace=workspace, network="mastodon", handle="acme@social.example")
    when = timezone.now() + timedelta(hours=1)
    for number in range(count):
        post = compose.do_create_post(
            workspace=workspace,
            author=None,
            body=f"Scheduled post number {number} of {count}",
            channel_ids=[channel.pk],
            scheduled_at=when,
        )
        approvals.do_submit(post=post, actor=None)
    Target.objects.update(scheduled_at=timezone.now())  # all due at once


def work(base: str) -> None:
    """Publish until no target is due or on its way; exit 0 then."""

    def factory(channel: Channel) -> Connector:
        return HttpFakeConnector(ChannelConfig(network=channel.network, handle=channel.handle), base=base)

    pending = [TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.OUTCOME_UNKNOWN]
    while Target.objects.filter(state__in=pending).exists():
        if not publisher.run_due(factory=factory, limit=5, lease=LEASE, worker=f"crash:{os.getpid()}"):
            time.sleep(0.05)


def report() -> dict[str, Any]:
    states = dict(Target.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    outcomes = Attempt.objects.values_list("action", "outcome").annotate(n=Count("pk"))
    return {
        "targets": states,
        "attempts": {f"{action}:{outcome}": n for action, outcome, n in outcomes},
        "published_ids": sorted(Target.objects.exclude(native_id="").values_list("native_id", flat=True)),
    }


def serve(base: str) -> None:
    connections.close_all()  # every forked worker opens its own connection
    last = 0
    for line in sys.stdin:
        command = line.strip()
        if command == "spawn":
            last = os.fork()
            if last == 0:
                try:
                    work(base)
                finally:
                    os._exit(0)
            answer: Any = last
        elif command == "wait":
            _, status = os.waitpid(last, 0)
            answer = status
        elif command == "reap":
            answer = _reap()
        elif command == "report":
            answer = report()
            connections.close_all()
        else:
            break
        print(json.dumps(answer), flush=True)


def _reap() -> int:
    reaped = 0
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            reaped += 1
    except ChildProcessError:
        pass
    return reaped


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(int(sys.argv[2]))
    else:
        serve(sys.argv[2])
