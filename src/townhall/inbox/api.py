"""REST endpoints of the inbox: conversations and what agents do with them, and the inbox's set-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Status

from townhall.core.api_base import ERRORS, MAX_ID, client_ip
from townhall.core.errors import Invalid
from townhall.core.validation import as_utc
from townhall.inbox import config, reports, rules, services
from townhall.inbox.models import CannedReply, Conversation, Event, RoutingRule, SavedView, SlaPolicy, Team
from townhall.inbox.routing import buying_stage
from townhall.inbox.schemas import (
    AvailabilityUpdate,
    BulkResult,
    BulkUpdate,
    CannedIn,
    CannedRead,
    CannedRendered,
    ConversationDetail,
    ConversationPage,
    ConversationRead,
    ConversationUpdate,
    DelegateCreate,
    DeliveryRead,
    DryRunIn,
    DryRunResult,
    EventRead,
    InboxSettingsIn,
    InboxSettingsRead,
    MergeCreate,
    NoteCreate,
    NotificationRead,
    PriorityName,
    ReplyCreate,
    RuleIn,
    RuleOrder,
    RuleRead,
    RuleUpdate,
    SavedViewIn,
    SavedViewRead,
    SlaPolicyIn,
    SlaPolicyRead,
    StatusName,
    TeamCreate,
    TeamMemberIn,
    TeamRead,
)
from townhall.items.api import read as read_item
from townhall.workspaces.models import Workspace
from townhall.workspaces.services import access_workspace, record_audit

router = Router(tags=["inbox"])


def read(c: Conversation) -> ConversationRead:
    # Built from our own rows, whose types the schema already states: validating 50 of them per page
    # was a third of a list request's time.
    return ConversationRead.model_construct(**_fields(c))


def _fields(c: Conversation) -> dict[str, Any]:
    person = c.person
    return {
        "id": c.pk,
        "network": c.network,
        "channel_id": c.channel_id,
        "person_id": c.person_id,
        "person_name": person.display_name if person else None,
        "buying_stage": buying_stage(person.lifecycle) if person else None,
        "subject": c.subject,
        "status": c.status,
        "snoozed_until": c.snoozed_until,
        "priority": c.priority,
        "assignee_id": c.assignee_id,
        "assignee": c.assignee.get_username() if c.assignee else None,
        "team_id": c.team_id,
        "team": c.team.name if c.team else None,
        "labels": c.label_names
        if hasattr(c, "label_names")
        else sorted(label.name for label in c.labels.all()),
        "sla_policy_id": c.sla_policy_id,
        "sla_due": c.sla_due,
        "first_response_due": c.first_response_due,
        "next_response_due": c.next_response_due,
        "resolution_due": c.resolution_due,
        "sentiment": c.sentiment,
        "primary_intent": c.primary_intent,
        "intents": [t for t in c.intent_tags.split(",") if t],
        "no_action": c.no_action,
        "inbound_count": c.inbound_count,
        "first_inbound_at": c.first_inbound_at,
        "last_inbound_at": c.last_inbound_at,
        "first_response_at": c.first_response_at,
        "waiting_since": c.waiting_since,
        "last_activity_at": c.last_activity_at,
        "resolved_at": c.resolved_at,
        "csat": c.csat,
        "merged_into_id": c.merged_into_id,
    }


def read_event(e: Event) -> EventRead:
    return EventRead(
        id=e.pk,
        kind=e.kind,
        actor=e.actor.get_username() if e.actor else None,
        rule_id=e.rule_id,
        rule=e.rule.name if e.rule else None,
        text=e.text,
        detail=e.detail,
        created_at=e.created_at,
    )


def detail(c: Conversation) -> ConversationDetail:
    return ConversationDetail(
        **_fields(c),
        items=[read_item(i) for i in services.items_of(c)],
        events=[read_event(e) for e in services.events_of(c)],
    )


def _conversation(request: HttpRequest, slug: str, conversation_id: int, permission: str) -> Conversation:
    workspace = access_workspace(user=request.user, slug=slug, permission=permission)
    return services.access_conversation_by_id(workspace=workspace, conversation_id=conversation_id)


def _audit(request: HttpRequest, workspace: Workspace, action: str, target: Any, **detail: Any) -> None:
    record_audit(
        actor=request.user,
        action=action,
        target=target,
        workspace=workspace,
        detail=detail,
        ip_address=client_ip(request),
    )


@router.get("/workspaces/{slug}/conversations", response={200: ConversationPage, **ERRORS})
def list_conversations(
    request: HttpRequest,
    slug: str,
    view: str = "all",
    saved_view: int | None = Query(None, ge=1, le=MAX_ID),
    status: StatusName | None = "open",
    any_status: bool = False,
    priority: PriorityName | None = None,
    team: int | None = Query(None, ge=1, le=MAX_ID),
    assignee: int | None = Query(None, ge=1, le=MAX_ID),
    channel: int | None = Query(None, ge=1, le=MAX_ID),
    network: str | None = None,
    label: str | None = None,
    sentiment: str | None = None,
    intent: str | None = None,
    buying_stage: str | None = None,
    person: int | None = Query(None, ge=1, le=MAX_ID),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> ConversationPage:
    """Views: all, mine, unassigned, my_teams, sla_at_risk (soonest due first); or a saved view by id.

    Open conversations by default (`any_status=true` for every status); newest activity first.
    """
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    filters = services.ConversationFilters(
        view=view,
        status=None if any_status else status,
        priority=priority,
        team=team,
        assignee=assignee,
        channel=channel,
        network=network,
        label=label,
        sentiment=sentiment,
        intent=intent,
        buying_stage=buying_stage,
        person=person,
    )
    if saved_view is not None:
        saved = config.access_view_by_id(workspace=workspace, user=request.user, view_id=saved_view)
        for name, value in saved.filters.items():
            setattr(filters, name, value)
    page = services.list_conversations(
        workspace=workspace, user=request.user, filters=filters, cursor=cursor, limit=limit
    )
    return ConversationPage(items=[read(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/workspaces/{slug}/conversations/bulk", response={200: BulkResult, **ERRORS})
def bulk_update(request: HttpRequest, slug: str, payload: BulkUpdate) -> BulkResult:
    """The same change on many conversations at once."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.write")
    changes = payload.dict(exclude_unset=True)
    ids = changes.pop("ids")
    add = changes.pop("add_labels", [])
    changes.pop("remove_labels", None)
    updated = services.do_bulk(
        workspace=workspace, actor=request.user, ids=ids, changes=changes, add_labels=add
    )
    _audit(request, workspace, "conversation.bulk_update", None, ids=ids)
    return BulkResult(updated=updated)


