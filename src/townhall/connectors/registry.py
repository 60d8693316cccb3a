"""Which connector serves which network: built-ins and third-party packages, one entry point group."""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from townhall.connectors.base import ChannelConfig, Connector
from townhall.connectors.http import HttpClient, budget_for

log = logging.getLogger(__name__)
GROUP = "townhall.connectors"

# Built-ins are listed here as well as in pyproject's entry points, so a checkout run without installing
# still finds them; an installed package of the same name replaces a built-in.
BUILT_IN = {
    "rss": "townhall.connectors.rss:RssConnector",
    "file": "townhall.connectors.files:FileConnector",
    "offline": "townhall.connectors.files:OfflineConnector",
    "matrix": "townhall.connectors.matrix:MatrixConnector",
    "wordpress": "townhall.connectors.wordpress:WordPressConnector",
    "bluesky": "townhall.connectors.bluesky:BlueskyConnector",
    "mastodon": "townhall.connectors.mastodon:MastodonConnector",
    "reddit": "townhall.connectors.reddit:RedditConnector",
}


def _load(target: str) -> type[Connector]:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    found = getattr(module, attr)
    if not (isinstance(found, type) and issubclass(found, Connector)):
        raise TypeError(f"{target} is not a Connector")
    return found


@lru_cache(maxsize=1)
def connectors() -> dict[str, type[Connector]]:
    """Every connector class by the network (or source kind) it serves."""
    found: dict[str, type[Connector]] = {}
    targets = dict(BUILT_IN)
    for entry in entry_points(group=GROUP):
        targets[entry.name] = entry.value
    for name, target in sorted(targets.items()):
        try:
            found[name] = _load(target)
        except Exception as exc:  # a broken plugin must not take the product down
            log.error("connector %s (%s) could not be loaded: %s", name, target, exc)
    return found


def connector_for(name: str) -> type[Connector] | None:
    return connectors().get(name)


def open_connector(
    config: ChannelConfig, *, kind: str | None = None, http: HttpClient | None = None
) -> Connector:
    """A connector instance for the channel, with the account's shared rate budget."""
    cls = connector_for(kind or config.network)
    if cls is None:
        raise LookupError(f"no connector for {kind or config.network}")
    http = http or HttpClient(budget=budget_for(f"{config.network}:{config.handle}"))
    return cls(config, http=http)
