"""The listening query language: parsing, errors with positions, the printer, and text normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.listening.query import (
    TEXT_BREAK,
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    QueryError,
    Term,
    normalize,
    parse,
    regex_tokens,
    to_text,
    token_text,
    tokenize,
)

WORDS = [
    "apple",
    "pay",
    "iphone",
    "broken",
    "cafe",
    "#cafe",
    "#日本",
    "@bob",
    "$aapl",
    "👍",
    "苹果",
    "ガス",
    "x1",
    "and",
    "or",
    "not",
    "near",
    "from",
    "мир",
    "مرحبا",
    "🇯🇵",
    "👨\u200d👩\u200d👧",
]
PLAIN = [w for w in WORDS if w not in ("苹果", "ガス")]
FIELD_VALUES = {
    "from": ["bob", "acme_care"],
    "lang": ["en", "pt-br"],
    "network": ["bluesky"],
    "channel": ["acme"],
    "url": ["example.com/shop", "a b"],
    "sentiment": ["negative"],
    "intent": ["complaint"],
}


def canonical(node: Node) -> Node:
    """Flatten And-in-And and Or-in-Or, as the parser does."""
    if isinstance(node, And | Or):
        flat: list[Node] = []
        for child in map(canonical, node.children):
            flat.extend(child.children if type(child) is type(node) else (child,))
        return type(node)(tuple(flat))
    if isinstance(node, Not):
        return Not(canonical(node.child))
    return node


words = st.sampled_from(WORDS).map(Term)
prefixes = st.sampled_from(["app", "iph", "#ca", "b"]).map(Prefix)
phrases = st.lists(st.sampled_from(PLAIN), min_size=2, max_size=3).map(lambda ws: Phrase(tuple(ws)))
word_like = st.one_of(words, prefixes, phrases)
nears = st.builds(Near, word_like, word_like, st.integers(0, 12))
fields = st.sampled_from([Field(k, v) for k, vs in FIELD_VALUES.items() for v in vs])
leaves = st.one_of(words, words, prefixes, phrases, nears, fields)
queries: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=4).map(lambda cs: And(tuple(cs))),
        st.lists(inner, min_size=2, max_size=4).map(lambda cs: Or(tuple(cs))),
    ),
    max_leaves=12,
).map(canonical)

QUERYISH = st.lists(
    st.sampled_from(
        [
            "apple",
            "Café",
            "(",
            ")",
            '"',
            "AND",
            "OR",
            "NOT",
            "-",
            "NEAR/3",
            "NEAR",
            "*",
            "iph*",
            "lang:en",
            "from:@Bob",
            'url:"x y"',
            "#日本",
            "苹果",
            " ",
            " ",
            "👍🏽",
            "e-mail",
            "!!",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(queries)
def test_printed_query_parses_back_to_the_same_tree(node: Node) -> None:
    assert parse(to_text(node)) == node


@settings(max_examples=400, deadline=None)
@given(st.one_of(QUERYISH, st.text(max_size=40)))
def test_any_text_parses_or_raises_query_error_and_round_trips(text: str) -> None:
    try:
        node = parse(text)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
        assert str(error).startswith("expected ")
        return
    assert parse(to_text(node)) == node


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_tokens_are_stable_under_normalisation(text: str) -> None:
    for token in tokenize(text):
        assert tokenize(token) == [token]
        assert normalize(token) == token


# Characters where the tokeniser's shortcuts could go wrong: tag characters and apostrophes next to
# words and to each other, every kind of space, marks that combine with what comes before, scripts
# without spaces, emoji sequences, compatibility forms that become ASCII punctuation, the text break.
TRICKY = [
    *"aZ9_#@$'\u2019 ,.-!?\t\n\x1c\x01\x02=<>",
    *["\u0301", "\u0338", "\u3099", "\xa0", "\u3000", "\u2003", "\u200d", "\ufe0f"],
    *["é", "ø", "ß", "İ", "\u212a", "ﬁ", "½", "\uff03", "\uff04", "\uff07", "…"],
    *["苹果", "ガ", "ー", "ราคา", "мир", "مَرْ", "😀", "👍🏽", "🇯🇵", "❤️", "\ud800"],
]
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=3)), max_size=16).map("".join)


@settings(max_examples=1000, deadline=None)
@given(tricky_text)
def test_tokenize_agrees_with_the_regex_definition(text: str) -> None:
    assert tokenize(text) == regex_tokens(normalize(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(tricky_text, max_size=6))
def test_token_text_is_the_tokens_of_each_text_with_a_break_between(texts: list[str]) -> None:
    expected: list[str] = []
    for n, text in enumerate(texts):
        expected += [TEXT_BREAK] * (n > 0) + tokenize(text)
    spaced = " " + token_text(texts) + " "
    assert spaced.split() == expected
    assert spaced.count(f" {TEXT_BREAK} ") == max(len(texts) - 1, 0)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("Apple", Term("apple")),
        ("apple iphone", And((Term("apple"), Term("iphone")))),
        ("apple AND iphone", And((Term("apple"), Term("iphone")))),
        ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),
        ("NOT a b", And((Not(Term("a")), Term("b")))),
        ("-a OR b", Or((Not(Term("a")), Term("b")))),
        ("-(a OR b)", Not(Or((Term("a"), Term("b"))))),
        ("(a b) (c d)", And((Term("a"), Term("b"), Term("c"), Term("d")))),
        ('"Apple Pay"', Phrase(("apple", "pay"))),
        ('"apple"', Term("apple")),
        ("e-mail", Phrase(("e", "mail"))),
        ("McDonald's", Term("mcdonalds")),
        ("refund*", Prefix("refund")),
        ("#Café", Term("#cafe")),
        ("#日本", Term("#日本")),
        ("@AcmeCare", Term("@acmecare")),
        ("$TSLA", Term("$tsla")),
        ("👍🏽", Term("👍")),
        ("苹果 手机", And((Term("苹果"), Term("手机")))),
        ('"苹果 手机"', Term("苹果手机")),
        ("a NEAR/3 b", Near(Term("a"), Term("b"), 3)),
        ('"apple pay" NEAR/0 bro*', Near(Phrase(("apple", "pay")), Prefix("bro"), 0)),
        ("NOT a NEAR/2 b", Not(Near(Term("a"), Term("b"), 2))),
        ("from:@Bob", Field("from", "bob")),
        ("LANG:pt_BR", Field("lang", "pt-br")),
        ('url:"example.com/a b"', Field("url", "example.com/a b")),
        ("(lang:en)", Field("lang", "en")),
        ("and or not", And((Term("and"), Term("or"), Term("not")))),
        ("foo:bar", Phrase(("foo", "bar"))),
    ],
)
def test_parse_builds_the_expected_tree(text: str, tree: Node) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "a term, phrase, field or"),
        ("(apple OR iphone", 16, '")"'),
        ("apple OR iphone) x", 15, "end of query"),
        ('apple "pay', 10, "closing"),
        ("apple OR", 8, "a term, phrase, field or"),
        ("apple AND AND b", 10, "a term, phrase, field or"),
        ("NEAR/3 apple", 0, "before NEAR/3"),
        ("(a OR b) NEAR/3 c", 9, "before NEAR/3"),
        ("a NEAR/3 (b)", 9, "after NEAR/3"),
        ("a NEAR/3 b NEAR/2 c", 11, "between two NEAR"),
        ("a NEAR b", 2, "NEAR/n"),
        ("a NEAR/x b", 2, "NEAR/n"),
        ("apple - pay", 6, "a term with letters"),
        ("apple !!!", 6, "a term with letters"),
        ('apple ""', 6, "words inside the quotes"),
        ("app le* x", 4, "NOT-REACHED"),
        ("from: bob", 5, 'a value after "from:"'),
        ("*", 0, "a term with letters"),
        ("a NOT", 5, "a term, phrase, field or"),
    ],
)
def test_errors_say_what_was_expected_and_where(text: str, position: int, expected: str) -> None:
    if expected == "NOT-REACHED":
        assert parse(text) == And((Term("app"), Prefix("le"), Term("x")))
        return
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.position == position
    assert expected in str(caught.value)
    assert str(caught.value).endswith(f" at {position}")


def test_wildcard_needs_a_single_word() -> None:
    with pytest.raises(QueryError, match=r'a single word before "\*" at 0'):
        parse("e-mail*")


def test_printer_writes_canonical_text() -> None:
    node = parse('(Apple OR "apple  pay") -android NEAR/2 cafe* lang:EN url:"a b"')
    assert to_text(node) == '(apple OR "apple pay") NOT android NEAR/2 cafe* lang:en url:"a b"'


def test_tokenize_covers_scripts_emoji_and_tags() -> None:
    text = "I ❤️ #Café & @Acme_Care's $TSLA 👍🏽 苹果 手机 iPhone15 ガス 🇯🇵 don\u2019t Привет"
    assert tokenize(text) == [
        "i",
        "❤",
        "#cafe",
        "@acme_care",
        "s",
        "$tsla",
        "👍",
        "苹果手机",
        "iphone15",
        "ガス",
        "🇯🇵",
        "dont",
        "привет",
    ]
