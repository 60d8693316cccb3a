"""The connector interface: what every network (built-in or third-party) implements and declares it can do."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from townhall.connectors.http import HttpClient
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

MODERATION_ACTIONS = ("hide", "unhide", "delete", "mute", "block", "ban", "kick", "report", "approve", "spam")


@dataclass(frozen=True)
class Capabilities:
    """What a connector can do on its network; the UI and the inbox only offer what is declared here."""

    read: bool = True
    stream: bool = False
    publish: bool = False
    reply: bool = False
    media: bool = False
    moderate: frozenset[str] = frozenset()
    metrics: bool = False
    profile: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stream": self.stream,
            "publish": self.publish,
            "reply": self.reply,
            "media": self.media,
            "moderate": sorted(self.moderate),
            "metrics": self.metrics,
            "profile": self.profile,
        }


@dataclass(frozen=True)
class CredentialField:
    """One input of the connect form (and of `townhall channels add --credential name=value`)."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""


@dataclass
class ChannelConfig:
    """What a connector is given about its channel: never the database row, so connectors stay plain code."""

    network: str
    handle: str
    native_id: str = ""
    credentials: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class FetchPage:
    """Items of one page and the cursor that follows them; the caller stores both in one transaction."""

    items: Sequence[IncomingItem | RowError]
    cursor: dict[str, Any]
    more: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Outgoing:
    """A post or a reply to send."""

    text: str
    reply_to: str = ""  # native id of the item answered
    media: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # The same key on every attempt to send this one post: a network that understands it keeps only the
    # first, and `Connector.lookup` finds the post it named after an attempt whose outcome is unknown.
    idempotency_key: str = ""


@dataclass
class Published:
    native_id: str
    url: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Health:
    ok: bool
    message: str
    account: str = ""
    # What the server says about itself that composing needs (a Mastodon instance's max_characters);
    # kept in the channel's settings by every check.
    limits: dict[str, int] = field(default_factory=dict)


class Connector:
    """Base of every connector. Subclasses set the class attributes and override what they declare."""

    network: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()

    def __init__(self, config: ChannelConfig, *, http: HttpClient | None = None) -> None:
        self.config = config
        self.http = http or HttpClient()

    def check(self) -> Health:
        """Test the connection and the credentials (the connect form's "Test" button)."""
        raise NotImplementedError

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        """The next page of items after `cursor` (an empty dict the first time)."""
        raise NotImplementedError

    def stream(self, cursor: dict[str, Any]) -> Iterator[FetchPage]:
        raise NotImplementedError(f"{self.network} offers no stream")

    def publish(self, post: Outgoing) -> Published:
        raise NotImplementedError(f"{self.network} cannot publish through Townhall")

    def lookup(self, post: Outgoing) -> Published | None:
        """The post an earlier attempt to send `post` (same idempotency key) left on the network, or None.

        Called before a retry when an attempt timed out or its worker died, so nothing is posted twice. A
        connector that cannot tell raises NotImplementedError, and the post waits for a person to decide.
        """
        raise NotImplementedError(f"{self.network} cannot look up what an earlier attempt published")

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        """Carry out `action` on the item or account `target` (a native id)."""
        raise NotImplementedError(f"{self.network} cannot {action} through Townhall")

    def metrics(self, native_ids: list[str]) -> dict[str, dict[str, int]]:
        raise NotImplementedError(f"{self.network} offers no metrics")

    def profile(self, native_id: str) -> IncomingAuthor:
        raise NotImplementedError(f"{self.network} offers no profiles")

    def close(self) -> None:
        self.http.close()
