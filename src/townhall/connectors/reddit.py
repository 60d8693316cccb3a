"""Reddit: a subreddit's new posts and comments, replies, and removing, approving and spam as its moderator.

The API is called with the product's `HttpClient` directly. praw (a dependency) sends its requests through
`requests` via prawcore, which would bypass HttpClient's timeouts, retries, Retry-After handling and
per-account rate budget; the OAuth password grant and the few endpoints needed here are plainer to call
than prawcore's session is to re-route.

Authentication is a "script" app's password grant (client id and secret, the moderator's username and
password) at www.reddit.com; the bearer token it returns is used at oauth.reddit.com and fetched again when
it expires or Reddit answers 401.

Cursors: a listing (/new, /comments) is read newest first with `after`, down to the newest item already
delivered, and the whole span is delivered as one page. Reddit's `before=<fullname>` would read forward,
but when that item has been removed or deleted (which is what moderating here does) Reddit answers with an
empty listing, which cannot be told from "nothing new". So the cursor keeps the creation time of the newest
item delivered and the fullnames created in that same second: everything after it is new, exactly once.
Reddit lists at most ~1000 items, so a listing whose span since the last sync is longer says so (a gap).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

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
from townhall.connectors.http import AuthError, ConnectorError
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
API = "https://oauth.reddit.com"
WEB = "https://www.reddit.com"
PAGE = 100  # Reddit's largest listing page
MAX_PAGES = 10  # 1000 items: as deep as Reddit lists
TOKEN_MARGIN = 60.0  # seconds before expiry when a token is renewed
MAX_COMMENT = 10_000
MAX_TITLE = 300
MAX_SELF_TEXT = 40_000
REMOVALS = {"delete": False, "hide": False, "spam": True}  # action -> remove as spam
LISTINGS = (("posts", "new"), ("comments", "comments"))


def author_of(name: str) -> IncomingAuthor | None:
    """A redditor as an author: usernames are unique and never change, so the name is the id."""
    if name in ("", "[deleted]"):
        return None  # the account is gone; the text may still be there
    return IncomingAuthor(
        native_id=name, handle=f"u/{name}", display_name=name, profile_url=f"{WEB}/user/{name}"
    )


def _decoded(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        where = f"{response.request.method} {response.request.url.path}"
        raise ConnectorError(
            f"Reddit sent no JSON to {where}: {response.text[:120]!r}", retryable=True
        ) from exc


def _is_delivered(thing: dict[str, Any], position: dict[str, Any] | None) -> bool:
    """Whether the cursor `position` already covers a listed post or comment."""
    if not position:
        return False
    created, newest = float(thing.get("created_utc") or 0), float(position.get("utc") or 0)
    return created < newest or (created == newest and thing.get("name") in position.get("names", []))


def _advance(position: dict[str, Any] | None, things: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The position after delivering `things`: the newest creation second, and who was created in it."""
    if not things:
        return position
    newest = max(
        [float(t.get("created_utc") or 0) for t in things] + [float((position or {}).get("utc") or 0)]
    )
    names = [str(t["name"]) for t in things if float(t.get("created_utc") or 0) == newest]
    if position and float(position.get("utc") or 0) == newest:
        names = list(dict.fromkeys([*position.get("names", []), *names]))
    return {"utc": newest, "names": names}


