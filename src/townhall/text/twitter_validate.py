"""X/Twitter's weighted post length and the validity of posts, usernames, lists, hashtags and URLs."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from townhall.text import _twitter_patterns as p
from townhall.text.twitter_extract import (
    extract_hashtags,
    extract_mentions,
    extract_urls_with_indices,
    utf16_length,
)


@dataclass(frozen=True, slots=True)
class WeightRange:
    """Code points start..end (inclusive) weigh `weight` each."""

    start: int
    end: int
    weight: int


@dataclass(frozen=True, slots=True)
class WeightConfig:
    """A twitter-text counting configuration (config/v*.json upstream)."""

    version: int
    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    emoji_parsing: bool
    ranges: tuple[WeightRange, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WeightConfig:
        """Read the upstream JSON form ("maxWeightedTweetLength", "ranges", ...)."""
        return cls(
            version=data["version"],
            max_weighted_length=data["maxWeightedTweetLength"],
            scale=data["scale"],
            default_weight=data["defaultWeight"],
            transformed_url_length=data.get("transformedURLLength", 23),
            emoji_parsing=data.get("emojiParsingEnabled", False),
            ranges=tuple(WeightRange(r["start"], r["end"], r["weight"]) for r in data.get("ranges", ())),
        )

    def weight(self, code_point: int) -> int:
        """Weight of one code point; a surrogate pair weighs what its first code unit weighs."""
        if code_point > 0xFFFF:
            code_point = 0xD800 + ((code_point - 0x10000) >> 10)
        for weight_range in self.ranges:
            if weight_range.start <= code_point <= weight_range.end:
                return weight_range.weight
        return self.default_weight


_LATIN_AND_PUNCTUATION = (
    WeightRange(0, 4351, 100),
    WeightRange(8192, 8205, 100),
    WeightRange(8208, 8223, 100),
    WeightRange(8242, 8247, 100),
)
# The classic 140-character count: every code point is 1, a URL is 23.
V1 = WeightConfig(1, 140, 1, 1, 23, False, ())
# 280 weighted: Latin script, general punctuation and spaces count 1, everything else 2, a URL 23.
V2 = WeightConfig(2, 280, 100, 200, 23, False, _LATIN_AND_PUNCTUATION)
# V2 plus: an emoji sequence (ZWJ, skin tone, flag, keycap, tag) counts 2 as a whole. X counts this way.
V3 = WeightConfig(3, 280, 100, 200, 23, True, _LATIN_AND_PUNCTUATION)


@dataclass(frozen=True, slots=True)
class TweetParseResult:
    """The weighted length of a post and how much of it fits.

    The ranges are (first, last) offsets in UTF-16 code units, both inclusive, as twitter-text reports them
    (the offsets a browser's JavaScript uses): display_range spans the whole text, valid_range the part that
    fits the limit and holds no invalid character.
    """

    weighted_length: int
    permillage: int
    valid: bool
    display_range: tuple[int, int]
    valid_range: tuple[int, int]


def parse_tweet(text: str, config: WeightConfig = V3) -> TweetParseResult:
    """Weigh a post as X does: NFC-normalised, URLs at a fixed weight, emoji sequences as one unit (V3)."""
    normalized = unicodedata.normalize("NFC", text)
    limit = config.max_weighted_length * config.scale
    spans = _weighed_spans(normalized, config)
    weight = 0
    position = 0
    for start, end, span_weight in spans:
        weight += _run_weight(normalized[position:start], config) + span_weight
        position = end
    weight += _run_weight(normalized[position:], config)
    valid = not any(char in normalized for char in p.INVALID_CHARS)
    if valid and weight <= limit:
        valid_end = utf16_length(normalized) - 1
    else:
        valid_end = _valid_end(normalized, spans, config, limit)
    # valid_end is an offset in the normalized text; the ranges refer to the text as given.
    length = utf16_length(text)
    valid_end += length - utf16_length(normalized)
    return TweetParseResult(
        weighted_length=weight // config.scale,
        permillage=weight * 1000 // limit,
        valid=valid and 0 < weight <= limit,
        display_range=(0, max(length - 1, 0)),
        valid_range=(0, max(valid_end, 0)),
    )


def _weighed_spans(text: str, config: WeightConfig) -> list[tuple[int, int, int]]:
    """(start, end, weight) of the URLs and, when parsed, emoji, in the order X walks the text.

    The walk goes unit by unit; a URL wins over an emoji starting at the same place, and an emoji that
    starts inside a URL is not seen (its characters after the URL count one by one).
    """
    url_weight = config.transformed_url_length * config.scale
    starts = {url.start: (url.end, url_weight) for url in extract_urls_with_indices(text)}
    if config.emoji_parsing:
        for emoji in p.EMOJI.finditer(text):
            starts.setdefault(emoji.start(), (emoji.end(), config.default_weight))
    spans = []
    position = 0
    for start in sorted(starts):
        if start >= position:
            end, weight = starts[start]
            spans.append((start, end, weight))
            position = end
    return spans


def _run_weight(run: str, config: WeightConfig) -> int:
    ascii_weight = _ascii_weight(config)
    if ascii_weight is not None and run.isascii():
        return len(run) * ascii_weight
    return sum(config.weight(ord(char)) for char in run)


@functools.cache
def _ascii_weight(config: WeightConfig) -> int | None:
    """The weight every ASCII character has under config, if they all have the same."""
    weights = {config.weight(code_point) for code_point in range(128)}
    return weights.pop() if len(weights) == 1 else None


def _valid_end(text: str, spans: list[tuple[int, int, int]], config: WeightConfig, limit: int) -> int:
    """UTF-16 offset of the last code unit that still fits the limit, before any invalid character."""
    span_at = {start: (end, weight) for start, end, weight in spans}
    weight = 0
    offset = 0  # UTF-16 offset of the next unit
    valid_end = 0
    index = 0
    while index < len(text):
        if index in span_at:
            end, span_weight = span_at[index]
            weight += span_weight
            offset += utf16_length(text[index:end])
        else:
            end = index + 1
            char = text[index]
            if char in p.INVALID_CHARS:
                break
            weight += config.weight(ord(char))
            offset += 2 if char > "\uffff" else 1
        if weight > limit:
            break
        valid_end = offset - 1
        index = end
    return valid_end


def is_valid_username(text: str) -> bool:
    """Whether text is exactly one @mention ("@name")."""
    return extract_mentions(text) == [text[1:]]


def is_valid_list(text: str) -> bool:
    """Whether text is exactly one list reference ("@name/slug")."""
    match = p.MENTION_OR_LIST.fullmatch(text)
    return match is not None and match.group("before") == "" and match.group("slug") is not None


def is_valid_hashtag(text: str) -> bool:
    """Whether text is exactly one hashtag ("#tag")."""
    return extract_hashtags(text) == [text[1:]]


def is_valid_url(url: str, *, unicode_domains: bool = True, require_protocol: bool = True) -> bool:
    """Whether url is a well-formed http(s) URL (RFC 3986 shapes), protocol optional when not required."""
    parts = p.URL_PARTS.fullmatch(url)
    if parts is None:
        return False
    scheme = parts.group("scheme")
    if scheme is None:
        if require_protocol:
            return False
    elif not p.URL_SCHEME.fullmatch(scheme):
        return False
    if not p.URL_PATH.fullmatch(parts.group("path")):
        return False
    for optional in (parts.group("query"), parts.group("fragment")):
        if optional and not p.URL_QUERY.fullmatch(optional):
            return False
    authority = p.UNICODE_AUTHORITY if unicode_domains else p.ASCII_AUTHORITY
    return authority.fullmatch(parts.group("authority")) is not None
