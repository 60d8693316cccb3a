"""Understanding: which path a channel uses, corrections, workspace adapters, and re-running enrichment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from townhall.connectors.models import Channel
from townhall.core.errors import Conflict, Invalid, NotFound
from townhall.enrich import engine
from townhall.enrich.adapter import Adapter, train_adapter
from townhall.enrich.models import Correction, Enrichment, WorkspaceAdapter
from townhall.items.models import Item
from townhall.workspaces.models import Workspace

CHANNEL_SETTING = "understanding_path"
# Correctable fields -> the model task they retrain and whether it is multi-label.
CORRECTABLE = {"sentiment": ("sentiment", False), "intent": ("care_intents", True)}


def path_for_channels(workspace_id: int, channel_ids: Iterable[int | None]) -> dict[int | None, str]:
    """The path each channel's items take: its setting, else accurate for our own accounts (the inbox)
    and fast for sources we only listen to."""
    wanted = [c for c in set(channel_ids) if c is not None]
    forced = settings.UNDERSTANDING_PATH
    if forced in engine.PATHS:
        return dict.fromkeys([None, *wanted], forced)
    paths: dict[int | None, str] = {None: engine.FAST}
    rows = Channel.objects.filter(workspace_id=workspace_id, pk__in=wanted)
    for pk, is_ours, channel_settings in rows.values_list("pk", "is_ours", "settings"):
        chosen = (channel_settings or {}).get(CHANNEL_SETTING)
        paths[pk] = chosen if chosen in engine.PATHS else (engine.ACCURATE if is_ours else engine.FAST)
    return paths


_adapter_cache: dict[tuple[int, str], tuple[Any, Adapter]] = {}


def adapters_for(workspace_id: int) -> dict[str, Adapter]:
    """The workspace's trained adapters, decoded once per training."""
    found: dict[str, Adapter] = {}
    for row in WorkspaceAdapter.objects.filter(workspace_id=workspace_id).only(
        "task", "trained_at", "weights"
    ):
        key = (workspace_id, row.task)
        cached = _adapter_cache.get(key)
        if cached is None or cached[0] != row.trained_at:
            cached = (row.trained_at, Adapter.from_bytes(bytes(row.weights)))
            _adapter_cache[key] = cached
        found[row.task] = cached[1]
    return found


def access_enrichment(*, workspace: Workspace, item_id: int) -> Enrichment:
    row = Enrichment.objects.filter(workspace=workspace, item_id=item_id).first()
    if row is None:
        raise NotFound(f"item {item_id} has not been understood yet")
    return row


def check_correction(*, field: str, labels: list[str]) -> None:
    if field not in CORRECTABLE:
        raise Invalid(f"field must be one of {', '.join(CORRECTABLE)}", field="field")
    allowed = engine.SENTIMENTS if field == "sentiment" else engine.CARE_INTENTS
    if not labels:
        raise Invalid("give at least one label", field="labels")
    if field == "sentiment" and len(labels) != 1:
        raise Invalid("sentiment takes exactly one label", field="labels")
    unknown = [label for label in labels if label not in allowed]
    if unknown:
        raise Invalid(
            f"unknown {field} label(s) {', '.join(unknown)}; choose from {', '.join(allowed)}", field="labels"
        )


def do_correct(*, item: Item, field: str, labels: list[str], actor: Any = None) -> Correction:
    """Relabel an item: the item shows the agent's label from now on, and it becomes a training example."""
    check_correction(field=field, labels=labels)
    labels = list(dict.fromkeys(labels))
    with transaction.atomic():
        enrichment = Enrichment.objects.select_for_update().filter(item=item).first()
        if enrichment is None:  # not read yet: the agent's label is the first reading
            enrichment = Enrichment.objects.create(
                item=item, workspace_id=item.workspace_id, path=engine.FAST
            )
        previous: list[str] = []
        if enrichment is not None:
            if field == "sentiment":
                previous = [enrichment.sentiment]
                enrichment.sentiment, enrichment.sentiment_source = labels[0], "correction"
                enrichment.sentiment_confidence = 1.0
                enrichment.sentiment_score = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}[labels[0]]
            else:
                previous = [i["label"] for i in enrichment.intents]
                enrichment.intents = [{"label": label, "p": 1.0} for label in labels]
                enrichment.primary_intent, enrichment.intent_source = labels[0], "correction"
            enrichment.save()
        correction, _ = Correction.objects.update_or_create(
            item=item,
            field=field,
            defaults={
                "workspace_id": item.workspace_id,
                "labels": labels,
                "previous": previous,
                "text": item.text,
                "created_by": actor if getattr(actor, "is_authenticated", False) else None,
            },
        )
    return correction