@router.get(
    "/workspaces/{slug}/conversations/{conversation_id}", response={200: ConversationDetail, **ERRORS}
)
def get_conversation(request: HttpRequest, slug: str, conversation_id: int) -> ConversationDetail:
    """The conversation with every item (oldest first) and its activity log."""
    return detail(_conversation(request, slug, conversation_id, "inbox.view"))


@router.patch(
    "/workspaces/{slug}/conversations/{conversation_id}", response={200: ConversationRead, **ERRORS}
)
def update_conversation(
    request: HttpRequest, slug: str, conversation_id: int, payload: ConversationUpdate
) -> ConversationRead:
    """Status (snoozed needs `snoozed_until`), priority, assignee, team, SLA policy, labels, CSAT (1-5)."""
    c = _conversation(request, slug, conversation_id, "inbox.write")
    changes = payload.dict(exclude_unset=True)
    add, remove = changes.pop("add_labels", []), changes.pop("remove_labels", [])
    if changes.get("snoozed_until") is not None:
        try:
            changes["snoozed_until"] = as_utc(changes["snoozed_until"])
        except ValueError as exc:
            raise Invalid(str(exc), field="snoozed_until") from None
    services.do_update(
        conversation=c, actor=request.user, changes=changes, add_labels=add, remove_labels=remove
    )
    _audit(
        request, c.workspace, "conversation.update", c, **payload.model_dump(mode="json", exclude_unset=True)
    )
    return read(c)


@router.post(
    "/workspaces/{slug}/conversations/{conversation_id}/replies", response={200: ConversationDetail, **ERRORS}
)
def reply(request: HttpRequest, slug: str, conversation_id: int, payload: ReplyCreate) -> ConversationDetail:
    """Answer on the conversation's network, checked against that network's length rules."""
    c = _conversation(request, slug, conversation_id, "inbox.write")
    item = services.do_reply(conversation=c, actor=request.user, text=payload.text)
    _audit(request, c.workspace, "conversation.reply", c, item=item.pk)
    c.refresh_from_db()
    return detail(c)


@router.post("/workspaces/{slug}/conversations/{conversation_id}/notes", response={200: EventRead, **ERRORS})
def note(request: HttpRequest, slug: str, conversation_id: int, payload: NoteCreate) -> EventRead:
    """An internal note the customer never sees; `@username` notifies that member."""
    c = _conversation(request, slug, conversation_id, "inbox.write")
    event = services.do_note(conversation=c, actor=request.user, text=payload.text)
    _audit(request, c.workspace, "conversation.note", c)
    return read_event(event)


