"""RSS and Atom feeds: news and blog monitoring with conditional GET; a broken feed is reported, not fatal."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from townhall.connectors.base import Capabilities, Connector, CredentialField, FetchPage, Health
from townhall.connectors.http import ConnectorError
from townhall.pipeline.records import IncomingAuthor, IncomingItem, RowError

TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"\s+")
# The ids of the latest entries seen, kept in the cursor: feeds repeat their recent entries on every fetch.
SEEN_KEPT = 500


def plain_text(markup: str) -> str:
    return SPACE.sub(" ", html.unescape(TAG.sub(" ", markup or ""))).strip()


class RssConnector(Connector):
    network = "rss"
    label = "RSS / Atom feed"
    capabilities = Capabilities(read=True)
    credential_fields = (
        CredentialField("url", "Feed URL", secret=False, help="https://example.com/feed.xml"),
        CredentialField("username", "User (for a private feed)", required=False),
        CredentialField("password", "Password", secret=True, required=False),
    )

    @property
    def url(self) -> str:
        url = self.config.credentials.get("url") or self.config.settings.get("url") or self.config.handle
        if not str(url).startswith(("http://", "https://")):
            raise ConnectorError(f"the feed address {url!r} is not an http(s) URL")
        return str(url)

    def _get(self, headers: dict[str, str]) -> Any:
        auth = None
        if self.config.credentials.get("username"):
            auth = (self.config.credentials["username"], self.config.credentials.get("password", ""))
        return self.http.request("GET", self.url, headers=headers, auth=auth)

    def check(self) -> Health:
        response = self._get({})
        if response.status_code >= 400:
            return Health(ok=False, message=f"HTTP {response.status_code} from {self.url}")
        parsed = feedparser.parse(response.content)
        if parsed.bozo and not parsed.entries:
            return Health(
                ok=False, message=f"{self.url} is not a readable feed: {parsed.get('bozo_exception')}"
            )
        title = parsed.feed.get("title", "")
        return Health(ok=True, message=f"{len(parsed.entries)} entries in {title or self.url}", account=title)

    def fetch(self, cursor: dict[str, Any]) -> FetchPage:
        headers = {}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        response = self._get(headers)
        if response.status_code == 304:
            return FetchPage(items=[], cursor=cursor)
        if response.status_code >= 400:
            raise ConnectorError(f"HTTP {response.status_code} from {self.url}", status=response.status_code)
        parsed = feedparser.parse(response.content)
        warnings = []
        if parsed.bozo:
            problem = f"{self.url} is not well-formed: {parsed.get('bozo_exception')}"
            if not parsed.entries:
                raise ConnectorError(problem)
            warnings.append(problem)  # feedparser still read entries: keep them, say so
        seen = list(cursor.get("seen", []))
        known = set(seen)
        items: list[IncomingItem | RowError] = []
        for entry in parsed.entries:
            item = self._item(entry, parsed.feed)
            if item.native_id in known:
                continue
            known.add(item.native_id)
            seen.append(item.native_id)
            items.append(item)
        new_cursor = {
            "etag": response.headers.get("ETag", ""),
            "modified": response.headers.get("Last-Modified", ""),
            "seen": seen[-SEEN_KEPT:],
        }
        return FetchPage(items=items, cursor=new_cursor, warnings=warnings)

    def _item(self, entry: Any, feed: Any) -> IncomingItem:
        link = entry.get("link", "")
        native = (
            entry.get("id")
            or link
            or hashlib.sha256((entry.get("title", "") + entry.get("summary", "")).encode()).hexdigest()
        )
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        created = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else datetime.now(UTC)
        title = plain_text(entry.get("title", ""))
        summary = plain_text(entry.get("summary", ""))
        text = title if not summary or summary.startswith(title) else f"{title}\n\n{summary}"
        author_name = entry.get("author", "") or feed.get("title", "")
        author = None
        if author_name:
            author = IncomingAuthor(
                native_id=f"{self.config.handle}:{author_name}", handle=author_name, display_name=author_name
            )
        return IncomingItem(
            network="rss",
            native_id=str(native)[:200],
            created_at=created,
            text=(text or link)[:20_000],
            kind="post",
            author=author,
            channel_handle=self.config.handle,
            url=link[:1000],
            raw={"feed": self.url, "tags": [t.get("term", "") for t in entry.get("tags", [])]},
        )
