"""The entities a network turns into links or tags: URLs, mentions, hashtags, with their offsets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from atproto_client import models
from atproto_client.utils import facet_detection

from townhall.text import twitter

EntityKind = Literal["url", "mention", "list", "hashtag", "cashtag", "community", "room"]


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity of a post: `text[start:end]` (code-point offsets, end exclusive) is `text`.

    `value` is what the network links it to: the URL (Bluesky adds `https://` to a bare domain), the handle
    or user id without its sign, the hashtag without its `#`, a cashtag as X keeps it (`AAPL`) or as Bluesky
    does (`$AAPL`). Bluesky entities also carry the UTF-8 byte offsets its facets use.
    """

    kind: EntityKind
    start: int
    end: int
    text: str
    value: str
    byte_start: int | None = None
    byte_end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "value": self.value,
        }
        if self.byte_start is not None:
            found["byte_start"], found["byte_end"] = self.byte_start, self.byte_end
        return found


# Mastodon's Account::MENTION_RE: @user on this instance, @user@domain on another.
MASTODON_MENTION = re.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)", re.IGNORECASE
)
# Instagram and Threads usernames: 1 to 30 letters, digits, periods and underscores, not ending in a period.
INSTAGRAM_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)(?![\w@])")
# YouTube handles: 3 to 30 letters (any script), digits, underscores, hyphens and periods.
YOUTUBE_HANDLE = re.compile(r"(?<![\w@.-])@(\w[\w.-]{1,28}\w)(?![\w@-])")
# Reddit: u/name (3 to 20 of [A-Za-z0-9_-]) and r/name (up to 21 of [A-Za-z0-9_]), with or without the slash.
REDDIT_USER = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})(?![\w-])")
REDDIT_COMMUNITY = re.compile(r"(?<![\w/])/?r/([A-Za-z0-9_]{2,21})(?!\w)")
# Matrix user ids (@localpart:server) and room aliases (#alias:server), which Matrix clients linkify.
# A server name: localhost, a dotted host name or a bracketed IPv6 address, with an optional port.
_MATRIX_SERVER = (
    r"(?:localhost|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]{1,5})?"
)
MATRIX_USER = re.compile(rf"(?<![\w@])@([a-z0-9._=/+-]+:{_MATRIX_SERVER})")
MATRIX_ROOM = re.compile(rf"(?<![\w#])#([^\s:#]+:{_MATRIX_SERVER})")


def _entity(text: str, kind: EntityKind, start: int, end: int, value: str) -> Entity:
    return Entity(kind=kind, start=start, end=end, text=text[start:end], value=value)


def _from_pattern(text: str, pattern: re.Pattern[str], kind: EntityKind) -> list[Entity]:
    return [_entity(text, kind, m.start(), m.end(), m.group(1)) for m in pattern.finditer(text)]


def _without_overlaps(*groups: Iterable[Entity]) -> list[Entity]:
    """Every entity in text order; of two that overlap, the one starting first (or listed first) stays."""
    ordered = sorted((e for group in groups for e in group), key=lambda e: e.start)  # sorted() is stable
    kept: list[Entity] = []
    for entity in ordered:
        if not kept or entity.start >= kept[-1].end:
            kept.append(entity)
    return kept


def _converted(text: str, found: Iterable[twitter.Entity]) -> list[Entity]:
    return [_entity(text, e.kind, e.start, e.end, e.value) for e in found]


def urls(text: str, *, without_protocol: bool = True) -> list[Entity]:
    """URLs by the twitter-text rules: with a protocol, and bare domains with a known TLD unless told not."""
    return _converted(text, twitter.extract_urls_with_indices(text, without_protocol=without_protocol))


def hashtags(text: str) -> list[Entity]:
    """#hashtags by the twitter-text rules (letters, digits, underscores and marks; not only digits)."""
    return _converted(text, twitter.extract_hashtags_with_indices(text, check_url_overlap=False))


def x_entities(text: str) -> list[Entity]:
    """URLs, @mentions, @user/lists, #hashtags and $cashtags as X finds them (twitter-text)."""
    return _converted(text, twitter.extract_entities(text))


