"""How a workspace sets up its inbox: teams, availability, SLA policies, rules, canned replies, hours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.services import check_choice
from townhall.inbox import hours, routing, rules
from townhall.inbox.models import (
    AgentStatus,
    Availability,
    CannedReply,
    Conversation,
    InboxSettings,
    RoutingRule,
    SavedView,
    SlaPolicy,
    Status,
    Team,
    TeamMember,
)
from townhall.items.models import Direction, Item
from townhall.workspaces.models import Membership, Workspace


def settings_of(*, workspace: Workspace) -> InboxSettings:
    found, _ = InboxSettings.objects.get_or_create(workspace=workspace)
    return found


def do_update_settings(*, workspace: Workspace, changes: dict[str, Any]) -> InboxSettings:
    current = settings_of(workspace=workspace)
    if "timezone" in changes:
        _check_timezone(changes["timezone"])
        workspace.timezone = changes.pop("timezone")
        workspace.save(update_fields=["timezone"])
    weekly = changes.get("business_hours", current.business_hours)
    holidays = changes.get("holidays", current.holidays)
    if weekly:
        hours.parse_schedule(workspace.timezone, weekly, holidays or [])
    for name in (
        "business_hours",
        "holidays",
        "auto_ack_allowed",
        "live_window_minutes",
        "sla_warning_minutes",
    ):
        if name in changes:
            setattr(current, name, changes[name])
    current.save()
    return current


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)", field="timezone"
        ) from exc


# Teams


def access_team_by_id(*, workspace: Workspace, team_id: int) -> Team:
    found = Team.objects.filter(workspace=workspace, pk=team_id).first()
    if found is None:
        raise NotFound(f"team {team_id} does not exist in this workspace")
    return found


def do_create_team(*, workspace: Workspace, name: str, description: str = "") -> Team:
    if Team.objects.filter(workspace=workspace, name=name).exists():
        raise Conflict(f"a team named {name!r} already exists")
    return Team.objects.create(workspace=workspace, name=name, description=description)


def do_set_team_members(*, team: Team, members: list[tuple[int, int]]) -> Team:
    """Replace the team's members: (user id, capacity) pairs; every one must belong to the workspace."""
    member_ids = set(
        Membership.objects.filter(workspace_id=team.workspace_id).values_list("user_id", flat=True)
    )
    for index, (user_id, capacity) in enumerate(members):
        if user_id not in member_ids:
            raise Invalid(f"user {user_id} is not a member of this workspace", field=f"members[{index}].user")
        if capacity < 0:
            raise Invalid("capacity is 0 (no cap) or more", field=f"members[{index}].capacity")
    with transaction.atomic():
        TeamMember.objects.filter(team=team).delete()
        TeamMember.objects.bulk_create([TeamMember(team=team, user_id=u, capacity=c) for u, c in members])
    return team


def do_set_availability(*, workspace: Workspace, user: Any, availability: str) -> AgentStatus:
    check_choice(availability, field="availability", choices=Availability.values)
    status, _ = AgentStatus.objects.update_or_create(
        workspace=workspace, user=user, defaults={"availability": availability}
    )
    return status


# SLA policies


def do_save_sla_policy(
    *, workspace: Workspace, data: dict[str, Any], policy: SlaPolicy | None = None
) -> SlaPolicy:
    for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        value = data.get(name)
        if value is not None and value <= 0:
            raise Invalid(f"{name} must be a positive number of minutes", field=name)
    if not any(
        data.get(n) for n in ("first_response_minutes", "next_response_minutes", "resolution_minutes")
    ):
        raise Invalid("an SLA policy needs at least one target", field="first_response_minutes")
    clash = SlaPolicy.objects.filter(workspace=workspace, name=data["name"])
    if policy is not None:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise Conflict(f"an SLA policy named {data['name']!r} already exists")
    policy = policy or SlaPolicy(workspace=workspace)
    for name, value in data.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def access_sla_policy_by_id(*, workspace: Workspace, policy_id: int) -> SlaPolicy:
    found = SlaPolicy.objects.filter(workspace=workspace, pk=policy_id).first()
    if found is None:
        raise NotFound(f"SLA policy {policy_id} does not exist in this workspace")
    return found


# Routing rules


