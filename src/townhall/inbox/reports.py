"""Inbox reports: response and resolution times, SLA attainment, volumes, per agent and team; CSV."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from townhall.inbox import sla
from townhall.inbox.models import Conversation, SlaPolicy, Status, Team
from townhall.workspaces.models import Workspace


@dataclass
class Row:
    """One conversation as the reports count it."""

    conversation: Conversation
    first_response_minutes: float | None
    resolution_minutes: float | None
    first_response_met: bool | None  # None: no first-response target applies
    resolution_met: bool | None
    labels: list[str]


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    data = sorted(values)
    if not data:
        return {"n": 0, "median": None, "p90": None, "mean": None}
    p90 = statistics.quantiles(data, n=10, method="inclusive")[-1] if len(data) > 1 else data[0]
    return {
        "n": len(data),
        "median": round(statistics.median(data), 2),
        "p90": round(p90, 2),
        "mean": round(statistics.fmean(data), 2),
    }


def rows_of(
    *, workspace: Workspace, since: datetime | None, until: datetime | None, now: datetime
) -> list[Row]:
    """Conversations that started in [since, until), merged ones left out."""
    query = Conversation.objects.filter(
        workspace=workspace, merged_into__isnull=True, first_inbound_at__isnull=False
    )
    if since is not None:
        query = query.filter(first_inbound_at__gte=since)
    if until is not None:
        query = query.filter(first_inbound_at__lt=until)
    conversations = list(query.select_related("channel"))
    labels: dict[int, list[str]] = defaultdict(list)
    through = Conversation.labels.through
    for conversation_id, name in through.objects.filter(
        conversation_id__in=[c.pk for c in conversations]
    ).values_list("conversation_id", "label__name"):
        labels[conversation_id].append(name)
    policies = {p.pk: p for p in SlaPolicy.objects.filter(workspace=workspace)}
    schedule = sla.schedule_for(workspace.pk)
    rows = []
    for c in conversations:
        assert c.first_inbound_at is not None
        frt = (c.first_response_at - c.first_inbound_at).total_seconds() / 60 if c.first_response_at else None
        resolution = None
        if c.resolved_at is not None and c.status == Status.RESOLVED and not c.no_action:
            resolution = (c.resolved_at - c.first_inbound_at).total_seconds() / 60
        frt_met = resolution_met = None
        policy = policies.get(c.sla_policy_id) if c.sla_policy_id else None
        if policy is not None and policy.first_response_minutes:
            due = sla.due(c.first_inbound_at, policy.first_response_minutes, policy=policy, schedule=schedule)
            assert due is not None
            if c.first_response_at is not None:
                frt_met = c.first_response_at <= due
            elif due < now:
                frt_met = False
        if policy is not None and policy.resolution_minutes:
            due = sla.due(c.first_inbound_at, policy.resolution_minutes, policy=policy, schedule=schedule)
            assert due is not None
            if c.resolved_at is not None and c.status == Status.RESOLVED:
                resolution_met = c.resolved_at <= due
            elif due < now:
                resolution_met = False
        rows.append(Row(c, frt, resolution, frt_met, resolution_met, sorted(labels.get(c.pk, []))))
    return rows


def _attainment(values: list[bool | None]) -> dict[str, Any]:
    counted = [v for v in values if v is not None]
    return {
        "n": len(counted),
        "met": sum(counted),
        "rate": round(sum(counted) / len(counted), 4) if counted else None,
    }


def _group(rows: list[Row], key: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    result = {}
    for name, members in sorted(groups.items()):
        csat = [r.conversation.csat for r in members if r.conversation.csat is not None]
        result[name] = {
            "conversations": len(members),
            "resolved": sum(1 for r in members if r.conversation.status == Status.RESOLVED),
            "first_response_minutes": summary(
                r.first_response_minutes for r in members if r.first_response_minutes is not None
            ),
            "resolution_minutes": summary(
                r.resolution_minutes for r in members if r.resolution_minutes is not None
            ),
            "sla_first_response": _attainment([r.first_response_met for r in members]),
            "csat": round(statistics.fmean(csat), 2) if csat else None,
        }
    return result


def build(
    *, workspace: Workspace, since: datetime | None, until: datetime | None, now: datetime
) -> dict[str, Any]:
    rows = rows_of(workspace=workspace, since=since, until=until, now=now)
    users = dict(get_user_model().objects.values_list("pk", "username"))
    teams = dict(Team.objects.filter(workspace=workspace).values_list("pk", "name"))
    label_counts: Counter[str] = Counter()
    for row in rows:
        label_counts.update(row.labels)
    answered = [r.first_response_minutes for r in rows if r.first_response_minutes is not None]
    return {
        "since": since,
        "until": until,
        "conversations": len(rows),
        "open": sum(1 for r in rows if r.conversation.status != Status.RESOLVED),
        "resolved": sum(1 for r in rows if r.conversation.status == Status.RESOLVED),
        "answered": len(answered),
        "first_response_minutes": summary(answered),
        "resolution_minutes": summary(r.resolution_minutes for r in rows if r.resolution_minutes is not None),
        "sla": {
            "first_response": _attainment([r.first_response_met for r in rows]),
            "resolution": _attainment([r.resolution_met for r in rows]),
        },
        "volume": {
            "label": dict(label_counts.most_common()),
            "intent": dict(Counter(r.conversation.primary_intent or "unknown" for r in rows).most_common()),
            "sentiment": dict(Counter(r.conversation.sentiment or "unknown" for r in rows).most_common()),
            "channel": dict(
                Counter(
                    f"{r.conversation.channel.network}:{r.conversation.channel.handle}"
                    if r.conversation.channel
                    else "none"
                    for r in rows
                ).most_common()
            ),
        },
        "agents": _group(rows, lambda r: users.get(r.conversation.assignee_id, "unassigned")),
        "teams": _group(rows, lambda r: teams.get(r.conversation.team_id, "no team")),
    }


CSV_COLUMNS = (
    "conversation",
    "channel",
    "person",
    "status",
    "priority",
    "team",
    "assignee",
    "first_inbound_at",
    "first_response_minutes",
    "resolution_minutes",
    "first_response_sla_met",
    "resolution_sla_met",
    "csat",
    "sentiment",
    "primary_intent",
    "labels",
)


def to_csv(*, workspace: Workspace, since: datetime | None, until: datetime | None, now: datetime) -> str:
    rows = rows_of(workspace=workspace, since=since, until=until, now=now)
    users = dict(get_user_model().objects.values_list("pk", "username"))
    teams = dict(Team.objects.filter(workspace=workspace).values_list("pk", "name"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        c = r.conversation
        writer.writerow(
            [
                c.pk,
                f"{c.channel.network}:{c.channel.handle}" if c.channel else "",
                c.person_id or "",
                c.status,
                c.priority,
                teams.get(c.team_id, "") if c.team_id else "",
                users.get(c.assignee_id, "") if c.assignee_id else "",
                c.first_inbound_at.isoformat() if c.first_inbound_at else "",
                "" if r.first_response_minutes is None else round(r.first_response_minutes, 2),
                "" if r.resolution_minutes is None else round(r.resolution_minutes, 2),
                "" if r.first_response_met is None else str(r.first_response_met).lower(),
                "" if r.resolution_met is None else str(r.resolution_met).lower(),
                c.csat or "",
                c.sentiment,
                c.primary_intent,
                "|".join(r.labels),
            ]
        )
    return out.getvalue()
