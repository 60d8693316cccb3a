"""Tables of the unified inbox: conversations, teams, routing rules, SLA policies and what agents do."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from townhall.connectors.models import Channel
from townhall.items.models import Item
from townhall.people.models import Person
from townhall.workspaces.models import Workspace


class Status(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    NONE = "none", "None"


# Sorting by priority needs a number: urgent first.
PRIORITY_RANK = {"urgent": 4, "high": 3, "medium": 2, "low": 1, "none": 0}


class Availability(models.TextChoices):
    ONLINE = "online", "Online"
    BUSY = "busy", "Busy"
    OFFLINE = "offline", "Offline"


class InboxSettings(models.Model):
    """A workspace's business hours (in its time zone) and what automation it allows."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="inbox_settings")
    business_hours = models.JSONField(default=dict, blank=True)  # {"mon": [["09:00", "17:00"]], ...}
    holidays = models.JSONField(default=list, blank=True)  # ["2026-12-25", ...] local dates
    auto_ack_allowed = models.BooleanField(default=False)
    # Items older than this when they reach the inbox are history (an import): rules still sort them,
    # but nothing is sent on the network or to a webhook because of them.
    live_window_minutes = models.PositiveIntegerField(default=24 * 60)
    sla_warning_minutes = models.PositiveIntegerField(default=15)

    def __str__(self) -> str:
        return f"inbox settings of {self.workspace_id}"


class Team(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    # Round robin remembers who got the last conversation.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_team_per_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The most open conversations this member takes from automatic assignment (0: no cap).
    capacity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"


class AgentStatus(models.Model):
    """Whether an agent takes new conversations now."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    availability = models.CharField(max_length=8, choices=Availability.choices, default=Availability.ONLINE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_status_per_agent")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.availability}"


class SlaPolicy(models.Model):
    """Targets in minutes; counted in business hours when `business_hours_only`."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(max_length=100)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    business_hours_only = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_sla_per_name")]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="one_label_per_name")]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """Inbound items that belong together: a thread, or a person's direct messages on one channel."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    # "thread:<root item id>" or "dm:<channel id>:<person id>"; unique while the conversation is live.
    key = models.CharField(max_length=100)
    channel = models.ForeignKey(Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    network = models.CharField(max_length=16)
    person = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    subject = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NONE)
    priority_rank = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    labels = models.ManyToManyField(Label, blank=True, related_name="conversations")
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    no_action = models.BooleanField(default=False)
    # What the latest inbound item was read as, for lists and views.
    sentiment = models.CharField(max_length=8, blank=True)
    primary_intent = models.CharField(max_length=32, blank=True)
    # ",complaint,churn_risk,": one LIKE filter on both databases finds a conversation by any of its intents.
    intent_tags = models.CharField(max_length=400, blank=True)
    inbound_count = models.PositiveIntegerField(default=0)
    first_inbound_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The latest inbound item not answered yet starts the next-response clock.
    waiting_since = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField()
    first_response_due = models.DateTimeField(null=True, blank=True)
    next_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    # The earliest of the three dues still running: the "SLA at risk" view reads one indexed column.
    sla_due = models.DateTimeField(null=True, blank=True)
    # Which due date (or waiting start) an event already fired for: each fires once per clock.
    sla_warned_for = models.DateTimeField(null=True, blank=True)
    sla_breached_for = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    csat = models.PositiveSmallIntegerField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="one_conversation_per_key"),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "status", "-last_activity_at", "-id"], name="conv_ws_status_time"
            ),
            models.Index(
                fields=["workspace", "assignee", "status", "-last_activity_at", "-id"],
                name="conv_ws_assignee",
            ),
            models.Index(
                fields=["workspace", "team", "status", "-last_activity_at", "-id"], name="conv_ws_team"
            ),
            models.Index(fields=["workspace", "status", "sla_due", "id"], name="conv_ws_sla_due"),
            models.Index(fields=["workspace", "person", "status"], name="conv_ws_person"),
            models.Index(fields=["status", "sla_due"], name="conv_sla_clock"),
            models.Index(fields=["status", "waiting_since"], name="conv_waiting"),
            models.Index(fields=["status", "snoozed_until"], name="conv_snoozed"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"


class ConversationItem(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="entries")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="conversation_entry")

    def __str__(self) -> str:
        return f"item {self.item_id} in {self.conversation_id}"


class Event(models.Model):
    """The activity log of a conversation: what happened, who or which rule did it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        "RoutingRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"], name="event_conv_time")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.conversation_id}"


class RoutingRule(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="routing_rules")
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    events = models.JSONField(default=list)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    stop = models.BooleanField(default=False, help_text="Evaluate no later rule once this one matched")
    minutes = models.PositiveIntegerField(null=True, blank=True, help_text="For no_reply rules")
    fired = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class CannedReply(models.Model):
    """A saved answer; `{{ first_name }}`-style variables are filled in from the conversation."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="canned_replies")
    shortcut = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "shortcut"], name="one_canned_per_shortcut")
        ]
        ordering = ["shortcut"]

    def __str__(self) -> str:
        return self.shortcut


class SavedView(models.Model):
    """A named set of inbox filters, the creator's own or shared with the workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="saved_views")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict)
    shared = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """In-app: an @mention in a note, an assignment, a rule's notify action."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_user")]

    def __str__(self) -> str:
        return self.text[:60]


class Delivery(models.Model):
    """Something the inbox sent outside: a webhook call, or an action on a network through a connector."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    item = models.ForeignKey(Item, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=16)  # webhook | reply | hide | delete | auto_ack
    target = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # queued -> sent | recorded (a channel without a connector) | skipped (history) | failed
    status = models.CharField(max_length=10, default="queued")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"
