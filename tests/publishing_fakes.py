"""A recording fake of the connector interface for publishing tests: it keeps what it was sent, by key.

It behaves like a network the worker cannot trust: `timeouts` makes chosen sends reach the network and then
time out (the post is there, the answer is lost), `refusals` makes it answer with a 4xx, and `lookup` finds a
post by its idempotency key the way a real network's lookup would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from townhall.connectors.base import Capabilities, ChannelConfig, Connector, Outgoing, Published
from townhall.connectors.http import ConnectorError


class FakeNetwork:
    """The network's side: every post it holds, and how many times each key was posted."""

    def __init__(self) -> None:
        self.posts: dict[str, dict[str, Any]] = {}
        self.sent: Counter[str] = Counter()
        self.timeouts: set[str] = set()  # keys whose next send lands but whose answer is lost
        self.refusals: dict[str, str] = {}  # key -> the network's error message
        self.lookups: list[str] = []
        self.closed = 0
        self.can_look_up = True
        self.while_sending: Callable[[], None] | None = None  # runs after a post lands, before the answer

    def connector(self, channel: Any) -> RecordingConnector:
        config = ChannelConfig(network=channel.network, handle=channel.handle)
        return RecordingConnector(config, network=self)

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts.values()]


class RecordingConnector(Connector):
    network = "fake"
    label = "Fake network"
    capabilities = Capabilities(publish=True, reply=True, media=True)

    def __init__(self, config: ChannelConfig, *, network: FakeNetwork) -> None:
        super().__init__(config)
        self.fake = network

    def publish(self, post: Outgoing) -> Published:
        key = post.idempotency_key
        if key in self.fake.refusals:
            raise ConnectorError(self.fake.refusals[key], status=422)
        self.fake.sent[key] += 1
        native_id = f"{self.config.network}-{len(self.fake.posts) + 1}"
        self.fake.posts[key] = {"native_id": native_id, "text": post.text, "reply_to": post.reply_to}
        if self.fake.while_sending is not None:
            self.fake.while_sending()
        if key in self.fake.timeouts:
            self.fake.timeouts.discard(key)
            raise ConnectorError("ReadTimeout on POST /statuses (gave up after 3 tries)", retryable=True)
        return Published(native_id=native_id, url=f"https://{self.config.network}.example/{native_id}")

    def lookup(self, post: Outgoing) -> Published | None:
        if not self.fake.can_look_up:
            raise NotImplementedError("the fake network cannot look posts up")
        self.fake.lookups.append(post.idempotency_key)
        found = self.fake.posts.get(post.idempotency_key)
        if found is None:
            return None
        return Published(
            native_id=found["native_id"], url=f"https://{self.config.network}.example/{found['native_id']}"
        )

    def close(self) -> None:
        self.fake.closed += 1
        super().close()