def check_rule_references(workspace: Workspace, actions: list[dict[str, Any]]) -> None:
    """Teams, people and policies a rule names must exist in the workspace."""
    members = set(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    teams = set(Team.objects.filter(workspace=workspace).values_list("pk", flat=True))
    policies = set(SlaPolicy.objects.filter(workspace=workspace).values_list("pk", flat=True))
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        if action.get("team") is not None and action["team"] not in teams:
            raise Invalid(f"no team {action['team']} in this workspace", field=f"{where}.team")
        if action.get("user") is not None and action["user"] not in members:
            raise Invalid(f"user {action['user']} is not a member of this workspace", field=f"{where}.user")
        for position, user in enumerate(action.get("users") or []):
            if user not in members:
                raise Invalid(
                    f"user {user} is not a member of this workspace", field=f"{where}.users[{position}]"
                )
        if action.get("policy") is not None and action["policy"] not in policies:
            raise Invalid(f"no SLA policy {action['policy']} in this workspace", field=f"{where}.policy")


def access_rule_by_id(*, workspace: Workspace, rule_id: int) -> RoutingRule:
    found = RoutingRule.objects.filter(workspace=workspace, pk=rule_id).first()
    if found is None:
        raise NotFound(f"routing rule {rule_id} does not exist in this workspace")
    return found


def do_save_rule(
    *, workspace: Workspace, data: dict[str, Any], rule: RoutingRule | None = None
) -> RoutingRule:
    merged = {
        "name": rule.name if rule else "",
        "events": rule.events if rule else [],
        "conditions": rule.conditions if rule else {},
        "actions": rule.actions if rule else [],
        "minutes": rule.minutes if rule else None,
    }
    merged.update({k: v for k, v in data.items() if k in merged})
    rules.check_rule(
        merged["name"], merged["events"], merged["conditions"], merged["actions"], merged["minutes"]
    )
    check_rule_references(workspace, merged["actions"])
    if rule is None:
        last = RoutingRule.objects.filter(workspace=workspace).aggregate(p=Max("position"))["p"]
        rule = RoutingRule(workspace=workspace, position=(last or 0) + 1)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.save()
    return rule


def do_reorder_rules(*, workspace: Workspace, ids: list[int]) -> list[RoutingRule]:
    existing = {r.pk: r for r in RoutingRule.objects.filter(workspace=workspace)}
    unknown = [i for i in ids if i not in existing]
    if unknown:
        raise NotFound(f"routing rule {unknown[0]} does not exist in this workspace")
    if set(ids) != set(existing) or len(ids) != len(existing):
        raise Invalid("give every rule of the workspace exactly once, in the new order", field="ids")
    for position, rule_id in enumerate(ids, start=1):
        existing[rule_id].position = position
    RoutingRule.objects.bulk_update(existing.values(), ["position"])
    return [existing[i] for i in ids]


def dry_run(*, workspace: Workspace, data: dict[str, Any], days: int = 7, sample: int = 20) -> dict[str, Any]:
    """What a rule would have done to the inbound items of the last `days` days, changing nothing."""
    if not 1 <= days <= 90:
        raise Invalid("days is from 1 to 90", field="days")
    # A dry run may leave out actions: it only asks what the conditions match.
    actions = list(data.get("actions") or []) or [{"type": "no_action"}]
    rules.check_rule("dry run", ["item_received"], data.get("conditions") or {}, actions, None)
    rule = rules.Rule(
        id=0,
        name=data.get("name") or "dry run",
        events=("item_received",),
        conditions=data.get("conditions") or {},
        actions=list(data.get("actions") or []),
    )
    context = routing.Context.load(workspace.pk)
    since = timezone.now() - timedelta(days=days)
    entries = (
        Item.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            created_at__gte=since,
            conversation_entry__isnull=False,
        )
        .select_related("conversation_entry__conversation")
        .order_by("-created_at")[:5000]
    )
    matched, seen = 0, 0
    examples: list[dict[str, Any]] = []
    for item in entries:
        seen += 1
        conversation = item.conversation_entry.conversation
        facts = routing.facts_for(conversation, item_id=item.pk, context=context)
        if rules.evaluate([rule], "item_received", facts).matched:
            matched += 1
            if len(examples) < sample:
                examples.append({"item": item.pk, "conversation": conversation.pk, "text": item.text[:280]})
    return {
        "days": days,
        "items": seen,
        "matched": matched,
        "would": [a["type"] for a in rule.actions],
        "examples": examples,
        "description": rules.describe(rule.conditions),
    }


# Canned replies and saved views


def do_save_canned(
    *, workspace: Workspace, data: dict[str, Any], canned: CannedReply | None = None
) -> CannedReply:
    clash = CannedReply.objects.filter(workspace=workspace, shortcut=data.get("shortcut", ""))
    if canned is not None:
        clash = clash.exclude(pk=canned.pk)
    if clash.exists():
        raise Conflict(f"a canned reply with the shortcut {data['shortcut']!r} already exists")
    canned = canned or CannedReply(workspace=workspace)
    for name, value in data.items():
        setattr(canned, name, value)
    canned.save()
    return canned


