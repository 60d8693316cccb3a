"""Entities of a post as X/Twitter finds them: URLs, @mentions, @user/lists, #hashtags and $cashtags."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import regex

from townhall.text import _twitter_patterns as p
from townhall.text._twitter_url_scan import url_matches

EntityKind = Literal["url", "mention", "list", "hashtag", "cashtag"]

DEFAULT_PROTOCOL = "https://"
MAX_URL_LENGTH = 4096
MAX_DOMAIN_LABEL_LENGTH = 63
MAX_TCO_SLUG_LENGTH = 40


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity; start and end are code-point offsets into the text, end exclusive.

    value is the URL as written, the screen name, "screen_name/slug" for a list, or the hashtag or cashtag
    without its sign; text[start:end] is that value with its sign ("@", "#", "$" or a full-width form).
    """

    kind: EntityKind
    value: str
    start: int
    end: int


def extract_entities(text: str, *, urls_without_protocol: bool = True) -> list[Entity]:
    """All entities in text order; where two overlap, the one that starts first wins."""
    found = [
        *extract_urls_with_indices(text, without_protocol=urls_without_protocol),
        *extract_mentions_or_lists_with_indices(text),
        *extract_hashtags_with_indices(text, check_url_overlap=False),
        *extract_cashtags_with_indices(text),
    ]
    return _without_overlaps(found)


def extract_urls(text: str, *, without_protocol: bool = True) -> list[str]:
    """The URLs, as written."""
    return [entity.value for entity in extract_urls_with_indices(text, without_protocol=without_protocol)]


def extract_urls_with_indices(text: str, *, without_protocol: bool = True) -> list[Entity]:
    """URLs with and (unless told otherwise) without a protocol; bare domains need a known TLD."""
    if ("." if without_protocol else ":") not in text:
        return []
    urls: list[Entity] = []
    for match in url_matches(text):
        url, protocol, domain = text[match.start : match.end], match.protocol, match.domain
        start, end = match.start, match.end
        if not _is_linkable_host(url, has_protocol=bool(protocol), domain=domain):
            continue
        if protocol:
            tco = p.TCO_URL.match(url)
            if tco:
                # t.co links end where their slug (and query) ends, so "t.co/abc's" is just "t.co/abc".
                if len(tco.group("slug")) > MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group()
                end = start + len(url)
            urls.append(Entity("url", url, start, end))
            continue
        if not without_protocol or match.before in ("-", "_", ".", "/"):
            continue
        # Without a protocol only ASCII domains count; "日本語example.com" yields "example.com".
        last: Entity | None = None
        for ascii_domain in p.url_patterns().ascii_domain.finditer(domain):
            last = Entity(
                "url", ascii_domain.group(), start + ascii_domain.start(), start + ascii_domain.end()
            )
            urls.append(last)
        if last is not None and match.path:
            urls[-1] = Entity("url", text[last.start : end], last.start, end)
    return urls


def extract_mentions(text: str) -> list[str]:
    """Screen names of @mentions (not of lists)."""
    return [entity.value for entity in extract_mentions_with_indices(text)]


def extract_mentions_with_indices(text: str) -> list[Entity]:
    """@mentions (not lists), the at sign included in the span."""
    return [entity for entity in extract_mentions_or_lists_with_indices(text) if entity.kind == "mention"]


def extract_mentions_or_lists_with_indices(text: str) -> list[Entity]:
    """@mentions and @user/list references."""
    if "@" not in text and "\uff20" not in text:
        return []
    found = []
    for match in _MENTION.matches(text):
        if p.MENTION_END.match(text, match.end()):
            continue
        slug = match.group("slug")
        if slug:
            found.append(Entity("list", match.group("name") + slug, match.start("at"), match.end()))
        else:
            found.append(Entity("mention", match.group("name"), match.start("at"), match.end()))
    return found


def extract_reply_username(text: str) -> str | None:
    """The screen name a post replies to: an @mention that opens it (after spaces only)."""
    match = p.REPLY.match(text)
    if match is None or p.MENTION_END.match(text, match.end()):
        return None
    return match.group("name")


def extract_hashtags(text: str) -> list[str]:
    """Hashtags without their sign."""
    return [entity.value for entity in extract_hashtags_with_indices(text)]


