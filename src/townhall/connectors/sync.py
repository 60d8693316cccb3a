"""Bringing a channel's new items in: page by page, each page's items and cursor committed together."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from townhall.connectors.base import ChannelConfig, Connector, Health
from townhall.connectors.http import ConnectorError, HttpClient
from townhall.connectors.models import Channel, ChannelStatus
from townhall.connectors.registry import open_connector
from townhall.core.errors import Conflict
from townhall.pipeline.runner import ingest

log = logging.getLogger(__name__)
MAX_PAGES = 50


@dataclass
class SyncResult:
    channel: int
    pages: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def config_of(channel: Channel) -> ChannelConfig:
    return ChannelConfig(
        network=channel.network,
        handle=channel.handle,
        native_id=channel.native_id,
        credentials=dict(channel.credentials or {}),  # type: ignore[arg-type]
        settings=dict(channel.settings or {}),
    )


def connector_of(channel: Channel, *, http: HttpClient | None = None) -> Connector:
    try:
        return open_connector(config_of(channel), kind=channel.connector_kind, http=http)
    except LookupError as exc:
        raise Conflict(
            f"channel {channel.pk} ({channel.connector_kind}) has no connector that can read it"
        ) from exc


def do_sync(
    channel: Channel, *, connector: Connector | None = None, max_pages: int = MAX_PAGES
) -> SyncResult:
    """Fetch pages until the network has nothing newer (or `max_pages`); a failure keeps what was committed.

    Each page's items go through the pipeline and the channel's cursor moves past them in the same
    transaction, so a sync killed at any point resumes exactly where the last committed page ended.
    """
    result = SyncResult(channel=channel.pk)
    own = connector is None
    connector = connector or connector_of(channel)
    try:
        while result.pages < max_pages:
            page = connector.fetch(dict(channel.cursor or {}))
            with transaction.atomic():
                stats = ingest(channel.workspace_id, page.items)
                channel.cursor = page.cursor
                channel.last_synced_at = timezone.now()
                channel.save(update_fields=["cursor", "last_synced_at"])
            result.pages += 1
            result.imported += stats.imported
            result.duplicates += stats.duplicates
            result.rejected += stats.rejected
            result.warnings.extend(page.warnings)
            if not page.more:
                break
    except ConnectorError as exc:
        result.error = exc.message
    finally:
        if own:
            connector.close()
    _record_health(channel, result)
    return result


def _record_health(channel: Channel, result: SyncResult) -> None:
    now = timezone.now()
    if result.error:
        channel.failures += 1
        channel.last_error = result.error[:2000]
        if channel.failures >= 3 and channel.status == ChannelStatus.ACTIVE:
            channel.status = ChannelStatus.ERROR
        log.warning("sync of channel %s failed (%d in a row): %s", channel.pk, channel.failures, result.error)
    else:
        channel.failures = 0
        channel.last_error = "; ".join(result.warnings)[:2000]
        channel.last_success_at = now
        if channel.status == ChannelStatus.ERROR:
            channel.status = ChannelStatus.ACTIVE
    channel.last_synced_at = now
    channel.save(update_fields=["failures", "last_error", "last_success_at", "status", "last_synced_at"])


def do_check(channel: Channel, *, connector: Connector | None = None) -> Health:
    """Test the channel's connection and credentials."""
    own = connector is None
    connector = connector or connector_of(channel)
    try:
        health = connector.check()
        if health.limits and any(channel.settings.get(k) != v for k, v in health.limits.items()):
            channel.settings = {**channel.settings, **health.limits}
            channel.save(update_fields=["settings"])
        return health
    except ConnectorError as exc:
        return Health(ok=False, message=exc.message)
    finally:
        if own:
            connector.close()


def channels_to_sync() -> list[Channel]:
    """Active channels whose connector reads: what the periodic job walks through."""
    from townhall.connectors.registry import connector_for

    ready = []
    for channel in Channel.objects.filter(status__in=[ChannelStatus.ACTIVE, ChannelStatus.ERROR]):
        cls = connector_for(channel.connector_kind)
        if cls is not None and cls.capabilities.read and not channel.settings.get("paused"):
            ready.append(channel)
    return ready