def bluesky_entities(text: str) -> list[Entity]:
    """Bluesky's facets (links, mentions, hashtags, cashtags) by the atproto rich-text rules.

    Every mention of a well-formed handle is kept: which handles exist is only known when the post is
    published, where a handle that resolves to nobody stays plain text.
    """
    raw = text.encode("utf-8", "surrogatepass")
    offsets = {0: 0}  # UTF-8 byte offset -> code-point offset, at every character boundary
    at = 0
    for index, char in enumerate(text):
        at += len(char.encode("utf-8", "surrogatepass"))
        offsets[at] = index + 1
    spans: list[tuple[int, int, EntityKind, str]] = []
    for facet in facet_detection.detect_facets(text):
        feature = facet.features[0]
        first, last = facet.index.byte_start, facet.index.byte_end
        if isinstance(feature, models.AppBskyRichtextFacet.Link):
            spans.append((first, last, "url", feature.uri))
        else:
            kind: EntityKind = "cashtag" if raw[first : first + 1] == b"$" else "hashtag"
            spans.append((first, last, kind, feature.tag))
    for mention in facet_detection.detect_mentions(text):
        spans.append((mention.byte_start, mention.byte_end, "mention", mention.handle))
    return [
        Entity(
            kind=kind,
            start=offsets[first],
            end=offsets[last],
            text=text[offsets[first] : offsets[last]],
            value=value,
            byte_start=first,
            byte_end=last,
        )
        for first, last, kind, value in sorted(spans, key=lambda span: span[0])
    ]


def mastodon_entities(text: str) -> list[Entity]:
    """URLs with a protocol, @mentions (local or remote) and #hashtags, as Mastodon links them.

    Mastodon finds URLs with twitter-text, with a protocol only; its hashtag pattern (Tag::HASHTAG_RE) is
    close to twitter-text's, which is used here; hashtags never change the length.
    """
    found = urls(text, without_protocol=False)
    mentions = [
        _entity(text, "mention", m.start(), m.end(), m.group(1)) for m in MASTODON_MENTION.finditer(text)
    ]
    # A mention inside a URL is part of the URL; this is the order Mastodon's counter settles overlaps in.
    mentions = [m for m in mentions if not any(u.start < m.end and m.start < u.end for u in found)]
    return _without_overlaps(found, mentions, hashtags(text))


def instagram_entities(text: str) -> list[Entity]:
    """@usernames and #hashtags; links in an Instagram caption are not clickable, so they are no entity."""
    return _without_overlaps(_from_pattern(text, INSTAGRAM_MENTION, "mention"), hashtags(text))


def threads_entities(text: str) -> list[Entity]:
    """URLs, @usernames (Instagram's) and #tags."""
    return _without_overlaps(urls(text), _from_pattern(text, INSTAGRAM_MENTION, "mention"), hashtags(text))


def links_and_hashtags(text: str) -> list[Entity]:
    """URLs and #hashtags: what LinkedIn and Facebook link in plain text (their mentions need ids)."""
    return _without_overlaps(urls(text), hashtags(text))


def youtube_title_entities(text: str) -> list[Entity]:
    """#hashtags, which YouTube links in titles; URLs in a title stay plain text."""
    return hashtags(text)


def youtube_description_entities(text: str) -> list[Entity]:
    """URLs, @handles and #hashtags, which YouTube links in descriptions."""
    return _without_overlaps(urls(text), _from_pattern(text, YOUTUBE_HANDLE, "mention"), hashtags(text))


def no_entities(text: str) -> list[Entity]:
    """Nothing is linked (a Reddit title)."""
    return []


def reddit_entities(text: str) -> list[Entity]:
    """URLs with a protocol, u/users and r/communities, which Reddit's Markdown links by itself."""
    return _without_overlaps(
        urls(text, without_protocol=False),
        _from_pattern(text, REDDIT_USER, "mention"),
        _from_pattern(text, REDDIT_COMMUNITY, "community"),
    )


def matrix_entities(text: str) -> list[Entity]:
    """URLs, @user:server ids and #room:server aliases, which Matrix clients linkify in a plain body."""
    return _without_overlaps(
        _from_pattern(text, MATRIX_USER, "mention"), _from_pattern(text, MATRIX_ROOM, "room"), urls(text)
    )