def extract_hashtags_with_indices(text: str, *, check_url_overlap: bool = True) -> list[Entity]:
    """Hashtags; by default those inside a URL ("example.com/#top") are left out."""
    if "#" not in text and "\uff03" not in text:
        return []
    tags = []
    for match in _HASHTAG.matches(text):
        if p.HASHTAG_END.match(text, match.end()):
            continue
        tags.append(Entity("hashtag", match.group("tag"), match.start("hash"), match.end()))
    if tags and check_url_overlap:
        urls = extract_urls_with_indices(text)
        if urls:
            tags = [entity for entity in _without_overlaps([*tags, *urls]) if entity.kind == "hashtag"]
    return tags


def extract_cashtags(text: str) -> list[str]:
    """Cashtags without their sign."""
    return [entity.value for entity in extract_cashtags_with_indices(text)]


def extract_cashtags_with_indices(text: str) -> list[Entity]:
    """Cashtags: "$" and 1-6 ASCII letters (and an optional ".xx" or "_xx") after a space or the start."""
    if "$" not in text:
        return []
    return [
        Entity("cashtag", match.group("tag"), match.start("dollar"), match.end())
        for match in _CASHTAG.matches(text)
    ]


class _SignRule:
    """A rule whose matches start at most `lead` characters before one of its signs ("@", "#", "$").

    Trying the rule at every position of plain prose costs most of the time; instead one call per sign tries
    the start positions from `lead` characters before it, leftmost first, through a lazy prefix. Positions no
    window covers cannot start a match, so the matches are exactly those of pattern.finditer(text).
    """

    def __init__(self, pattern: re.Pattern[str] | regex.Pattern[str], signs: str, lead: int) -> None:
        self.signs = signs
        self.lead = lead
        windowed = f"(?s:.{{0,{lead}}}?)(?:{pattern.pattern})"
        if isinstance(pattern, re.Pattern):
            self.pattern: re.Pattern[str] | regex.Pattern[str] = re.compile(windowed, pattern.flags)
        else:
            self.pattern = regex.compile(windowed, pattern.flags)

    def matches(self, text: str) -> Iterator[re.Match[str] | regex.Match[str]]:
        position = 0
        for sign in _positions(text, self.signs):
            if sign < position:
                continue
            match = self.pattern.match(text, max(sign - self.lead, position))
            if match is not None:
                yield match
                position = match.end()


def _positions(text: str, signs: str) -> list[int]:
    found = []
    for sign in signs:
        index = text.find(sign)
        while index != -1:
            found.append(index)
            index = text.find(sign, index + 1)
    if len(signs) > 1:
        found.sort()
    return found


_MENTION = _SignRule(p.MENTION_OR_LIST, p.AT_SIGNS, lead=4)  # "xRT:@" is the longest lead-in
_HASHTAG = _SignRule(p.HASHTAG, p.HASH_SIGNS, lead=1)
_CASHTAG = _SignRule(p.CASHTAG, "$", lead=1)


def _without_overlaps(entities: Iterable[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda entity: entity.start):
        if not kept or entity.start >= kept[-1].end:
            kept.append(entity)
    return kept


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit X measures URLs and display ranges in."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _is_linkable_host(url: str, *, has_protocol: bool, domain: str) -> bool:
    """Every host label fits DNS once punycoded, and the URL (with a protocol) stays within X's maximum."""
    if domain.isascii():
        ascii_length = len(domain)
        if len(domain) > MAX_DOMAIN_LABEL_LENGTH and any(
            len(label) > MAX_DOMAIN_LABEL_LENGTH for label in domain.split(".")
        ):
            return False
    else:
        ascii_length = -1
        for label in domain.split("."):
            encoded = ".".join(
                part if part.isascii() else "xn--" + part.encode("punycode").decode("ascii")
                for part in p.IDNA_DOTS.split(label)
            )
            if len(encoded) > MAX_DOMAIN_LABEL_LENGTH:
                return False
            ascii_length += len(encoded) + 1
    length = utf16_length(url) - utf16_length(domain) + ascii_length
    if length + (0 if has_protocol else len(DEFAULT_PROTOCOL)) > MAX_URL_LENGTH:
        return False
    # A punycode host cannot carry other non-ASCII characters (checked last: the search is the slowest part).
    return (
        domain.isascii() or domain[:4] != "xn--" or p.url_patterns().ascii_domain.search(domain) is not None
    )
