"""The pipeline's route stage: file every new item into its conversation, keep the clocks, run the rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from townhall.core.storage import chunked, in_chunk_size
from townhall.enrich.models import Enrichment
from townhall.inbox import routing, sla
from townhall.inbox.models import Conversation, ConversationItem, Event, SlaPolicy, Status
from townhall.items.models import Direction, Item, Kind
from townhall.pipeline.records import IncomingItem


@dataclass
class _Row:
    id: int
    thread_root_id: int | None
    kind: str
    direction: str
    channel_id: int | None
    person_id: int | None
    network: str
    created_at: datetime
    text: str
    parent_id: int | None


@dataclass
class _Touched:
    conversation: Conversation
    created: bool = False
    inbound: list[_Row] = field(default_factory=list)


def conversation_key(row: _Row, parent_keys: dict[int, str]) -> str | None:
    """Which conversation an item belongs to: its thread, or for a direct message the person's DMs there."""
    if row.kind == Kind.DM:
        if row.direction == Direction.INBOUND and row.person_id is not None:
            return f"dm:{row.channel_id or 0}:{row.person_id}"
        return parent_keys.get(row.parent_id) if row.parent_id else None
    return f"thread:{row.thread_root_id or row.id}"


def _load(ids: list[int]) -> list[_Row]:
    rows: list[_Row] = []
    for chunk in chunked(ids, in_chunk_size()):
        for values in Item.objects.filter(pk__in=chunk).values_list(
            "id",
            "thread_root_id",
            "kind",
            "direction",
            "channel_id",
            "person_id",
            "network",
            "created_at",
            "text",
            "parent_id",
        ):
            rows.append(_Row(*values))
    rows.sort(key=lambda r: (r.created_at, r.id))
    return rows


def route_batch(workspace_id: int, items: list[IncomingItem]) -> None:
    """File the batch's items into conversations, recompute their clocks, then fire the routing rules."""
    ids = [i.item_id for i in items if i.item_id is not None]
    if not ids:
        return
    rows = _load(ids)
    parent_keys = _parent_keys(rows)
    groups: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        key = conversation_key(row, parent_keys)
        if key is not None:
            groups[key].append(row)
    touched = _conversations_for(workspace_id, groups)
    entries: list[ConversationItem] = []
    for key, group in groups.items():
        found = touched.get(key)
        if found is None:
            continue
        entries.extend(ConversationItem(conversation=found.conversation, item_id=r.id) for r in group)
        found.inbound.extend(r for r in group if r.direction == Direction.INBOUND)
    ConversationItem.objects.bulk_create(entries, ignore_conflicts=True, batch_size=1000)
    ConversationItem.objects.bulk_create(
        _unfiled_thread_items(touched), ignore_conflicts=True, batch_size=1000
    )
    _refresh(workspace_id, [t.conversation for t in touched.values()])
    routing.on_new_items(workspace_id, list(touched.values()))


def _parent_keys(rows: list[_Row]) -> dict[int, str]:
    """The conversation keys of the parents outbound direct messages answer."""
    parents = [
        r.parent_id for r in rows if r.kind == Kind.DM and r.direction != Direction.INBOUND and r.parent_id
    ]
    found = ConversationItem.objects.filter(item_id__in=parents).values_list("item_id", "conversation__key")
    return dict(found)


def _conversations_for(workspace_id: int, groups: dict[str, list[_Row]]) -> dict[str, _Touched]:
    """Find or create the conversation of every key that has (or already had) an inbound item.

    A parent arriving after its replies becomes their thread's root: the conversation its replies were
    filed under takes the new key, and two conversations that turn out to be one thread are merged.
    """
    existing = {
        c.key: c for c in Conversation.objects.filter(workspace_id=workspace_id, key__in=list(groups))
    }
    roots = [int(k.split(":")[1]) for k in groups if k.startswith("thread:")]
    filed: dict[int, set[int]] = defaultdict(set)
    for chunk in chunked(roots, in_chunk_size()):
        for root, conversation_id in (
            ConversationItem.objects.filter(item__thread_root_id__in=chunk)
            .values_list("item__thread_root_id", "conversation_id")
            .distinct()
        ):
            if root is not None:
                filed[root].add(conversation_id)
    touched: dict[str, _Touched] = {}
    for key, group in groups.items():
        conversation = existing.get(key)
        if key.startswith("thread:"):
            root = int(key.split(":")[1])
            others = sorted(filed.get(root, set()) - ({conversation.pk} if conversation else set()))
            if others:
                if conversation is None:
                    conversation = Conversation.objects.get(pk=others.pop(0))
                    conversation.key = key
                    conversation.save(update_fields=["key"])
                for other in Conversation.objects.filter(pk__in=others):
                    merge_into(source=other, target=conversation, actor=None)
        if conversation is not None:
            touched[key] = _Touched(conversation)
            continue
        inbound = [r for r in group if r.direction == Direction.INBOUND]
        if not inbound:
            continue  # our own post nobody has answered: nothing to handle yet
        first = inbound[0]
        conversation = Conversation.objects.create(
            workspace_id=workspace_id,
            key=key,
            channel_id=first.channel_id,
            network=first.network,
            person_id=first.person_id,
            subject=first.text[:200],
            last_activity_at=first.created_at,
            created_at=first.created_at,
        )
        Event.objects.create(conversation=conversation, kind="created", created_at=first.created_at)
        touched[key] = _Touched(conversation, created=True)
    return touched


