"""What agents do in the inbox: find, update, answer, note, delegate, merge and rate conversations."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import regex
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.core.pagination import Page, paginate_newest_first
from townhall.core.services import check_choice
from townhall.inbox import routing, sla
from townhall.inbox.models import (
    PRIORITY_RANK,
    CannedReply,
    Conversation,
    ConversationItem,
    Event,
    InboxSettings,
    Label,
    Notification,
    Priority,
    SlaPolicy,
    Status,
    Team,
    TeamMember,
)
from townhall.inbox.stage import merge_into
from townhall.items.models import Direction, Item, Kind
from townhall.pipeline.records import IncomingItem
from townhall.workspaces.models import Membership, Workspace

VIEWS = ("all", "mine", "unassigned", "my_teams", "sla_at_risk")
DEFAULT_SLA_WARNING = 15  # minutes, as InboxSettings defaults
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def access_conversation_by_id(*, workspace: Workspace, conversation_id: int) -> Conversation:
    found = Conversation.objects.filter(workspace=workspace, pk=conversation_id).first()
    if found is None:
        raise NotFound(f"conversation {conversation_id} does not exist in this workspace")
    return found


@dataclass
class ConversationFilters:
    view: str = "all"
    status: str | None = "open"
    priority: str | None = None
    team: int | None = None
    assignee: int | None = None
    channel: int | None = None
    network: str | None = None
    label: str | None = None
    sentiment: str | None = None
    intent: str | None = None
    buying_stage: str | None = None
    person: int | None = None


def check_filters(filters: ConversationFilters) -> None:
    check_choice(filters.view, field="view", choices=VIEWS)
    if filters.status not in (None, "all"):
        check_choice(filters.status, field="status", choices=Status.values)
    if filters.priority is not None:
        check_choice(filters.priority, field="priority", choices=Priority.values)
    if filters.buying_stage is not None:
        check_choice(filters.buying_stage, field="buying_stage", choices=["customer", "prospect", "churned"])


def filter_conversations(
    *, workspace: Workspace, user: Any, filters: ConversationFilters
) -> QuerySet[Conversation]:
    check_filters(filters)
    rows = Conversation.objects.filter(workspace=workspace, merged_into__isnull=True)
    if filters.view == "mine":
        rows = rows.filter(assignee=user)
    elif filters.view == "unassigned":
        rows = rows.filter(assignee__isnull=True)
    elif filters.view == "my_teams":
        teams = list(
            TeamMember.objects.filter(team__workspace=workspace, user=user).values_list("team_id", flat=True)
        )
        rows = rows.filter(team_id__in=teams)
    elif filters.view == "sla_at_risk":
        warning = (
            InboxSettings.objects.filter(workspace=workspace)
            .values_list("sla_warning_minutes", flat=True)
            .first()
            or DEFAULT_SLA_WARNING
        )
        rows = rows.filter(sla_due__isnull=False, sla_due__lte=timezone.now() + timedelta(minutes=warning))
    if filters.status not in (None, "all"):
        rows = rows.filter(status=filters.status)
    for name in ("priority", "network", "sentiment"):
        value = getattr(filters, name)
        if value:
            rows = rows.filter(**{name: value})
    if filters.team is not None:
        rows = rows.filter(team_id=filters.team)
    if filters.assignee is not None:
        rows = rows.filter(assignee_id=filters.assignee)
    if filters.channel is not None:
        rows = rows.filter(channel_id=filters.channel)
    if filters.person is not None:
        rows = rows.filter(person_id=filters.person)
    if filters.label:
        rows = rows.filter(labels__name=filters.label)
    if filters.intent:
        rows = rows.filter(intent_tags__contains=f",{filters.intent},")
    if filters.buying_stage:
        stages = [k for k, v in routing.BUYING_STAGE.items() if v == filters.buying_stage]
        if filters.buying_stage == "prospect":
            rows = rows.exclude(person__lifecycle__in=list(routing.BUYING_STAGE))
        else:
            rows = rows.filter(person__lifecycle__in=stages)
    return rows


def list_conversations(
    *, workspace: Workspace, user: Any, filters: ConversationFilters, cursor: str | None, limit: int
) -> Page[Conversation]:
    rows = filter_conversations(workspace=workspace, user=user, filters=filters)
    rows = rows.select_related("person", "assignee", "team")
    if filters.view == "sla_at_risk":
        # Ids first, straight off the (workspace, status, sla_due, id) index, then the rows with their
        # relations: joined in one query, PostgreSQL misjudged how many clocks were due and sorted them all.
        due_first = list(rows.order_by("sla_due", "id").values_list("id", flat=True)[:limit])
        found = {
            c.pk: c
            for c in Conversation.objects.filter(pk__in=due_first).select_related(
                "person", "assignee", "team"
            )
        }
        page = Page([found[pk] for pk in due_first], None)
    else:
        page = paginate_newest_first(rows, field="last_activity_at", cursor=cursor, limit=limit)
    attach_label_names(page.items)
    return page


def attach_label_names(conversations: list[Conversation]) -> None:
    """Set `label_names` on each conversation with one query (a prefetch builds a queryset per row)."""
    names: dict[int, list[str]] = {c.pk: [] for c in conversations}
    through = Conversation.labels.through
    for conversation_id, name in through.objects.filter(conversation_id__in=list(names)).values_list(
        "conversation_id", "label__name"
    ):
        names[conversation_id].append(name)
    for c in conversations:
        c.label_names = sorted(names[c.pk])  # type: ignore[attr-defined]


def items_of(conversation: Conversation) -> list[Item]:
    return list(
        Item.objects.filter(conversation_entry__conversation=conversation)
        .select_related("author", "enrichment")
        .order_by("created_at", "id")
    )


def events_of(conversation: Conversation) -> list[Event]:
    return list(conversation.events.select_related("actor", "rule").order_by("created_at", "id"))


def check_member(workspace: Workspace, user_id: int | None, *, field: str) -> None:
    if user_id is not None and not Membership.objects.filter(workspace=workspace, user_id=user_id).exists():
        raise Invalid(f"user {user_id} is not a member of this workspace", field=field)


EDITABLE = ("status", "priority", "assignee", "team", "snoozed_until", "sla_policy", "csat")


def do_update(
    *,
    conversation: Conversation,
    actor: Any,
    changes: dict[str, Any],
    add_labels: list[str] | None = None,
    remove_labels: list[str] | None = None,
    fire_rules: bool = True,
) -> Conversation:
    """Change what an agent may change, log each real change, then let `conversation_updated` rules react.

    Everything is checked before anything is set, so a refused change leaves the conversation as it was.
    """
    c = conversation
    workspace = c.workspace
    now = timezone.now()
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
    status = changes.get("status", c.status)
    check_choice(status, field="status", choices=Status.values)
    if "status" in changes and status == Status.SNOOZED:
        until = changes.get("snoozed_until")
        if until is None or until <= now:
            raise Invalid("snoozing needs snoozed_until in the future", field="snoozed_until")
    if "priority" in changes:
        check_choice(changes["priority"], field="priority", choices=Priority.values)
    team_id = changes.get("team", c.team_id)
    if (
        "team" in changes
        and team_id is not None
        and not Team.objects.filter(workspace=workspace, pk=team_id).exists()
    ):
        raise Invalid(f"team {team_id} does not exist in this workspace", field="team")
    if "assignee" in changes:
        check_member(workspace, changes["assignee"], field="assignee")
    policy = c.sla_policy if c.sla_policy_id else None
    if "sla_policy" in changes:
        policy_id = changes["sla_policy"]
        policy = SlaPolicy.objects.filter(workspace=workspace, pk=policy_id).first() if policy_id else None
        if policy_id and policy is None:
            raise Invalid(f"SLA policy {policy_id} does not exist in this workspace", field="sla_policy")
    if "csat" in changes:
        score = changes["csat"]
        if status != Status.RESOLVED:
            raise Conflict("a satisfaction score is taken once the conversation is resolved")
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise Invalid("csat must be a whole number from 1 to 5", field="csat")
    labels_added = [_label_name(name) for name in add_labels or []]
    logged: list[tuple[str, str, dict[str, Any]]] = []
    if status != c.status:
        c.status = status
        c.resolved_at, c.resolved_by = (now, actor) if status == Status.RESOLVED else (None, None)
        logged.append(("status", status, {}))
    if status == Status.SNOOZED and "snoozed_until" in changes:
        c.snoozed_until = changes["snoozed_until"]
    if "priority" in changes and changes["priority"] != c.priority:
        c.priority = changes["priority"]
        c.priority_rank = PRIORITY_RANK[c.priority]
        logged.append(("priority", c.priority, {}))
    if "team" in changes and team_id != c.team_id:
        c.team_id = team_id
        logged.append(("assigned", "to a team" if team_id else "team cleared", {"team": team_id}))
    if "assignee" in changes and changes["assignee"] != c.assignee_id:
        c.assignee_id = changes["assignee"]
        logged.append(
            ("assigned", "to an agent" if c.assignee_id else "unassigned", {"assignee": c.assignee_id})
        )
        if c.assignee_id and c.assignee_id != getattr(actor, "pk", None):
            routing._notify(c, [c.assignee_id], f"{actor} assigned you: {c.subject[:120]}")
    if "sla_policy" in changes and (policy.pk if policy else None) != c.sla_policy_id:
        c.sla_policy = policy
        logged.append(("sla_applied", policy.name if policy else "none", {}))
    if "csat" in changes and changes["csat"] != c.csat:
        c.csat = changes["csat"]
        logged.append(("csat", str(c.csat), {}))
    sla.recompute(c)
    with transaction.atomic():
        c.save()
        present = set(c.labels.values_list("name", flat=True))
        for name in labels_added:
            if name in present:
                continue
            label, _ = Label.objects.get_or_create(workspace=workspace, name=name)
            c.labels.add(label)
            logged.append(("labelled", label.name, {}))
        for name in remove_labels or []:
            label_row = Label.objects.filter(workspace=workspace, name=name).first()
            if label_row is not None and name in present:
                c.labels.remove(label_row)
                logged.append(("unlabelled", name, {}))
        Event.objects.bulk_create(
            [
                Event(conversation=c, kind=k, actor=actor, text=t, detail=d, created_at=now)
                for k, t, d in logged
            ]
        )
        if fire_rules and logged:
            routing.fire(c, "conversation_updated", actor=actor)
    return c


def _label_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64:
        raise Invalid("a label is 1 to 64 characters", field="labels")
    return cleaned


def do_bulk(
    *,
    workspace: Workspace,
    actor: Any,
    ids: list[int],
    changes: dict[str, Any],
    add_labels: list[str] | None = None,
) -> int:
    """The same change on many conversations; each is checked and logged as if changed alone."""
    found = list(Conversation.objects.filter(workspace=workspace, pk__in=ids))
    missing = set(ids) - {c.pk for c in found}
    if missing:
        raise NotFound(f"conversation {sorted(missing)[0]} does not exist in this workspace")
    for conversation in found:
        do_update(conversation=conversation, actor=actor, changes=dict(changes), add_labels=add_labels)
    return len(found)


def render_template(template: str, *, conversation: Conversation, agent: Any = None) -> str:
    """Fill `{{ variable }}`s: first_name, name, handle, agent_name, brand; unknown ones stay as written."""
    person = conversation.person
    name = (person.display_name if person else "") or ""
    handle = ""
    if conversation.person_id:
        identity = person.identities.filter(network=conversation.network).first() if person else None
        handle = f"@{identity.handle}" if identity and identity.handle else ""
    values = {
        "first_name": name.split()[0] if name.split() else "there",
        "name": name or "there",
        "handle": handle,
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent is not None else "",
        "brand": conversation.workspace.name,
    }
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# Reply limits per network (characters as the network counts them); X uses its weighted count.
# Sources: Bluesky app.bsky.feed.post lexicon (300 graphemes); Mastodon default instance limit (500, URLs
# count 23); Threads 500; Reddit comment body 10,000; LinkedIn comment 1,250; Facebook and Instagram comments
# 8,000 and 2,200; YouTube comment 10,000; Matrix has no text limit below the 65 KB event size.
REPLY_LIMITS = {
    "bluesky": 300,
    "mastodon": 500,
    "threads": 500,
    "reddit": 10_000,
    "linkedin": 1_250,
    "facebook": 8_000,
    "instagram": 2_200,
    "youtube": 10_000,
    "matrix": 30_000,
    "wordpress": 30_000,
    "forum": 30_000,
}


def reply_length(network: str, text: str) -> tuple[int, int]:
    """(length as the network counts it, limit)."""
    if network == "twitter":
        from townhall.text.twitter_validate import parse_tweet

        return parse_tweet(text).weighted_length, 280
    limit = REPLY_LIMITS.get(network, 30_000)
    if network == "mastodon":
        from townhall.publishing.counting import mastodon_length

        return mastodon_length(text), limit
    return len(regex.findall(r"\X", text)), limit


def check_reply(network: str, text: str) -> None:
    if not text.strip():
        raise Invalid("a reply needs some text", field="text")
    length, limit = reply_length(network, text)
    if length > limit:
        raise Invalid(f"{length} characters as {network} counts them; the limit is {limit}", field="text")


def do_reply(*, conversation: Conversation, actor: Any, text: str) -> Item:
    """Answer in the conversation on its network (recorded as sent where the channel has no connector)."""
    if conversation.merged_into_id:
        raise Conflict("this conversation was merged; answer in the one it was merged into")
    check_reply(conversation.network, text)
    item = send_reply(conversation=conversation, text=text, actor=actor, kind="reply")
    return item


def send_reply(*, conversation: Conversation, text: str, actor: Any, kind: str) -> Item:
    from townhall.inbox.routing import _deliver
    from townhall.pipeline.runner import ingest

    c = conversation
    last = (
        Item.objects.filter(conversation_entry__conversation=c, direction=Direction.INBOUND)
        .order_by("-created_at", "-id")
        .first()
    )
    channel = c.channel
    now = timezone.now()
    native_id = f"townhall:{uuid.uuid4().hex}"
    record = IncomingItem(
        network=c.network,
        native_id=native_id,
        created_at=now,
        text=text,
        kind=Kind.DM if last is not None and last.kind == Kind.DM else Kind.REPLY,
        direction=Direction.OUTBOUND,
        channel_handle=channel.handle if channel else "",
        parent_native_id=last.native_id if last is not None else "",
        raw={"sent_by": getattr(actor, "pk", None), "via": kind},
    )
    ingest(c.workspace_id, [record])
    item = Item.objects.get(workspace_id=c.workspace_id, network=c.network, native_id=native_id)
    ConversationItem.objects.get_or_create(item=item, defaults={"conversation": c})
    _deliver(c, kind, item_id=item.pk, live=True, payload={"text": text})
    c.refresh_from_db()
    if actor is not None:
        Event.objects.create(
            conversation=c, kind="reply", actor=actor, text=text, detail={"item": item.pk}, created_at=now
        )
        if c.assignee_id is None:
            c.assignee = actor
            c.save(update_fields=["assignee"])
    return item


def do_note(*, conversation: Conversation, actor: Any, text: str) -> Event:
    """An internal note; `@username` notifies that member."""
    if not text.strip():
        raise Invalid("a note needs some text", field="text")
    mentioned = set(MENTION.findall(text))
    users = []
    if mentioned:
        users = list(
            get_user_model()
            .objects.filter(username__in=mentioned, memberships__workspace_id=conversation.workspace_id)
            .values_list("pk", flat=True)
        )
    event = Event.objects.create(
        conversation=conversation,
        kind="note",
        actor=actor,
        text=text,
        detail={"mentions": users},
        created_at=timezone.now(),
    )
    routing._notify(conversation, [u for u in users if u != actor.pk], f"{actor} mentioned you: {text[:200]}")
    return event


def do_delegate(
    *, conversation: Conversation, actor: Any, team: int | None, assignee: int | None, note: str
) -> Conversation:
    """Hand the conversation to a team (its next available member) or a person, with a note for them."""
    if team is None and assignee is None:
        raise Invalid("delegate to a team or a person", field="team")
    changes: dict[str, Any] = {}
    if team is not None:
        found = Team.objects.filter(workspace_id=conversation.workspace_id, pk=team).first()
        if found is None:
            raise Invalid(f"team {team} does not exist in this workspace", field="team")
        changes["team"] = team
        if assignee is None:
            changes["assignee"] = routing.pick_agent(found, strategy="least_loaded")
    if assignee is not None:
        changes["assignee"] = assignee
    do_update(conversation=conversation, actor=actor, changes=changes, fire_rules=False)
    Event.objects.create(
        conversation=conversation,
        kind="delegated",
        actor=actor,
        text=note,
        detail={"team": conversation.team_id, "assignee": conversation.assignee_id},
        created_at=timezone.now(),
    )
    if conversation.assignee_id and conversation.assignee_id != actor.pk:
        routing._notify(
            conversation, [conversation.assignee_id], f"{actor} handed you a conversation: {note}"[:500]
        )
    routing.fire(conversation, "conversation_updated", actor=actor)
    return conversation


def do_merge(*, source: Conversation, target: Conversation, actor: Any) -> Conversation:
    if source.pk == target.pk:
        raise Invalid("a conversation cannot be merged into itself", field="into")
    if source.merged_into_id or target.merged_into_id:
        raise Conflict("one of these conversations was already merged")
    with transaction.atomic():
        merge_into(source=source, target=target, actor=actor)
        from townhall.inbox.stage import _refresh

        _refresh(target.workspace_id, [target])
    return target


def notifications_of(*, workspace: Workspace, user: Any, unread_only: bool = False) -> list[Notification]:
    rows = Notification.objects.filter(workspace=workspace, user=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return list(rows.order_by("-created_at")[:100])


def canned_replies(*, workspace: Workspace) -> list[CannedReply]:
    return list(CannedReply.objects.filter(workspace=workspace))
