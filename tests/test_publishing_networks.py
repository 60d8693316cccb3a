"""Per-network post validation: Bluesky's reference cases, X and Mastodon counting, every limit's edge."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, REPO, SHARED_DATA
from townhall.connectors.bluesky import rich_text_facets
from townhall.connectors.mastodon import status_length
from townhall.publishing.networks import NETWORKS, validate
from townhall.text.twitter import V3, parse_tweet

_SHARED_RICHTEXT = SHARED_DATA / "atproto-richtext" / "richtext_cases.json"
RICHTEXT_CASES = (
    _SHARED_RICHTEXT if _SHARED_RICHTEXT.exists() else FIXTURES / "atproto-richtext" / "richtext_cases.json"
)
FIELDS = [(network, name) for network, rules in NETWORKS.items() for name in rules.fields]


def _richtext(section: str) -> list[Any]:
    if not RICHTEXT_CASES.exists():
        pytest.skip(f"{RICHTEXT_CASES} is not there")
    return list(json.loads(RICHTEXT_CASES.read_text(encoding="utf-8"))[section])


# -- Bluesky: the atproto rich-text cases --------------------------------------------------------------


def test_bluesky_links_and_mentions_follow_the_reference_cases() -> None:
    for case in _richtext("detect_segments"):
        got = [
            (e.byte_start, e.byte_end, e.text, f"did:fake:{e.value}" if e.kind == "mention" else e.value)
            for e in validate("bluesky", case["input"]).entities
        ]
        want = [(f["byteStart"], f["byteEnd"], f["text"], f["value"]) for f in case["derived_facets"]]
        assert got == want, case["input"]


def test_bluesky_hashtags_follow_the_reference_cases() -> None:
    for case in _richtext("detect_tags"):
        entities = validate("bluesky", case["input"]).entities
        got = [(e.byte_start, e.byte_end, e.value) for e in entities if e.kind == "hashtag"]
        want = [
            (i["byteStart"], i["byteEnd"], tag)
            for i, tag in zip(case["expected_indices"], case["expected_tags"], strict=True)
        ]
        assert got == want, case["input"]


def test_bluesky_cashtags_follow_the_reference_cases() -> None:
    for case in _richtext("detect_cashtags"):
        entities = validate("bluesky", case["input"]).entities
        got = [(e.kind, e.byte_start, e.byte_end, e.value) for e in entities]
        want = [
            ("cashtag", i["byteStart"], i["byteEnd"], tag)
            for i, tag in zip(case["expected_indices"], case["expected_cashtags"], strict=True)
        ]
        assert got == want, case["input"]


def test_bluesky_counts_graphemes_and_bytes_as_the_reference_does() -> None:
    for case in _richtext("length") + _richtext("grapheme_length"):
        result = validate("bluesky", case["input"])
        size = case.get("expected_utf8_bytes", case.get("expected_utf8_bytes_derived"))
        assert result.length == case["expected_graphemes"], case["input"]
        assert [(x.name, x.length, x.limit) for x in result.extra_limits] == [("bytes", size, 3_000)]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab .:/#$@-_éअ्👍🏽\u200d😀\n", max_size=60))
def test_bluesky_entities_are_the_facets_the_connector_publishes(text: str) -> None:
    facets = rich_text_facets(text, lambda handle: f"did:fake:{handle}")
    published = [(f.index.byte_start, f.index.byte_end) for f in facets]
    assert [(e.byte_start, e.byte_end) for e in validate("bluesky", text).entities] == published


def test_bluesky_checks_bytes_as_well_as_graphemes() -> None:
    family = "👨‍👩‍👧‍👧"  # one grapheme, 25 bytes
    result = validate("bluesky", family * 300)
    assert (result.length, result.limit, result.valid) == (300, 300, False)
    assert result.problems == ["7,500 bytes in UTF-8; Bluesky allows 3,000"]


# -- X: the same answers as townhall.text ---------------------------------------------------------------

X_TEXTS = [
    "",
    "hello",
    "a" * 280,
    "a" * 281,
    "日本語" * 47,  # 141 CJK characters weigh 282
    "👨‍👩‍👧‍👧" * 140,
    "https://example.com/" + "x" * 300,
    "caf\u0065\u0301 " * 50,
    "bad \ufffe char",
    "@bob and #tag and $AAPL at example.com",
]


@pytest.mark.parametrize("text", X_TEXTS)
def test_x_agrees_with_twitter_text(text: str) -> None:
    parsed = parse_tweet(text)
    result = validate("x", text)
    assert (result.length, result.limit, result.valid) == (parsed.weighted_length, 280, parsed.valid)


@pytest.mark.parametrize("text", X_TEXTS)
def test_x_with_a_larger_limit_agrees_with_twitter_text(text: str) -> None:
    parsed = parse_tweet(text, replace(V3, max_weighted_length=500))
    result = validate("x", text, limit=500)
    assert (result.length, result.valid) == (parsed.weighted_length, parsed.valid)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300))
def test_x_validity_is_twitter_texts_on_any_text(text: str) -> None:
    assert validate("x", text).valid == parse_tweet(text).valid


def test_x_says_why_a_post_is_refused() -> None:
    assert validate("x", "日" * 141).problems == ["282 characters as X counts them; the limit is 280"]
    assert validate("x", "").problems == ["an X post cannot be empty"]
    assert validate("x", "a\ufeffb").problems == ["X does not accept U+FEFF in a post"]
    entities = validate("twitter", "@bob see example.com #tag $AAPL").entities
    assert [(e.kind, e.text, e.value) for e in entities] == [
        ("mention", "@bob", "bob"),
        ("url", "example.com", "example.com"),
        ("hashtag", "#tag", "tag"),
        ("cashtag", "$AAPL", "AAPL"),
    ]


# -- Mastodon -------------------------------------------------------------------------------------------


def test_mastodon_counts_every_url_as_23() -> None:
    long_url = "https://example.com/" + "a" * 200
    assert validate("mastodon", long_url).length == 23
    assert validate("mastodon", "see http://x.io").length == 4 + 23
    assert validate("mastodon", "see example.com").length == 15  # no protocol: plain text to Mastodon
    text = "a" * (500 - 24) + " " + long_url
    assert validate("mastodon", text).valid and not validate("mastodon", text + "!").valid


def test_mastodon_counts_a_remote_mention_as_its_local_part() -> None:
    result = validate("mastodon", "hi @alice@social.example.org")
    assert result.length == len("hi @alice")
    assert [(e.kind, e.text, e.value) for e in result.entities] == [
        ("mention", "@alice@social.example.org", "alice@social.example.org")
    ]
    assert validate("mastodon", "mail me@example.org").length == len("mail me@example.org")


def test_mastodon_uses_the_instance_limit() -> None:
    text = "👍🏽" * 600  # a grapheme each
    assert validate("mastodon", text).problems == ["600 characters as Mastodon counts them; the limit is 500"]
    result = validate("mastodon", text, limit=600)
    assert (result.length, result.limit, result.valid) == (600, 600, True)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab @.:/#_-éx😀\n", max_size=80) | st.text(max_size=40))
def test_mastodon_length_is_the_connectors(text: str) -> None:
    assert validate("mastodon", text).length == status_length(text)


# -- every limit, at its edge ---------------------------------------------------------------------------

# (network, field, piece, how many pieces fill the limit exactly, a piece that goes one unit over)
EDGES = [
    ("x", "body", "日", 140, "a"),
    ("x", "body", "👍🏽", 140, "a"),
    ("x", "body", "e\u0301", 280, "a"),  # NFC makes each é one Latin character
    ("bluesky", "body", "e\u0301", 300, "a"),
    ("bluesky", "body", "🇫🇷", 300, "a"),
    ("mastodon", "body", "👍🏽", 500, "a"),
    ("mastodon", "body", "नमस्ते", 500 // 3 * 1, "a" * (500 - 500 // 3 * 3 + 1)),
    ("threads", "body", "😀", 125, "a"),  # an emoji counts its 4 UTF-8 bytes
    ("threads", "body", "日", 500, "a"),
    ("threads", "body", "e\u0301", 250, "a"),
    ("linkedin", "body", "😀", 1_500, "a"),
    ("linkedin", "body", "日", 3_000, "a"),
    ("instagram", "body", "😀", 1_100, "a"),
    ("instagram", "body", "e\u0301", 1_100, "a"),
    ("facebook", "body", "😀", 31_603, "a"),
    ("youtube", "title", "😀", 50, "a"),
    ("youtube", "title", "日", 100, "a"),
    ("youtube", "description", "日本", 833, "ab" + "c"),  # 4,998 bytes, +2 is the limit, +1 over
    ("reddit", "title", "😀", 300, "a"),
    ("reddit", "title", "e\u0301", 150, "a"),
    ("reddit", "body", "日", 40_000, "a"),
    ("matrix", "body", "日", 20_000, '"'),  # 60,000 bytes; a quote is escaped in JSON, two bytes
    ("matrix", "body", "日", 20_000, "a"),
]


@pytest.mark.parametrize(("network", "field", "piece", "count", "over"), EDGES)
def test_at_the_limit_is_valid_and_one_over_is_not(
    network: str, field: str, piece: str, count: int, over: str
) -> None:
    at_limit = piece * count + over[:-1]
    result = validate(network, at_limit, field=field)
    assert (result.length, result.valid, result.problems) == (result.limit, True, []), network
    result = validate(network, at_limit + over[-1], field=field)
    assert result.length > result.limit and not result.valid, network
    assert f"the limit is {result.limit:,}" in result.problems[-1]


def test_instagram_caps_hashtags_and_mentions() -> None:
    tags = " ".join(f"#tag{n}" for n in range(30))
    mentions = " ".join(f"@user.{n}" for n in range(20))
    result = validate("instagram", f"{tags} {mentions}")
    assert result.valid
    assert [(x.name, x.length, x.limit) for x in result.extra_limits] == [
        ("hashtags", 30, 30),
        ("mentions", 20, 20),
    ]
    result = validate("instagram", f"{tags} #one_more {mentions} @and.one")
    assert not result.valid
    assert result.problems == [
        "31 hashtags; Instagram allows at most 30",
        "21 @mentions; Instagram allows at most 20",
    ]


def test_refusals_beyond_the_length() -> None:
    assert validate("youtube", "<b>big</b> news", field="title").problems == [
        "YouTube does not accept < or >"
    ]
    assert validate("youtube", " ", field="title").problems == ["a YouTube title cannot be empty"]
    assert not validate("reddit", "", field="title").valid
    assert validate("reddit", "", field="body").valid
    broken = validate("bluesky", "a\ud800b")
    assert broken.problems == ["the text is not valid Unicode: a lone surrogate at character 1"]


def test_entities_of_the_other_networks() -> None:
    def found(network: str, text: str, field: str = "body") -> list[tuple[str, str]]:
        return [(e.kind, e.text) for e in validate(network, text, field=field).entities]

    assert found("threads", "hi @john.doe. see example.com #tag") == [
        ("mention", "@john.doe"),
        ("url", "example.com"),
        ("hashtag", "#tag"),
    ]
    assert found("instagram", "hi @john.doe see example.com #tag") == [
        ("mention", "@john.doe"),
        ("hashtag", "#tag"),
    ]
    assert found("linkedin", "@Someone read https://x.io #news") == [
        ("url", "https://x.io"),
        ("hashtag", "#news"),
    ]
    assert found("youtube", "New video #howto https://x.io", "title") == [("hashtag", "#howto")]
    assert found("youtube", "by @some-creator at https://x.io #howto", "description") == [
        ("mention", "@some-creator"),
        ("url", "https://x.io"),
        ("hashtag", "#howto"),
    ]
    assert found("reddit", "ask u/spez in /r/python or https://x.io", "body") == [
        ("mention", "u/spez"),
        ("community", "/r/python"),
        ("url", "https://x.io"),
    ]
    assert found("reddit", "ask u/spez", "title") == []
    assert found("matrix", "ping @alice:matrix.org in #help:example.org, at 10:30.") == [
        ("mention", "@alice:matrix.org"),
        ("room", "#help:example.org"),
    ]


# -- the interface --------------------------------------------------------------------------------------


def test_unknown_networks_fields_and_limits_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown network 'myspace'; known networks: bluesky, facebook"):
        validate("myspace", "hi")
    with pytest.raises(ValueError, match="YouTube has no field 'body'; its fields: title, description"):
        validate("youtube", "hi")
    with pytest.raises(ValueError, match="at least 1"):
        validate("x", "hi", limit=0)


def test_the_result_is_one_json_object() -> None:
    result = validate("bluesky", "hi @alice.test 😀")
    assert json.loads(json.dumps(result.as_dict())) == {
        "network": "bluesky",
        "field": "body",
        "length": 16,
        "limit": 300,
        "valid": True,
        "counted_as": "grapheme clusters (and UTF-8 bytes)",
        "entities": [
            {
                "kind": "mention",
                "start": 3,
                "end": 14,
                "text": "@alice.test",
                "value": "alice.test",
                "byte_start": 3,
                "byte_end": 14,
            }
        ],
        "problems": [],
        "extra_limits": [{"name": "bytes", "length": 19, "limit": 3000}],
    }


def test_every_rule_is_in_the_docs() -> None:
    doc = (REPO / "docs" / "networks.md").read_text(encoding="utf-8")
    rows = {tuple(cell.strip(" `") for cell in line.split("|")[1:4]) for line in doc.splitlines()}
    for network, field in FIELDS:
        limit = NETWORKS[network].fields[field].limit
        assert (network, field, f"{limit:,}") in rows, (network, field)


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f467"
PIECES = [
    "a",
    " ",
    "@",
    "#",
    "$",
    ".",
    ":",
    "/",
    "-",
    "_",
    "https://",
    "x.com",
    "é",
    "e\u0301",
    "日",
    "😀",
    FAMILY,
    "🇫🇷",
    "\n",
    "\u200d",
    '"',
    "<",
    "\ufeff",
    "@a.bsky.social",
    "@u@m.example",
    "u/",
]
TEXT = (
    st.text(max_size=80)
    | st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
    | st.text(alphabet=st.characters(categories=["Cs", "Ll", "So"]), max_size=20)
)


@pytest.mark.parametrize(("network", "field"), FIELDS)
@settings(max_examples=40, deadline=None)
@given(text=TEXT)
def test_any_text_gets_a_consistent_answer(network: str, field: str, text: str) -> None:
    result = validate(network, text, field=field)
    assert result.length >= 0
    assert result.valid == (result.length <= result.limit and not result.problems)
    at = 0
    for entity in result.entities:
        assert at <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end] == entity.text
        at = entity.end
        if entity.byte_start is not None:
            raw = text.encode("utf-8", "surrogatepass")
            assert raw[entity.byte_start : entity.byte_end] == entity.text.encode("utf-8", "surrogatepass")
    json.dumps(result.as_dict())


def test_cli_validate_prints_the_network_s_count_and_exits_by_validity(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from townhall.cli import main

    post = tmp_path / "post.txt"
    post.write_text("Launch day 🚀 https://example.com/" + "x" * 200 + " #launch", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", "--network", "x", "--text-file", str(post)])
    found = json.loads(ok.output)
    assert ok.exit_code == 0 and found["valid"] and found["limit"] == 280
    assert found["length"] == len("Launch day ") + 2 + 1 + 23 + len(" #launch")
    assert [e["kind"] for e in found["entities"]] == ["url", "hashtag"]
    post.write_text("é" * 301, encoding="utf-8")
    too_long = runner.invoke(main, ["validate", "--network", "bluesky", "--text-file", str(post)])
    assert too_long.exit_code == 1 and json.loads(too_long.output)["length"] == 301
    unknown = runner.invoke(main, ["validate", "--network", "myspace", "--text-file", str(post)])
    assert unknown.exit_code == 2 and "known networks" in unknown.output


def test_inbox_replies_on_mastodon_are_counted_by_the_same_rule() -> None:
    from townhall.inbox.services import reply_length

    text = "@alex@fosstodon.org thanks! see https://example.com/" + "a" * 80
    assert reply_length("mastodon", text) == (validate("mastodon", text).length, 500)
    assert reply_length("mastodon", text)[0] == len("@alex thanks! see ") + 23
