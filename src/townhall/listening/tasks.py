"""Jobs of listening: backfilling a new or edited query, and bringing the series and alerts up to date."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=2, retry_delay=30)
def backfill(query_id: int, version: int) -> None:
    """Match one query version against stored history (resumes from its cursor when run again)."""
    from townhall.listening.services import do_backfill

    do_backfill(query_id=query_id, version=version)


@db_task(retries=0)
def roll_up() -> None:
    """Take every mention stored since the watermark into the hourly and daily series."""
    from townhall.listening.rollups import run

    run()
