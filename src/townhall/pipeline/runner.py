"""The embedded runner: takes a stream of normalised items (and rejected rows) through every stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction

from townhall.core.storage import chunked
from townhall.pipeline import hooks, stages
from townhall.pipeline.records import IncomingItem, RowError

MAX_KEPT_ERRORS = 1000


@dataclass
class IngestStats:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)

    def summary(self) -> dict[str, int]:
        return {"imported": self.imported, "duplicates": self.duplicates, "rejected": self.rejected}


def ingest(
    workspace_id: int,
    records: Iterable[IncomingItem | RowError],
    *,
    batch_size: int = 1000,
    import_run_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestStats:
    """Run every stage over the records, one transaction per batch, so a crash keeps what was committed.

    Order: dedupe -> resolve channels and people -> enrich -> store -> listen -> route. Listening and
    routing run after the store because what they record (mentions, conversations) points at stored items.
    Running the same input twice stores nothing new: every write is keyed by (network, native id).
    """
    stats = IngestStats()
    for batch in chunked(records, batch_size):
        items: list[IncomingItem] = []
        for record in batch:
            if isinstance(record, RowError):
                stats.reject(record)
            else:
                items.append(record)
        if items:
            with transaction.atomic():
                fresh, duplicates = stages.dedupe(workspace_id, items)
                stats.duplicates += duplicates
                if fresh:
                    stages.resolve_channels(workspace_id, fresh)
                    stages.resolve_people(workspace_id, fresh)
                    hooks.run("enrich", workspace_id, fresh)
                    stages.store(workspace_id, fresh, import_run_id=import_run_id)
                    hooks.run("after_store", workspace_id, fresh)
                    hooks.run("listen", workspace_id, fresh)
                    hooks.run("route", workspace_id, fresh)
                stats.imported += len(fresh)
        if progress is not None:
            progress(len(batch))
    return stats
