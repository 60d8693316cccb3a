"""The ingest stages: each a plain function over one batch, with no knowledge of where it runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from townhall.connectors.models import Channel
from townhall.core.storage import chunked, in_chunk_size, insert_rows, update_rows, widen_time_span
from townhall.items.models import Direction, Item
from townhall.people.models import Activity, Identity, Person
from townhall.pipeline.records import IncomingItem

ACTIVITY_FOR_KIND = {
    "dm": "messaged_us",
    "mention": "mentioned_us",
    "reply": "replied",
    "comment": "commented",
    "review": "reviewed",
    "forum_post": "posted",
    "chat_message": "chatted",
    "post": "posted",
}


def dedupe(workspace_id: int, items: list[IncomingItem]) -> tuple[list[IncomingItem], int]:
    """Drop items already stored or repeated within the batch; returns the new ones and the count dropped."""
    seen: set[tuple[str, str]] = set()
    unique: list[IncomingItem] = []
    for item in items:
        key = (item.network, item.native_id)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    existing = _existing_native_ids(workspace_id, [(i.network, i.native_id) for i in unique])
    fresh = [i for i in unique if (i.network, i.native_id) not in existing]
    return fresh, len(items) - len(fresh)


def _existing_native_ids(workspace_id: int, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    by_network: dict[str, list[str]] = defaultdict(list)
    for network, native_id in keys:
        by_network[network].append(native_id)
    found: set[tuple[str, str]] = set()
    for network, native_ids in by_network.items():
        for chunk in chunked(native_ids, in_chunk_size()):
            rows = Item.objects.filter(workspace_id=workspace_id, network=network, native_id__in=chunk)
            found.update((network, n) for n in rows.values_list("native_id", flat=True))
    return found


def resolve_channels(workspace_id: int, items: list[IncomingItem]) -> None:
    """Attach each item to the workspace's own channel it names, creating the channel on first sight."""
    wanted = {(i.network, i.channel_handle) for i in items if i.channel_handle}
    if not wanted:
        return
    channels = {
        (c.network, c.handle.lower()): c.pk
        for c in Channel.objects.filter(workspace_id=workspace_id, network__in={n for n, _ in wanted})
    }
    for network, handle in wanted:
        if (network, handle.lower()) not in channels:
            channel, _ = Channel.objects.get_or_create(
                workspace_id=workspace_id, network=network, handle=handle, defaults={"is_ours": True}
            )
            channels[(network, handle.lower())] = channel.pk
    for item in items:
        if item.channel_handle:
            item.channel_id = channels[(item.network, item.channel_handle.lower())]


def resolve_people(workspace_id: int, items: list[IncomingItem]) -> None:
    """Find or create the identity (and its person) of every author; outbound items are ours, not people's."""
    authors = {
        (i.network, i.author.native_id): i.author
        for i in items
        if i.author is not None and i.direction == Direction.INBOUND
    }
    if not authors:
        return
    known: dict[tuple[str, str], tuple[int, int]] = {}
    by_network: dict[str, list[str]] = defaultdict(list)
    for network, native_id in authors:
        by_network[network].append(native_id)
    for network, native_ids in by_network.items():
        for chunk in chunked(native_ids, in_chunk_size()):
            rows = Identity.objects.filter(workspace_id=workspace_id, network=network, native_id__in=chunk)
            for native_id, identity_id, person_id in rows.values_list("native_id", "pk", "person_id"):
                known[(network, native_id)] = (identity_id, person_id)
    missing = [key for key in authors if key not in known]
    if missing:
        now = timezone.now()
        person_ids = insert_rows(
            Person,
            PERSON_COLUMNS,
            [
                (
                    workspace_id,
                    authors[k].display_name or authors[k].handle,
                    "",
                    "",
                    "",
                    "unknown",
                    False,
                    False,
                    None,
                    None,
                    now,
                )
                for k in missing
            ],
        )
        identity_ids = insert_rows(
            Identity,
            IDENTITY_COLUMNS,
            [
                (
                    workspace_id,
                    person_id,
                    key[0],
                    key[1],
                    authors[key].handle,
                    authors[key].display_name,
                    authors[key].profile_url,
                    authors[key].followers,
                    authors[key].verified,
                    now,
                )
                for key, person_id in zip(missing, person_ids, strict=True)
            ],
        )
        for key, identity_id, person_id in zip(missing, identity_ids, person_ids, strict=True):
            known[key] = (identity_id, person_id)
    for item in items:
        if item.author is not None and item.direction == Direction.INBOUND:
            item.author_id, item.person_id = known[(item.network, item.author.native_id)]


