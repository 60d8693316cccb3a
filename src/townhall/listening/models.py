"""Listening: topics, their boolean queries, the mentions they match, hourly and daily series, alerts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from townhall.items.models import Item
from townhall.workspaces.models import Workspace


class TopicKind(models.TextChoices):
    BRAND = "brand", "Brand"
    COMPETITOR = "competitor", "Competitor"
    INDUSTRY = "industry", "Industry"
    CAMPAIGN = "campaign", "Campaign"
    CUSTOM = "custom", "Custom"


class Topic(models.Model):
    """What the team keeps a pulse on; its queries say which items mention it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="topics")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=TopicKind.choices, default=TopicKind.BRAND)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    alerts = models.BooleanField(default=True, help_text="watch this topic's series for spikes")
    # Detector overrides; empty keeps the defaults documented in docs/listening-alerts.md.
    alert_settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_topic_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BackfillStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ListeningQuery(models.Model):
    """One boolean query of a topic, in the language of docs/listening-queries.md."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="queries")
    name = models.CharField(max_length=100, blank=True)
    text = models.TextField()
    active = models.BooleanField(default=True)
    # Bumped on every edit of the text: a backfill of an older version stops and leaves the field alone.
    version = models.PositiveIntegerField(default=1)
    backfill_status = models.CharField(
        max_length=8, choices=BackfillStatus.choices, default=BackfillStatus.PENDING
    )
    backfill_version = models.PositiveIntegerField(default=0)
    # Items up to this id have been matched against this version; the backfill resumes after it.
    backfill_cursor = models.BigIntegerField(default=0)
    backfill_matched = models.PositiveIntegerField(default=0)
    backfill_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "listening queries"
        indexes = [models.Index(fields=["active"], name="listening_query_active")]

    def __str__(self) -> str:
        return self.name or self.text[:60]


class Mention(models.Model):
    """An item one query matched, with the terms it matched; times and author copied for the series."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="mentions")
    query = models.ForeignKey(ListeningQuery, on_delete=models.CASCADE, related_name="mentions")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="mentions")
    created_at = models.DateTimeField()
    author_id = models.BigIntegerField(null=True, blank=True)  # the item's identity, for unique authors
    reach = models.PositiveBigIntegerField(default=0)  # the author's followers when the item came in
    sentiment = models.CharField(max_length=8, default="unknown")
    terms = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "item"], name="one_mention_per_query_item")]
        indexes = [
            models.Index(fields=["topic", "created_at"], name="mention_topic_time"),
            models.Index(fields=["item"], name="mention_item"),
        ]

    def __str__(self) -> str:
        return f"mention {self.item_id} of {self.topic_id}"


class Granularity(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class MentionRollup(models.Model):
    """A topic's mentions in one hour or day (UTC); an item matched by two of its queries counts once."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="rollups")
    granularity = models.CharField(max_length=4, choices=Granularity.choices)
    bucket = models.DateTimeField()
    volume = models.PositiveIntegerField(default=0)
    unique_authors = models.PositiveIntegerField(default=0)
    reach = models.PositiveBigIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    neutral = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "granularity", "bucket"], name="one_rollup_per_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.granularity} {self.bucket:%Y-%m-%d %H:00}"


class StaleBucket(models.Model):
    """An hour whose roll-up must be computed again because mentions in it were removed."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "hour"], name="one_stale_bucket")]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.hour:%Y-%m-%d %H:00}"


class RollupState(models.Model):
    """The roll-up's watermark: mentions up to this id are in the series (one row, name "mentions")."""

    name = models.CharField(max_length=32, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} up to {self.last_id}"


class AlertKind(models.TextChoices):
    VOLUME = "volume", "Volume spike"
    NEGATIVE = "negative", "Negative-sentiment spike"


class Alert(models.Model):
    """A spike in a topic's series, with the evidence that explains it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="alerts_raised")
    kind = models.CharField(max_length=8, choices=AlertKind.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    observed = models.FloatField()
    expected = models.FloatField()
    z = models.FloatField()
    explanation = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "kind", "window_end"], name="one_alert_per_window")
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="alert_ws_time")]

    def __str__(self) -> str:
        return f"{self.kind} spike on {self.topic_id} at {self.window_end:%Y-%m-%d %H:00}"


class DetectorState(models.Model):
    """The last complete hour the spike detector looked at for a topic, so each hour is judged once."""

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_hour = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.topic_id} judged up to {self.last_hour}"
