"""Mastodon: mentions, replies and DMs from notifications, hashtag/search listening, replies and moderation.

The REST API is called with the product's `HttpClient` directly. Mastodon.py (a dependency, used by the
tests' tooling) sends its requests through `requests`, which would bypass HttpClient's timeouts, retries,
Retry-After handling and per-account rate budget; routing it through HttpClient would mean replacing its
session internals, and the handful of endpoints needed here are simpler to call than to adapt.

Cursors: each source (notifications, a hashtag timeline, a search) keeps the id of the newest status or
notification delivered. Pages are read with `min_id` (Mastodon returns the page *adjacent* to it), never
`since_id` (which returns the newest page above it and leaves a gap when more than a page arrived), so every
committed cursor means "everything up to here was delivered". The first sync of a source starts from its
newest page: older history is not brought in.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

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
from townhall.publishing.counting import mastodon_length
from townhall.publishing.entities import MASTODON_MENTION

PAGE = 40  # the most Mastodon's timelines return per page (notifications allow 80)
SEARCH_PAGES = 5  # search pages read newest-first per fetch; more than that since the last sync is a gap
DEFAULT_MAX_CHARACTERS = 500
DEFAULT_URL_LENGTH = 23
VISIBILITIES = ("public", "unlisted", "private", "direct")  # from the widest audience to the narrowest
ACCOUNT_ACTIONS = frozenset({"mute", "block"})
# Mastodon's Account::MENTION_RE: only the username part of @user@domain counts towards the limit.


class _PlainText(HTMLParser):
    """Status HTML as the text a reader sees: paragraphs as blank lines, <br> as line breaks."""

    BLOCKS = frozenset({"p", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "li"):
            self._break("\n")
        elif tag in self.BLOCKS:
            self._break("\n\n")
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self._break("\n\n")
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if not self.pre:
            # Outside <pre>, a newline in the markup is only whitespace (remote servers send some).
            data = re.sub(r"\s+", " ", data)
            if not self.parts or self.parts[-1].endswith("\n"):
                data = data.lstrip(" ")
        if data:
            self.parts.append(data)

    def _break(self, newlines: str) -> None:
        if self.parts and not self.pre:
            self.parts[-1] = self.parts[-1].rstrip(" ")
        self.parts.append(newlines)


def plain_text(markup: str) -> str:
    """A status's HTML `content` as plain text: line breaks kept, entities unescaped, links in full.

    Mastodon shortens long links with `invisible`/`ellipsis` spans; joining every text node gives the
    whole URL back. Mentions and hashtags read the same whether linkified (real Mastodon) or not (the mock).
    """
    parser = _PlainText()
    parser.feed(markup or "")
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()


def status_length(text: str, *, url_length: int = DEFAULT_URL_LENGTH) -> int:
    """Characters Mastodon counts for a status (the rule lives with the other networks' counting)."""
    return mastodon_length(text, url_length=url_length)


def _timestamp(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)


def _full_acct(account: dict[str, Any]) -> str:
    """user@domain for every account: local accounts' `acct` has no domain, their profile URL has it."""
    acct = str(account.get("acct") or account.get("username") or "")
    if "@" in acct:
        return acct
    host = urlsplit(str(account.get("url") or "")).hostname
    return f"{acct}@{host}" if host else acct


def author_of(account: dict[str, Any]) -> IncomingAuthor:
    """A Mastodon account as an author; the full user@domain names it on every instance alike."""
    acct = _full_acct(account)
    return IncomingAuthor(
        native_id=acct,
        handle=f"@{acct}",
        display_name=str(account.get("display_name") or account.get("username") or "")[:200],
        followers=account.get("followers_count"),
        profile_url=str(account.get("url") or "")[:500],
    )


class MastodonConnector(Connector):
    network = "mastodon"
    label = "Mastodon"
    capabilities = Capabilities(
        read=True,
        publish=True,
        reply=True,
        moderate=frozenset({"delete", "mute", "block", "report"}),
        metrics=True,
        profile=True,
    )
    credential_fields = (
        CredentialField("instance", "Instance", help="https://mastodon.social"),
        CredentialField(
            "access_token",
            "Access token",
            secret=True,
            help="Preferences → Development → New application, scopes read, write and follow",
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._me: dict[str, Any] | None = None
        self._instance: dict[str, Any] | None = None

    # -- the API -----------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        url = str(self.config.credentials.get("instance") or self.config.settings.get("instance") or "")
        url = url.strip().rstrip("/")
        if url and "://" not in url:
            url = f"https://{url}"
        if not url:
            raise ConnectorError("the channel names no Mastodon instance")
        return url

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        token = self.config.credentials.get("access_token", "")
        response = self.http.request(
            method,
            f"{self.base}{path}",
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
        if response.status_code >= 400:
            try:
                said = str(response.json().get("error") or "")
            except (ValueError, AttributeError):
                said = response.text[:200]
            raise ConnectorError(
                f"Mastodon refused {method} {path} (HTTP {response.status_code}): {said}",
                status=response.status_code,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _decoded(self._call(method, path, **kwargs))

    def account(self) -> dict[str, Any]:
        """The channel's own account (verify_credentials), read once per connector."""
        if self._me is None:
            self._me = self._json("GET", "/api/v1/accounts/verify_credentials")
        return self._me

    def instance(self) -> dict[str, Any]:
        """The instance's /api/v2/instance (or the v1 document on servers without v2), read once."""
        if self._instance is None:
            try:
                self._instance = self._json("GET", "/api/v2/instance")
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                self._instance = self._json("GET", "/api/v1/instance")
        return self._instance or {}

    def max_characters(self) -> int:
        """How many characters a status may have on this instance (500 where it does not say)."""
        found = self.instance()
        statuses = (found.get("configuration") or {}).get("statuses") or {}
        # Pleroma and Akkoma name it max_toot_chars in the v1 document.
        limit = statuses.get("max_characters") or found.get("max_toot_chars")
        return int(limit) if limit else DEFAULT_MAX_CHARACTERS

    def url_length(self) -> int:
        statuses = (self.instance().get("configuration") or {}).get("statuses") or {}
        return int(statuses.get("characters_reserved_per_url") or DEFAULT_URL_LENGTH)

    # -- the interface ----------------------------------------------------------------------------

    def check(self) -> Health:
        try:
            me = self.account()
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)
        handle = f"@{_full_acct(me)}"
        try:
            limits = {"max_characters": self.max_characters(), "url_length": self.url_length()}
        except ConnectorError:  # an instance that hides its document: the composer keeps Mastodon's default
            limits = {}
        return Health(ok=True, message=f"signed in as {handle} on {self.base}", account=handle, limits=limits)

    def _sources(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Where items come from, by cursor key: mentions always, a hashtag and a search when set."""
        sources: dict[str, tuple[str, dict[str, Any]]] = {
            "notifications": ("/api/v1/notifications", {"types[]": "mention"}),
        }
        hashtag = str(self.config.settings.get("hashtag") or "").strip().lstrip("#")
        if hashtag:
            sources[f"tag:{hashtag}"] = (f"/api/v1/timelines/tag/{quote(hashtag, safe='')}", {})
        query = str(self.config.settings.get("query") or "").strip()
        if query:
            sources[f"search:{query}"] = ("/api/v2/search", {"q": query, "type": "statuses"})
        return sources

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        sources = self._sources()
        # Within one sync only the sources that had a full page are read again; a new sync reads all.
        pending = [key for key in cursor.get("pending", []) if key in sources] or list(sources)
        new_cursor = {key: cursor[key] for key in sources if key in cursor}
        items: list[IncomingItem | RowError] = []
        delivered: set[str] = set()
        warnings: list[str] = []
        still: list[str] = []
        for key in pending:
            path, params = sources[key]
            more = False
            if key.startswith("search:"):
                statuses, position, warning = self._search(path, params, cursor.get(key))
                found = [(status, "") for status in statuses]
                warnings.extend([warning] if warning else [])
            else:
                found, position, more = self._page(path, params, cursor.get(key), key)
            for status, notification_id in found:
                item = self._item(status, notification_id=notification_id, source=key)
                if item is not None and item.native_id not in delivered:
                    delivered.add(item.native_id)
                    items.append(item)
            if position:
                new_cursor[key] = position
            if more:
                still.append(key)
        new_cursor["pending"] = still
        return FetchPage(items=items, cursor=new_cursor, more=bool(still), warnings=warnings)

    def _page(
        self, path: str, params: dict[str, Any], position: str | None, key: str
    ) -> tuple[list[tuple[dict[str, Any], str]], str | None, bool]:
        """One page of a timeline or of notifications right after `position`, and the position after it."""
        query = {**params, "limit": PAGE}
        if position:
            query["min_id"] = position
        response = self._call("GET", path, params=query)
        entries = _decoded(response)
        if not entries:
            return [], position, False
        # The prev link's min_id is where the next page starts; the newest entry heads the page otherwise.
        prev = response.links.get("prev", {}).get("url", "")
        newest = parse_qs(urlsplit(prev).query).get("min_id", [str(entries[0]["id"])])[0]
        if key == "notifications":
            found = [(entry["status"], str(entry["id"])) for entry in entries if entry.get("status")]
        else:
            found = [(entry, "") for entry in entries]
        # The first read starts from the newest page, so there is no "more" behind it to go back for.
        return found, newest, bool(position) and len(entries) >= PAGE

    def _search(
        self, path: str, params: dict[str, Any], position: str | None
    ) -> tuple[list[dict[str, Any]], str | None, str]:
        """Search results newer than `position`, read newest-first down to it.

        Search pages are ordered newest first even with `min_id`, so reading them one commit at a time
        would skip what lies between; the whole span is read, within SEARCH_PAGES, and delivered at once.
        """
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        query: dict[str, Any] = {**params, "limit": PAGE}
        if position:
            query["min_id"] = position
        for _ in range(SEARCH_PAGES):
            statuses = self._json("GET", path, params=query).get("statuses") or []
            # Kept client-side too: servers (and the mock) that ignore min_id/max_id would repeat results.
            fresh = [s for s in statuses if str(s["id"]) not in seen and _newer(str(s["id"]), position)]
            seen.update(str(s["id"]) for s in fresh)
            found.extend(fresh)
            if not position or len(statuses) < PAGE or not fresh:
                return found, _newest(found, position), ""
            query["max_id"] = str(statuses[-1]["id"])
        gap = f"more than {SEARCH_PAGES * PAGE} search results since the last sync: the oldest were skipped"
        return found, _newest(found, position), gap

    def _item(self, status: dict[str, Any], *, notification_id: str, source: str) -> IncomingItem | None:
        if status.get("reblog"):
            return None  # a boost repeats a status that is someone else's; listening takes originals
        me = self.account()
        account = status.get("account") or {}
        ours = str(account.get("id")) == str(me.get("id"))
        mentioned = any(str(m.get("id")) == str(me.get("id")) for m in status.get("mentions") or [])
        if status.get("visibility") == "direct":
            kind = "dm"
        elif str(status.get("in_reply_to_account_id") or "") == str(me.get("id")):
            kind = "reply"
        elif mentioned or source == "notifications":
            kind = "mention"
        else:
            kind = "post"
        text = plain_text(str(status.get("content") or ""))
        warning = str(status.get("spoiler_text") or "")
        if warning:
            text = f"{warning}\n\n{text}" if text else warning
        media = [str(m.get("url") or "") for m in status.get("media_attachments") or []]
        if not text and media:
            text = "\n".join(media)
        return IncomingItem(
            network="mastodon",
            native_id=str(status["id"]),
            created_at=_timestamp(status.get("created_at")),
            text=text[:20_000],
            kind=kind,
            direction="outbound" if ours else "inbound",
            author=author_of(account),
            channel_handle=self.config.handle,
            parent_native_id=str(status.get("in_reply_to_id") or ""),
            url=str(status.get("url") or status.get("uri") or "")[:1000],
            language=str(status.get("language") or "")[:8],
            likes=int(status.get("favourites_count") or 0),
            reposts=int(status.get("reblogs_count") or 0),
            replies=int(status.get("replies_count") or 0),
            raw={
                "uri": status.get("uri", ""),
                "visibility": status.get("visibility", ""),
                "account_id": str(account.get("id", "")),
                "bot": bool(account.get("bot")),
                "notification_id": notification_id,
                "source": source,
                "media": media,
            },
        )

    def publish(self, post: Outgoing) -> Published:
        visibility = str(post.extra.get("visibility") or self.config.settings.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            raise ConnectorError(f"{visibility!r} is not a Mastodon visibility ({', '.join(VISIBILITIES)})")
        text, parent = self._status_text(post)
        body: dict[str, Any] = {}
        if parent is not None:
            # A reply never reaches a wider audience than what it answers: a DM is answered by DM.
            narrowest = max(
                VISIBILITIES.index(visibility), VISIBILITIES.index(parent.get("visibility", "public"))
            )
            visibility = VISIBILITIES[narrowest]
            body["in_reply_to_id"] = post.reply_to
        spoiler = str(post.extra.get("spoiler_text") or "")
        length, limit = status_length(spoiler + text, url_length=self.url_length()), self.max_characters()
        if length > limit:
            raise ConnectorError(f"the status has {length} characters; {self.base} allows {limit}")
        body.update(status=text, visibility=visibility)
        if spoiler:
            body["spoiler_text"] = spoiler
        if post.extra.get("language"):
            body["language"] = post.extra["language"]
        # HttpClient retries a POST that timed out; the key makes Mastodon keep only the first one.
        key = post.idempotency_key or str(post.extra.get("idempotency_key") or uuid.uuid4())
        sent = self._json("POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": key})
        return _published(sent)

    def lookup(self, post: Outgoing) -> Published | None:
        """The channel's status that an earlier attempt to send `post` left, found by its text, or None.

        Mastodon keeps the Idempotency-Key only to turn a repeated POST into the first status (for about
        an hour), and shows it nowhere, so this reads the account's latest statuses (one page of 40,
        boosts left out) for one that says what `post` would say (mentions as Mastodon renders them,
        whitespace aside) and answers the same status (or none). Its limits: it cannot tell the status
        from an identical one the account posted earlier (the same text, the same reply target), and it
        misses one that 40 newer statuses have pushed off the page or that was deleted or edited since.
        """
        text, _ = self._status_text(post)
        wanted = _comparable(text)
        account_id = quote(str(self.account()["id"]), safe="")
        statuses = self._json(
            "GET",
            f"/api/v1/accounts/{account_id}/statuses",
            params={"limit": PAGE, "exclude_reblogs": "true"},
        )
        for status in statuses:
            if status.get("reblog") or str(status.get("in_reply_to_id") or "") != post.reply_to:
                continue
            if _comparable(plain_text(str(status.get("content") or ""))) == wanted:
                return _published(status)
        return None

    def _status_text(self, post: Outgoing) -> tuple[str, dict[str, Any] | None]:
        """The text a status for `post` says, and the status it answers (None for a new post)."""
        text = post.text.strip()
        if not text:
            raise ConnectorError("a Mastodon status needs text")
        if not post.reply_to:
            return text, None
        parent: dict[str, Any] = self._json("GET", f"/api/v1/statuses/{quote(post.reply_to, safe='')}")
        return self._with_mention(text, parent.get("account") or {}), parent

    def _with_mention(self, text: str, author: dict[str, Any]) -> str:
        """The reply text starting with a mention of the author (Mastodon notifies only who is mentioned)."""
        if str(author.get("id")) == str(self.account().get("id")):
            return text
        acct = str(author.get("acct") or "")
        if not acct:
            return text
        written = {m.group(1).lower() for m in MASTODON_MENTION.finditer(text)}
        if acct.lower() in written or _full_acct(author).lower() in written:
            return text
        return f"@{acct} {text}"

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        """`target` is a status id, or an account as `@user@domain` / `account:<id>`.

        Mute and block act on the account, a status naming its author; delete works on the channel's own
        statuses only (Mastodon lets no one else delete them); report sends the instance's moderators a
        report about the account, with the status when a status is named.
        """
        if action not in self.capabilities.moderate:
            raise ConnectorError(f"Mastodon cannot {action} through Townhall")
        names_account = target.startswith(("@", "account:"))
        if action == "delete" and names_account:
            raise ConnectorError(f"delete names a status, not the account {target!r}")
        status = None if names_account else self._json("GET", f"/api/v1/statuses/{quote(target, safe='')}")
        if action == "delete" and status is not None:
            # Said here, because Mastodon answers someone else's status with a bare 404 (the mock with 403).
            if str(status["account"]["id"]) != str(self.account().get("id")):
                raise ConnectorError(
                    f"Mastodon deletes only the channel's own statuses; {target} is by "
                    f"@{_full_acct(status['account'])}: block, mute or report it instead"
                )
            self._call("DELETE", f"/api/v1/statuses/{quote(target, safe='')}")
            return
        account_id = self._account_id(target) if status is None else str(status["account"]["id"])
        if action in ACCOUNT_ACTIONS:
            self._json("POST", f"/api/v1/accounts/{quote(account_id, safe='')}/{action}")
        else:
            report: dict[str, Any] = {"account_id": account_id, "comment": reason[:1000], "category": "other"}
            if "spam" in reason.lower():
                report["category"] = "spam"
            if status is not None:
                report["status_ids"] = [str(status["id"])]
            self._json("POST", "/api/v1/reports", json=report)

    def _account_id(self, target: str) -> str:
        if target.startswith("account:"):
            return target.removeprefix("account:")
        return str(self._lookup(target.removeprefix("@"))["id"])

    def _lookup(self, acct: str) -> dict[str, Any]:
        """An account by user@domain: a lookup for known accounts, a resolving search for the others."""
        try:
            found: dict[str, Any] = self._json("GET", "/api/v1/accounts/lookup", params={"acct": acct})
            return found
        except ConnectorError as exc:
            if exc.status != 404:
                raise
        accounts = self._json(
            "GET",
            "/api/v2/search",
            params={"q": f"@{acct}", "type": "accounts", "resolve": "true", "limit": 1},
        ).get("accounts")
        if not accounts:
            raise ConnectorError(f"no Mastodon account @{acct} is known to {self.base}", status=404)
        return dict(accounts[0])

    def profile(self, native_id: str) -> IncomingAuthor:
        return author_of(self._lookup(native_id.removeprefix("@")))

    def metrics(self, native_ids: list[str]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for native_id in native_ids:
            try:
                status = self._json("GET", f"/api/v1/statuses/{quote(native_id, safe='')}")
            except ConnectorError as exc:
                if exc.status == 404:
                    continue  # deleted, or no longer visible to the channel
                raise
            found[native_id] = {
                "likes": int(status.get("favourites_count") or 0),
                "reposts": int(status.get("reblogs_count") or 0),
                "replies": int(status.get("replies_count") or 0),
            }
        return found


def _published(status: dict[str, Any]) -> Published:
    return Published(
        native_id=str(status["id"]),
        url=str(status.get("url") or status.get("uri") or ""),
        raw={k: status.get(k) for k in ("id", "uri", "visibility", "in_reply_to_id", "created_at")},
    )


def _comparable(text: str) -> str:
    """Status text as `lookup` compares it: mentions as a lower-cased @username, whitespace runs as one space.

    Mastodon's HTML shows a mention as @username, without the domain and in the account's own spelling.
    """
    text = MASTODON_MENTION.sub(lambda m: f"@{m.group(2).lower()}", text)
    return " ".join(text.split())


def _decoded(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        where = f"{response.request.method} {response.request.url.path}"
        raise ConnectorError(f"malformed JSON from {where}: {response.text[:120]!r}", retryable=True) from exc


def _newer(status_id: str, position: str | None) -> bool:
    """Whether an id comes after `position`: Mastodon's ids are numbers; other servers' ids it cannot tell."""
    if not position:
        return True
    if status_id.isdigit() and position.isdigit():
        return int(status_id) > int(position)
    return status_id != position


def _newest(statuses: list[dict[str, Any]], position: str | None) -> str | None:
    ids = [str(s["id"]) for s in statuses]
    if not ids:
        return position
    if all(i.isdigit() for i in ids):
        return max(ids, key=int)
    return ids[0]  # newest first
