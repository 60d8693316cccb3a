"""WordPress: a blog's comments (held ones too) and posts in, posts and replies out, comment moderation.

Calls the core REST API (`/wp/v2`) directly through HttpClient with an application password (Basic auth):
the API is a handful of plain JSON endpoints, and the Python WordPress clients either speak XML-RPC or bring
their own HTTP session, which would bypass the shared retry and rate policy. Routes go in `?rest_route=`,
which every WordPress answers, with or without pretty permalinks.

Reading. Comment ids come from an AUTO_INCREMENT column, so "everything up to id N was looked at" is an exact
cursor: each page asks for the next window of ids (`include=N+1..N+100`), which no insert, deletion or status
change can shift, unlike `page`/`offset`. An account that may moderate reads with `context=edit&status=any`,
so held comments arrive at once and spam/trash ones are seen too; an id in the window that exists but is not
wanted now (spam, trash, or held for an account that cannot see held comments) is kept in the cursor's
`gaps` and asked for again once the sync has caught up, so a comment approved later still comes in, once.
Comments carry no modified date in WordPress, and the pipeline never rewrites a stored item, so an edit made
after a comment came in is not brought in again. A comment's post comes along as the thread root (kind
"post"; outbound when the channel's own user wrote it); new published posts come in by `modified_after`.

Channel settings: `statuses` (which comment statuses come in; default approved and hold), `posts` (false: no
new posts, only thread roots), `backfill` (comment ids the first sync looks back over; default 200) and
`page_size` (ids per page, at most 100).

Native ids name the site, so two blogs in one workspace never collide: "<host[:port][/path]>#comment-12",
"...#post-3", authors "...#user-2" or "...#guest-<hash of e-mail or name>".
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

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
from townhall.pipeline.records import IncomingAuthor, IncomingItem

MAX_PAGE = 100  # WordPress caps per_page at 100
BACKFILL = 200  # comment ids a channel's first sync looks back over
GAPS_KEPT = 100  # one include= call rechecks them all
POSTS_SEEN_KEPT = 1000
WANTED_STATUSES = ("approved", "hold")
STATUS_FOR_ACTION = {"approve": "approved", "unhide": "approved", "hide": "hold", "spam": "spam"}
COMMENT_FIELDS = "id,post,parent,author,author_name,author_email,author_url,date_gmt,content,link,status,type"
NATIVE_ID = re.compile(r"^(?P<site>.+)#(?P<kind>post|comment|user)-(?P<id>\d+)$")

BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre|tr)\s*>|<(?:br|hr)\s*/?>", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
SPACES = re.compile(r"[ \t\r\f\v]+")


def html_to_text(markup: str) -> str:
    """Rendered WordPress HTML as plain text, keeping line and paragraph breaks."""
    flat = re.sub(r"\s+", " ", markup or "")  # source newlines mean nothing in HTML; tags make the breaks
    broken = BLOCK_END.sub(lambda m: "\n" if m.group(0).lower().startswith(("<br", "<hr")) else "\n\n", flat)
    lines = [SPACES.sub(" ", line).strip() for line in html.unescape(TAG.sub("", broken)).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def site_key(site_url: str) -> str:
    """The site part of native ids: host[:port] and path, without the scheme (a move to https keeps ids)."""
    parts = urlsplit(site_url)
    return (parts.netloc.rpartition("@")[2].lower() + parts.path.rstrip("/")) or site_url


def utc(stamp: str | None) -> datetime:
    if not stamp:
        return datetime.now(UTC)
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


@dataclass
class Cursor:
    """Where reading stands (see the module docstring); stored as a plain dict between syncs."""

    comment_id: int | None = None  # every comment id up to this one was looked at
    gaps: list[int] = field(default_factory=list)  # ids looked at that may still become wanted comments
    posts_seen: list[int] = field(default_factory=list)  # posts delivered, as thread roots or as new posts
    posts_after: str = ""  # site-local modified time up to which new posts were looked at
    # posts modified exactly at `posts_after` and already handled (`modified_after` works to the second)
    posts_at: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Cursor:
        return cls(
            comment_id=int(raw["comment_id"]) if raw.get("comment_id") is not None else None,
            gaps=[int(i) for i in raw.get("gaps", [])],
            posts_seen=[int(i) for i in raw.get("posts_seen", [])],
            posts_after=str(raw.get("posts_after") or ""),
            posts_at=[int(i) for i in raw.get("posts_at", [])],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "comment_id": self.comment_id, "gaps": self.gaps[-GAPS_KEPT:],
            "posts_seen": self.posts_seen[-POSTS_SEEN_KEPT:], "posts_after": self.posts_after,
            "posts_at": self.posts_at,
        }  # fmt: skip


class WordPressConnector(Connector):
    network = "wordpress"
    label = "WordPress site (posts and comments)"
    capabilities = Capabilities(
        read=True,
        publish=True,
        reply=True,
        moderate=frozenset({"approve", "hide", "unhide", "spam", "delete"}),
        profile=True,
    )
    credential_fields = (
        CredentialField("site_url", "Site address", help="https://blog.example.com"),
        CredentialField(
            "username", "User name", help="a user who may moderate comments (Editor or Administrator)"
        ),
        CredentialField(
            "app_password",
            "Application password",
            secret=True,
            help="Users → Profile → Application Passwords",
        ),
    )

    _me: dict[str, Any] | None = None

    # --- the REST API ---------------------------------------------------------------------------------

    @property
    def site(self) -> str:
        url = str(self.config.credentials.get("site_url") or self.config.settings.get("url") or "").strip()
        url = url.rstrip("/").removesuffix("/wp-json")
        if not url.startswith(("http://", "https://")):
            raise ConnectorError(f"the site address {url!r} is not an http(s) URL")
        return url

    @property
    def key(self) -> str:
        return site_key(self.site)

    def _call(
        self, method: str, route: str, *, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        credentials = self.config.credentials
        auth = (
            str(credentials.get("username", "")),
            str(credentials.get("app_password", "")).replace(" ", ""),
        )
        # httpx replaces a URL's query string with `params`, so the route travels as one of them
        query = {"rest_route": f"/wp/v2/{route}", **(params or {})}
        response = self.http.request(method, f"{self.site}/", params=query, auth=auth, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                said = f"{body.get('code')}: {body.get('message')}"
            except (ValueError, AttributeError):
                said = f"not a WordPress REST API answer: {response.text[:120]!r}"
            raise ConnectorError(
                f"HTTP {response.status_code} on {method} {route} at {self.site} ({said})",
                status=response.status_code,
            )
        return response

    def _json(self, method: str, route: str, **kwargs: Any) -> Any:
        response = self._call(method, route, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{self.site} answered {method} {route} with no JSON: {response.text[:120]!r}",
                retryable=True,
            ) from exc

    def me(self) -> dict[str, Any]:
        """The channel's own user with its capabilities (asked once per connector)."""
        if self._me is None:
            self._me = dict(self._json("GET", "users/me", params={"context": "edit"}))
        return self._me

    def _moderator(self) -> bool:
        return bool(self.me().get("capabilities", {}).get("moderate_comments"))

    def _comment_scope(self) -> dict[str, Any]:
        if self._moderator():
            return {"context": "edit", "status": "any", "_fields": COMMENT_FIELDS}
        return {"status": "approve", "_fields": COMMENT_FIELDS}

    def _comments(self, ids: list[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        params = {**self._comment_scope(), "include": ",".join(map(str, ids)), "per_page": MAX_PAGE}
        return list(self._json("GET", "comments", params={**params, "orderby": "id", "order": "asc"}))

    def _newest_comment_id(self) -> int:
        scope = {**self._comment_scope(), "per_page": 1, "orderby": "id", "order": "desc", "_fields": "id"}
        newest = self._json("GET", "comments", params=scope)
        return int(newest[0]["id"]) if newest else 0

    def _wanted(self) -> set[str]:
        if not self._moderator():
            return {"approved"}
        return set(self.config.settings.get("statuses") or WANTED_STATUSES)

    def _may_turn_up(self, number: int, found: dict[int, dict[str, Any]], wanted: set[str]) -> bool:
        """Whether an id not taken now may later be a wanted comment (approved after being held or spam)."""
        if number in found:
            return found[number]["status"] not in wanted
        # a moderator sees every comment: an id it cannot see was deleted or is no comment (a pingback)
        return not self._moderator()

    def _next_window(self, at: Cursor, window: int, top: int) -> list[dict[str, Any]]:
        """The wanted comments among the next `window` ids; the others that may turn up later become gaps."""
        assert at.comment_id is not None
        ids = list(range(at.comment_id + 1, min(at.comment_id + window, top) + 1))
        found = {int(c["id"]): c for c in self._comments(ids)}
        wanted = self._wanted()
        at.gaps = (at.gaps + [i for i in ids if self._may_turn_up(i, found, wanted)])[-GAPS_KEPT:]
        at.comment_id = ids[-1]
        return [c for c in found.values() if c["status"] in wanted]

    def _recheck_gaps(self, at: Cursor) -> list[dict[str, Any]]:
        if not at.gaps:
            return []
        found = {int(c["id"]): c for c in self._comments(at.gaps)}
        wanted = self._wanted()
        at.gaps = [i for i in at.gaps if self._may_turn_up(i, found, wanted)]
        return [c for c in found.values() if c["status"] in wanted]

    def parse_id(self, native_id: str, *kinds: str) -> tuple[str, int]:
        """("comment" or "post", number) from a native id of this site; a ConnectorError otherwise."""
        found = NATIVE_ID.match(native_id or "")
        if not found or found["kind"] not in kinds:
            raise ConnectorError(
                f"{native_id!r} is not a WordPress {' or '.join(kinds)} id (site#{kinds[0]}-123)"
            )
        if found["site"] != self.key:
            raise ConnectorError(f"{native_id!r} belongs to another site than {self.key}")
        return found["kind"], int(found["id"])

    # --- the connector interface -----------------------------------------------------------------------

    def check(self) -> Health:
        try:
            self._me = None
            me = self.me()
        except AuthError as exc:
            return Health(
                ok=False, message=f"{self.site} refused the user name or application password ({exc.message})"
            )
        except ConnectorError as exc:
            return Health(ok=False, message=exc.message)
        message = f"signed in to {self.site} as {me.get('name')}"
        if not self._moderator():
            message += (
                "; this user may not moderate comments, so comments held for moderation stay out of sight"
            )
        return Health(ok=True, message=message, account=str(me.get("slug") or me.get("name") or ""))

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        settings = self.config.settings
        window = max(1, min(MAX_PAGE, int(settings.get("page_size", MAX_PAGE))))
        at = Cursor.of(cursor)
        top = self._newest_comment_id()
        if at.comment_id is None:
            at.comment_id = max(0, top - int(settings.get("backfill", BACKFILL)))
        items: list[IncomingItem] = []
        warnings: list[str] = []
        if at.comment_id < top:
            comments = self._next_window(at, window, top)
            more = True  # even the window that reaches the newest comment is followed by the caught-up page
        else:
            comments = self._recheck_gaps(at)
            more = False
            if settings.get("posts", True) and at.posts_after:
                posts, more = self._new_posts(at, window, warnings)
                items.extend(self._post_item(p) for p in posts)
        roots = sorted({int(c["post"]) for c in comments if c.get("post")} - set(at.posts_seen))
        for post in self._posts(roots):
            items.append(self._post_item(post))
            at.posts_seen.append(int(post["id"]))
        if not at.posts_after:
            self._start_posts(at)
        items.extend(self._comment_item(c) for c in sorted(comments, key=lambda c: int(c["id"])))
        return FetchPage(items=list(items), cursor=at.as_dict(), more=more, warnings=warnings)

    def publish(self, post: Outgoing) -> Published:
        if post.media:
            raise ConnectorError("the WordPress connector does not upload media")
        if not post.reply_to:
            body = {
                "title": str(post.extra.get("title", "")),
                "content": post.text,
                "status": str(post.extra.get("status", "publish")),
            }
            created = self._json("POST", "posts", json=body)
            return Published(
                native_id=f"{self.key}#post-{created['id']}",
                url=str(created.get("link", "")),
                raw={"id": created["id"], "status": created.get("status")},
            )
        kind, target = self.parse_id(post.reply_to, "comment", "post")
        reply: dict[str, Any] = {"post": target, "content": post.text}
        if kind == "comment":
            parent = self._json("GET", f"comments/{target}", params={"_fields": "id,post"})
            reply = {"post": parent["post"], "parent": target, "content": post.text}
        created = self._json("POST", "comments", json=reply)
        return Published(
            native_id=f"{self.key}#comment-{created['id']}",
            url=str(created.get("link", "")),
            raw={"id": created["id"], "post": created.get("post"), "parent": created.get("parent"),
                 "status": created.get("status")},
        )  # fmt: skip

    def moderate(self, action: str, target: str, *, reason: str = "") -> None:
        """Approve, hold ("hide"), spam or trash ("delete") a comment, or trash a post (no reason is kept)."""
        if action not in self.capabilities.moderate:
            raise ConnectorError(f"WordPress cannot {action} through Townhall")
        kind, number = self.parse_id(target, "comment", "post")
        if kind == "post" and action != "delete":
            raise ConnectorError(f"WordPress posts can only be deleted (moved to the trash), not {action}")
        route = f"{'posts' if kind == 'post' else 'comments'}/{number}"
        if action == "delete":
            try:
                self._call("DELETE", route)  # to the trash: the site's own "Trash" link, undoable there
            except ConnectorError as exc:
                if exc.status == 410:  # already in the trash: what was asked for holds
                    return
                if exc.status == 501:
                    raise ConnectorError(
                        f"{self.site} has its trash turned off; delete {target} on the site"
                    ) from exc
                raise
            return
        changed = self._json("POST", route, json={"status": STATUS_FOR_ACTION[action]})
        if changed.get("status") != STATUS_FOR_ACTION[action]:
            raise ConnectorError(f"{self.site} kept {target} {changed.get('status')} instead of {action}")

    def profile(self, native_id: str) -> IncomingAuthor:
        found = NATIVE_ID.match(native_id or "")
        if not found or found["kind"] != "user" or found["site"] != self.key:
            raise ConnectorError(
                f"{native_id!r} is not a registered user of {self.key} (guests have no profile)"
            )
        user = self._json("GET", f"users/{found['id']}")
        return IncomingAuthor(
            native_id=native_id,
            handle=str(user.get("slug", "")),
            display_name=str(user.get("name", "")),
            profile_url=str(user.get("link", ""))[:500],
        )

    # --- posts -----------------------------------------------------------------------------------------

    def _post_scope(self) -> dict[str, Any]:
        # Asking for statuses other than "publish" needs edit_posts; with it, private posts can be roots too.
        can_edit = bool(self.me().get("capabilities", {}).get("edit_posts"))
        return {"status": "any" if can_edit else "publish", "_embed": "author"}

    def _posts(self, ids: list[int]) -> list[dict[str, Any]]:
        """The posts (or pages) with these ids that the account may read."""
        found: list[dict[str, Any]] = []
        missing = list(ids)
        for route in ("posts", "pages"):
            if not missing:
                break
            params = {**self._post_scope(), "include": ",".join(map(str, missing)), "per_page": MAX_PAGE}
            found.extend(self._json("GET", route, params=params))
            missing = sorted(set(missing) - {int(p["id"]) for p in found})
        return found

    def _start_posts(self, at: Cursor) -> None:
        """Listen for posts from the newest one on: what is on the site already comes as thread roots only."""
        params = {
            "per_page": 10,
            "orderby": "modified",
            "order": "desc",
            "status": "publish",
            "_fields": "id,modified",
        }
        newest = self._json("GET", "posts", params=params)
        at.posts_after = str(newest[0]["modified"]) if newest else "1970-01-01T00:00:00"
        at.posts_at = [int(p["id"]) for p in newest if p["modified"] == at.posts_after]

    def _new_posts(self, at: Cursor, window: int, warnings: list[str]) -> tuple[list[dict[str, Any]], bool]:
        """Published posts changed after the cursor's time (site-local, as WordPress compares), not taken."""
        # `modified_after` is exclusive, to the second: ask from a second earlier, skip what was taken
        since = (datetime.fromisoformat(at.posts_after) - timedelta(seconds=1)).isoformat()
        params = {"modified_after": since, "orderby": "modified", "order": "asc", "per_page": window,
                  "status": "publish", "_embed": "author"}  # fmt: skip
        response = self._call("GET", "posts", params=params)
        page = list(response.json())
        more = int(response.headers.get("X-WP-TotalPages") or 1) > 1
        taken = set(at.posts_at) | set(at.posts_seen)
        fresh = [p for p in page if int(p["id"]) not in taken]
        latest = max([str(p["modified"]) for p in page] + [at.posts_after])
        at_latest = [int(p["id"]) for p in page if p["modified"] == latest]
        if latest == at.posts_after:
            at_latest = sorted(set(at.posts_at) | set(at_latest))
            if more and not fresh:
                # a whole page modified within one second: step past it rather than ask for it forever
                latest = (datetime.fromisoformat(latest) + timedelta(seconds=1)).isoformat()
                warnings.append(
                    f"more than {window} posts of {self.key} changed at {at.posts_after}; some may be missed"
                )
        at.posts_after, at.posts_at = latest, at_latest
        at.posts_seen.extend(int(p["id"]) for p in fresh)
        return fresh, more

    # --- items -----------------------------------------------------------------------------------------

    def _direction(self, user_id: Any) -> str:
        return "outbound" if user_id and int(user_id) == int(self.me().get("id", 0)) else "inbound"

    def _comment_item(self, comment: dict[str, Any]) -> IncomingItem:
        user_id = int(comment.get("author") or 0)
        name = str(comment.get("author_name") or "")
        if user_id:
            author_id = f"{self.key}#user-{user_id}"
        else:
            who = str(comment.get("author_email") or name).strip().lower()
            author_id = f"{self.key}#guest-{hashlib.sha256(who.encode()).hexdigest()[:16]}"
        profile_url = str(comment.get("author_url") or "")
        parent = int(comment.get("parent") or 0)
        # a top-level comment hangs under its post, so the post is the root of the thread
        parent_id = f"{self.key}#comment-{parent}" if parent else f"{self.key}#post-{comment['post']}"
        return IncomingItem(
            network=self.network,
            native_id=f"{self.key}#comment-{comment['id']}",
            created_at=utc(comment.get("date_gmt")),
            text=html_to_text(str((comment.get("content") or {}).get("rendered", "")))[:20_000],
            kind="comment",
            direction=self._direction(user_id),
            author=IncomingAuthor(
                native_id=author_id,
                handle=name,
                display_name=name,
                profile_url=profile_url[:500] if profile_url.startswith(("http://", "https://")) else "",
            ),
            channel_handle=self.config.handle,
            parent_native_id=parent_id,
            url=str(comment.get("link", ""))[:1000],
            raw={"id": comment["id"], "post": comment["post"], "parent": parent,
                 "status": comment.get("status"), "type": comment.get("type")},
        )  # fmt: skip

    def _post_item(self, post: dict[str, Any]) -> IncomingItem:
        user_id = int(post.get("author") or 0)
        embedded = ((post.get("_embedded") or {}).get("author") or [{}])[0]
        title = html_to_text(str((post.get("title") or {}).get("rendered", "")))
        body = html_to_text(str((post.get("content") or {}).get("rendered", "")))
        return IncomingItem(
            network=self.network,
            native_id=f"{self.key}#post-{post['id']}",
            created_at=utc(post.get("date_gmt")),
            text="\n\n".join(part for part in (title, body) if part)[:20_000],
            kind="post",
            direction=self._direction(user_id),
            author=IncomingAuthor(
                native_id=f"{self.key}#user-{user_id}",
                handle=str(embedded.get("slug", "")),
                display_name=str(embedded.get("name", "")),
                profile_url=str(embedded.get("link", ""))[:500],
            ),
            channel_handle=self.config.handle,
            url=str(post.get("link", ""))[:1000],
            raw={"id": post["id"], "type": post.get("type"), "status": post.get("status"),
                 "comment_status": post.get("comment_status")},
        )  # fmt: skip
