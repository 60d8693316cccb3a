"""Outgoing webhooks: subscribe, emit an event to every subscriber after commit, sign, send, retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from townhall.core.errors import Invalid, NotFound
from townhall.webhooks.models import CallStatus, Webhook, WebhookCall
from townhall.workspaces.models import Workspace

EVENTS = ("listening.alert", "ping")
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ATTEMPTS = 8  # 1, 2, 4 … 64 minutes apart: about two hours of an endpoint being down
SIGNATURE_HEADER = "X-Townhall-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; receivers recompute it and check t is recent."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = 300) -> bool:
    """Whether a signature header is valid for this body and no older than `tolerance` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise Invalid(f"unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}", field="events")
    return sorted(set(events))


def check_url(url: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(url)
        httpx.URL(url)
    except (ValidationError, httpx.InvalidURL) as exc:
        raise Invalid("a webhook URL must be an http:// or https:// URL with a host", field="url") from exc
    return url


def do_create(*, workspace: Workspace, url: str, events: list[str], name: str = "") -> tuple[Webhook, str]:
    """Create a webhook with a fresh signing secret; the secret is returned this once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook.objects.create(
        workspace=workspace,
        url=check_url(url),
        events=check_events(events),
        name=name[:100],
        signing={"secret": secret},  # type: ignore[misc]  # encrypted by the field
    )
    return hook, secret


def secret_of(hook: Webhook) -> str:
    signing: Any = hook.signing  # the field decrypts to a dict
    return str(signing.get("secret", ""))


def access_webhook_by_id(*, workspace: Workspace, webhook_id: int) -> Webhook:
    hook = Webhook.objects.filter(workspace=workspace, pk=webhook_id).first()
    if hook is None:
        raise NotFound(f"webhook {webhook_id} does not exist in this workspace")
    return hook


def do_emit(*, workspace_id: int, event: str, payload: dict[str, Any]) -> list[WebhookCall]:
    """Record a call for every active webhook subscribed to `event`; they are sent once the caller commits."""
    calls = []
    for hook in Webhook.objects.filter(workspace_id=workspace_id, active=True):
        if hook.events and event not in hook.events:
            continue
        calls.append(WebhookCall.objects.create(webhook=hook, event=event, payload=payload))
    if calls:
        ids = [c.pk for c in calls]
        transaction.on_commit(lambda: _queue(ids))
    return calls


def _queue(ids: list[int]) -> None:
    from townhall.webhooks.tasks import send

    for call_id in ids:
        send(call_id)


def body_of(call: WebhookCall) -> bytes:
    envelope = {
        "id": str(call.delivery_id),
        "event": call.event,
        "workspace": call.webhook.workspace.slug,
        "created_at": call.created_at.isoformat(),
        "data": call.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def send_call(
    call_id: int, *, client: httpx.Client | None = None, now: datetime | None = None
) -> WebhookCall | None:
    """POST one call, signed; a sent call is never sent again, a failed one waits twice as long each time."""
    call = WebhookCall.objects.select_related("webhook__workspace").filter(pk=call_id).first()
    if call is None or call.status in (CallStatus.SENT, CallStatus.GAVE_UP):
        return call
    now = now or timezone.now()
    body = body_of(call)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Townhall-Webhooks/1",
        "X-Townhall-Event": call.event,
        "X-Townhall-Delivery": str(call.delivery_id),
        SIGNATURE_HEADER: sign(secret_of(call.webhook), int(now.timestamp()), body),
    }
    call.attempts += 1
    try:
        with client or httpx.Client(timeout=TIMEOUT) as http:
            response = http.post(call.webhook.url, content=body, headers=headers)
        call.response_status = response.status_code
        response.raise_for_status()
        call.status, call.error, call.next_attempt_at = CallStatus.SENT, "", None
    except httpx.HTTPError as exc:
        call.error = f"{type(exc).__name__}: {exc}"[:1000]
        if call.attempts >= MAX_ATTEMPTS:
            call.status, call.next_attempt_at = CallStatus.GAVE_UP, None
        else:
            call.status = CallStatus.FAILED
            call.next_attempt_at = now + timedelta(minutes=2 ** (call.attempts - 1))
    call.finished_at = now
    call.save()
    return call


def retry_due(*, now: datetime | None = None) -> int:
    """Send again every failed call whose pause is over."""
    now = now or timezone.now()
    due = WebhookCall.objects.filter(status=CallStatus.FAILED, next_attempt_at__lte=now).values_list(
        "pk", flat=True
    )
    ids = list(due[:500])
    for call_id in ids:
        send_call(call_id, now=now)
    return len(ids)
