"""A channel is a connected source or account: a network handle we own, or a source we listen to."""

from __future__ import annotations

from django.db import models

from townhall.core.crypto import EncryptedJSONField
from townhall.workspaces.models import Workspace


class Network(models.TextChoices):
    TWITTER = "twitter", "X / Twitter"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"
    MATRIX = "matrix", "Matrix"
    REDDIT = "reddit", "Reddit"
    WORDPRESS = "wordpress", "WordPress"
    RSS = "rss", "RSS/Atom"
    FORUM = "forum", "Forum"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    LINKEDIN = "linkedin", "LinkedIn"
    YOUTUBE = "youtube", "YouTube"
    EMAIL = "email", "Email"
    OFFLINE = "offline", "Offline / manual"
    OTHER = "other", "Other"


class ChannelStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ERROR = "error", "Error"


class Channel(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(max_length=16, choices=Network.choices)
    handle = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    is_ours = models.BooleanField(default=True, help_text="An account the brand owns, as opposed to a source")
    native_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=ChannelStatus.choices, default=ChannelStatus.ACTIVE)
    credentials = EncryptedJSONField(blank=True, default=dict)
    settings = models.JSONField(default=dict, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Consecutive failed syncs; the health shown in the UI is read from it (0 ok, 1-2 degraded, 3+ failing).
    failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "network", "handle"], name="one_channel_per_handle"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.handle}"

    @property
    def connector_kind(self) -> str:
        """The connector that serves the channel: its network's, or a source kind set in its settings."""
        return str(self.settings.get("connector") or self.network)

    @property
    def health(self) -> str:
        if self.failures >= 3:
            return "failing"
        if self.failures:
            return "degraded"
        return "ok" if self.last_success_at else "never synced"
