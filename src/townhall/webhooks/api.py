"""REST endpoints of webhooks: subscribe an endpoint, see its calls, send a test ping."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from townhall.core.api_base import ERRORS
from townhall.webhooks import services
from townhall.webhooks.models import Webhook, WebhookCall
from townhall.webhooks.schemas import WebhookCallRead, WebhookCreate, WebhookCreated, WebhookRead
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["webhooks"])


def read(h: Webhook) -> WebhookRead:
    return WebhookRead(
        id=h.pk, name=h.name, url=h.url, events=h.events, active=h.active, created_at=h.created_at
    )


def read_call(c: WebhookCall) -> WebhookCallRead:
    return WebhookCallRead(
        id=c.pk,
        delivery_id=str(c.delivery_id),
        event=c.event,
        payload=c.payload,
        status=c.status,
        attempts=c.attempts,
        response_status=c.response_status,
        error=c.error,
        created_at=c.created_at,
        next_attempt_at=c.next_attempt_at,
    )


@router.get("/workspaces/{slug}/webhooks", response={200: list[WebhookRead], **ERRORS})
def list_webhooks(request: HttpRequest, slug: str) -> list[WebhookRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="webhooks.manage")
    return [read(h) for h in Webhook.objects.filter(workspace=workspace).order_by("pk")]


@router.post("/workspaces/{slug}/webhooks", response={201: WebhookCreated, **ERRORS})
def create_webhook(request: HttpRequest, slug: str, payload: WebhookCreate) -> Status[WebhookCreated]:
    """Subscribe an endpoint to events (empty: all). Calls carry `X-Townhall-Signature: t=…,v1=…`,
    the HMAC-SHA256 of `"<t>.<body>"` with the secret returned here, once."""
    workspace = access_workspace(user=request.user, slug=slug, permission="webhooks.manage")
    hook, secret = services.do_create(
        workspace=workspace, url=payload.url, events=payload.events, name=payload.name
    )
    record_audit(actor=request.user, action="webhook.create", target=hook, workspace=workspace)
    return Status(201, WebhookCreated(**read(hook).model_dump(), secret=secret))


@router.delete("/workspaces/{slug}/webhooks/{webhook_id}", response={204: None, **ERRORS})
def delete_webhook(request: HttpRequest, slug: str, webhook_id: int) -> Status[None]:
    workspace = access_workspace(user=request.user, slug=slug, permission="webhooks.manage")
    hook = services.access_webhook_by_id(workspace=workspace, webhook_id=webhook_id)
    record_audit(actor=request.user, action="webhook.delete", target=hook, workspace=workspace)
    hook.delete()
    return Status(204, None)


@router.get("/workspaces/{slug}/webhooks/{webhook_id}/calls", response={200: list[WebhookCallRead], **ERRORS})
def list_calls(request: HttpRequest, slug: str, webhook_id: int) -> list[WebhookCallRead]:
    """The last 100 calls to this endpoint, newest first, with their status and the endpoint's answer."""
    workspace = access_workspace(user=request.user, slug=slug, permission="webhooks.manage")
    hook = services.access_webhook_by_id(workspace=workspace, webhook_id=webhook_id)
    return [read_call(c) for c in hook.calls.order_by("-pk")[:100]]


@router.post("/workspaces/{slug}/webhooks/{webhook_id}/ping", response={202: WebhookCallRead, **ERRORS})
def ping(request: HttpRequest, slug: str, webhook_id: int) -> Status[WebhookCallRead]:
    """Send a `ping` event to this endpoint now, to check it receives and verifies calls."""
    workspace = access_workspace(user=request.user, slug=slug, permission="webhooks.manage")
    hook = services.access_webhook_by_id(workspace=workspace, webhook_id=webhook_id)
    with transaction.atomic():
        call = WebhookCall.objects.create(webhook=hook, event="ping", payload={"webhook": hook.pk})
        transaction.on_commit(lambda: services.send_call(call.pk))
    call.refresh_from_db()
    return Status(202, read_call(call))
