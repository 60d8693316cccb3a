"""Outgoing webhooks: endpoints a workspace subscribes to events, and every call made to them."""

from __future__ import annotations

import uuid

from django.db import models

from townhall.core.crypto import EncryptedJSONField
from townhall.workspaces.models import Workspace


class Webhook(models.Model):
    """An HTTPS endpoint that receives the events it subscribed to, signed with its own secret."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500)
    # {"secret": ...}, encrypted at rest; shown once, when the webhook is created.
    signing = EncryptedJSONField(default=dict, blank=True)
    events = models.JSONField(default=list)  # e.g. ["listening.alert"]; empty: every event
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.url


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    GAVE_UP = "gave_up", "Gave up"


class WebhookCall(models.Model):
    """One event sent (or to send) to one webhook; its id is the idempotency key the receiver sees."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="calls")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=CallStatus.choices, default=CallStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_call_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
