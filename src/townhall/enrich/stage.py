"""The pipeline's enrich stage: understand every new item on its channel's path, then keep the result."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.utils import timezone

from townhall.core.storage import insert_rows
from townhall.enrich import engine
from townhall.enrich.models import Enrichment
from townhall.enrich.services import adapters_for, path_for_channels
from townhall.pipeline.records import IncomingItem

COLUMNS = (
    "item_id", "workspace_id", "path", "language", "language_confidence", "sentiment", "sentiment_score",
    "sentiment_confidence", "intents", "primary_intent", "spam_probability", "toxicity",
    "toxicity_probability", "entities", "sentiment_source", "intent_source", "model_version", "enriched_at",
)  # fmt: skip
MODEL_VERSION = "1"


def enrich_batch(workspace_id: int, items: list[IncomingItem]) -> None:
    """Fill `item.enrichment` (and the item's language when the source did not say) for each item."""
    if settings.UNDERSTANDING_PATH == "off" or not engine.available(engine.FAST):
        return  # without models, items still go in; `townhall enrich run` reads them later
    paths = path_for_channels(workspace_id, {i.channel_id for i in items})
    groups: dict[str, list[IncomingItem]] = defaultdict(list)
    for item in items:
        groups[paths.get(item.channel_id, engine.FAST)].append(item)
    adapters = adapters_for(workspace_id)
    for path, group in groups.items():
        results = engine.understand([i.text for i in group], path=path, adapters=adapters)
        for item, result in zip(group, results, strict=True):
            item.enrichment = {"path": path, **result.as_dict()}
            if not item.language and result.language != "unknown":
                item.language = result.language


def persist_batch(workspace_id: int, items: list[IncomingItem]) -> None:
    now = timezone.now()
    rows = []
    for item in items:
        e = item.enrichment
        if not e or item.item_id is None:
            continue
        rows.append(
            (
                item.item_id, workspace_id, e["path"], e["language"], e["language_confidence"],
                e["sentiment"], e["sentiment_score"], e["sentiment_confidence"], e["intents"],
                e["primary_intent"], e["spam_probability"], e["toxicity"], e["toxicity_probability"],
                e["entities"], "model", "model", MODEL_VERSION, now,
            )
        )  # fmt: skip
    insert_rows(Enrichment, COLUMNS, rows, returning_ids=False)