def access_canned_by_id(*, workspace: Workspace, canned_id: int) -> CannedReply:
    found = CannedReply.objects.filter(workspace=workspace, pk=canned_id).first()
    if found is None:
        raise NotFound(f"canned reply {canned_id} does not exist in this workspace")
    return found


VIEW_FILTERS = (
    "status",
    "priority",
    "team",
    "assignee",
    "channel",
    "network",
    "label",
    "sentiment",
    "intent",
    "buying_stage",
    "view",
)


def do_save_view(
    *, workspace: Workspace, owner: Any, name: str, filters: dict[str, Any], shared: bool
) -> SavedView:
    unknown = set(filters) - set(VIEW_FILTERS)
    if unknown:
        raise Invalid(
            f"unknown filters {', '.join(sorted(unknown))}; known: {', '.join(VIEW_FILTERS)}", field="filters"
        )
    from townhall.inbox.services import ConversationFilters, check_filters

    check_filters(ConversationFilters(**filters))
    return SavedView.objects.create(
        workspace=workspace, owner=owner, name=name, filters=filters, shared=shared
    )


def views_for(*, workspace: Workspace, user: Any) -> list[SavedView]:
    from django.db.models import Q

    return list(SavedView.objects.filter(workspace=workspace).filter(Q(shared=True) | Q(owner=user)))


def access_view_by_id(*, workspace: Workspace, user: Any, view_id: int) -> SavedView:
    found = next((v for v in views_for(workspace=workspace, user=user) if v.pk == view_id), None)
    if found is None:
        raise NotFound(f"saved view {view_id} does not exist in this workspace")
    return found


def open_count(*, workspace: Workspace) -> int:
    return Conversation.objects.filter(workspace=workspace).exclude(status=Status.RESOLVED).count()


def do_seed_demo(*, workspace: Workspace, owner: Any) -> None:
    """A starting set-up for a demo workspace: two teams, an SLA, canned replies and the core rules."""
    support, _ = Team.objects.get_or_create(workspace=workspace, name="support")
    sales, _ = Team.objects.get_or_create(workspace=workspace, name="sales")
    for team in (support, sales):
        TeamMember.objects.get_or_create(team=team, user=owner)
    policy, _ = SlaPolicy.objects.get_or_create(
        workspace=workspace,
        name="social: 1 h first response",
        defaults={"first_response_minutes": 60, "resolution_minutes": 24 * 60},
    )
    CannedReply.objects.get_or_create(
        workspace=workspace,
        shortcut="sorry",
        defaults={
            "title": "Apology and DM",
            "body": "Hi {{ first_name }}, sorry about this. Could you send us a DM "
            "with your order number so we can look into it? {{ agent_name }}",
        },
    )
    CannedReply.objects.get_or_create(
        workspace=workspace,
        shortcut="thanks",
        defaults={
            "title": "Thanks",
            "body": "Thank you {{ first_name }}, that means a lot to the whole {{ brand }} team!",
        },
    )
    if RoutingRule.objects.filter(workspace=workspace).exists():
        return
    unhappy = {
        "all": [
            {"field": "sentiment", "op": "eq", "value": "negative"},
            {"field": "intents", "op": "has_any", "value": ["complaint", "churn_risk", "bug_report"]},
        ]
    }
    seeds = [
        (
            "spam is hidden",
            {"all": [{"field": "spam", "op": "gte", "value": 0.9}]},
            [{"type": "hide"}, {"type": "no_action"}],
            True,
        ),
        ("every conversation gets the social SLA", {}, [{"type": "apply_sla", "policy": policy.pk}], False),
        (
            "unhappy customers to support, high",
            {"all": [unhappy, {"field": "buying_stage", "op": "eq", "value": "customer"}]},
            [
                {"type": "assign_team", "team": support.pk, "strategy": "least_loaded"},
                {"type": "set_priority", "priority": "high"},
            ],
            False,
        ),
        (
            "other unhappy authors to support",
            unhappy,
            [
                {"type": "assign_team", "team": support.pk, "strategy": "least_loaded"},
                {"type": "set_priority", "priority": "medium"},
            ],
            False,
        ),
        (
            "buying signals become leads",
            {
                "all": [
                    {"field": "intents", "op": "has", "value": "purchase_intent"},
                    {"field": "buying_stage", "op": "eq", "value": "prospect"},
                ]
            },
            [
                {"type": "create_lead"},
                {"type": "add_label", "label": "lead"},
                {"type": "assign_team", "team": sales.pk, "strategy": "least_loaded"},
            ],
            False,
        ),
    ]
    for name, conditions, actions, stop in seeds:
        do_save_rule(
            workspace=workspace,
            data={
                "name": name,
                "events": ["item_received"],
                "conditions": conditions,
                "actions": actions,
                "stop": stop,
            },
        )
