"""The listening matcher: the matching rules case by case, and agreement with the reference evaluator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_listening_query import WORDS, queries
from townhall.listening.matcher import ItemView, Matcher, analyse, evaluate, matched_terms
from townhall.listening.query import Node, parse


def _bench_module() -> Any:
    """bench/listen.py, whose naive baseline (a regex per query) the matcher must agree with."""
    path = Path(__file__).resolve().parents[1] / "bench" / "listen.py"
    spec = importlib.util.spec_from_file_location("bench_listen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _bench_module()

META: dict[str, Any] = {
    "author": "@AcmeCare",
    "lang": "en-GB",
    "network": "Bluesky",
    "channel_id": "ch-42",
    "channel_handle": "@acme",
    "urls": ("https://www.shop.example.com/Shop/item?id=1",),
    "sentiment": "negative",
    "intents": ("complaint", "churn_risk"),
}

CASES = [
    # words on word boundaries, case and accents
    ("apple", "I love my Apple watch", True),
    ("apple", "pineapple juice", False),
    ("apple", "APPLE!!!", True),
    ("cafe", "Le Café de Flore", True),
    ("café", "le cafe", True),
    ("crème brûlée", "CREME BRULEE", True),
    ("Straße", "strasse closed", True),
    ("naïve", "a naive approach", True),
    ("mcdonalds", "McDonald's fries", True),
    ("mcdonald's", "McDonald\u2019s fries", True),
    ("3", "iphone 3", True),
    ("iphone3", "iphone 3", False),
    # phrases, also across punctuation
    ('"apple pay"', "Apple Pay is down", True),
    ('"apple pay"', "pay apple", False),
    ('"apple pay"', "apple, pay me", True),
    ('"apple pay"', "apple-pay", True),
    ('"customer service"', "customer... service!", True),
    ('"apple pay"', "apple really pay", False),
    ("e-mail", "send an e mail", True),
    # boolean operators and precedence
    ("apple iphone", "iphone by apple", True),
    ("apple iphone", "apple only", False),
    ("apple OR samsung", "samsung galaxy", True),
    ("apple OR samsung", "nokia", False),
    ("apple -android", "apple is nice", True),
    ("apple -android", "apple and android", False),
    ("apple NOT android", "apple and android", False),
    ("NOT android", "nothing here", True),
    ("a OR b c", "a", True),
    ("a OR b c", "b", False),
    ("(a OR b) c", "a", False),
    ("(a OR b) c", "b c", True),
    ("-(a OR b)", "c", True),
    ("-(a OR b)", "b", False),
    ("and", "this and that", True),
    # NEAR, either order, distance in tokens between
    ("battery NEAR/2 drain", "the battery will drain", True),
    ("battery NEAR/1 drain", "the battery will not drain", False),
    ("battery NEAR/2 drain", "drain my battery", True),
    ("battery NEAR/0 life", "battery life", True),
    ('"apple pay" NEAR/1 broken', "broken again apple pay", True),
    ("apple NEAR/3 apple", "apple", False),
    ("apple NEAR/3 apple", "apple and apple", True),
    ("refund* NEAR/2 late", "refunds are late", True),
    # wildcards
    ("refund*", "REFUNDED yesterday", True),
    ("refund*", "refund", True),
    ("refund*", "nonrefundable", False),
    ("#app*", "#AppleEvent today", True),
    ("iph*", "iPhone", True),
    # hashtags, mentions, cashtags, in any script
    ("#cafe", "best #Café in town", True),
    ("#café", "#cafe", True),
    ("#cafe", "cafe", False),
    ("cafe", "#cafe", False),
    ("#日本", "旅行 #日本 🗾", True),
    ("#日本", "日本", False),
    ("@acmecare", "thanks @AcmeCare!", True),
    ("$tsla", "buy $TSLA now", True),
    ("tsla", "buy $TSLA now", False),
    ("#привет", "#Привет мир", True),
    # emoji
    ("👍", "great 👍🏽", True),
    ("👍🏽", "great 👍", True),
    ("🔥", "this is🔥🔥", True),
    ("❤", "I ❤️ it", True),
    ("🇯🇵", "trip 🇯🇵", True),
    ("🇯🇵", "trip 🇫🇷", False),
    # CJK and other no-space scripts: substring of a run
    ("苹果", "我喜欢苹果手机", True),
    ("苹果手机", "我喜欢苹果 手机", True),
    ("手机", "iPhone手机", True),
    ("東京", "京都", False),
    ("ガス", "カス", False),
    ("ราคา", "ราคาถูกมาก", True),
    ("мир", "Миру мир", True),
    ("مرحبا", "مَرْحَبًا بكم", True),
    # field filters
    ("from:acmecare", "x", True),
    ("from:@ACMECARE", "x", True),
    ("from:bob", "x", False),
    ("lang:en", "x", True),
    ("lang:en-gb", "x", True),
    ("lang:en_US", "x", False),
    ("lang:fr", "x", False),
    ("network:bluesky", "x", True),
    ("channel:acme", "x", True),
    ("channel:ch-42", "x", True),
    ("sentiment:negative", "x", True),
    ("sentiment:positive", "x", False),
    ("intent:complaint", "x", True),
    ("intent:praise", "x", False),
    ("url:example.com", "x", True),
    ("url:shop.example.com/shop", "x", True),
    ("url:example.com/cart", "x", False),
    ("url:ample.com", "x", False),
    ("apple lang:en -sentiment:positive", "apple", True),
    ("apple OR lang:fr", "nothing", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_matching_rules(query: str, text: str, expected: bool) -> None:
    node = parse(query)
    item = ItemView(text, **META)
    assert evaluate(node, analyse(item)) is expected
    assert (query in Matcher({query: node}).match(item)) is expected


def test_matcher_reports_the_terms_found() -> None:
    matcher = Matcher({"q": parse('(apple OR samsung OR "apple pay") iph* -android NEAR/3 x lang:en')})
    item = ItemView("Apple Pay on my iPhone", lang="en")
    assert matcher.match(item) == {"q": ["apple", '"apple pay"', "iph*"]}


def test_queries_without_literals_are_always_candidates_and_url_filters_need_a_url() -> None:
    matcher = Matcher(
        {
            "neg": parse("NOT spam"),
            "url": parse("url:acme.com"),
            "lang": parse("lang:en"),
            "word": parse("acme OR lang:fr"),
        }
    )
    assert matcher.always_candidates == ["neg"]
    assert matcher.match(ItemView("hello", lang="fr", urls=("http://acme.com",))) == {
        "neg": [],
        "url": [],
        "word": [],
    }
    assert matcher.match(ItemView("hello", lang="fr")) == {"neg": [], "word": []}


TEXT_PARTS = [
    *WORDS,
    "Apple",
    "APPLE",
    "Café",
    "#CAFÉ",
    "iPhones",
    "applepay",
    "苹果手机",
    "カス",
    "👍🏽",
    ",",
    "!",
    " - ",
    "'s",
    "  ",
    "\n",
    "http://x.y",
]


@st.composite
def items(draw: st.DrawFn) -> ItemView:
    parts = draw(st.lists(st.one_of(st.sampled_from(TEXT_PARTS), st.text(max_size=4)), max_size=14))
    seps = draw(st.lists(st.sampled_from([" ", "", ", "]), min_size=len(parts), max_size=len(parts)))
    return ItemView(
        "".join(p + s for p, s in zip(parts, seps, strict=True)),
        author=draw(st.sampled_from(["bob", "@Acme_Care", ""])),
        lang=draw(st.sampled_from(["en", "pt-BR", "", "EN_gb"])),
        network=draw(st.sampled_from(["bluesky", "mastodon"])),
        channel_handle=draw(st.sampled_from(["acme", ""])),
        urls=draw(st.sampled_from([(), ("https://www.example.com/shop/1",), ("http://a.b/c d",)])),
        sentiment=draw(st.sampled_from(["negative", "positive", ""])),
        intents=draw(st.sampled_from([(), ("complaint",), ("praise", "complaint")])),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(queries, min_size=1, max_size=8), st.lists(items(), min_size=1, max_size=4))
def test_matcher_agrees_with_the_reference_evaluator(nodes: list[Node], its: list[ItemView]) -> None:
    matcher = Matcher(dict(enumerate(nodes)))
    expected = []
    for item in its:
        analysis = analyse(item)
        expected.append({i: matched_terms(n, analysis) for i, n in enumerate(nodes) if evaluate(n, analysis)})
    assert [matcher.match(item) for item in its] == expected
    assert matcher.match_many(its) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(queries, min_size=1, max_size=8), st.lists(items(), min_size=1, max_size=4))
def test_matcher_agrees_with_the_regex_per_query_baseline(nodes: list[Node], its: list[ItemView]) -> None:
    baseline = bench.compile_baseline(dict(enumerate(nodes)))
    expected = [bench.baseline_match(baseline, item) for item in its]
    assert Matcher(dict(enumerate(nodes))).match_many(its) == expected


def test_match_many_is_match_on_each_item_whatever_the_batch() -> None:
    matcher = Matcher(
        {
            "brand": parse('acme OR "acme pay" OR 苹果'),
            "near": parse("refund* NEAR/2 late lang:en"),
            "tag": parse("#acme -spam"),
            "url": parse("url:acme.com/help"),
        }
    )
    its = [
        ItemView("Acme pay is late, refunds late too #", lang="en"),
        ItemView("#"),
        ItemView("我的苹果", urls=("https://www.acme.com/help/1",)),
        ItemView("tokens\x02across a break? #acme"),
        ItemView(""),
    ]
    one_by_one = [matcher.match(item) for item in its]
    assert one_by_one == [
        {"brand": ["acme", '"acme pay"'], "near": ["refund* NEAR/2 late"]},
        {},
        {"brand": ["苹果"], "url": []},
        {"tag": ["#acme"]},
        {},
    ]
    assert matcher.match_many(its) == one_by_one
    assert matcher.match_many([]) == []


def test_table_has_enough_cases() -> None:
    assert len(CASES) >= 60
