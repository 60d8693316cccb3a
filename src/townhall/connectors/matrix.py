"""Matrix: the messages of the rooms the brand's account joined, replies into them, and room moderation.

Talks to the client-server API directly through HttpClient (no matrix-nio): the connector needs about a dozen
plain JSON endpoints, and calling them ourselves keeps every request under the shared retry and rate policy.

Reading pages each joined room forward with `/rooms/{id}/messages?dir=f` from a per-room token kept in the
cursor. Unlike `/sync`, whose timeline is cut (`limited`) when a room got busy, forward pagination hands over
every event exactly once in order, so a cursor saved after a page is an exact "delivered up to here".
A room seen for the first time is read from its beginning.

Native ids are "<room_id>/<event_id>", so a reply or a moderation action knows its room from the id alone.
Moderation: delete = redact; kick and ban; report = an event report (or a user report for a user id) to the
homeserver's admins; mute = the member's power level set below what sending messages needs (what
Element's "mute" does: room-wide and visible, unlike ignoring); block = the account's ignore list (hides
the user from the brand only). A user target is "<room_id>/@user:server", "<room_id>/$event" (that
event's sender) or a bare "@user:server" (every joined room).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from townhall.connectors.base import (
    Capabilities,
    Connector,
    CredentialField,
    FetchPage,
    Health,
    Outgoing,
    Published,
)
from townhall.connectors.http import ConnectorError
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

API = "/_matrix/client/v3"
PAGE_SIZE = 100
# Only messages are items; lazy-loaded members bring the senders' display names with each page, no extra call.
MESSAGE_FILTER = json.dumps({"types": ["m.room.message"], "lazy_load_members": True}, separators=(",", ":"))
# Clients before Matrix 1.13 quote the replied-to message at the top of a reply's body.
REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n")
# Where a published message carries its post's idempotency key: Matrix lets content hold fields of one's own
# under a namespaced name, and clients ignore them.
KEY_FIELD = "org.townhall.idempotency_key"
LOOKUP_DEPTH = 200  # how many of the channel's latest messages in a room `lookup` reads


def split_native_id(native_id: str) -> tuple[str, str]:
    """("!room:server", "$event" or "@user:server") from "<room_id>/<id>"; room "" for a bare id."""
    room_id, sep, rest = native_id.partition("/")
    if not sep:
        return "", native_id
    return room_id, rest


def transaction_id(idempotency_key: str) -> str:
    """The transaction id of every attempt to send one post: a digest, so any key is a safe path segment."""
    return "townhall-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def matrix_to(room_id: str, event_id: str = "") -> str:
    path = quote(room_id, safe="!:")
    if event_id:
        path += "/" + quote(event_id, safe="$")
    return f"https://matrix.to/#/{path}"


def message_text(content: dict[str, Any]) -> str:
    body = str(content.get("body") or "")
    if (content.get("m.relates_to") or {}).get("m.in_reply_to"):
        body = REPLY_FALLBACK.sub("", body, count=1)
    return body


class MatrixConnector(Connector):
    network = "matrix"
    label = "Matrix (rooms of a homeserver)"
    capabilities = Capabilities(
        read=True,
        publish=True,
        reply=True,
        moderate=frozenset({"delete", "kick", "ban", "report", "mute", "block"}),
        profile=True,
    )
    credential_fields = (
        CredentialField("homeserver", "Homeserver URL", help="https://matrix.example.org"),
        CredentialField("access_token", "Access token", secret=True,
                        help="of the brand's account (Element: Settings → Help & About → Access token)"),
        CredentialField("user_id", "User id", required=False,
                        help="@brand:example.org (read from the token if empty)"),
    )  # fmt: skip

    _own_user: str = ""
    _direct_rooms: set[str] | None = None

    @property
    def homeserver(self) -> str:
        url = str(self.config.credentials.get("homeserver") or self.config.settings.get("homeserver") or "")
        if not url.startswith(("http://", "https://")):
            raise ConnectorError(f"the homeserver address {url!r} is not an http(s) URL")
        return url.rstrip("/")

    def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        token = str(self.config.credentials.get("access_token") or "")
        if not token:
            raise ConnectorError("the channel has no Matrix access token")
        try:
            return self.http.json(
                method,
                f"{self.homeserver}{API}{path}",
                json=body,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except ConnectorError as exc:
            # Matrix answers 401 for a bad token but 403 for "not allowed in this room" (no power, not
            # joined): the latter is about the action, and the channel's credentials are fine.
            if exc.status == 403:
                raise ConnectorError(
                    f"the homeserver does not let {self.config.handle or 'this account'} do {method} {path}",
                    status=403,
                ) from exc
            raise

    def own_user(self) -> str:
        if not self._own_user:
            self._own_user = str(self.config.credentials.get("user_id") or "") or self._whoami()
        return self._own_user

    def _whoami(self) -> str:
        return str(self._call("GET", "/account/whoami")["user_id"])

    def direct_rooms(self) -> set[str]:
        """The 1:1 rooms, as the account's m.direct data lists them (no data yet means none)."""
        if self._direct_rooms is None:
            try:
                data = self._call("GET", f"/user/{q(self.own_user())}/account_data/m.direct")
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                data = {}
            self._direct_rooms = {
                room for rooms in data.values() if isinstance(rooms, list) for room in rooms
            }
        return self._direct_rooms

    def joined_rooms(self) -> list[str]:
        joined = self._call("GET", "/joined_rooms").get("joined_rooms", [])
        wanted = self.config.settings.get("rooms")
        if wanted:
            joined = [room for room in joined if room in set(wanted)]
        return sorted(joined)

    def check(self) -> Health:
        try:
            user = self._whoami()
            rooms = self._call("GET", "/joined_rooms").get("joined_rooms", [])
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)
        expected = self.config.credentials.get("user_id")
        if expected and expected != user:
            return Health(ok=False, message=f"the token belongs to {user}, not {expected}", account=user)
        return Health(ok=True, message=f"{user} on {self.homeserver}, in {len(rooms)} rooms", account=user)

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        """One page forward in every joined room; `more` while any room still moved."""
        tokens: dict[str, str] = dict(cursor.get("rooms") or {})
        items: list[IncomingItem | RowError] = []
        warnings: list[str] = []
        more = False
        for room_id in self.joined_rooms():
            params: dict[str, Any] = {"dir": "f", "limit": PAGE_SIZE, "filter": MESSAGE_FILTER}
            if tokens.get(room_id):
                params["from"] = tokens[room_id]
            try:
                page = self._call("GET", f"/rooms/{q(room_id)}/messages", params=params)
            except ConnectorError as exc:
                if exc.status != 403:
                    raise
                # One room that hides its history from us must not stop the others; its token stays put.
                warnings.append(f"{room_id}: {exc.message}")
                continue
            names = {
                event.get("state_key"): (event.get("content") or {}).get("displayname") or ""
                for event in page.get("state") or []
                if event.get("type") == "m.room.member"
            }
            for event in page.get("chunk") or []:
                item = self._item(room_id, event, names)
                if item is not None:
                    items.append(item)
            # No `end` means the room has nothing after `from` yet: keep the token we have. A short page
            # is the room's present; an empty one that still moved had only events we may not see.
            end = page.get("end")
            if end and end != tokens.get(room_id):
                tokens[room_id] = end
                chunk = page.get("chunk") or []
                more = more or len(chunk) >= PAGE_SIZE or not chunk
        return FetchPage(items=items, cursor={"rooms": tokens}, more=more, warnings=warnings)

    def _item(self, room_id: str, event: dict[str, Any], names: dict[str, str]) -> IncomingItem | None:
        content = event.get("content") or {}
        relation = content.get("m.relates_to") or {}
        # Redacted messages have lost their body; edits restate a message that is already in.
        if "body" not in content or relation.get("rel_type") == "m.replace":
            return None
        sender = str(event.get("sender") or "")
        event_id = str(event["event_id"])
        parent = ""
        if relation.get("rel_type") == "m.thread" and relation.get("event_id"):
            parent = relation["event_id"]
            if not relation.get("is_falling_back") and (relation.get("m.in_reply_to") or {}).get("event_id"):
                parent = relation["m.in_reply_to"]["event_id"]
        elif (relation.get("m.in_reply_to") or {}).get("event_id"):
            parent = relation["m.in_reply_to"]["event_id"]
        raw: dict[str, Any] = {
            "room_id": room_id,
            "event_id": event_id,
            "msgtype": content.get("msgtype", ""),
        }
        if relation.get("rel_type") == "m.thread":
            raw["thread_root"] = relation.get("event_id", "")
        mentions = (content.get("m.mentions") or {}).get("user_ids")
        if mentions:
            raw["mentions"] = list(mentions)[:20]
        if content.get("url"):
            raw["media"] = content["url"]
        own = sender == self.own_user()
        return IncomingItem(
            network="matrix",
            native_id=f"{room_id}/{event_id}",
            created_at=datetime.fromtimestamp(int(event.get("origin_server_ts") or 0) / 1000, UTC),
            text=message_text(content)[:20_000],
            kind="dm" if room_id in self.direct_rooms() else "chat_message",
            direction="outbound" if own else "inbound",
            author=IncomingAuthor(
                native_id=sender,
                handle=sender,
                display_name=names.get(sender) or "",
                profile_url=matrix_to(sender),
            ),
            channel_handle=self.config.handle,
            parent_native_id=f"{room_id}/{parent}" if parent else "",
            url=matrix_to(room_id, event_id),
            raw=raw,
        )

    def publish(self, post: Outgoing) -> Published:
        """A message in a room; a reply goes to the answered event's room and thread, mentions its sender.

        With an idempotency key, the key rides in the message's content (for `lookup`) and names the
        transaction, so the homeserver keeps one message for every PUT of the same post.
        """
        room_id = self._room_of(post)
        content: dict[str, Any] = {"msgtype": "m.text", "body": post.text}
        if post.reply_to:
            event_id = split_native_id(post.reply_to)[1]
            parent = self._call("GET", f"/rooms/{q(room_id)}/event/{q(event_id)}")
            relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
            parent_relation = (parent.get("content") or {}).get("m.relates_to") or {}
            if parent_relation.get("rel_type") == "m.thread":
                # Answering inside a thread keeps the answer in it rather than in the room's main timeline.
                relation.update(
                    rel_type="m.thread", event_id=parent_relation["event_id"], is_falling_back=False
                )
            content["m.relates_to"] = relation
            if parent.get("sender") and parent["sender"] != self.own_user():
                content["m.mentions"] = {"user_ids": [parent["sender"]]}
        if post.idempotency_key:
            content[KEY_FIELD] = post.idempotency_key
            txn = transaction_id(post.idempotency_key)
        else:
            # The same transaction id on a retried PUT makes the homeserver send the message only once.
            txn = str(post.extra.get("txn_id") or uuid.uuid4().hex)
        sent = self._call("PUT", f"/rooms/{q(room_id)}/send/m.room.message/{q(txn)}", body=content)
        return self._published(room_id, str(sent["event_id"]))

    def lookup(self, post: Outgoing) -> Published | None:
        """The message an earlier attempt to send `post` left in its room, or None.

        A PUT repeated with the same transaction id returns the first event only on the same access token
        and only while the homeserver remembers the transaction (Synapse: about half an hour), and it sends
        the message when there was none; so instead this reads the room backwards, the channel's own
        messages only, for the one whose content carries the post's idempotency key. Its limits: it reads
        the latest LOOKUP_DEPTH of them, and a redacted message has lost its content, key included.
        """
        if not post.idempotency_key:
            raise NotImplementedError("without an idempotency key, Matrix cannot tell an earlier attempt")
        room_id = self._room_of(post)
        own = self.own_user()
        wanted = json.dumps({"types": ["m.room.message"], "senders": [own]}, separators=(",", ":"))
        params: dict[str, Any] = {"dir": "b", "filter": wanted}
        read = 0
        while read < LOOKUP_DEPTH:
            params["limit"] = min(PAGE_SIZE, LOOKUP_DEPTH - read)
            page = self._call("GET", f"/rooms/{q(room_id)}/messages", params=params)
            chunk = page.get("chunk") or []
            for event in chunk:
                content = event.get("content") or {}
                if event.get("sender") == own and content.get(KEY_FIELD) == post.idempotency_key:
                    return self._published(room_id, str(event["event_id"]))
            read += len(chunk)
            if not chunk or not page.get("end"):
                break
            params["from"] = page["end"]
        return None

    def _room_of(self, post: Outgoing) -> str:
        """The room `post` goes to: the answered message's, else the one it names or the channel's."""
        if post.reply_to:
            room_id, event_id = split_native_id(post.reply_to)
            if not room_id or not event_id.startswith("$"):
                raise ConnectorError(f"{post.reply_to!r} is not a Matrix message id (<room_id>/<event_id>)")
            return room_id
        room_id = str(post.extra.get("room_id") or self.config.settings.get("default_room") or "")
        if room_id:
            return room_id
        rooms = self.joined_rooms()
        if len(rooms) != 1:
            raise ConnectorError("say which room to post in (extra room_id or the channel's default_room)")
        return rooms[0]

    @staticmethod
    def _published(room_id: str, event_id: str) -> Published:
        return Published(
            native_id=f"{room_id}/{event_id}",
            url=matrix_to(room_id, event_id),
            raw={"room_id": room_id, "event_id": event_id},
        )

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        if action not in self.capabilities.moderate:
            raise ConnectorError(f"Matrix cannot {action} through Townhall")
        room_id, ident = split_native_id(target)
        if action == "delete":
            self._require_event(room_id, ident, action)
            body = {"reason": reason} if reason else {}
            self._call("PUT", f"/rooms/{q(room_id)}/redact/{q(ident)}/{uuid.uuid4().hex}", body=body)
        elif action == "report":
            if ident.startswith("$"):
                self._require_event(room_id, ident, action)
                self._call("POST", f"/rooms/{q(room_id)}/report/{q(ident)}", body={"reason": reason})
            else:
                self._call(
                    "POST", f"/users/{q(self._user_of(room_id, ident))}/report", body={"reason": reason}
                )
        elif action == "block":
            self._ignore(self._user_of(room_id, ident))
        else:
            user_id = self._user_of(room_id, ident)
            rooms = [room_id] if room_id else self._rooms_with(user_id, every=action == "ban")
            failed: list[ConnectorError] = []
            for room in rooms:
                try:
                    self._moderate_member(action, room, user_id, reason)
                except ConnectorError as exc:
                    failed.append(exc)
            if failed:
                reasons = "; ".join(exc.message for exc in failed)
                raise ConnectorError(f"could not {action} {user_id}: {reasons}", status=failed[0].status)

    def profile(self, native_id: str) -> IncomingAuthor:
        _, user_id = split_native_id(native_id)
        found = self._call("GET", f"/profile/{q(user_id)}")
        return IncomingAuthor(
            native_id=user_id,
            handle=user_id,
            display_name=str(found.get("displayname") or ""),
            profile_url=matrix_to(user_id),
        )

    @staticmethod
    def _require_event(room_id: str, ident: str, action: str) -> None:
        if not room_id or not ident.startswith("$"):
            raise ConnectorError(
                f"to {action} on Matrix, name a message as <room_id>/<event_id>, not {ident!r}"
            )

    def _user_of(self, room_id: str, ident: str) -> str:
        """The user a target names: itself, or the sender of the event it names."""
        if ident.startswith("@"):
            return ident
        self._require_event(room_id, ident, "act on the author of a message")
        return str(self._call("GET", f"/rooms/{q(room_id)}/event/{q(ident)}")["sender"])

    def _rooms_with(self, user_id: str, *, every: bool) -> list[str]:
        """The joined rooms a bare user id applies to: all of them for a ban (it also bars later joins)."""
        rooms = self.joined_rooms()
        if every:
            return rooms
        return [
            r
            for r in rooms
            if user_id in self._call("GET", f"/rooms/{q(r)}/joined_members").get("joined", {})
        ]

    def _moderate_member(self, action: str, room_id: str, user_id: str, reason: str) -> None:
        if action in ("kick", "ban"):
            body = {"user_id": user_id, **({"reason": reason} if reason else {})}
            self._call("POST", f"/rooms/{q(room_id)}/{action}", body=body)
            return
        levels = self._call("GET", f"/rooms/{q(room_id)}/state/m.room.power_levels/")
        needed = int((levels.get("events") or {}).get("m.room.message", levels.get("events_default", 0)))
        users = dict(levels.get("users") or {})
        if int(users.get(user_id, levels.get("users_default", 0))) < needed:
            return  # already muted
        users[user_id] = needed - 1
        self._call("PUT", f"/rooms/{q(room_id)}/state/m.room.power_levels/", body={**levels, "users": users})

    def _ignore(self, user_id: str) -> None:
        path = f"/user/{q(self.own_user())}/account_data/m.ignored_user_list"
        try:
            current = self._call("GET", path)
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            current = {}
        ignored = dict(current.get("ignored_users") or {})
        if user_id not in ignored:
            ignored[user_id] = {}
            self._call("PUT", path, body={**current, "ignored_users": ignored})


def q(part: str) -> str:
    """One path segment: room ids, event ids and user ids carry '!', '$', '@', ':' and sometimes '/'."""
    return quote(part, safe="")