@router.post(
    "/workspaces/{slug}/conversations/{conversation_id}/delegate", response={200: ConversationRead, **ERRORS}
)
def delegate(
    request: HttpRequest, slug: str, conversation_id: int, payload: DelegateCreate
) -> ConversationRead:
    """Hand off to a team (its least-loaded available member) or a person, with a note for them."""
    c = _conversation(request, slug, conversation_id, "inbox.write")
    services.do_delegate(
        conversation=c, actor=request.user, team=payload.team, assignee=payload.assignee, note=payload.note
    )
    _audit(request, c.workspace, "conversation.delegate", c, team=payload.team, assignee=payload.assignee)
    return read(c)


@router.post(
    "/workspaces/{slug}/conversations/{conversation_id}/merge", response={200: ConversationRead, **ERRORS}
)
def merge(request: HttpRequest, slug: str, conversation_id: int, payload: MergeCreate) -> ConversationRead:
    """Move this conversation's items and log into another one."""
    c = _conversation(request, slug, conversation_id, "inbox.write")
    target = services.access_conversation_by_id(workspace=c.workspace, conversation_id=payload.into)
    services.do_merge(source=c, target=target, actor=request.user)
    _audit(request, c.workspace, "conversation.merge", c, into=target.pk)
    return read(target)


@router.get(
    "/workspaces/{slug}/conversations/{conversation_id}/deliveries",
    response={200: list[DeliveryRead], **ERRORS},
)
def deliveries(request: HttpRequest, slug: str, conversation_id: int) -> list[DeliveryRead]:
    """What was sent outside for this conversation (replies, moderation, webhooks) and how it went."""
    from townhall.inbox.models import Delivery

    c = _conversation(request, slug, conversation_id, "inbox.view")
    return [
        DeliveryRead(
            id=d.pk,
            kind=d.kind,
            target=d.target,
            status=d.status,
            error=d.error,
            item_id=d.item_id,
            created_at=d.created_at,
        )
        for d in Delivery.objects.filter(conversation=c).order_by("id")
    ]


