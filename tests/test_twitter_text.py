"""X/Twitter text rules against the twitter-text conformance suite, read at test time, plus properties."""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, SHARED_DATA
from townhall.text import _twitter_patterns as patterns
from townhall.text import twitter, twitter_extract
from townhall.text._twitter_url_scan import url_matches
from townhall.text.twitter import Entity

# Upstream asks implementers to run its YAML rather than convert it: the shared checkout is preferred, the
# copy under fixtures/ (same files, same licence) keeps the suite running without it.
_SHARED = SHARED_DATA / "twitter-text"
CONFORMANCE = _SHARED / "conformance" if (_SHARED / "conformance").is_dir() else FIXTURES / "twitter-text"
CONFIG = _SHARED / "config" if (_SHARED / "config").is_dir() else FIXTURES / "twitter-text" / "config"


def _cases(name: str) -> list[Any]:
    tests = yaml.safe_load((CONFORMANCE / f"{name}.yml").read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(section, case, id=f"{section}: {case['description']}")
        for section, cases in tests.items()
        for case in cases
    ]


def _with_indices(entities: list[Entity], key: str) -> list[dict[str, Any]]:
    return [{key: entity.value, "indices": [entity.start, entity.end]} for entity in entities]


def _mentions_or_lists(text: str) -> list[dict[str, Any]]:
    found = []
    for entity in twitter.extract_mentions_or_lists_with_indices(text):
        name, _, slug = entity.value.partition("/")
        found.append(
            {
                "screen_name": name,
                "list_slug": f"/{slug}" if slug else "",
                "indices": [entity.start, entity.end],
            }
        )
    return found


EXTRACT: dict[str, Callable[[str], Any]] = {
    "mentions": twitter.extract_mentions,
    "mentions_with_indices": lambda t: _with_indices(twitter.extract_mentions_with_indices(t), "screen_name"),
    "mentions_or_lists_with_indices": _mentions_or_lists,
    "replies": twitter.extract_reply_username,
    "urls": twitter.extract_urls,
    "urls_with_indices": lambda t: _with_indices(twitter.extract_urls_with_indices(t), "url"),
    "urls_with_directional_markers": lambda t: _with_indices(twitter.extract_urls_with_indices(t), "url"),
    "tco_urls_with_params": twitter.extract_urls,
    "hashtags": twitter.extract_hashtags,
    "hashtags_from_astral": twitter.extract_hashtags,
    "hashtags_with_indices": lambda t: _with_indices(twitter.extract_hashtags_with_indices(t), "hashtag"),
    "cashtags": twitter.extract_cashtags,
    "cashtags_with_indices": lambda t: _with_indices(twitter.extract_cashtags_with_indices(t), "cashtag"),
}


@pytest.mark.parametrize(("section", "case"), _cases("extract"))
def test_extract(section: str, case: dict[str, Any]) -> None:
    assert EXTRACT[section](case["text"]) == case["expected"]


def _counted(config: twitter.WeightConfig) -> Callable[[str], dict[str, Any]]:
    def count(text: str) -> dict[str, Any]:
        result = twitter.parse_tweet(text, config)
        return {
            "weightedLength": result.weighted_length,
            "valid": result.valid,
            "permillage": result.permillage,
            "displayRangeStart": result.display_range[0],
            "displayRangeEnd": result.display_range[1],
            "validRangeStart": result.valid_range[0],
            "validRangeEnd": result.valid_range[1],
        }

    return count


VALIDATE: dict[str, Callable[[str], Any]] = {
    # The "tweets" cases are the classic 140-character rule.
    "tweets": lambda t: twitter.parse_tweet(t, twitter.V1).valid,
    "usernames": twitter.is_valid_username,
    "lists": twitter.is_valid_list,
    "hashtags": twitter.is_valid_hashtag,
    "urls": twitter.is_valid_url,
    "urls_without_protocol": lambda t: twitter.is_valid_url(t, require_protocol=False),
    "WeightedTweetsCounterTest": _counted(twitter.V2),
    "WeightedTweetsWithDiscountedEmojiCounterTest": _counted(twitter.V3),
    "UnicodeDirectionalMarkerCounterTest": _counted(twitter.V3),
}


@pytest.mark.parametrize(("section", "case"), _cases("validate"))
def test_validate(section: str, case: dict[str, Any]) -> None:
    assert VALIDATE[section](case["text"]) == case["expected"]


