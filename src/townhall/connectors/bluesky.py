"""Bluesky (AT Protocol): mentions, replies and quotes from notifications, posts with facets, and moderation.

HTTP: the atproto SDK's `Client` is used for its typed lexicon models and its session handling, with its
transport swapped for `HttpClientRequest`, a `Request` subclass that sends every XRPC call through the
connector's `HttpClient` (so timeouts, retries, Retry-After and the account's rate budget apply) and turns
XRPC errors into `ConnectorError`s, so no SDK exception leaves this module.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import httpx
from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import AtProtocolError
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request, RequestBase
from atproto_client.utils import facet_detection
from atproto_core.uri import AtUri

from townhall.connectors.base import (
    Capabilities,
    ChannelConfig,
    Connector,
    CredentialField,
    FetchPage,
    Health,
    Outgoing,
    Published,
)
from townhall.connectors.http import AuthError, ConnectorError, HttpClient
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_WEB = "https://bsky.app"
PAGE_SIZE = 50
# Notifications and search results sort by min(indexedAt, createdAt): a post whose client clock runs a little
# behind lands just below the newest one already read. Each walk re-reads this much below its watermark and
# skips what it already delivered, so such posts are still caught.
OVERLAP = timedelta(minutes=10)
BACKFILL = 200  # how many mentions the first sync of a channel brings in
KIND_OF_REASON = {"mention": "mention", "reply": "reply", "quote": "mention"}
SESSION_GONE = frozenset({"ExpiredToken", "InvalidToken"})  # a cached session no longer usable
THREADGATE = "app.bsky.feed.threadgate"
POST = "app.bsky.feed.post"
# Record keys derived from idempotency keys (`record_key`) are TIDs whose time lies in this window, from
# 2023-01-01 UTC on, about 13 months long (2**45 microseconds): a past moment the network existed in, so no
# tool reading the key as a time sees a post from before Bluesky or from the future.
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
TID_EPOCH_MICROS = 1_672_531_200_000_000
TID_SPAN_MICROS = 2**45


class XrpcError(ConnectorError):
    """An XRPC call the server refused, with the lexicon error name (`RecordNotFound`, `InvalidSwap`, ...)."""

    def __init__(self, message: str, *, status: int, error: str) -> None:
        super().__init__(message, status=status, retryable=False)
        self.error = error


class HttpClientRequest(Request):
    """The SDK's transport, sending every XRPC call through the connector's HttpClient."""

    def __init__(self, http: HttpClient) -> None:
        RequestBase.__init__(self)  # not Request.__init__: that would open an httpx client of its own
        self.http = http

    def _new_instance(self) -> Self:
        return type(self)(self.http)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = self.get_headers(kwargs.pop("headers", None))
        response = self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 400:
            error, message = "", response.text[:300]
            try:
                body = response.json()
                error, message = str(body.get("error", "")), str(body.get("message", "") or message)
            except ValueError:
                pass
            nsid = url.rsplit("/xrpc/", 1)[-1].split("?")[0]
            raise XrpcError(
                f"{nsid}: HTTP {response.status_code} {error}: {message}".strip(),
                status=response.status_code,
                error=error,
            )
        return response

    def close(self) -> None:
        """Nothing to close: the HttpClient belongs to the connector."""


# Logged-in sessions by (service, identifier, password digest), shared by the connectors of a process:
# Bluesky allows an account only ~30 logins per 5 minutes and 300 a day, fewer than a busy sync schedule.
_sessions: dict[tuple[str, str, str], str] = {}
_sessions_lock = threading.Lock()


@dataclass
class Listed:
    """One entry of a newest-first listing: when it sorts, its AT URI, and the item it gives (if any)."""

    sort_at: datetime
    uri: str
    item: IncomingItem | None


ListPage = Callable[[str | None], tuple[list[Listed], str | None]]


def parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def next_page_cursor(api_cursor: str | None, page: list[Listed], *, full: bool) -> str | None:
    """The cursor for the page after `page`, safe for entries that share the oldest timestamp.

    Where the server's cursor is just the oldest timestamp (listNotifications), asking for "older than it"
    would drop the entries of that same millisecond that did not fit the page; asking for "older than a
    millisecond later" brings them (and some already seen, which the walk skips). Other cursors
    (time::cid keysets, opaque offsets) are used as they are.
    """
    if api_cursor is None or not page:
        return api_cursor
    try:
        at = parse_time(api_cursor)
    except ValueError:
        return api_cursor
    oldest = min(entry.sort_at for entry in page)
    if at != oldest or (full and all(entry.sort_at == oldest for entry in page)):
        return api_cursor  # not a timestamp cursor, or a whole page of one millisecond: no way past it
    nudged = oldest.replace(microsecond=oldest.microsecond // 1000 * 1000) + timedelta(milliseconds=1)
    return nudged.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def walk(
    state: dict[str, Any], list_page: ListPage, *, backfill: int
) -> tuple[list[IncomingItem], dict[str, Any], bool]:
    """One page of a newest-first listing, resumable; returns the new items, the new state, and whether
    the walk goes on.

    A walk reads from the newest entry down to the watermark `since` (less OVERLAP), one page per call,
    keeping the server's cursor for the next page in the state, so a crash between pages resumes there.
    Only when the walk reaches the watermark does `since` move up to the newest entry the walk began
    with: what arrives meanwhile sorts above it and comes with the next walk. `seen` holds the URIs
    delivered within the overlap, so re-reading it delivers nothing twice.
    """
    since = parse_time(state["since"]) if state.get("since") else None
    seen: dict[str, str] = dict(state.get("seen") or {})
    going: dict[str, Any] = dict(state.get("walk") or {})
    delivered: dict[str, str] = dict(going.get("delivered") or {})  # by this walk, so far
    top = parse_time(going["top"]) if going.get("top") else None
    count = int(going.get("count", 0))
    floor = since - OVERLAP if since else None
    page, api_cursor = list_page(going.get("before"))
    items: list[IncomingItem] = []
    reached = False
    for entry in page:
        top = entry.sort_at if top is None else max(top, entry.sort_at)
        if floor is not None and entry.sort_at < floor:
            reached = True
            break
        if entry.item is None or entry.uri in seen or entry.uri in delivered:
            continue
        delivered[entry.uri] = iso(entry.sort_at)
        items.append(entry.item)
        count += 1
    before = next_page_cursor(api_cursor, page, full=len(page) >= PAGE_SIZE)
    capped = since is None and count >= backfill
    if reached or capped or before is None or not page:
        newest = max(filter(None, [since, top]), default=None)
        done: dict[str, Any] = {"since": iso(newest) if newest else None, "seen": {}}
        if newest is not None:
            done["seen"] = {
                u: at for u, at in {**seen, **delivered}.items() if parse_time(at) >= newest - OVERLAP
            }
        if capped and before is not None:
            done["backfill_stopped"] = True
        return items, done, False
    # What this walk delivered cannot come up again unless it lies within the next walk's overlap, or in
    # this page's oldest millisecond (which the next page may list again): forgetting the rest keeps a long
    # walk's cursor small.
    assert top is not None
    oldest = min(entry.sort_at for entry in page)
    delivered = {
        u: at
        for u, at in delivered.items()
        if parse_time(at) >= top - OVERLAP or parse_time(at) - oldest < timedelta(milliseconds=1)
    }
    going = {"before": before, "top": iso(top), "count": count, "delivered": delivered}
    return items, {"since": state.get("since"), "seen": seen, "walk": going}, True


def rich_text_facets(
    text: str, resolve: Callable[[str], str | None]
) -> list[models.AppBskyRichtextFacet.Main]:
    """Links, hashtags, cashtags and mentions by the atproto rich-text rules, indexed in UTF-8 bytes.

    The SDK's detection is a port of the reference TypeScript one (and passes its conformance cases);
    `resolve` turns a mentioned handle into a DID, or None to leave it as plain text.
    """
    found = facet_detection.detect_facets(text)
    dids: dict[str, str | None] = {}
    for mention in facet_detection.detect_mentions(text):
        handle = mention.handle.lower()
        if handle not in dids:
            dids[handle] = resolve(handle)
        did = dids[handle]
        if did is not None:
            index = models.AppBskyRichtextFacet.ByteSlice(
                byte_start=mention.byte_start, byte_end=mention.byte_end
            )
            feature = models.AppBskyRichtextFacet.Mention(did=did)
            found.append(models.AppBskyRichtextFacet.Main(features=[feature], index=index))
    return sorted(found, key=lambda facet: facet.index.byte_start)


class BlueskyConnector(Connector):
    network = "bluesky"
    label = "Bluesky"
    capabilities = Capabilities(
        read=True,
        stream=False,
        publish=True,
        reply=True,
        media=False,
        moderate=frozenset({"delete", "hide", "unhide", "mute", "block", "report", "spam"}),
        metrics=True,
        profile=True,
    )
    credential_fields = (
        CredentialField("identifier", "Handle or email", help="brand.bsky.social"),
        CredentialField(
            "app_password",
            "App password",
            secret=True,
            help="Settings → Privacy and security → App passwords",
        ),
        CredentialField(
            "service", "Server (PDS)", required=False, help=f"{DEFAULT_SERVICE}, or the URL of your own PDS"
        ),
    )

    def __init__(self, config: ChannelConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config, http=http)
        self._client: Client | None = None
        self.did = ""
        self.handle = ""

    # -- session -------------------------------------------------------------------------------------

    @property
    def service(self) -> str:
        return str(self.config.credentials.get("service") or DEFAULT_SERVICE).rstrip("/")

    def _session_key(self) -> tuple[str, str, str]:
        password = str(self.config.credentials.get("app_password", ""))
        digest = hashlib.sha256(password.encode()).hexdigest()
        return (self.service, str(self.config.credentials.get("identifier", "")).lower(), digest)

    def _login(self) -> Client:
        """The SDK client, signed in: with the session an earlier connector cached, while it still works."""
        if self._client is not None:
            return self._client
        identifier = str(self.config.credentials.get("identifier", "")).strip()
        password = str(self.config.credentials.get("app_password", ""))
        if not identifier or not password:
            raise AuthError("the channel has no Bluesky handle and app password")
        key = self._session_key()
        with _sessions_lock:
            cached = _sessions.get(key)
        with sdk_errors():
            client, me = None, None
            if cached:
                client = self._new_client(key)
                client.login(session_string=cached, fetch_bsky_profile=False)
                try:
                    me = client.com.atproto.server.get_session()  # refreshes the tokens when they expired
                except ConnectorError as exc:
                    if not isinstance(exc, AuthError) and getattr(exc, "error", "") not in SESSION_GONE:
                        raise
                    with _sessions_lock:
                        _sessions.pop(key, None)
            if me is None:
                client = self._new_client(key)
                client.login(identifier, password, fetch_bsky_profile=False)
                me = client.com.atproto.server.get_session()
        assert client is not None
        self.did, self.handle = me.did, me.handle
        self._client = client
        return client

    def _new_client(self, key: tuple[str, str, str]) -> Client:
        client = Client(base_url=self.service, request=HttpClientRequest(self.http))

        def remember(event: SessionEvent, session: Session) -> None:
            with _sessions_lock:
                _sessions[key] = session.encode()

        client.on_session_change(remember)
        return client

    def check(self) -> Health:
        try:
            client = self._login()
            with sdk_errors():
                profile = client.app.bsky.actor.get_profile(
                    models.AppBskyActorGetProfile.Params(actor=self.did)
                )
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)
        followers = profile.followers_count or 0
        return Health(
            ok=True, message=f"signed in as @{self.handle} ({followers} followers)", account=self.handle
        )

    # -- reading -------------------------------------------------------------------------------------

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        """One page of each listing: notifications (mentions, replies, quotes) and the listening search."""
        self._login()
        sources: dict[str, ListPage] = {"notifications": self._notifications_page}
        query = str(self.config.settings.get("search", "")).strip()
        if query:
            sources["search"] = lambda before: self._search_page(query, before)
        backfill = int(self.config.settings.get("backfill", BACKFILL))
        new_cursor = dict(cursor)
        items: list[IncomingItem | RowError] = []
        warnings: list[str] = []
        more = False
        with sdk_errors():
            for name, list_page in sources.items():
                found, state, going = walk(dict(cursor.get(name) or {}), list_page, backfill=backfill)
                if state.pop("backfill_stopped", False):
                    warnings.append(f"first sync of {name}: only the latest {backfill} were imported")
                new_cursor[name] = state
                items.extend(found)
                more = more or going
        return FetchPage(items=items, cursor=new_cursor, more=more, warnings=warnings)

    def _notifications_page(self, before: str | None) -> tuple[list[Listed], str | None]:
        client = self._login()
        params = models.AppBskyNotificationListNotifications.Params(limit=PAGE_SIZE, cursor=before)
        listed = client.app.bsky.notification.list_notifications(params)
        wanted = [n for n in listed.notifications if n.reason in KIND_OF_REASON]
        authors = self._authors([n.author for n in wanted])
        page = []
        for note in listed.notifications:
            item = None
            if note.reason in KIND_OF_REASON:
                record = get_model_as_dict(note.record)
                kind = KIND_OF_REASON[note.reason]
                at = parse_time(note.indexed_at)
                item = self._item(note.uri, note.cid, record, authors[note.author.did], at, kind, note.reason)
            page.append(Listed(parse_time(note.indexed_at), note.uri, item))
        return page, listed.cursor

    def _search_page(self, query: str, before: str | None) -> tuple[list[Listed], str | None]:
        client = self._login()
        params = models.AppBskyFeedSearchPosts.Params(q=query, sort="latest", limit=PAGE_SIZE, cursor=before)
        found = client.app.bsky.feed.search_posts(params)
        authors = self._authors([post.author for post in found.posts])
        page = []
        for post in found.posts:
            record = get_model_as_dict(post.record)
            kind = "reply" if record.get("reply") else "post"
            at = parse_time(post.indexed_at)
            item = self._item(post.uri, post.cid, record, authors[post.author.did], at, kind, "search")
            item.likes, item.reposts, item.replies = (
                post.like_count or 0,
                post.repost_count or 0,
                post.reply_count or 0,
            )
            page.append(Listed(at, post.uri, item))
        return page, found.cursor

    def _authors(self, views: list[Any]) -> dict[str, IncomingAuthor]:
        """The authors of a page, with follower counts (one getProfiles call per 25 of them)."""
        by_did = {view.did: view for view in views}
        followers: dict[str, int | None] = {}
        client = self._login()
        dids = sorted(by_did)
        for start in range(0, len(dids), 25):
            params = models.AppBskyActorGetProfiles.Params(actors=dids[start : start + 25])
            for profile in client.app.bsky.actor.get_profiles(params).profiles:
                followers[profile.did] = profile.followers_count
        return {did: self._author(view, followers.get(did)) for did, view in by_did.items()}

    def _author(self, view: Any, followers: int | None) -> IncomingAuthor:
        verification = getattr(view, "verification", None)
        return IncomingAuthor(
            native_id=view.did,
            handle=view.handle,
            display_name=view.display_name or "",
            followers=followers,
            verified=getattr(verification, "verified_status", "") == "valid",
            profile_url=f"{self.web}/profile/{view.handle}",
        )

    def _item(
        self,
        uri: str,
        cid: str,
        record: dict[str, Any],
        author: IncomingAuthor,
        at: datetime,
        kind: str,
        reason: str,
    ) -> IncomingItem:
        reply = record.get("reply") or {}
        embed = record.get("embed") or {}
        # A quote embeds {uri, cid} (app.bsky.embed.record), or nests it once more when media come along.
        quoted = (embed.get("record") or {}).get("record", embed.get("record")) or {}
        langs = record.get("langs") or []
        return IncomingItem(
            network="bluesky",
            native_id=uri,
            created_at=at,
            text=str(record.get("text", "")),
            kind=kind,
            direction="outbound" if author.native_id == self.did else "inbound",
            author=author,
            channel_handle=self.config.handle,
            parent_native_id=str((reply.get("parent") or {}).get("uri", "")),
            url=self.post_url(author.handle, uri),
            language=str(langs[0])[:8] if langs else "",
            raw={
                "cid": cid,
                "reason": reason,
                "root": str((reply.get("root") or {}).get("uri", "")),
                "quoted": str(quoted.get("uri", "")) if isinstance(quoted, dict) else "",
            },
        )

    @property
    def web(self) -> str:
        return str(self.config.settings.get("web_url") or DEFAULT_WEB).rstrip("/")

    def post_url(self, handle: str, uri: str) -> str:
        return f"{self.web}/profile/{handle}/post/{record_uri(uri).rkey}"

    def metrics(self, native_ids: list[str]) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        with sdk_errors():
            for post in self._posts(native_ids):
                counts[post.uri] = {
                    "likes": post.like_count or 0,
                    "reposts": post.repost_count or 0,
                    "replies": post.reply_count or 0,
                    "quotes": post.quote_count or 0,
                }
        return counts

    def profile(self, native_id: str) -> IncomingAuthor:
        client = self._login()
        with sdk_errors():
            found = client.app.bsky.actor.get_profile(models.AppBskyActorGetProfile.Params(actor=native_id))
        return self._author(found, found.followers_count)

    def _posts(self, uris: list[str]) -> list[models.AppBskyFeedDefs.PostView]:
        client = self._login()
        posts = []
        for start in range(0, len(uris), 25):
            params = models.AppBskyFeedGetPosts.Params(uris=uris[start : start + 25])
            posts.extend(client.app.bsky.feed.get_posts(params).posts)
        return posts

    # -- writing -------------------------------------------------------------------------------------

    def publish(self, post: Outgoing) -> Published:
        """A post, or a reply to `reply_to` (an at:// URI), with mention, link and hashtag facets.

        With an idempotency key the post's record key is `record_key(key)`, so every attempt to send the
        post writes the same record: when the PDS refuses one because that record exists (the reference
        PDS answers HTTP 500, which HttpClient retries before giving up), an earlier attempt went
        through, and that post is returned.
        """
        client = self._login()
        rkey = record_key(post.idempotency_key) if post.idempotency_key else None
        with sdk_errors():
            reply = self._reply_ref(post.reply_to) if post.reply_to else None
            langs = post.extra.get("langs") or self.config.settings.get("langs") or None
            record = models.AppBskyFeedPost.Record(
                created_at=iso(datetime.now(UTC)),
                text=post.text,
                facets=self.facets(post.text) or None,
                reply=reply,
                langs=langs,
            )
            try:
                created = client.app.bsky.feed.post.create(self.did, record, rkey=rkey)
            except ConnectorError:
                earlier = self._published_at(rkey) if rkey else None
                if earlier is None:
                    raise
                return earlier
        return Published(
            native_id=created.uri,
            url=self.post_url(self.handle, created.uri),
            raw={"cid": created.cid, "facets": [get_model_as_dict(f) for f in record.facets or []]},
        )

    def lookup(self, post: Outgoing) -> Published | None:
        """The post an earlier attempt to send `post` created: the record at `record_key(key)`, or None.

        Exact, unlike a search: the key names the record. A post deleted since is not found.
        """
        if not post.idempotency_key:
            raise NotImplementedError("without an idempotency key, Bluesky cannot tell an earlier attempt")
        with sdk_errors():
            return self._published_at(record_key(post.idempotency_key))

    def _published_at(self, rkey: str) -> Published | None:
        """The channel's post with record key `rkey`, or None when there is none."""
        client = self._login()
        params = models.ComAtprotoRepoGetRecord.Params(repo=self.did, collection=POST, rkey=rkey)
        try:
            found = client.com.atproto.repo.get_record(params)
        except XrpcError as exc:
            if exc.error != "RecordNotFound":
                raise
            return None
        value = get_model_as_dict(found.value)
        return Published(
            native_id=found.uri,
            url=self.post_url(self.handle, found.uri),
            raw={"cid": str(found.cid), "facets": value.get("facets") or []},
        )

    def facets(self, text: str) -> list[models.AppBskyRichtextFacet.Main]:
        """The post's facets, with mentions of the handles that resolve to an account on this network."""
        client = self._login()

        def resolve(handle: str) -> str | None:
            try:
                params = models.ComAtprotoIdentityResolveHandle.Params(handle=handle)
                return str(client.com.atproto.identity.resolve_handle(params).did)
            except XrpcError as exc:
                if exc.status == 400:  # no such handle: the mention stays plain text
                    return None
                raise

        return rich_text_facets(text, resolve)

    def _reply_ref(self, uri: str) -> models.AppBskyFeedPost.ReplyRef:
        cid, record = self._record(uri)
        parent = models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)
        thread = (record.get("reply") or {}).get("root")
        root = models.ComAtprotoRepoStrongRef.Main(uri=thread["uri"], cid=thread["cid"]) if thread else parent
        return models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)

    def _record(self, uri: str) -> tuple[str, dict[str, Any]]:
        """A post's CID and record, read from its repo: unlike the AppView's views, blocks do not hide it."""
        at = record_uri(uri)
        params = models.ComAtprotoRepoGetRecord.Params(repo=at.host, collection=at.collection, rkey=at.rkey)
        try:
            found = self._login().com.atproto.repo.get_record(params)
        except XrpcError as exc:
            if exc.error != "RecordNotFound":
                raise
            raise ConnectorError(f"the post {uri} is gone", status=exc.status) from exc
        return str(found.cid), get_model_as_dict(found.value)

    # -- moderation ----------------------------------------------------------------------------------

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        """`target` is a post's at:// URI, or (for mute, block and report) an account's DID or handle."""
        if action not in self.capabilities.moderate:
            raise ConnectorError(
                f"Bluesky cannot {action}; it can {', '.join(sorted(self.capabilities.moderate))}"
            )
        self._login()
        with sdk_errors():
            if action == "delete":
                self._delete(target)
            elif action in ("hide", "unhide"):
                self._hide(target, hidden=action == "hide")
            elif action == "mute":
                self._login().app.bsky.graph.mute_actor(
                    models.AppBskyGraphMuteActor.Data(actor=self._actor(target))
                )
            elif action == "block":
                self._block(self._actor(target))
            else:
                self._report(target, spam=action == "spam", reason=reason)

    def _actor(self, target: str) -> str:
        """The DID behind a DID, a handle, or a post URI (its author)."""
        if target.startswith("at://"):
            target = AtUri.from_str(target).host
        if target.startswith("did:"):
            return target
        params = models.ComAtprotoIdentityResolveHandle.Params(handle=target.lstrip("@"))
        return self._login().com.atproto.identity.resolve_handle(params).did

    def _own(self, uri: str, what: str) -> AtUri:
        at = record_uri(uri)
        if at.host not in (self.did, self.handle):
            raise ConnectorError(
                f"Bluesky lets an account {what} only its own posts; hide or report {uri} instead"
            )
        return at

    def _delete(self, uri: str) -> None:
        at = self._own(uri, "delete")
        data = models.ComAtprotoRepoDeleteRecord.Data(repo=self.did, collection=at.collection, rkey=at.rkey)
        self._login().com.atproto.repo.delete_record(data)

    def _hide(self, uri: str, *, hidden: bool) -> None:
        """Hide (or show again) a reply in the threadgate of the thread's first post, which must be ours."""
        reply = self._record(uri)[1].get("reply")
        if not reply:
            raise ConnectorError(f"{uri} is not a reply: only replies can be hidden on Bluesky")
        root = self._own(reply["root"]["uri"], "hide replies under")
        client = self._login()
        for _ in range(3):  # a concurrent change of the threadgate makes the swap fail: read it again
            try:
                params = models.ComAtprotoRepoGetRecord.Params(
                    repo=self.did, collection=THREADGATE, rkey=root.rkey
                )
                current = client.com.atproto.repo.get_record(params)
                gate, swap = get_model_as_dict(current.value), current.cid
            except XrpcError as exc:
                if exc.error != "RecordNotFound":
                    raise
                gate, swap = (
                    {"$type": THREADGATE, "post": str(root), "createdAt": iso(datetime.now(UTC))},
                    None,
                )
            listed = [u for u in gate.get("hiddenReplies") or [] if u != uri]
            gate["hiddenReplies"] = [*listed, uri] if hidden else listed
            data = models.ComAtprotoRepoPutRecord.Data(
                repo=self.did, collection=THREADGATE, rkey=root.rkey, record=gate, swap_record=swap
            )
            try:
                client.com.atproto.repo.put_record(data)
                return
            except XrpcError as exc:
                if exc.error != "InvalidSwap":
                    raise
        raise ConnectorError(f"the threadgate of {root} kept changing: try again")

    def _block(self, did: str) -> None:
        client = self._login()
        viewer = client.app.bsky.actor.get_profile(models.AppBskyActorGetProfile.Params(actor=did)).viewer
        if viewer is not None and viewer.blocking:
            return  # a second block record would only have to be deleted twice to unblock
        record = models.AppBskyGraphBlock.Record(subject=did, created_at=iso(datetime.now(UTC)))
        client.app.bsky.graph.block.create(self.did, record)

    def _report(self, target: str, *, spam: bool, reason: str) -> None:
        """A report to the PDS's default moderation service, or to `moderation_service` (a labeler DID)."""
        subject: models.ComAtprotoRepoStrongRef.Main | models.ComAtprotoAdminDefs.RepoRef
        if target.startswith("at://"):
            subject = models.ComAtprotoRepoStrongRef.Main(uri=target, cid=self._record(target)[0])
        else:
            subject = models.ComAtprotoAdminDefs.RepoRef(did=self._actor(target))
        data = models.ComAtprotoModerationCreateReport.Data(
            reason_type="com.atproto.moderation.defs#reasonSpam"
            if spam
            else "com.atproto.moderation.defs#reasonOther",
            subject=subject,
            reason=reason or None,
        )
        service = str(self.config.settings.get("moderation_service", ""))
        headers = {"atproto-proxy": f"{service}#atproto_labeler"} if service else None
        self._login().com.atproto.moderation.create_report(data, headers=headers)