class RedditConnector(Connector):
    network = "reddit"
    label = "Reddit"
    capabilities = Capabilities(
        read=True,
        publish=True,
        reply=True,
        moderate=frozenset({"delete", "hide", "unhide", "approve", "spam"}),
    )
    credential_fields = (
        CredentialField("client_id", "App client id", help="reddit.com/prefs/apps: a 'script' app"),
        CredentialField("client_secret", "App secret", secret=True),
        CredentialField("username", "Reddit username", help="a moderator of the subreddit, for moderation"),
        CredentialField("password", "Password", secret=True, help="with 2FA: password:123456"),
        CredentialField(
            "subreddit",
            "Subreddit",
            required=False,
            help="the name after r/ (several joined by +); the channel handle r/name when left out",
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token = ""
        self._token_expires = 0.0
        self._paused_until = 0.0  # when Reddit's budget ran out: no call before its reset

    # -- the API -----------------------------------------------------------------------------------

    @property
    def username(self) -> str:
        return str(self.config.credentials.get("username") or "")

    @property
    def subreddit(self) -> str:
        named = self.config.credentials.get("subreddit") or self.config.settings.get("subreddit")
        if not named and self.config.handle.lower().startswith(("r/", "/r/")):
            named = self.config.handle
        sub = str(named or "").strip().strip("/").removeprefix("r/").removeprefix("R/")
        if not sub:
            raise ConnectorError("the channel names no subreddit (set subreddit, or a handle like r/name)")
        return sub

    @property
    def user_agent(self) -> str:
        # Reddit asks for <platform>:<app id>:<version> (by /u/<user>) and throttles generic agents.
        client_id = self.config.credentials.get("client_id", "")
        return f"server:townhall.{client_id}:0.1 (by /u/{self.username})"

    def _authenticate(self) -> str:
        if self._token and time.monotonic() < self._token_expires - TOKEN_MARGIN:
            return self._token
        credentials = self.config.credentials
        try:
            response = self.http.request(
                "POST",
                TOKEN_URL,
                auth=(str(credentials.get("client_id", "")), str(credentials.get("client_secret", ""))),
                data={
                    "grant_type": "password",
                    "username": self.username,
                    "password": credentials.get("password", ""),
                },
                headers={"User-Agent": self.user_agent},
            )
        except AuthError as exc:
            raise AuthError("Reddit refused the app's client id or secret (HTTP 401)", status=401) from exc
        if response.status_code >= 400:
            raise ConnectorError(
                f"Reddit's token endpoint answered HTTP {response.status_code}", status=response.status_code
            )
        granted = _decoded(response)
        if "access_token" not in granted:
            # A wrong username or password is a 200 with {"error": "invalid_grant"}.
            raise AuthError(
                f"Reddit refused u/{self.username}'s password ({granted.get('error', granted)})", status=401
            )
        self._token = str(granted["access_token"])
        self._token_expires = time.monotonic() + float(granted.get("expires_in") or 3600)
        return self._token

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        for attempt in range(2):
            token = self._authenticate()
            wait = self._paused_until - time.monotonic()
            if wait > 0:
                self.http.sleep(wait)
            try:
                response = self.http.request(
                    method,
                    f"{API}{path}",
                    params=params,
                    data=data,
                    headers={"Authorization": f"bearer {token}", "User-Agent": self.user_agent},
                )
            except AuthError:
                if attempt == 0:
                    self._token = ""  # expired or revoked early: one new token, one more try
                    continue
                raise
            self._note_budget(response)
            if response.status_code == 403:
                raise ConnectorError(
                    f"Reddit refused {method} {path} to u/{self.username} (HTTP 403): moderating needs "
                    f"moderator rights on r/{self.subreddit}, reading a private subreddit needs access",
                    status=403,
                )
            if response.status_code >= 400:
                raise ConnectorError(
                    f"Reddit answered HTTP {response.status_code} to {method} {path}: {response.text[:200]}",
                    status=response.status_code,
                )
            return _decoded(response)
        raise AssertionError("unreachable: the second 401 is raised above")  # pragma: no cover

    def _note_budget(self, response: httpx.Response) -> None:
        """Reddit says how many calls are left in its window; at none left, wait for the reset."""
        remaining, reset = (
            response.headers.get("x-ratelimit-remaining"),
            response.headers.get("x-ratelimit-reset"),
        )
        try:
            if remaining is not None and reset is not None and float(remaining) < 1:
                self._paused_until = time.monotonic() + float(reset)
        except ValueError:
            pass

    # -- the interface ----------------------------------------------------------------------------

    def check(self) -> Health:
        try:
            me = self._api("GET", "/api/v1/me")
            about = self._api("GET", f"/r/{self.subreddit}/about", params={"raw_json": 1}).get("data", {})
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)
        name = f"u/{me.get('name', self.username)}"
        role = (
            "a moderator" if about.get("user_is_moderator") else "not a moderator (remove/approve will fail)"
        )
        return Health(ok=True, message=f"signed in as {name}, {role} of r/{self.subreddit}", account=name)

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        things: list[dict[str, Any]] = []
        new_cursor: dict[str, Any] = {}
        warnings: list[str] = []
        for key, listing in LISTINGS:
            position = cursor.get(key)
            found, complete = self._read_listing(f"/r/{self.subreddit}/{listing}", position)
            if not complete:
                warnings.append(
                    f"r/{self.subreddit}/{listing}: more new {key} than Reddit lists ({MAX_PAGES * PAGE}); "
                    "older ones were not read"
                )
            things.extend(found)
            advanced = _advance(position, found)
            if advanced:
                new_cursor[key] = advanced
        # Oldest first, so a comment's post is stored before it.
        things.sort(key=lambda t: float(t.get("created_utc") or 0))
        items: list[IncomingItem | RowError] = [self._item(thing) for thing in things]
        return FetchPage(items=items, cursor=new_cursor, warnings=warnings)

    def _read_listing(self, path: str, position: dict[str, Any] | None) -> tuple[list[dict[str, Any]], bool]:
        """The listing's items newer than `position`, and whether the walk reached it (False: a gap)."""
        found: dict[str, dict[str, Any]] = {}
        after = ""
        for _ in range(MAX_PAGES if position else 1):
            params: dict[str, Any] = {"limit": PAGE, "raw_json": 1}
            if after:
                params["after"] = after
            data = self._api("GET", path, params=params).get("data") or {}
            reached = False
            for child in data.get("children") or []:
                if child.get("kind") not in ("t1", "t3"):
                    continue  # a "more" stub lists no content of its own
                thing = child["data"]
                if _is_delivered(thing, position):
                    # A stickied post sits out of date order: it says nothing about what is older.
                    reached = reached or not thing.get("stickied")
                elif thing["name"] not in found:
                    found[thing["name"]] = thing
            after = str(data.get("after") or "")
            if reached or not after or not position:
                return list(found.values()), True
        return list(found.values()), False

    def _item(self, thing: dict[str, Any]) -> IncomingItem:
        is_post = str(thing["name"]).startswith("t3_")
        author = str(thing.get("author") or "")
        ours = bool(self.username) and author.lower() == self.username.lower()
        if is_post:
            title, body = str(thing.get("title") or ""), str(thing.get("selftext") or "")
            text = f"{title}\n\n{body}" if body else title
            if not body and not thing.get("is_self") and thing.get("url"):
                text = f"{title}\n\n{thing['url']}"
            kind, parent = "post", ""
        else:
            text = str(thing.get("body") or "")
            parent = str(thing.get("parent_id") or "")
            kind = "comment"
            if self.username and f"u/{self.username.lower()}" in text.lower():
                kind = "mention"
            elif (
                parent.startswith("t3_")
                and str(thing.get("link_author") or "").lower() == self.username.lower()
            ):
                kind = "reply"
        return IncomingItem(
            network="reddit",
            native_id=str(thing["name"]),
            created_at=datetime.fromtimestamp(float(thing.get("created_utc") or 0), UTC),
            text=text[:20_000],
            kind=kind,
            direction="outbound" if ours else "inbound",
            author=author_of(author),
            channel_handle=self.config.handle,
            parent_native_id=parent,
            url=f"{WEB}{thing.get('permalink', '')}"[:1000] if thing.get("permalink") else "",
            likes=max(0, int(thing.get("score") or 0)),
            replies=int(thing.get("num_comments") or 0),
            raw={
                "subreddit": thing.get("subreddit", ""),
                "link_id": thing.get("link_id", thing.get("name", "")),
                "removed": bool(thing.get("removed") or thing.get("banned_by")),
                "approved": bool(thing.get("approved")),
                "flair": thing.get("link_flair_text") or "",
            },
        )

    def publish(self, post: Outgoing) -> Published:
        text = post.text.strip()
        if post.reply_to:
            if len(text) > MAX_COMMENT:
                raise ConnectorError(f"the comment has {len(text)} characters; Reddit allows {MAX_COMMENT}")
            form = {"thing_id": post.reply_to, "text": text, "api_type": "json"}
            answer = self._api("POST", "/api/comment", data=form)
            thing = self._answered(answer, "reply")["things"][0]["data"]
            return Published(
                native_id=str(thing["name"]),
                url=f"{WEB}{thing.get('permalink', '')}",
                raw={"name": thing["name"], "parent_id": thing.get("parent_id", "")},
            )
        title = str(post.extra.get("title") or text.split("\n", 1)[0]).strip()
        body = text if post.extra.get("title") else text.partition("\n")[2].strip()
        if not title or len(title) > MAX_TITLE:
            raise ConnectorError(
                f"a Reddit post needs a title (its first line) of 1 to {MAX_TITLE} characters"
            )
        if len(body) > MAX_SELF_TEXT:
            raise ConnectorError(f"the post has {len(body)} characters; Reddit allows {MAX_SELF_TEXT}")
        form = {"sr": self.subreddit, "kind": "self", "title": title, "text": body, "api_type": "json"}
        made = self._answered(self._api("POST", "/api/submit", data=form), "post")
        return Published(native_id=str(made["name"]), url=str(made.get("url") or ""), raw=dict(made))

    @staticmethod
    def _answered(answer: dict[str, Any], what: str) -> dict[str, Any]:
        """The `data` of an api_type=json answer; its `errors` (a rate limit, a locked thread) as an error."""
        errors = (answer.get("json") or {}).get("errors") or []
        if errors:
            said = "; ".join(" ".join(str(part) for part in error[:2]) for error in errors)
            retryable = any(error and error[0] == "RATELIMIT" for error in errors)
            raise ConnectorError(f"Reddit refused the {what}: {said}", retryable=retryable)
        return dict(answer["json"]["data"])

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        """Remove (delete, hide), remove as spam, or approve (approve, unhide) a post or comment by fullname.

        Reddit's /api/remove takes no reason: a removal reason shown to the author is a separate mod tool.
        """
        if action not in self.capabilities.moderate:
            raise ConnectorError(f"Reddit cannot {action} through Townhall")
        if not target.startswith(("t1_", "t3_")):
            raise ConnectorError(
                f"name a Reddit post or comment by its fullname (t3_..., t1_...), not {target!r}"
            )
        if action in REMOVALS:
            self._api("POST", "/api/remove", data={"id": target, "spam": str(REMOVALS[action]).lower()})
        else:
            self._api("POST", "/api/approve", data={"id": target})