def _unfiled_thread_items(touched: dict[str, _Touched]) -> list[ConversationItem]:
    """Items of the touched threads that no conversation holds yet: our replies that came before the
    question, or replies a late parent has just joined to the thread."""
    roots = {int(k.split(":")[1]): t.conversation for k, t in touched.items() if k.startswith("thread:")}
    entries = []
    for chunk in chunked(list(roots), in_chunk_size()):
        for item_id, root in Item.objects.filter(
            thread_root_id__in=chunk, conversation_entry__isnull=True
        ).values_list("id", "thread_root_id"):
            entries.append(ConversationItem(conversation=roots[root], item_id=item_id))
    return entries


def merge_into(*, source: Conversation, target: Conversation, actor: Any) -> None:
    """Move every item and event of `source` into `target`; `source` stays, resolved, pointing at it."""
    ConversationItem.objects.filter(conversation=source).update(conversation=target)
    Event.objects.filter(conversation=source).update(conversation=target)
    source.merged_into = target
    source.status = Status.RESOLVED
    source.key = f"merged:{source.pk}"
    source.sla_due = None
    source.save(update_fields=["merged_into", "status", "key", "sla_due"])
    Event.objects.create(
        conversation=target,
        kind="merged",
        actor=actor,
        detail={"from": source.pk},
        created_at=max(source.last_activity_at, target.last_activity_at),
    )


def _refresh(workspace_id: int, conversations: list[Conversation]) -> None:
    """Recompute each conversation's counts and clocks from its items, whatever order they arrived in."""
    if not conversations:
        return
    by_id = {c.pk: c for c in conversations}
    timeline: dict[int, list[tuple[datetime, str, int]]] = defaultdict(list)
    for chunk in chunked(list(by_id), in_chunk_size()):
        for conversation_id, created_at, direction, item_id in ConversationItem.objects.filter(
            conversation_id__in=chunk
        ).values_list("conversation_id", "item__created_at", "item__direction", "item_id"):
            timeline[conversation_id].append((created_at, direction, item_id))
    latest_inbound: dict[int, int] = {}
    for conversation_id, entries in timeline.items():
        entries.sort()
        c = by_id[conversation_id]
        inbound = [e for e in entries if e[1] == Direction.INBOUND]
        outbound = [e for e in entries if e[1] != Direction.INBOUND]
        c.inbound_count = len(inbound)
        c.first_inbound_at = inbound[0][0] if inbound else None
        c.last_inbound_at = inbound[-1][0] if inbound else None
        c.last_outbound_at = outbound[-1][0] if outbound else None
        c.first_response_at = next(
            (e[0] for e in outbound if c.first_inbound_at and e[0] >= c.first_inbound_at), None
        )
        unanswered = [e for e in inbound if c.last_outbound_at is None or e[0] > c.last_outbound_at]
        c.waiting_since = unanswered[0][0] if unanswered else None
        c.last_activity_at = max(c.last_activity_at, entries[-1][0])
        if inbound:
            latest_inbound[conversation_id] = inbound[-1][2]
    read = {
        item_id: (sentiment, intents)
        for item_id, sentiment, intents in Enrichment.objects.filter(
            item_id__in=list(latest_inbound.values())
        ).values_list("item_id", "sentiment", "intents")
    }
    for conversation_id, item_id in latest_inbound.items():
        c = by_id[conversation_id]
        sentiment, intents = read.get(item_id, ("", []))
        c.sentiment = sentiment
        labels = [i["label"] for i in intents or []]
        c.primary_intent = labels[0] if labels else ""
        c.intent_tags = "," + ",".join(labels) + "," if labels else ""
    policies = {p.pk: p for p in SlaPolicy.objects.filter(workspace_id=workspace_id)}
    schedule = sla.schedule_for(workspace_id)
    for c in conversations:
        c.sla_policy = policies.get(c.sla_policy_id) if c.sla_policy_id else None
        sla.recompute(c, schedule=schedule)
    Conversation.objects.bulk_update(
        conversations,
        [
            "inbound_count",
            "first_inbound_at",
            "last_inbound_at",
            "last_outbound_at",
            "first_response_at",
            "waiting_since",
            "last_activity_at",
            "sentiment",
            "primary_intent",
            "intent_tags",
            "first_response_due",
            "next_response_due",
            "resolution_due",
            "sla_due",
        ],
        batch_size=500,
    )