PERSON_COLUMNS = (
    "workspace_id",
    "display_name",
    "email",
    "location",
    "bio",
    "lifecycle",
    "is_team_member",
    "is_bot",
    "first_seen_at",
    "last_seen_at",
    "created_at",
)
IDENTITY_COLUMNS = (
    "workspace_id",
    "person_id",
    "network",
    "native_id",
    "handle",
    "display_name",
    "profile_url",
    "followers",
    "verified",
    "created_at",
)
ITEM_COLUMNS = (
    "workspace_id",
    "channel_id",
    "network",
    "native_id",
    "kind",
    "direction",
    "author_id",
    "person_id",
    "parent_id",
    "parent_native_id",
    "thread_root_id",
    "created_at",
    "ingested_at",
    "text",
    "language",
    "likes",
    "reposts",
    "replies",
    "views",
    "url",
    "raw",
    "import_run_id",
)
ACTIVITY_COLUMNS = (
    "workspace_id",
    "person_id",
    "kind",
    "occurred_at",
    "network",
    "item_id",
    "detail",
    "dedupe_key",
)


def store(workspace_id: int, items: list[IncomingItem], *, import_run_id: int | None = None) -> None:
    """Write the batch's items linked into threads, adopt earlier orphans, record the authors' activities.

    Items are written parents-first (by depth within the batch), so every reply knows its parent's id and
    thread root when it is inserted; only the batch's thread roots need a second write (root = own id).
    """
    # (network, native id) -> (item id, thread root id), for parents in the database and then in the batch
    linked = _stored_parents(workspace_id, items)
    now = timezone.now()
    new_roots: list[int] = []
    for level in _by_depth(items):
        rows = []
        for item in level:
            parent = linked.get((item.network, item.parent_native_id)) if item.parent_native_id else None
            rows.append(
                (
                    workspace_id,
                    item.channel_id,
                    item.network,
                    item.native_id,
                    item.kind,
                    item.direction,
                    item.author_id,
                    item.person_id,
                    parent[0] if parent else None,
                    item.parent_native_id,
                    parent[1] if parent else None,
                    item.created_at,
                    now,
                    item.text,
                    item.language,
                    item.likes,
                    item.reposts,
                    item.replies,
                    item.views,
                    item.url,
                    item.raw,
                    import_run_id,
                )
            )
        ids = insert_rows(Item, ITEM_COLUMNS, rows)
        for item, row, item_id in zip(level, rows, ids, strict=True):
            item.item_id = item_id
            root = row[10]
            if root is None:
                root = item_id
                new_roots.append(item_id)
            linked[(item.network, item.native_id)] = (item_id, root)
    for chunk in chunked(new_roots, in_chunk_size()):
        Item.objects.filter(pk__in=chunk).update(thread_root=F("pk"))
    _adopt_waiting_children(workspace_id, items, linked)
    _record_activities(workspace_id, items)


