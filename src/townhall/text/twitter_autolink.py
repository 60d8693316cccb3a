"""Post text as HTML: entities turned into links the way X renders them, and search hits emphasised."""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from townhall.text import _twitter_patterns as p
from townhall.text.twitter_extract import Entity, EntityKind, extract_entities

ALL_KINDS: frozenset[EntityKind] = frozenset({"url", "mention", "list", "hashtag", "cashtag"})

_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_INVISIBLE = "style='position:absolute;left:-9999px;'"


@dataclass(frozen=True, slots=True)
class LinkBases:
    """Where entity links point; the defaults are twitter-text's."""

    username: str = "https://twitter.com/"
    list: str = "https://twitter.com/"
    hashtag: str = "https://twitter.com/search?q=%23"
    cashtag: str = "https://twitter.com/search?q=%24"


@dataclass(frozen=True, slots=True)
class _UrlDisplay:
    display_url: str
    expanded_url: str


def autolink(
    text: str,
    *,
    kinds: Collection[EntityKind] = ALL_KINDS,
    urls_without_protocol: bool = False,
    text_is_escaped: bool = False,
    bases: LinkBases = LinkBases(),
) -> str:
    """Text as HTML with its entities (of the given kinds) linked.

    Entities are found as extract_entities does, so a hashtag inside a URL stays part of the URL. The text
    between entities is HTML-escaped, unless text_is_escaped says it already is (as the X API delivers it;
    twitter-text copies it unchanged then).
    """
    entities = [
        entity
        for entity in extract_entities(text, urls_without_protocol=urls_without_protocol)
        if entity.kind in kinds
    ]
    return _render(text, entities, {}, text_is_escaped=text_is_escaped, bases=bases)


def autolink_api_entities(
    text: str, entities: Mapping[str, Any], *, text_is_escaped: bool = False, bases: LinkBases = LinkBases()
) -> str:
    """Text as HTML with the entities of an X API (v1.1) payload linked; URLs show their display_url.

    entities has "urls", "user_mentions", "hashtags" and "symbols" lists, each item with code-point
    "indices"; URL items may carry "display_url" and "expanded_url".
    """
    found: list[Entity] = []
    displays: dict[int, _UrlDisplay] = {}
    for url in entities.get("urls", ()):
        start, end = url["indices"]
        found.append(Entity("url", url["url"], start, end))
        if url.get("display_url") and url.get("expanded_url"):
            displays[start] = _UrlDisplay(url["display_url"], url["expanded_url"])
    for mention in entities.get("user_mentions", ()):
        found.append(Entity("mention", mention["screen_name"], *mention["indices"]))
    for hashtag in entities.get("hashtags", ()):
        found.append(Entity("hashtag", hashtag["text"], *hashtag["indices"]))
    for symbol in entities.get("symbols", ()):
        found.append(Entity("cashtag", symbol["text"], *symbol["indices"]))
    found.sort(key=lambda entity: entity.start)
    return _render(text, found, displays, text_is_escaped=text_is_escaped, bases=bases)


def hit_highlight(text: str, hits: Sequence[Sequence[int]], *, tag: str = "em") -> str:
    """Wrap each hit [start, end) in <tag>; offsets count the text only, not the markup already in it.

    Where a highlight starts at markup it opens after the markup. Where it ends at markup it closes before
    the markup if it began in the same run of text, and after it otherwise, so "<a>foo</a>" with the hit
    (0, 3) gives "<a><em>foo</em></a>" and "@<a>user</a>" with (0, 5) gives "<em>@<a>user</a></em>".
    Hits that end before they start are ignored.
    """
    if not hits:
        return text
    pieces = _pieces(text)
    runs: list[tuple[int, int]] = []
    for piece, is_markup in pieces:
        if not is_markup:
            start = runs[-1][1] if runs else 0
            runs.append((start, start + len(piece)))
    total = runs[-1][1] if runs else 0
    run_starts = [start for start, _ in runs]
    before: dict[int, list[str]] = defaultdict(list)  # tags to put before the character at an offset
    after: dict[int, list[str]] = defaultdict(list)  # tags to put right after the character before it
    for hit_start, hit_end in sorted((min(max(a, 0), total), min(max(b, 0), total)) for a, b in hits):
        if hit_end < hit_start:
            continue
        before[hit_start].append(f"<{tag}>")
        run = bisect.bisect_right(run_starts, hit_start) - 1
        if hit_start < hit_end == runs[run][1]:
            after[hit_end].append(f"</{tag}>")
        else:
            before[hit_end].append(f"</{tag}>")
    out: list[str] = []
    offset = 0
    for piece, is_markup in pieces:
        if is_markup:
            out.append(piece)
            continue
        for char in piece:
            out.extend(before.pop(offset, ()))
            out.append(char)
            offset += 1
            out.extend(after.pop(offset, ()))
    out.extend(before.pop(total, ()))
    return "".join(out)