@router.get("/workspaces/{slug}/notifications", response={200: list[NotificationRead], **ERRORS})
def notifications(request: HttpRequest, slug: str, unread: bool = False) -> list[NotificationRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [
        NotificationRead(
            id=n.pk,
            conversation_id=n.conversation_id,
            text=n.text,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n in services.notifications_of(workspace=workspace, user=request.user, unread_only=unread)
    ]


@router.put("/workspaces/{slug}/availability", response={200: AvailabilityUpdate, **ERRORS})
def set_availability(request: HttpRequest, slug: str, payload: AvailabilityUpdate) -> AvailabilityUpdate:
    """Whether you take new conversations from automatic assignment."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.write")
    status = config.do_set_availability(
        workspace=workspace, user=request.user, availability=payload.availability
    )
    return AvailabilityUpdate(availability=status.availability)  # type: ignore[arg-type]


# Teams


def read_team(team: Team) -> TeamRead:
    return TeamRead(
        id=team.pk,
        name=team.name,
        description=team.description,
        members=[TeamMemberIn(user=m.user_id, capacity=m.capacity) for m in team.members.order_by("user_id")],
    )


@router.get("/workspaces/{slug}/teams", response={200: list[TeamRead], **ERRORS})
def list_teams(request: HttpRequest, slug: str) -> list[TeamRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [read_team(t) for t in Team.objects.filter(workspace=workspace)]


@router.post("/workspaces/{slug}/teams", response={201: TeamRead, **ERRORS})
def create_team(request: HttpRequest, slug: str, payload: TeamCreate) -> Status[TeamRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    team = config.do_create_team(workspace=workspace, name=payload.name, description=payload.description)
    config.do_set_team_members(team=team, members=[(m.user, m.capacity) for m in payload.members])
    _audit(request, workspace, "team.create", team)
    return Status(201, read_team(team))


@router.put("/workspaces/{slug}/teams/{team_id}/members", response={200: TeamRead, **ERRORS})
def set_members(request: HttpRequest, slug: str, team_id: int, payload: list[TeamMemberIn]) -> TeamRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    team = config.access_team_by_id(workspace=workspace, team_id=team_id)
    config.do_set_team_members(team=team, members=[(m.user, m.capacity) for m in payload])
    _audit(request, workspace, "team.members", team)
    return read_team(team)


# SLA policies


def read_policy(p: SlaPolicy) -> SlaPolicyRead:
    return SlaPolicyRead(
        id=p.pk,
        name=p.name,
        first_response_minutes=p.first_response_minutes,
        next_response_minutes=p.next_response_minutes,
        resolution_minutes=p.resolution_minutes,
        business_hours_only=p.business_hours_only,
    )


@router.get("/workspaces/{slug}/sla-policies", response={200: list[SlaPolicyRead], **ERRORS})
def list_policies(request: HttpRequest, slug: str) -> list[SlaPolicyRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [read_policy(p) for p in SlaPolicy.objects.filter(workspace=workspace).order_by("name")]


@router.post("/workspaces/{slug}/sla-policies", response={201: SlaPolicyRead, **ERRORS})
def create_policy(request: HttpRequest, slug: str, payload: SlaPolicyIn) -> Status[SlaPolicyRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    policy = config.do_save_sla_policy(workspace=workspace, data=payload.dict())
    _audit(request, workspace, "sla_policy.create", policy)
    return Status(201, read_policy(policy))


@router.put("/workspaces/{slug}/sla-policies/{policy_id}", response={200: SlaPolicyRead, **ERRORS})
def update_policy(request: HttpRequest, slug: str, policy_id: int, payload: SlaPolicyIn) -> SlaPolicyRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    policy = config.access_sla_policy_by_id(workspace=workspace, policy_id=policy_id)
    config.do_save_sla_policy(workspace=workspace, data=payload.dict(), policy=policy)
    _audit(request, workspace, "sla_policy.update", policy)
    return read_policy(policy)


# Routing rules


def read_rule(r: RoutingRule) -> RuleRead:
    return RuleRead(
        id=r.pk,
        name=r.name,
        position=r.position,
        enabled=r.enabled,
        events=r.events,
        conditions=r.conditions,
        actions=r.actions,
        stop=r.stop,
        minutes=r.minutes,
        fired=r.fired,
        description=rules.describe(r.conditions),
    )


@router.get("/workspaces/{slug}/rules", response={200: list[RuleRead], **ERRORS})
def list_rules(request: HttpRequest, slug: str) -> list[RuleRead]:
    """Routing rules in the order they run."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [read_rule(r) for r in RoutingRule.objects.filter(workspace=workspace)]


@router.post("/workspaces/{slug}/rules", response={201: RuleRead, **ERRORS})
def create_rule(request: HttpRequest, slug: str, payload: RuleIn) -> Status[RuleRead]:
    """A rule runs after the existing ones; see docs/inbox.md for events, conditions and actions."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    rule = config.do_save_rule(workspace=workspace, data=payload.dict())
    _audit(request, workspace, "rule.create", rule)
    return Status(201, read_rule(rule))


@router.post("/workspaces/{slug}/rules/dry-run", response={200: DryRunResult, **ERRORS})
def dry_run(request: HttpRequest, slug: str, payload: DryRunIn) -> DryRunResult:
    """What these conditions would have matched in the last `days` days of inbound items; changes nothing."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return DryRunResult(**config.dry_run(workspace=workspace, data=payload.dict(), days=payload.days))


@router.patch("/workspaces/{slug}/rules/{rule_id}", response={200: RuleRead, **ERRORS})
def update_rule(request: HttpRequest, slug: str, rule_id: int, payload: RuleUpdate) -> RuleRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    rule = config.access_rule_by_id(workspace=workspace, rule_id=rule_id)
    config.do_save_rule(workspace=workspace, data=payload.dict(exclude_unset=True), rule=rule)
    _audit(request, workspace, "rule.update", rule)
    return read_rule(rule)


@router.delete("/workspaces/{slug}/rules/{rule_id}", response={204: None, **ERRORS})
def delete_rule(request: HttpRequest, slug: str, rule_id: int) -> Status[None]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    rule = config.access_rule_by_id(workspace=workspace, rule_id=rule_id)
    _audit(request, workspace, "rule.delete", rule)
    rule.delete()
    return Status(204, None)


@router.put("/workspaces/{slug}/rules-order", response={200: list[RuleRead], **ERRORS})
def reorder_rules(request: HttpRequest, slug: str, payload: RuleOrder) -> list[RuleRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    ordered = config.do_reorder_rules(workspace=workspace, ids=payload.ids)
    _audit(request, workspace, "rule.reorder", None, ids=payload.ids)
    return [read_rule(r) for r in ordered]


# Canned replies and saved views


def read_canned(c: CannedReply) -> CannedRead:
    return CannedRead(id=c.pk, shortcut=c.shortcut, title=c.title, body=c.body)


@router.get("/workspaces/{slug}/canned-replies", response={200: list[CannedRead], **ERRORS})
def list_canned(request: HttpRequest, slug: str) -> list[CannedRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [read_canned(c) for c in services.canned_replies(workspace=workspace)]


@router.post("/workspaces/{slug}/canned-replies", response={201: CannedRead, **ERRORS})
def create_canned(request: HttpRequest, slug: str, payload: CannedIn) -> Status[CannedRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    canned = config.do_save_canned(workspace=workspace, data=payload.dict())
    _audit(request, workspace, "canned_reply.create", canned)
    return Status(201, read_canned(canned))


@router.get(
    "/workspaces/{slug}/conversations/{conversation_id}/canned-replies/{canned_id}",
    response={200: CannedRendered, **ERRORS},
)
def render_canned(request: HttpRequest, slug: str, conversation_id: int, canned_id: int) -> CannedRendered:
    """The canned reply with this conversation's variables filled in, and its length on the network."""
    c = _conversation(request, slug, conversation_id, "inbox.view")
    canned = config.access_canned_by_id(workspace=c.workspace, canned_id=canned_id)
    text = services.render_template(canned.body, conversation=c, agent=request.user)
    length, limit = services.reply_length(c.network, text)
    return CannedRendered(text=text, length=length, limit=limit)


@router.get("/workspaces/{slug}/saved-views", response={200: list[SavedViewRead], **ERRORS})
def list_views(request: HttpRequest, slug: str) -> list[SavedViewRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return [
        SavedViewRead(id=v.pk, name=v.name, filters=v.filters, shared=v.shared)
        for v in config.views_for(workspace=workspace, user=request.user)
    ]


@router.post("/workspaces/{slug}/saved-views", response={201: SavedViewRead, **ERRORS})
def create_view(request: HttpRequest, slug: str, payload: SavedViewIn) -> Status[SavedViewRead]:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    view: SavedView = config.do_save_view(
        workspace=workspace,
        owner=request.user,
        name=payload.name,
        filters=payload.filters,
        shared=payload.shared,
    )
    return Status(201, SavedViewRead(id=view.pk, name=view.name, filters=view.filters, shared=view.shared))


# Settings and reports


def read_settings(workspace: Workspace) -> InboxSettingsRead:
    s = config.settings_of(workspace=workspace)
    return InboxSettingsRead(
        timezone=workspace.timezone,
        business_hours=s.business_hours or {},
        holidays=s.holidays or [],
        auto_ack_allowed=s.auto_ack_allowed,
        live_window_minutes=s.live_window_minutes,
        sla_warning_minutes=s.sla_warning_minutes,
    )


@router.get("/workspaces/{slug}/inbox-settings", response={200: InboxSettingsRead, **ERRORS})
def get_settings(request: HttpRequest, slug: str) -> InboxSettingsRead:
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    return read_settings(workspace)


@router.patch("/workspaces/{slug}/inbox-settings", response={200: InboxSettingsRead, **ERRORS})
def update_settings(request: HttpRequest, slug: str, payload: InboxSettingsIn) -> InboxSettingsRead:
    """Business hours as `{"mon": [["09:00", "17:00"]], ...}` (workspace time zone), holidays, automation."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.manage")
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    config.do_update_settings(workspace=workspace, changes=changes)
    _audit(request, workspace, "inbox_settings.update", None)
    return read_settings(workspace)


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The period in UTC (PostgreSQL refuses offsets that ISO 8601 allows), checked."""
    try:
        since = as_utc(since) if since else None
        until = as_utc(until) if until else None
    except ValueError as exc:
        raise Invalid(str(exc), field="since") from None
    if since and until and since >= until:
        raise Invalid("since must be before until", field="since")
    return since, until


@router.get("/workspaces/{slug}/reports/inbox", response={200: dict[str, Any], **ERRORS})
def inbox_report(
    request: HttpRequest, slug: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """First response and resolution times (minutes), SLA attainment, volumes, per agent and per team."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    since, until = _period(since, until)
    return reports.build(workspace=workspace, since=since, until=until, now=timezone.now())


@router.get(
    "/workspaces/{slug}/reports/inbox.csv",
    response={200: str, **ERRORS},
    openapi_extra={
        "responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}
    },
)
def inbox_report_csv(
    request: HttpRequest, slug: str, since: datetime | None = None, until: datetime | None = None
) -> HttpResponse:
    """One row per conversation with its times and SLA outcome."""
    workspace = access_workspace(user=request.user, slug=slug, permission="inbox.view")
    since, until = _period(since, until)
    body = reports.to_csv(workspace=workspace, since=since, until=until, now=timezone.now())
    response = HttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-inbox.csv"'
    return response