def record_key(idempotency_key: str) -> str:
    """The record key of the post sent with `idempotency_key`: a valid TID, the same for the same key.

    A TID is 64 bits, the top one zero, then 53 bits of microseconds since the epoch and 10 bits of clock
    id, written as 13 base32-sortable characters. Here the microseconds are a point of the TID window
    (TID_EPOCH_MICROS plus a digest of the key, modulo TID_SPAN_MICROS) and the clock id is 10 more bits
    of the digest: 55 bits in all, so two keys of one account meet only by a negligible chance.
    """
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    micros = TID_EPOCH_MICROS + (digest >> 10) % TID_SPAN_MICROS
    value = (micros << 10) | (digest & 0x3FF)
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_uri(uri: str) -> AtUri:
    at = AtUri.from_str(uri) if uri.startswith("at://") else None
    if at is None or not at.collection or not at.rkey:
        raise ConnectorError(f"{uri!r} is not a Bluesky post (an at:// URI)")
    return at


@contextmanager
def sdk_errors() -> Iterator[None]:
    """SDK failures that are not HTTP ones (a reply that does not fit the lexicon, ...) as ConnectorErrors."""
    try:
        yield
    except (AtProtocolError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ConnectorError(f"Bluesky: {type(exc).__name__}: {exc}") from exc
