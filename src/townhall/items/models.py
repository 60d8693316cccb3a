"""Anything said on a network, and the import runs that brought items in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from townhall.connectors.models import Channel
from townhall.people.models import Identity, Person
from townhall.workspaces.models import Workspace


class Kind(models.TextChoices):
    POST = "post", "Post"
    COMMENT = "comment", "Comment"
    REPLY = "reply", "Reply"
    DM = "dm", "Direct message"
    MENTION = "mention", "Mention"
    REVIEW = "review", "Review"
    FORUM_POST = "forum_post", "Forum post"
    CHAT_MESSAGE = "chat_message", "Chat message"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Item(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="items")
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    network = models.CharField(max_length=16)
    native_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POST)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.INBOUND)
    author = models.ForeignKey(
        Identity, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    # Denormalised from author.person so a person's timeline is one indexed lookup.
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="items")
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies_set"
    )
    # Kept when the parent has not arrived yet, so a late parent links its children.
    parent_native_id = models.CharField(max_length=200, blank=True)
    thread_root = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="thread_items"
    )
    created_at = models.DateTimeField()
    ingested_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    likes = models.PositiveIntegerField(default=0)
    reposts = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    import_run = models.ForeignKey(
        "ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "native_id"], name="one_item_per_native_id"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="item_ws_time"),
            models.Index(fields=["workspace", "channel", "-created_at"], name="item_ws_channel_time"),
            models.Index(fields=["workspace", "person", "-created_at"], name="item_ws_person_time"),
            models.Index(fields=["workspace", "network", "parent_native_id"], name="item_ws_parent_native"),
            models.Index(fields=["thread_root", "created_at"], name="item_thread_time"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.native_id}"

    @property
    def understanding(self) -> Any:
        """What Townhall understood of the item, or None before it has been read."""
        try:
            return self.enrichment
        except ObjectDoesNotExist:
            return None


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One file brought in; rejected rows are kept with their line number and reason."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="import_runs")
    format = models.CharField(max_length=16)
    filename = models.CharField(max_length=500)
    upload = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.format} import {self.filename}"
