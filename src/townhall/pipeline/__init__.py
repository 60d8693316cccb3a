"""The ingest pipeline: plain functions over batches of items, run in-process or by workers."""

from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError
from townhall.pipeline.runner import IngestStats, ingest

__all__ = ["IncomingAuthor", "IncomingItem", "IngestStats", "RowError", "ingest"]
