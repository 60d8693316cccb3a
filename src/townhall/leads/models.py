"""Leads: people whose buying signals the team hands to sales."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from townhall.people.models import Person
from townhall.workspaces.models import Workspace


class Stage(models.TextChoices):
    NEW = "new", "New"
    ENGAGED = "engaged", "Engaged"
    QUALIFIED = "qualified", "Qualified"
    HANDED_OFF = "handed_off", "Handed to sales"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    DISQUALIFIED = "disqualified", "Disqualified"


class Lead(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="leads")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NEW)
    score = models.FloatField(default=0.0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Where the first signal came from: network, campaign, post or conversation.
    source = models.JSONField(default=dict, blank=True)
    signals = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "person"], name="one_lead_per_person")]

    def __str__(self) -> str:
        return f"lead {self.person_id} ({self.stage})"
