"""Jobs of publishing: send what is due now (queued when a post is approved for "now", and every minute)."""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_task

log = logging.getLogger(__name__)


@db_task(retries=0)
def publish_due() -> None:
    """Send every due target; a target already taken by another worker is left to it."""
    from townhall.publishing.publisher import run_due

    counts = run_due()
    if counts:
        log.info("publishing: %s", counts)
