"""The ways networks measure a text: code points, UTF-16 code units, grapheme clusters, bytes."""

from __future__ import annotations

import json
import re

import regex

from townhall.publishing.entities import MASTODON_MENTION, urls

GRAPHEME = regex.compile(r"\X")
# One emoji as a reader sees it: a cluster drawn as a picture (emoji presentation, a VS16-forced
# pictograph, a keycap or a flag), not a text-style symbol such as a bare "©".
EMOJI_CLUSTER = regex.compile(r"\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\u20E3")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def code_points(text: str) -> int:
    """Unicode code points: Python's len(), Ruby's String#length."""
    return len(text)


def utf16_units(text: str) -> int:
    """UTF-16 code units: JavaScript's and Java's String length; an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def graphemes(text: str) -> int:
    """Extended grapheme clusters (Unicode UAX #29): a family emoji or a Devanagari conjunct is one."""
    return sum(1 for _ in GRAPHEME.finditer(text))


def utf8_bytes(text: str) -> int:
    """Bytes of the UTF-8 encoding."""
    return len(text.encode("utf-8", "surrogatepass"))


def json_string_bytes(text: str) -> int:
    """Bytes the text takes inside a JSON string (quotes left out): UTF-8, with `"`, `\\` and control
    characters escaped the shortest way, as Matrix's canonical JSON writes them."""
    return utf8_bytes(json.dumps(text, ensure_ascii=False)) - 2


def emoji_as_utf8_bytes(text: str) -> int:
    """Code points, except that each emoji counts the bytes of its UTF-8 encoding (Threads' rule)."""
    length = 0
    for cluster in GRAPHEME.findall(text):
        length += utf8_bytes(cluster) if EMOJI_CLUSTER.search(cluster) else len(cluster)
    return length


def lone_surrogates(text: str) -> list[int]:
    """Offsets of surrogate code points standing alone, which no network can receive (they have no UTF-8)."""
    return [match.start() for match in LONE_SURROGATE.finditer(text)]


def without_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD: same code-point and UTF-8 offsets elsewhere."""
    return LONE_SURROGATE.sub("\ufffd", text)


def mastodon_length(text: str, *, url_length: int = 23) -> int:
    """Characters Mastodon counts for a status (its StatusLengthValidator): grapheme clusters, with every URL
    as `url_length` characters and a remote mention as its local part (`@user@domain` counts as `@user`)."""
    replaced = [(e.start, e.end, "x" * url_length) for e in urls(text, without_protocol=False)]
    for match in MASTODON_MENTION.finditer(text):
        if not any(start < match.end() and match.start() < end for start, end, _ in replaced):
            replaced.append((match.start(), match.end(), "@" + match.group(1).split("@")[0]))
    countable, at = [], 0
    for start, end, replacement in sorted(replaced):
        countable += [text[at:start], replacement]
        at = end
    countable.append(text[at:])
    return graphemes("".join(countable))