def _render(
    text: str,
    entities: Sequence[Entity],
    displays: Mapping[int, _UrlDisplay],
    *,
    text_is_escaped: bool,
    bases: LinkBases,
) -> str:
    out: list[str] = []
    position = 0
    for entity in entities:
        if entity.start < position:
            continue  # overlaps the previous entity
        between = text[position : entity.start]
        out.append(between if text_is_escaped else _escape(between))
        out.append(_link(text, entity, displays.get(entity.start), bases))
        position = entity.end
    rest = text[position:]
    out.append(rest if text_is_escaped else _escape(rest))
    return "".join(out)


def _link(text: str, entity: Entity, display: _UrlDisplay | None, bases: LinkBases) -> str:
    sign = _escape(text[entity.start])
    value = _escape(entity.value)
    if entity.kind == "mention":
        return f'{sign}<a class="tweet-url username" href="{_escape(bases.username)}{value}">{value}</a>'
    if entity.kind == "list":
        return f'{sign}<a class="tweet-url list-slug" href="{_escape(bases.list)}{value}">{value}</a>'
    if entity.kind == "hashtag":
        rtl = " rtl" if p.RTL_CHARS.search(entity.value) else ""
        return (
            f'<a href="{_escape(bases.hashtag)}{value}" title="#{value}" '
            f'class="tweet-url hashtag{rtl}">{sign}{value}</a>'
        )
    if entity.kind == "cashtag":
        return (
            f'<a href="{_escape(bases.cashtag)}{value}" title="${value}" '
            f'class="tweet-url cashtag">{sign}{value}</a>'
        )
    href = entity.value if _HAS_PROTOCOL.match(entity.value) else "http://" + entity.value
    if display is None:
        return f'<a href="{_escape(href)}">{value}</a>'
    return f'<a href="{_escape(href)}" title="{_escape(display.expanded_url)}">{_display_url(display)}</a>'


_HAS_PROTOCOL = re.compile("[a-zA-Z][a-zA-Z0-9+.-]*://")


def _display_url(display: _UrlDisplay) -> str:
    """The display URL, with the rest of the expanded URL present but invisible so that copying gets all."""
    shown = display.display_url.replace("\u2026", "")
    at = display.expanded_url.find(shown)
    if at == -1:
        return _escape(display.display_url)
    leading = "\u2026" if display.display_url.startswith("\u2026") else ""
    trailing = "\u2026" if display.display_url.endswith("\u2026") else ""
    return (
        f"<span class='tco-ellipsis'>{leading}<span {_INVISIBLE}>&nbsp;</span></span>"
        f"<span {_INVISIBLE}>{_escape(display.expanded_url[:at])}</span>"
        f"<span class='js-display-url'>{_escape(shown)}</span>"
        f"<span {_INVISIBLE}>{_escape(display.expanded_url[at + len(shown) :])}</span>"
        f"<span class='tco-ellipsis'><span {_INVISIBLE}>&nbsp;</span>{trailing}</span>"
    )


def _escape(text: str) -> str:
    return text.translate(_HTML_ESCAPES)


_MARKUP = re.compile("<[^<>]*>")


def _pieces(text: str) -> list[tuple[str, bool]]:
    """Text split into (piece, is_markup) in order."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for tag in _MARKUP.finditer(text):
        if tag.start() > position:
            pieces.append((text[position : tag.start()], False))
        pieces.append((tag.group(), True))
        position = tag.end()
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces
