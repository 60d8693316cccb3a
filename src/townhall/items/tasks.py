"""Jobs of the items domain: imports started from the UI or API run here."""

from __future__ import annotations

import logging
from pathlib import Path

from huey.contrib.djhuey import db_task

from townhall.core.errors import UnusableInput
from townhall.items.models import ImportRun, ImportStatus

log = logging.getLogger(__name__)


@db_task(retries=0)
def run_import(run_id: int) -> None:
    """Import an uploaded file; a finished run is left alone, so a redelivered job is harmless."""
    from townhall.items.services import do_import_file

    run = ImportRun.objects.select_related("workspace").filter(pk=run_id).first()
    if run is None or run.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return
    try:
        do_import_file(workspace=run.workspace, path=Path(run.upload), fmt=run.format, run=run)
    except UnusableInput as exc:
        log.warning("import %s rejected: %s", run_id, exc.message)
