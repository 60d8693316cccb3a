"""Jobs of the webhooks: send one call."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=0)
def send(call_id: int) -> None:
    """Send one webhook call; a call already sent is left alone, so a redelivered job is harmless."""
    from townhall.webhooks.services import send_call

    send_call(call_id)