AUTOLINK_KINDS: dict[str, frozenset[twitter.EntityKind]] = {
    "usernames": frozenset({"mention", "list"}),
    "lists": frozenset({"mention", "list"}),
    "hashtags": frozenset({"hashtag"}),
    "urls": frozenset({"url"}),
    "cashtags": frozenset({"cashtag"}),
    "all": twitter.ALL_KINDS,
}


@pytest.mark.parametrize(("section", "case"), _cases("autolink"))
def test_autolink(section: str, case: dict[str, Any]) -> None:
    # Upstream's input is API text, already HTML-escaped: it is copied as is.
    if section == "json":
        linked = twitter.autolink_api_entities(case["text"], json.loads(case["json"]), text_is_escaped=True)
    else:
        linked = twitter.autolink(case["text"], kinds=AUTOLINK_KINDS[section], text_is_escaped=True)
    assert linked == case["expected"]


@pytest.mark.parametrize(("section", "case"), _cases("hit_highlighting"))
def test_hit_highlighting(section: str, case: dict[str, Any]) -> None:
    assert twitter.hit_highlight(case["text"], case["hits"]) == case["expected"]


TLD_CASES = yaml.safe_load((CONFORMANCE / "tlds.yml").read_text(encoding="utf-8"))["tests"]


@pytest.mark.parametrize("section", sorted(TLD_CASES))
def test_every_tld_is_linkable(section: str) -> None:
    missed = [
        case["text"] for case in TLD_CASES[section] if twitter.extract_urls(case["text"]) != case["expected"]
    ]
    assert not missed, f"{len(missed)} {section} TLDs not extracted, e.g. {missed[:5]}"


def test_the_shipped_tld_list_is_the_conformance_list() -> None:
    shipped_path = Path(twitter.__file__).parent / "data" / "tlds.json"
    shipped = json.loads(shipped_path.read_text(encoding="utf-8"))
    prefix = "https://twitter."
    for section in ("country", "generic"):
        assert shipped[section] == [case["text"].removeprefix(prefix) for case in TLD_CASES[section]]


@pytest.mark.parametrize(("name", "config"), [("v1", twitter.V1), ("v2", twitter.V2), ("v3", twitter.V3)])
def test_weight_configs_are_upstreams(name: str, config: twitter.WeightConfig) -> None:
    data = json.loads((CONFIG / f"{name}.json").read_text(encoding="utf-8"))
    assert twitter.WeightConfig.from_json(data) == config


# --- Choices the suite leaves open -----------------------------------------------------------------------


def test_entities_come_in_text_order_with_kinds_and_code_point_offsets() -> None:
    text = "😀 @ana: see https://x.com/a #News $ACME via @team/support-desk \uff03全角"
    assert twitter.extract_entities(text) == [
        Entity("mention", "ana", 2, 6),
        Entity("url", "https://x.com/a", 12, 27),
        Entity("hashtag", "News", 28, 33),
        Entity("cashtag", "ACME", 34, 39),
        Entity("list", "team/support-desk", 44, 62),
        Entity("hashtag", "全角", 63, 66),
    ]


def test_a_hashtag_inside_a_url_belongs_to_the_url() -> None:
    assert twitter.extract_entities("read http://example.com/#faq") == [
        Entity("url", "http://example.com/#faq", 5, 28)
    ]
    assert twitter.autolink("http://example.com/#faq", kinds={"hashtag"}) == "http://example.com/#faq"


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("\u00a9", 2),  # a text-default emoji counts as an emoji, with or without U+FE0F
        ("\u00a9\ufe0f", 2),
        ("1\ufe0f\u20e3", 2),  # keycap
        ("\U0001f600\ufe0f", 4),  # U+FE0F after an emoji-default emoji is a character of its own
        ("\U0001f1fa\U0001f1e6\U0001f1fa", 4),  # a flag, then a lone regional indicator
        ("\U0001f469\U0001f3fd\u200d\U0001f4bb", 2),  # skin tone and ZWJ in one emoji
        ("\U0001f431\U0001f3fd", 4),  # a skin tone after a cat is two emoji
    ],
)
def test_emoji_sequences_weigh_as_one_character(text: str, weight: int) -> None:
    assert twitter.parse_tweet(text).weighted_length == weight


def test_autolink_escapes_raw_text_by_default() -> None:
    linked = twitter.autolink("<b>hi</b> @ana & https://x.com/?a=1&b=2")
    assert linked == (
        '&lt;b&gt;hi&lt;/b&gt; @<a class="tweet-url username" href="https://twitter.com/ana">ana</a> &amp; '
        '<a href="https://x.com/?a=1&amp;b=2">https://x.com/?a=1&amp;b=2</a>'
    )


