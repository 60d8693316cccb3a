"""Runs the routing rules on inbox events and carries out what they decide."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Avg, Count, F
from django.utils import timezone

from townhall.enrich.models import Enrichment
from townhall.inbox import hours, rules, sla
from townhall.inbox.models import (
    PRIORITY_RANK,
    AgentStatus,
    Availability,
    Conversation,
    Delivery,
    Event,
    InboxSettings,
    Label,
    Notification,
    RoutingRule,
    SlaPolicy,
    Status,
    Team,
    TeamMember,
)
from townhall.items.models import Direction, Item
from townhall.people.models import Identity, Lifecycle, Person

if TYPE_CHECKING:
    from townhall.inbox.stage import _Touched

log = logging.getLogger(__name__)

# A rule whose actions re-trigger `conversation_updated` may run again in the same cascade only this deep.
MAX_CASCADE = 4
BUYING_STAGE = {
    Lifecycle.CUSTOMER: "customer",
    Lifecycle.ADVOCATE: "customer",
    Lifecycle.CHURNED: "churned",
}


def buying_stage(lifecycle: str) -> str:
    """Customer (or advocate), churned, or a prospect (everyone else: we may still sell to them)."""
    return BUYING_STAGE.get(lifecycle, "prospect")  # type: ignore[call-overload]


def load_rules(workspace_id: int) -> list[rules.Rule]:
    return [
        rules.Rule(
            id=r.pk,
            name=r.name,
            events=tuple(r.events),
            conditions=r.conditions or {},
            actions=list(r.actions),
            stop=r.stop,
            enabled=r.enabled,
            minutes=r.minutes,
        )
        for r in RoutingRule.objects.filter(workspace_id=workspace_id, enabled=True)
    ]


@dataclass
class Context:
    """What one run of the rules needs about the workspace, loaded once."""

    workspace_id: int
    rules: list[rules.Rule]
    schedule: hours.Schedule
    settings: InboxSettings
    now: datetime

    @classmethod
    def load(cls, workspace_id: int) -> Context:
        found, _ = InboxSettings.objects.get_or_create(workspace_id=workspace_id)
        return cls(
            workspace_id, load_rules(workspace_id), sla.schedule_for(workspace_id), found, timezone.now()
        )

    def live(self, at: datetime | None) -> bool:
        """Whether something that happened `at` is recent enough to act on outside Townhall."""
        return at is not None and at >= self.now - timedelta(minutes=self.settings.live_window_minutes)


def on_new_items(workspace_id: int, touched: list[_Touched]) -> None:
    """Reopen answered-and-resolved conversations a customer writes to again, then fire the events."""
    context = Context.load(workspace_id)
    for entry in touched:
        c = entry.conversation
        fresh = [r for r in entry.inbound]
        if not entry.created and c.status == Status.RESOLVED and c.resolved_at is not None:
            # Written after it was resolved, or arriving live (an agent resolving it could not have seen it).
            later = [r for r in fresh if r.created_at > c.resolved_at or context.live(r.created_at)]
            if later:
                reopen(c, at=later[0].created_at)
                fire(c, "replied_after_resolution", context=context, item_id=later[0].id)
        if not context.rules:
            continue
        if entry.created:
            fire(c, "conversation_created", context=context, item_id=fresh[0].id if fresh else None)
        for row in fresh:
            fire(c, "item_received", context=context, item_id=row.id)


def reopen(conversation: Conversation, *, at: datetime) -> None:
    conversation.status = Status.OPEN
    conversation.resolved_at = None
    conversation.no_action = False
    sla.recompute(conversation)
    conversation.save(update_fields=["status", "resolved_at", "no_action", *sla_fields()])
    Event.objects.create(
        conversation=conversation, kind="reopened", text="the customer wrote again", created_at=at
    )


def sla_fields() -> list[str]:
    return ["first_response_due", "next_response_due", "resolution_due", "sla_due"]


def facts_for(conversation: Conversation, *, item_id: int | None, context: Context) -> dict[str, Any]:
    """Everything a rule can test, about the conversation, the item that triggered it and its author."""
    c = conversation
    item = Item.objects.filter(pk=item_id).first() if item_id else None
    if item is None:
        item = (
            Item.objects.filter(conversation_entry__conversation=c, direction=Direction.INBOUND)
            .order_by("-created_at", "-id")
            .first()
        )
    facts: dict[str, Any] = {
        "status": c.status,
        "priority": c.priority,
        "labels": sorted(c.labels.values_list("name", flat=True)),
        "assignee": c.assignee_id,
        "team": c.team_id,
        "network": c.network,
        "channel": c.channel_id,
        "listening_queries": [],
        "listening_topics": [],
    }
    at = item.created_at if item is not None else context.now
    facts["business_hours"] = hours.is_open(context.schedule, at)
    if c.waiting_since is not None:
        facts["minutes_without_reply"] = (context.now - c.waiting_since).total_seconds() / 60
    else:
        facts["minutes_without_reply"] = 0
    if item is not None:
        facts.update(text=item.text, kind=item.kind, network=item.network, channel=item.channel_id)
        from townhall.listening.models import Mention

        matched = list(Mention.objects.filter(item_id=item.pk).values_list("query_id", "topic_id"))
        facts["listening_queries"] = sorted({q for q, _ in matched})
        facts["listening_topics"] = sorted({t for _, t in matched})
        read = Enrichment.objects.filter(item_id=item.pk).first()
        if read is not None:
            facts.update(
                language=read.language,
                sentiment=read.sentiment,
                intents=[i["label"] for i in read.intents],
                primary_intent=read.primary_intent,
                spam=read.spam_probability,
                toxicity=read.toxicity,
                toxicity_probability=read.toxicity_probability,
            )
        elif item.language:
            facts["language"] = item.language
        if item.author_id:
            identity = Identity.objects.filter(pk=item.author_id).values("followers", "verified").first()
            if identity:
                facts.update(followers=identity["followers"], verified=identity["verified"])
    person = Person.objects.filter(pk=c.person_id).first() if c.person_id else None
    if person is not None:
        facts.update(vip=person.vip, lifecycle=person.lifecycle, buying_stage=buying_stage(person.lifecycle))
        others = Conversation.objects.filter(workspace_id=c.workspace_id, person_id=person.pk)
        facts["open_conversations"] = others.exclude(status=Status.RESOLVED).count()
        facts["past_csat"] = others.filter(csat__isnull=False).aggregate(v=Avg("csat"))["v"]
        from townhall.leads.models import Lead

        lead = Lead.objects.filter(workspace_id=c.workspace_id, person_id=person.pk).first()
        facts["lead_score"] = lead.score if lead is not None else None
    return facts


def fire(
    conversation: Conversation,
    event: str,
    *,
    context: Context | None = None,
    item_id: int | None = None,
    actor: Any = None,
    fired: frozenset[int] = frozenset(),
    depth: int = 0,
    minutes: int | None = None,
    extra: dict[str, Any] | None = None,
) -> rules.Decision | None:
    """Evaluate the workspace's rules for one event on one conversation and carry out their actions.

    `minutes` picks, for a no-reply event, the rules waiting exactly that long.
    """
    context = context or Context.load(conversation.workspace_id)
    listening = [r for r in context.rules if event in r.events and (minutes is None or r.minutes == minutes)]
    if not listening:
        return None
    facts = facts_for(conversation, item_id=item_id, context=context)
    facts.update(extra or {})
    decision = rules.evaluate(listening, event, facts, already_fired=fired)
    created = (
        Item.objects.filter(pk=item_id).values_list("created_at", flat=True).first() if item_id else None
    )
    live = context.live(created or context.now)
    # Events of replayed history are logged at the time they happened, live ones now.
    at = created if created is not None and not live else context.now
    if decision.loops:
        names = ", ".join(r.name for r in listening if r.id in decision.loops)
        Event.objects.create(
            conversation=conversation,
            kind="rule_loop_stopped",
            text=f"stopped {names}: it would run again on its own change",
            detail={"rules": decision.loops},
            created_at=at,
        )
    if not decision.matched:
        return decision
    RoutingRule.objects.filter(pk__in=decision.matched).update(fired=F("fired") + 1)
    changed = apply(
        conversation,
        rules.merge_actions(decision),
        context=context,
        item_id=item_id,
        at=at,
        live=live,
        actor=actor,
    )
    if changed and depth < MAX_CASCADE:
        fire(
            conversation,
            "conversation_updated",
            context=context,
            item_id=item_id,
            fired=fired | frozenset(decision.matched),
            depth=depth + 1,
        )
    return decision


def apply(
    conversation: Conversation,
    actions: list[tuple[int, dict[str, Any]]],
    *,
    context: Context,
    item_id: int | None,
    at: datetime,
    live: bool,
    actor: Any = None,
) -> bool:
    """Carry out the actions on the conversation; True when it changed in a way rules may react to."""
    c = conversation
    changed: set[str] = set()

    def log_event(kind: str, rule_id: int, text: str = "", **detail: Any) -> None:
        Event.objects.create(
            conversation=c, kind=kind, rule_id=rule_id, text=text, detail=detail, created_at=at
        )

    for rule_id, action in actions:
        kind = action["type"]
        if kind == "assign_team":
            team = Team.objects.filter(workspace_id=c.workspace_id, pk=action["team"]).first()
            if team is None:
                log_event("rule_failed", rule_id, f"team {action['team']} no longer exists")
                continue
            c.team = team
            changed.add("team")
            strategy = action.get("strategy", "round_robin")
            if strategy != "none":
                user_id = pick_agent(team, strategy=strategy)
                if user_id is not None:
                    c.assignee_id = user_id
                    changed.add("assignee")
                    _notify(c, [user_id], f"Assigned to you by a rule: {c.subject[:120]}")
            log_event("assigned", rule_id, f"to team {team.name}", team=team.pk, assignee=c.assignee_id)
        elif kind == "assign_agent":
            c.assignee_id = action["user"]
            changed.add("assignee")
            log_event("assigned", rule_id, "to an agent", assignee=action["user"])
            _notify(c, [action["user"]], f"Assigned to you by a rule: {c.subject[:120]}")
        elif kind == "set_priority":
            if c.priority != action["priority"]:
                c.priority = action["priority"]
                c.priority_rank = PRIORITY_RANK[c.priority]
                changed.add("priority")
                log_event("priority", rule_id, c.priority)
        elif kind == "add_label":
            label, _ = Label.objects.get_or_create(workspace_id=c.workspace_id, name=action["label"])
            if not c.labels.filter(pk=label.pk).exists():
                c.labels.add(label)
                changed.add("labels")
                log_event("labelled", rule_id, label.name)
        elif kind == "remove_label":
            label_row = Label.objects.filter(workspace_id=c.workspace_id, name=action["label"]).first()
            if label_row is not None and c.labels.filter(pk=label_row.pk).exists():
                c.labels.remove(label_row)
                changed.add("labels")
                log_event("unlabelled", rule_id, label_row.name)
        elif kind == "apply_sla":
            policy = SlaPolicy.objects.filter(workspace_id=c.workspace_id, pk=action["policy"]).first()
            if policy is not None and c.sla_policy_id != policy.pk:
                c.sla_policy = policy
                sla.recompute(c, schedule=context.schedule)
                changed.add("sla")
                log_event("sla_applied", rule_id, policy.name)
        elif kind in ("no_action", "resolve", "set_status"):
            status = Status.RESOLVED if kind != "set_status" else action["status"]
            if kind == "no_action":
                c.no_action = True
            if c.status != status:
                c.status = status
                if status == Status.RESOLVED:
                    c.resolved_at = at
                sla.recompute(c, schedule=context.schedule)
                changed.add("status")
            log_event("no_action" if kind == "no_action" else "status", rule_id, status)
        elif kind in ("hide", "delete"):
            if item_id is None:
                continue
            _deliver(c, kind, item_id=item_id, live=live, payload={})
            log_event("moderated", rule_id, f"{kind} requested on {c.network}", action=kind, item=item_id)
        elif kind == "create_lead":
            if c.person_id is None:
                continue
            from townhall.leads.services import do_record_signal

            lead, created = do_record_signal(
                person=Person.objects.get(pk=c.person_id),
                source={"network": c.network, "conversation": c.pk, "item": item_id, "rule": rule_id},
            )
            log_event("lead", rule_id, "lead created" if created else "lead signal recorded", lead=lead.pk)
        elif kind == "notify":
            if action.get("via") == "webhook":
                payload = {
                    "event": "rule",
                    "rule": rule_id,
                    "conversation": c.pk,
                    "workspace": c.workspace_id,
                    "message": action.get("message", ""),
                    "subject": c.subject,
                }
                _deliver(c, "webhook", item_id=item_id, live=live, payload=payload, target=action["url"])
            else:
                users = action.get("users") or ([c.assignee_id] if c.assignee_id else [])
                if not users and c.team_id is not None:
                    users = list(
                        TeamMember.objects.filter(team_id=c.team_id).values_list("user_id", flat=True)
                    )
                _notify(c, users, action.get("message") or f"Rule notification: {c.subject[:120]}")
            log_event("notified", rule_id, action.get("via", "in_app"))
        elif kind == "escalate":
            if action.get("team"):
                team = Team.objects.filter(workspace_id=c.workspace_id, pk=action["team"]).first()
                if team is not None:
                    c.team = team
                    c.assignee_id = pick_agent(team, strategy="least_loaded")
                    changed.update({"team", "assignee"})
            if action.get("user"):
                c.assignee_id = action["user"]
                changed.add("assignee")
            if action.get("priority") and action["priority"] != c.priority:
                c.priority = action["priority"]
                c.priority_rank = PRIORITY_RANK[c.priority]
                changed.add("priority")
            log_event("escalated", rule_id, action.get("note", ""), team=c.team_id, assignee=c.assignee_id)
            if c.assignee_id:
                _notify(c, [c.assignee_id], f"Escalated to you: {action.get('note', '')}"[:500])
        elif kind == "auto_ack":
            if not context.settings.auto_ack_allowed:
                log_event("auto_ack_skipped", rule_id, "this workspace does not allow automatic replies")
                continue
            if not live:
                log_event("auto_ack_skipped", rule_id, "the item is history, not live traffic")
                continue
            from townhall.inbox.services import render_template, send_reply

            text = render_template(action["template"], conversation=c)
            send_reply(conversation=c, text=text, actor=None, kind="auto_ack")
            log_event("auto_ack", rule_id, text)
        elif kind == "add_note":
            log_event("note", rule_id, action["note"])
    if changed:
        c.save()
    return bool(changed - {"labels"}) or "labels" in changed


def _notify(conversation: Conversation, users: list[int], text: str) -> None:
    Notification.objects.bulk_create(
        [
            Notification(
                workspace_id=conversation.workspace_id, user_id=u, conversation=conversation, text=text
            )
            for u in dict.fromkeys(users)
            if u
        ]
    )


def _deliver(
    conversation: Conversation,
    kind: str,
    *,
    item_id: int | None,
    live: bool,
    payload: dict[str, Any],
    target: str = "",
) -> Delivery:
    """Record something to send outside; live webhooks are sent by a job once the transaction commits.

    Replies and moderation go through the channel's connector; a channel without one (an import, an
    offline source) keeps the action on record only, and says so.
    """
    status, error = "queued", ""
    if not live:
        status, error = "skipped", "history: the item is older than the live window"
    elif kind != "webhook" and not channel_can(conversation, kind):
        status, error = (
            "recorded",
            "this channel has no connector that can do this: kept on record in Townhall only",
        )
    delivery = Delivery.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        item_id=item_id,
        kind=kind,
        target=target,
        payload=payload,
        status=status,
        error=error,
        finished_at=None if status == "queued" else timezone.now(),
    )
    if status == "queued":
        from townhall.inbox.tasks import deliver

        transaction.on_commit(lambda: deliver(delivery.pk))
    return delivery


def channel_can(conversation: Conversation, kind: str) -> bool:
    """Whether the conversation's channel has a connector, with credentials, that can do `kind`."""
    from townhall.connectors.models import Channel
    from townhall.connectors.registry import connector_for

    channel = Channel.objects.filter(pk=conversation.channel_id).first() if conversation.channel_id else None
    if channel is None or not channel.credentials:
        return False
    cls = connector_for(channel.connector_kind)
    if cls is None:
        return False
    if kind in ("reply", "auto_ack"):
        return cls.capabilities.reply
    return kind in cls.capabilities.moderate


def pick_agent(team: Team, *, strategy: str) -> int | None:
    """An available member under their capacity: the next in turn (round robin) or the least loaded."""
    members = list(TeamMember.objects.filter(team=team).order_by("user_id"))
    if not members:
        return None
    away = set(
        AgentStatus.objects.filter(workspace_id=team.workspace_id, user_id__in=[m.user_id for m in members])
        .exclude(availability=Availability.ONLINE)
        .values_list("user_id", flat=True)
    )
    load = dict(
        Conversation.objects.filter(
            workspace_id=team.workspace_id,
            assignee_id__in=[m.user_id for m in members],
        )
        .exclude(status=Status.RESOLVED)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    eligible = [
        m.user_id
        for m in members
        if m.user_id not in away and (m.capacity == 0 or load.get(m.user_id, 0) < m.capacity)
    ]
    if not eligible:
        return None
    if strategy == "least_loaded":
        chosen = min(eligible, key=lambda u: (load.get(u, 0), u))
    else:
        after = [u for u in eligible if team.last_assigned_id is not None and u > team.last_assigned_id]
        chosen = after[0] if after else eligible[0]
    Team.objects.filter(pk=team.pk).update(last_assigned_id=chosen)
    team.last_assigned_id = chosen
    return chosen
