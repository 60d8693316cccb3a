"""What Townhall understood of each item, the corrections agents made, and workspace-specific models."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from townhall.items.models import Item
from townhall.workspaces.models import Workspace


class Path(models.TextChoices):
    FAST = "fast", "Fast (hashed n-grams)"
    ACCURATE = "accurate", "Accurate (sentence embeddings)"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"
    UNKNOWN = "unknown", "Unknown"


class Toxicity(models.TextChoices):
    NONE = "none", "None"
    OFFENSIVE = "offensive", "Offensive"
    HATE = "hate", "Hate"
    UNKNOWN = "unknown", "Unknown"


class Enrichment(models.Model):
    """One row per item: its language, sentiment, intents, spam and toxicity scores, and entities."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="enrichment")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=8, choices=Path.choices)
    language = models.CharField(max_length=8, default="unknown")
    language_confidence = models.FloatField(default=0.0)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.UNKNOWN)
    sentiment_score = models.FloatField(default=0.0, help_text="P(positive) - P(negative), from -1 to 1")
    sentiment_confidence = models.FloatField(default=0.0)
    intents = models.JSONField(
        default=list, blank=True, help_text='[{"label": ..., "p": ...}], most likely first'
    )
    primary_intent = models.CharField(max_length=64, default="other")
    spam_probability = models.FloatField(default=0.0)
    toxicity = models.CharField(max_length=10, choices=Toxicity.choices, default=Toxicity.UNKNOWN)
    toxicity_probability = models.FloatField(default=0.0)
    entities = models.JSONField(default=dict, blank=True)
    # "model" until an agent corrects a field; then the correction wins over any later re-run.
    sentiment_source = models.CharField(max_length=10, default="model")
    intent_source = models.CharField(max_length=10, default="model")
    model_version = models.CharField(max_length=40, blank=True)
    enriched_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "sentiment"], name="enrich_ws_sentiment"),
            models.Index(fields=["workspace", "primary_intent"], name="enrich_ws_intent"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.sentiment}, {self.primary_intent}"


class Correction(models.Model):
    """An agent's relabelling of an item; it becomes a training example for the workspace."""

    class Field(models.TextChoices):
        SENTIMENT = "sentiment", "Sentiment"
        INTENT = "intent", "Intent"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=10, choices=Field.choices)
    labels = models.JSONField(help_text="the corrected label(s)")
    previous = models.JSONField(default=list, blank=True)
    text = models.TextField(help_text="the item's text when it was corrected (examples outlive items)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "field"], name="one_correction_per_item_field"),
        ]
        indexes = [models.Index(fields=["workspace", "field", "created_at"], name="correction_ws_field")]

    def __str__(self) -> str:
        return f"{self.field} of item {self.item_id} -> {self.labels}"


class WorkspaceAdapter(models.Model):
    """A workspace's learned adjustment to a shipped model, trained from its corrections.

    Stored as a sparse delta over the hashed n-gram features, added to the shipped model's logits on
    either path, so a handful of corrections shifts exactly the words they are about.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    task = models.CharField(max_length=32)  # sentiment | care_intents
    weights = models.BinaryField()
    examples = models.PositiveIntegerField(default=0)
    trained_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "task"], name="one_adapter_per_task")]

    def __str__(self) -> str:
        return f"{self.task} adapter of {self.workspace_id} ({self.examples} examples)"


class IntentSet(models.Model):
    """A workspace's own intents, learned from labelled examples (e.g. a bank's 77 intents)."""

    # No workspace: a site-wide set trained from the command line (e.g. to evaluate a public data set).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="intent_sets"
    )
    name = models.SlugField(max_length=64)
    path = models.CharField(max_length=8, choices=Path.choices, default=Path.ACCURATE)
    labels = models.JSONField(default=list)
    model = models.BinaryField(blank=True)
    examples = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    trained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="one_intent_set_per_name"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(workspace__isnull=True),
                name="one_site_intent_set_per_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({len(self.labels)} intents)"


class IntentExample(models.Model):
    intent_set = models.ForeignKey(IntentSet, on_delete=models.CASCADE, related_name="example_rows")
    text = models.TextField()
    label = models.CharField(max_length=100)

    def __str__(self) -> str:
        return f"{self.label}: {self.text[:40]}"
