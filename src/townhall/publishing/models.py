"""Tables of publishing: campaigns, posts and their per-channel targets, approvals, attempts, queue slots.

A post is written once; each target is its variant for one channel, with its own state:

    draft → awaiting_approval → scheduled → publishing → published | failed | outcome_unknown

Every attempt to send a target is an `Attempt` row, committed before the network is called and closed after,
all carrying the target's idempotency key: a worker that dies mid-request leaves an open attempt, and the next
worker looks the post up on the network before trying again, so nothing is posted twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from townhall.connectors.models import Channel
from townhall.workspaces.models import Role, Workspace


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    color = models.CharField(max_length=7, default="#4f46e5")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    utm_campaign = models.CharField(
        max_length=100, blank=True, help_text="utm_campaign of the campaign's links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_campaign_per_name")]

    def __str__(self) -> str:
        return self.name


class PostStatus(models.TextChoices):
    """A post's status summarises its targets' (and the approval's) for the calendar and the lists."""

    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVAL_EXPIRED = "approval_expired", "Approval expired"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    PARTLY_PUBLISHED = "partly_published", "Partly published"
    FAILED = "failed", "Failed"
    OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"
    CANCELLED = "cancelled", "Cancelled"


class ApprovalPolicy(models.Model):
    """Who must approve a post before it may be scheduled: ordered steps, each any-of or all-of a group."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="approval_policies")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)
    # Approvals must be complete this long before the scheduled time, or the request expires unpublished.
    deadline_minutes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_policy_per_name")]

    def __str__(self) -> str:
        return self.name


class StepMode(models.TextChoices):
    ANY = "any", "Any one of them"
    ALL = "all", "All of them"


class ApprovalStep(models.Model):
    """One step: the listed users, or everyone holding `role`, approve — any one of them or all of them."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    mode = models.CharField(max_length=3, choices=StepMode.choices, default=StepMode.ANY)
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="one_step_per_position")]

    def __str__(self) -> str:
        return f"{self.policy}: {self.name}"


class Post(models.Model):
    """One piece of content, composed once; its targets carry the variant for each channel."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(
        max_length=200, blank=True, help_text="An internal name for lists and the calendar"
    )
    body = models.TextField()
    status = models.CharField(max_length=20, choices=PostStatus.choices, default=PostStatus.DRAFT)
    # The instant is stored in UTC; the zone it was chosen in is kept to show and move it as its author meant.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # How variants are adapted: {"hashtags": keep|end|first_comment, "thread": bool, "utm": bool, ...}
    options = models.JSONField(default=dict, blank=True)
    media = models.JSONField(default=list, blank=True)
    policy = models.ForeignKey(
        ApprovalPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    # Edits bump the version; approvals count only for the version they were given to.
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "scheduled_at"], name="post_ws_when"),
            models.Index(fields=["workspace", "status"], name="post_ws_status"),
        ]

    def __str__(self) -> str:
        return self.title or self.body[:60]


class TargetState(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"
    CANCELLED = "cancelled", "Cancelled"


class Target(models.Model):
    """A post's variant for one channel and where its publishing stands."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="publish_targets")
    network = models.CharField(max_length=16)
    # The variant: one text, or several when it is published as a thread.
    parts = models.JSONField(default=list)
    first_comment = models.TextField(blank=True)
    edited = models.BooleanField(
        default=False, help_text="Written by hand: not re-adapted when the post changes"
    )
    notes = models.JSONField(default=list, blank=True)  # what adapting did ("split into 3 posts", ...)
    state = models.CharField(max_length=20, choices=TargetState.choices, default=TargetState.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Parts already on the network, in order: [{"native_id", "url"}, ...]; a retry resumes after them.
    published_parts = models.JSONField(default=list, blank=True)
    native_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "channel"], name="one_target_per_channel")]
        indexes = [
            models.Index(fields=["state", "scheduled_at"], name="target_due"),
            models.Index(fields=["channel", "scheduled_at"], name="target_channel_when"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} → {self.channel}"

    @property
    def texts(self) -> list[str]:
        """What goes out, in order: the parts, then the first comment (a reply to the first part)."""
        return [*self.parts, self.first_comment] if self.first_comment else list(self.parts)

    def part_key(self, index: int) -> str:
        """The idempotency key of part `index`: the same on every attempt, different for every part."""
        return f"th-{self.key.hex}-{index}"


class AttemptOutcome(models.TextChoices):
    STARTED = "started", "Started (no answer recorded)"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    FOUND = "found", "Found on the network"
    NOT_FOUND = "not_found", "Not found on the network"


class Attempt(models.Model):
    """The audit row of one attempt to send one part of a target (or to look it up on the network)."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="attempt_rows")
    part = models.PositiveSmallIntegerField(default=0)
    idempotency_key = models.CharField(max_length=100)
    action = models.CharField(max_length=8, default="send")  # send | lookup
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.STARTED)
    worker = models.CharField(max_length=100, blank=True)
    native_id = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["target", "part", "started_at"], name="attempt_target_part")]

    def __str__(self) -> str:
        return f"{self.action} {self.idempotency_key}: {self.outcome}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REQUEST_CHANGES = "request_changes", "Requested changes"


class Approval(models.Model):
    """One reviewer's decision on one version of a post at one step of its policy."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="approvals")
    step = models.ForeignKey(ApprovalStep, on_delete=models.SET_NULL, null=True, related_name="+")
    step_position = models.PositiveSmallIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} {self.decision} v{self.version}"


class PostEvent(models.Model):
    """The post's history: every edit, submission, decision, schedule change and publishing outcome."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.post_id}"


class QueueSlot(models.Model):
    """A recurring time a channel posts at, in the workspace's zone; "next free slot" takes the first."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="queue_slots")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    time = models.TimeField()

    class Meta:
        ordering = ["weekday", "time"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "weekday", "time"], name="one_slot_per_time"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="slot_weekday_0_6"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.weekday} {self.time}"
