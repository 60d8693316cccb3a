"""A person is one human across networks; an identity is their account on one network."""

from __future__ import annotations

from django.db import models

from townhall.workspaces.models import Workspace


class Lifecycle(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    FOLLOWER = "follower", "Follower"
    MEMBER = "member", "Member"
    PROSPECT = "prospect", "Prospect"
    LEAD = "lead", "Lead"
    CUSTOMER = "customer", "Customer"
    CHURNED = "churned", "Churned"
    ADVOCATE = "advocate", "Advocate"


class Person(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="people")
    display_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    location = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.UNKNOWN)
    is_team_member = models.BooleanField(default=False)
    is_bot = models.BooleanField(default=False)
    # On the workspace's VIP list: routing rules can send them ahead of everyone else.
    vip = models.BooleanField(default=False, db_default=False)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-last_seen_at"], name="person_ws_seen"),
            models.Index(fields=["workspace", "lifecycle"], name="person_ws_stage"),
        ]

    def __str__(self) -> str:
        return self.display_name or f"person {self.pk}"


class Identity(models.Model):
    """An account on one network; (workspace, network, native_id) names it exactly once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="identities")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    network = models.CharField(max_length=16)
    native_id = models.CharField(max_length=200)
    handle = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    profile_url = models.URLField(max_length=500, blank=True)
    followers = models.PositiveIntegerField(null=True, blank=True)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "network", "native_id"], name="one_identity_per_account"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "handle"], name="identity_ws_handle")]

    def __str__(self) -> str:
        return f"{self.network}:{self.handle or self.native_id}"


class Activity(models.Model):
    """A typed event in a person's timeline (posted, replied, mentioned us, attended an event, ...)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="activities")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    network = models.CharField(max_length=16, blank=True)
    item = models.ForeignKey("items.Item", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    # Makes writes from outside idempotent: the same event replayed keeps one row.
    dedupe_key = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="one_activity_per_event"),
        ]
        indexes = [models.Index(fields=["person", "-occurred_at"], name="activity_person_time")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.person_id} at {self.occurred_at:%Y-%m-%d}"