def _by_depth(items: list[IncomingItem]) -> list[list[IncomingItem]]:
    """The batch in levels: items whose parent is outside the batch first, then their replies, and so on."""
    in_batch = {(i.network, i.native_id): i for i in items}
    depth: dict[tuple[str, str], int] = {}

    def depth_of(item: IncomingItem) -> int:
        chain: list[tuple[str, str]] = []
        key = (item.network, item.native_id)
        current: IncomingItem | None = item
        while current is not None and key not in depth and key not in chain:
            chain.append(key)
            parent_key = (current.network, current.parent_native_id)
            current = in_batch.get(parent_key) if current.parent_native_id else None
            key = parent_key
        base = depth.get(key, -1) if current is not None else -1
        for offset, step in enumerate(reversed(chain), start=1):
            depth[step] = base + offset
        return depth[(item.network, item.native_id)]

    levels: dict[int, list[IncomingItem]] = defaultdict(list)
    for item in items:
        levels[depth_of(item)].append(item)
    return [levels[d] for d in sorted(levels)]


def _stored_parents(workspace_id: int, items: list[IncomingItem]) -> dict[tuple[str, str], tuple[int, int]]:
    """(network, native id) -> (item id, thread root id) for parents already in the database."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.parent_native_id:
            wanted[item.network].add(item.parent_native_id)
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for network, natives in wanted.items():
        for chunk in chunked(natives, in_chunk_size()):
            rows = Item.objects.filter(workspace_id=workspace_id, network=network, native_id__in=chunk)
            for native_id, pk, root in rows.values_list("native_id", "pk", "thread_root_id"):
                found[(network, native_id)] = (pk, root or pk)
    return found


def _adopt_waiting_children(
    workspace_id: int, items: list[IncomingItem], linked: dict[tuple[str, str], tuple[int, int]]
) -> None:
    """Children stored before their parent were roots of their own subthreads; hang them under it now."""
    by_network: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_network[item.network].append(item.native_id)
    adopt: list[tuple[int, int]] = []
    new_root: dict[int, int] = {}  # old subthread root (the waiting child) -> the root it now hangs under
    for network, natives in by_network.items():
        for chunk in chunked(natives, in_chunk_size()):
            waiting = Item.objects.filter(
                workspace_id=workspace_id, network=network, parent_native_id__in=chunk, parent__isnull=True
            ).values_list("pk", "parent_native_id")
            for child_id, parent_native in waiting:
                parent_id, root_id = linked[(network, parent_native)]
                if parent_id == child_id or root_id == child_id:
                    continue  # a reply cycle in the input: leave it a root rather than loop
                adopt.append((parent_id, child_id))
                new_root[child_id] = root_id

    def final_root(root_id: int) -> int:
        # A parent's root may itself be a waiting child adopted in this same pass: follow it to the top.
        seen = {root_id}
        while root_id in new_root and new_root[root_id] not in seen:
            root_id = new_root[root_id]
            seen.add(root_id)
        return root_id

    reroot = [(final_root(root_id), workspace_id, child_id) for child_id, root_id in new_root.items()]
    update_rows(Item, set_columns=["parent_id"], where_columns=["id"], rows=adopt)
    update_rows(
        Item, set_columns=["thread_root_id"], where_columns=["workspace_id", "thread_root_id"], rows=reroot
    )


def _record_activities(workspace_id: int, items: list[IncomingItem]) -> None:
    insert_rows(
        Activity,
        ACTIVITY_COLUMNS,
        [
            (
                workspace_id,
                item.person_id,
                ACTIVITY_FOR_KIND.get(item.kind, "posted"),
                item.created_at,
                item.network,
                item.item_id,
                {},
                f"item:{item.network}:{item.native_id}",
            )
            for item in items
            if item.person_id is not None
        ],
        returning_ids=False,
    )
    spans: dict[int, tuple[datetime, datetime]] = {}
    for item in items:
        if item.person_id is not None:
            first, last = spans.get(item.person_id, (item.created_at, item.created_at))
            spans[item.person_id] = (min(first, item.created_at), max(last, item.created_at))
    widen_time_span(Person, first="first_seen_at", last="last_seen_at", spans=spans)