def do_retrain(*, workspace: Workspace) -> dict[str, int]:
    """Fit the workspace's adapters to all its corrections; returns examples used per task."""
    used: dict[str, int] = {}
    for field, (task, multilabel) in CORRECTABLE.items():
        corrections = list(
            Correction.objects.filter(workspace=workspace, field=field).values_list("text", "labels")
        )
        if not corrections:
            WorkspaceAdapter.objects.filter(workspace=workspace, task=task).delete()
            continue
        texts = [text for text, _ in corrections]
        paths = [p for p in engine.PATHS if engine.available(p)]
        if not paths:
            raise Conflict("the understanding models are not installed; nothing to retrain")
        labels = engine.labels_of(paths[0], task)
        targets = np.zeros((len(texts), len(labels)))
        for row, (_, chosen) in enumerate(corrections):
            for label in chosen:
                targets[row, labels.index(label)] = 1.0
        # One adapter serves both paths: it learns from each path's reading of the same examples.
        base = np.vstack(
            [_in_order(engine.probabilities(texts, path=p, task=task), p, task, labels) for p in paths]
        )
        adapter = train_adapter(
            texts * len(paths), np.vstack([targets] * len(paths)), base, labels=labels, multilabel=multilabel
        )
        WorkspaceAdapter.objects.update_or_create(
            workspace=workspace, task=task, defaults={"weights": adapter.to_bytes(), "examples": len(texts)}
        )
        used[task] = len(texts)
    return used


def _in_order(p: np.ndarray, path: str, task: str, labels: list[str]) -> np.ndarray:
    order = [engine.labels_of(path, task).index(label) for label in labels]
    return p[:, order]


def do_reenrich(*, workspace: Workspace, item_ids: list[int]) -> int:
    """Understand stored items again (after a retrain or a model upgrade); agents' corrections stay."""
    from townhall.enrich.stage import MODEL_VERSION

    items = list(
        Item.objects.filter(workspace=workspace, pk__in=item_ids).values_list("pk", "text", "channel_id")
    )
    paths = path_for_channels(workspace.pk, {c for _, _, c in items})
    adapters = adapters_for(workspace.pk)
    updated = 0
    for path in set(paths.values()):
        group = [(pk, text) for pk, text, channel in items if paths.get(channel, engine.FAST) == path]
        results = engine.understand([t for _, t in group], path=path, adapters=adapters)
        for (pk, _), result in zip(group, results, strict=True):
            values = {"path": path, "model_version": MODEL_VERSION, **result.as_dict()}
            existing = Enrichment.objects.filter(item_id=pk).first()
            if existing is not None:
                if existing.sentiment_source == "correction":
                    for key in ("sentiment", "sentiment_score", "sentiment_confidence"):
                        values.pop(key)
                if existing.intent_source == "correction":
                    values.pop("intents")
                    values.pop("primary_intent")
            Enrichment.objects.update_or_create(item_id=pk, defaults={"workspace": workspace, **values})
            updated += 1
    return updated


def do_retrain_stale() -> list[int]:
    """Refit the adapters of every workspace with corrections newer than its adapters; returns their ids."""
    from django.db.models import Max

    latest = Correction.objects.values("workspace_id").annotate(at=Max("created_at"))
    trained = {
        row["workspace_id"]: row["at"]
        for row in WorkspaceAdapter.objects.values("workspace_id").annotate(at=Max("trained_at"))
    }
    refreshed = []
    for row in latest:
        if trained.get(row["workspace_id"]) is None or trained[row["workspace_id"]] < row["at"]:
            do_retrain(workspace=Workspace.objects.get(pk=row["workspace_id"]))
            refreshed.append(row["workspace_id"])
    return refreshed