def test_autolink_can_point_at_other_link_bases() -> None:
    bases = twitter.LinkBases(username="https://x.com/", hashtag="https://x.com/hashtag/")
    assert twitter.autolink("@ana #tag", bases=bases) == (
        '@<a class="tweet-url username" href="https://x.com/ana">ana</a> '
        '<a href="https://x.com/hashtag/tag" title="#tag" class="tweet-url hashtag">#tag</a>'
    )


# --- Properties ------------------------------------------------------------------------------------------

# Pieces that exercise the rules (signs, protocols, TLDs, joiners, scripts, invalid and directional marks).
FRAGMENTS = [
    *("@", "\uff20", "#", "\uff03", "$", "RT", "rt:", "_", "-", "1", "(", ")"),
    *(".", "/", ":", "://", "http://", "https://", "www.", ".com", ".co.jp", "t.co/", "example", "?q=1&x="),
    *(" ", "\n", "\u3000", "\u200d", "\ufe0f", "\u20e3", "\ufffe", "\u202a", "\u2066"),
    *("日本語", "。", "كوم", "ñ", "a\u0301", "\ufb2c", "😀", "👩🏽\u200d💻", "🇫🇷", "<a>", "</a>", "&amp;"),
]
tweetish = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=40).map("".join)
any_text = st.text(max_size=300) | tweetish

SIGNS = {"mention": "@\uff20", "list": "@\uff20", "hashtag": "#\uff03", "cashtag": "$"}


def _written_form_matches(text: str, entity: Entity) -> bool:
    written = text[entity.start : entity.end]
    if entity.kind == "url":
        return written == entity.value
    return written[0] in SIGNS[entity.kind] and written[1:] == entity.value


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_entities_are_where_they_say_and_never_overlap(text: str) -> None:
    entities = twitter.extract_entities(text)
    for entity in entities:
        assert 0 <= entity.start < entity.end <= len(text)
        assert _written_form_matches(text, entity), entity
    for first, second in itertools.pairwise(entities):
        assert first.end <= second.start


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_each_extractor_reports_spans_of_its_own_entities(text: str) -> None:
    for extract in (
        twitter.extract_urls_with_indices,
        twitter.extract_mentions_or_lists_with_indices,
        twitter.extract_hashtags_with_indices,
        twitter.extract_cashtags_with_indices,
    ):
        for entity in extract(text):
            assert _written_form_matches(text, entity), entity
    twitter.extract_reply_username(text)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_parse_tweet_never_fails_and_stays_in_range(text: str) -> None:
    for config in (twitter.V1, twitter.V2, twitter.V3):
        result = twitter.parse_tweet(text, config)
        assert result.weighted_length >= 0
        assert result.permillage >= 0
        assert 0 <= result.valid_range[1] <= result.display_range[1] or not text
        assert result.display_range[1] == max(len(text.encode("utf-16-le")) // 2 - 1, 0)


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_autolink_keeps_the_visible_text(text: str) -> None:
    # Markup that came with the text is escaped, so removing our tags and unescaping gives the text back.
    linked = twitter.autolink(text, urls_without_protocol=True)
    assert html.unescape(re.sub("<[^>]*>", "", linked)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab <>/", max_size=30), st.lists(st.tuples(st.integers(-2, 35), st.integers(-2, 35))))
def test_hit_highlight_keeps_the_text(text: str, hits: list[tuple[int, int]]) -> None:
    highlighted = twitter.hit_highlight(text, hits)
    assert highlighted.replace("<em>", "").replace("</em>", "") == text


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_scanning_only_near_signs_and_dots_finds_what_a_full_scan_finds(text: str) -> None:
    # The extractors try each rule only where a match can start (near "@", "#", "$" or a dot), and find URL
    # domains label by label instead of by backtracking: both must give what upstream's expressions give.
    for rule, pattern in (
        (twitter_extract._MENTION, patterns.MENTION_OR_LIST),
        (twitter_extract._HASHTAG, patterns.HASHTAG),
        (twitter_extract._CASHTAG, patterns.CASHTAG),
    ):
        windowed = [(match.start("before"), match.end()) for match in rule.matches(text)]
        assert windowed == [match.span() for match in pattern.finditer(text)]
    found = [(match.before, match.start, match.end) for match in url_matches(text)]
    expected = [(m.group("before"), *m.span("url")) for m in patterns.url_reference().finditer(text)]
    assert found == expected
