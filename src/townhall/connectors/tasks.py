"""Jobs of the connectors domain: syncing one channel, queued by the API, the UI or the periodic job."""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_task, lock_task

from townhall.connectors.models import Channel

log = logging.getLogger(__name__)


@db_task(retries=0)
def sync_channel(channel_id: int) -> None:
    """Bring the channel's new items in; one sync per channel at a time (a second one waits its turn)."""
    from townhall.connectors.sync import do_sync

    with lock_task(f"sync-channel-{channel_id}"):
        channel = Channel.objects.filter(pk=channel_id).first()
        if channel is None:
            return
        result = do_sync(channel)
        log.info("synced channel %s: %s", channel_id, result.as_dict())
