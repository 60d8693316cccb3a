"""Adapting one draft to each network: UTM links, mapped mentions, placed hashtags, threads and shortening."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from townhall.publishing.adapt import (
    THREADED,
    CannotAdapt,
    Unsplittable,
    UtmParams,
    adapt,
    add_utm,
    map_mentions,
    move_hashtags,
    shorten,
    split_thread,
)
from townhall.publishing.counting import GRAPHEME
from townhall.publishing.networks import NETWORKS, validate

PEOPLE = {
    "acme": {
        "x": "@acme",
        "bluesky": "@acme.bsky.social",
        "mastodon": "@acme@mastodon.social",
        "threads": "@acme.inc",
        "linkedin": "Acme Inc",
    },
    "jane.doe": {"name": "Jane Doe", "x": "@janedoe", "mastodon": "@jane@fosstodon.org"},
}
LONG_URL = (
    "https://example.com/blog/2024/06/a-very-long-article-slug-" + "x" * 120 + "?ref=newsletter#section-2"
)


def _graphemes(text: str) -> list[str]:
    return GRAPHEME.findall(text)


def _unnumbered(posts: list[str]) -> list[str]:
    """The thread's pieces without their " 1/3" numbering, checking the numbering on the way."""
    if len(posts) == 1:
        return posts
    pieces = []
    for number, post in enumerate(posts, 1):
        assert post.endswith(f" {number}/{len(posts)}"), (number, post)
        pieces.append(post.removesuffix(f" {number}/{len(posts)}"))
    return pieces


def _spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Where each piece lies in `text`: in order, with only whitespace between and around them."""
    spans, at = [], 0
    for piece in pieces:
        start = text.find(piece, at)
        assert start >= 0, (piece, text[at:])
        assert not text[at:start].strip(), f"text lost before {piece!r}: {text[at:start]!r}"
        spans.append((start, start + len(piece)))
        at = start + len(piece)
    assert not text[at:].strip(), f"text lost at the end: {text[at:]!r}"
    return spans


# -- UTM parameters -------------------------------------------------------------------------------------


def test_utm_parameters_join_the_query_and_keep_the_fragment() -> None:
    text = "Read https://example.com/blog?ref=home#top now."
    tagged = add_utm(text, source="x", campaign="spring sale", content="post-12", network="x")
    assert tagged == (
        "Read https://example.com/blog?ref=home&utm_source=x&utm_medium=social"
        "&utm_campaign=spring%20sale&utm_content=post-12#top now."
    )
    [link] = validate("x", tagged).entities
    assert link.kind == "url" and link.text.endswith("#top")


def test_utm_parameters_already_there_are_not_overridden() -> None:
    text = "https://example.com/?utm_source=newsletter&UTM_MEDIUM=email"
    assert add_utm(text, source="bluesky", campaign="launch", network="bluesky") == (
        "https://example.com/?utm_source=newsletter&UTM_MEDIUM=email&utm_campaign=launch"
    )


def test_utm_tagging_twice_changes_nothing() -> None:
    once = add_utm("See https://townhall.org/docs", source="mastodon", network="mastodon")
    assert once == "See https://townhall.org/docs?utm_source=mastodon&utm_medium=social"
    assert add_utm(once, source="mastodon", network="mastodon") == once


def test_a_link_without_a_path_gets_one_before_its_query() -> None:
    assert add_utm("http://Example.org", source="x", network="x") == (
        "http://Example.org/?utm_source=x&utm_medium=social"
    )


def test_bare_domains_and_unlinked_urls_are_left_as_written() -> None:
    text = "Docs at example.com/docs and https://example.com/a"
    assert add_utm(text, source="x", network="x") == (
        "Docs at example.com/docs and https://example.com/a?utm_source=x&utm_medium=social"
    )
    caption = "Link in bio! https://example.com/shop"
    assert add_utm(caption, source="instagram", network="instagram") == caption  # not clickable there


def test_every_link_of_several_is_tagged_with_offsets_kept() -> None:
    text = "🇫🇷 https://a.example.com/1 and 東京 https://b.example.com/2?x=1 — fin"
    tagged = add_utm(text, source="threads", network="threads")
    links = [e.text for e in validate("threads", tagged).entities if e.kind == "url"]
    assert links == [
        "https://a.example.com/1?utm_source=threads&utm_medium=social",
        "https://b.example.com/2?x=1&utm_source=threads&utm_medium=social",
    ]
    assert tagged.startswith("🇫🇷 ") and tagged.endswith(" — fin")


# -- mentions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("x", "Thanks @acme and @janedoe! (cc @acme.)"),
        ("twitter", "Thanks @acme and @janedoe! (cc @acme.)"),
        ("bluesky", "Thanks @acme.bsky.social and Jane Doe! (cc @acme.bsky.social.)"),
        ("mastodon", "Thanks @acme@mastodon.social and @jane@fosstodon.org! (cc @acme@mastodon.social.)"),
        ("linkedin", "Thanks Acme Inc and Jane Doe! (cc Acme Inc.)"),
        ("instagram", "Thanks acme and Jane Doe! (cc ACME.)"),
    ],
)
def test_mentions_are_written_as_each_network_knows_the_person(network: str, expected: str) -> None:
    assert map_mentions("Thanks @acme and @jane.doe! (cc @ACME.)", PEOPLE, network) == expected


def test_addresses_links_handles_and_unknown_people_are_left_alone() -> None:
    text = "Mail me@acme.com, read https://medium.com/@acme/post, ping @acme.bsky.social or @someone."
    assert map_mentions(text, PEOPLE, "mastodon") == text


def test_a_mapped_remote_mention_is_one_mention_counted_by_its_local_part() -> None:
    mapped = map_mentions("Hi @jane.doe 👋", PEOPLE, "mastodon")
    checked = validate("mastodon", mapped)
    assert [e.text for e in checked.entities] == ["@jane@fosstodon.org"]
    assert checked.length == len("Hi @jane ") + 1


# -- hashtags -------------------------------------------------------------------------------------------

POST_WITH_TAGS = "Big news! We ship today #launch #oss\nI love #python and #django a lot.\n#tbt #office"


def test_keeping_hashtags_changes_nothing() -> None:
    assert move_hashtags(POST_WITH_TAGS, "x", where="keep") == (POST_WITH_TAGS, [])


def test_blocks_of_hashtags_gather_at_the_end_and_tags_in_sentences_stay() -> None:
    text, left = move_hashtags(POST_WITH_TAGS, "linkedin", where="end")
    assert text == "Big news! We ship today\nI love #python and #django a lot.\n\n#launch #oss #tbt #office"
    assert left == []


def test_hashtags_for_the_first_comment_leave_the_text_and_sentences_keep_their_words() -> None:
    text, tags = move_hashtags(POST_WITH_TAGS, "instagram", where="first_comment")
    assert text == "Big news! We ship today\nI love python and django a lot."
    assert tags == ["#launch", "#oss", "#python", "#django", "#tbt", "#office"]


def test_a_single_tag_ending_a_sentence_is_part_of_it() -> None:
    assert move_hashtags("I love #python", "x", where="end") == ("I love #python", [])
    assert move_hashtags("Shipped! #python", "x", where="end") == ("Shipped!\n\n#python", [])


def test_a_line_of_tags_leaves_no_empty_line_behind() -> None:
    assert move_hashtags("Text\n#a #b\nMore text", "x", where="end") == ("Text\nMore text\n\n#a #b", [])
    assert move_hashtags("#a #b", "bluesky", where="end") == ("#a #b", [])
    assert move_hashtags("#a #b\nMore text", "threads", where="first_comment") == ("More text", ["#a", "#b"])


def test_the_same_tag_twice_is_gathered_once() -> None:
    text, _ = move_hashtags("Café ☕ #coffee\nÉté #Coffee #summer", "mastodon", where="end")
    assert text == "Café ☕\nÉté\n\n#coffee #summer"


def test_instagram_keeps_thirty_hashtags_and_returns_the_rest() -> None:
    caption = "Sunset 🌅 " + " ".join(f"#tag{i}" for i in range(35))
    for where in ("keep", "end"):
        text, dropped = move_hashtags(caption, "instagram", where=where)  # type: ignore[arg-type]
        assert dropped == [f"#tag{i}" for i in range(30, 35)]
        assert validate("instagram", text).valid
        assert sum(e.kind == "hashtag" for e in validate("instagram", text).entities) == 30


def test_instagram_tags_beyond_thirty_inside_a_sentence_keep_their_word() -> None:
    sentence = " ".join(f"#w{i} and" for i in range(32)) + " done"
    text, dropped = move_hashtags(sentence, "instagram", where="keep")
    assert dropped == ["#w30", "#w31"]
    assert text.endswith("#w29 and w30 and w31 and done")


# -- threads --------------------------------------------------------------------------------------------


def test_a_post_that_fits_stays_whole_and_unnumbered() -> None:
    assert split_thread("Short and sweet 🍬", "x") == ["Short and sweet 🍬"]


def test_a_thread_breaks_at_sentences_and_numbers_its_posts() -> None:
    text = "Townhall 2.0 is out. " * 3 + "It brings a composer, an inbox and listening for your whole team."
    posts = split_thread(text, "bluesky", limit=70)
    assert posts == [
        "Townhall 2.0 is out. Townhall 2.0 is out. Townhall 2.0 is out. 1/2",
        "It brings a composer, an inbox and listening for your whole team. 2/2",
    ]


def test_numbering_widens_when_the_thread_reaches_ten_posts() -> None:
    # Each sentence fills a post with " 1/9" exactly, and no longer does with " 1/10".
    sentence = "Une phrase accentuée, é à ü, pour remplir le message jusqu'au bout."
    limit = len(sentence) + len(" 1/9")
    posts = split_thread(" ".join([sentence] * 10), "mastodon", limit=limit)
    assert len(posts) >= 10
    assert all(post.endswith(f" {n}/{len(posts)}") for n, post in enumerate(posts, 1))
    assert all(validate("mastodon", post, limit=limit).valid for post in posts)


def test_a_long_thread_numbers_every_post_with_the_final_count() -> None:
    text = " ".join(f"Point {i}: graphemes like 👨‍👩‍👧‍👦 and 🇺🇦 and é stay whole." for i in range(40))
    posts = split_thread(text, "x", limit=120)
    assert len(posts) > 10
    assert _unnumbered(posts)[0].startswith("Point 0:")
    assert all(validate("x", post, limit=120).valid for post in posts)
    assert "".join(_unnumbered(posts)).replace(" ", "") == text.replace(" ", "")


def test_urls_mentions_and_tags_are_never_cut() -> None:
    text = f"Read {LONG_URL} by @acme@mastodon.social #longread $TWTR " * 6
    for network in THREADED:
        posts = split_thread(text, network)
        pieces = _unnumbered(posts)
        for entity in validate(network, text).entities:
            assert any(entity.text in piece for piece in pieces), (network, entity)


def test_chinese_and_japanese_break_after_their_full_stops() -> None:
    text = "今日は新しいバージョンを公開しました。" * 30
    posts = split_thread(text, "threads", limit=100)
    assert all(_unnumbered(posts)[i].endswith("。") for i in range(len(posts)))
    assert "".join(_unnumbered(posts)) == text


def test_one_overlong_word_breaks_between_graphemes() -> None:
    word = "👩🏽‍💻" * 250  # 15 UTF-8 bytes each: over Bluesky's 3,000 bytes, under its 300 graphemes
    posts = split_thread(word, "bluesky", numbering=False)
    assert len(posts) == 2
    assert "".join(posts) == word
    assert all(set(_graphemes(post)) == {"👩🏽‍💻"} for post in posts)
    combining = "e\u0301" * 400  # é written with a combining accent: 400 graphemes
    words = [post.rsplit(" ", 1)[0] for post in split_thread(combining, "bluesky")]
    assert len(words) == 2 and "".join(words) == combining
    assert all(word == "e\u0301" * (len(word) // 2) for word in words)


def test_an_entity_longer_than_a_post_is_named() -> None:
    with pytest.raises(Unsplittable, match=r"the url 'https://example\.com/blog") as raised:
        split_thread(f"Too long: {LONG_URL} indeed", "bluesky", limit=100)
    assert raised.value.kind == "url"
    assert raised.value.text == LONG_URL


def test_a_character_no_cut_cures_is_refused() -> None:
    with pytest.raises(CannotAdapt, match="U\\+FEFF"):
        split_thread("word \ufeff " * 200, "x")


def test_networks_without_threads_are_told_to_shorten() -> None:
    with pytest.raises(ValueError, match="LinkedIn has no threads"):
        split_thread("x " * 3000, "linkedin")


def test_a_thread_can_go_unnumbered() -> None:
    posts = split_thread("One sentence here. " * 40, "x", numbering=False)
    assert len(posts) == 3
    assert all(post.endswith("here.") and validate("x", post).valid for post in posts)


# -- shortening -----------------------------------------------------------------------------------------


def test_shortening_cuts_at_a_word_and_adds_an_ellipsis() -> None:
    assert shorten("Ça va très bien aujourd'hui, merci", "x", limit=20) == "Ça va très bien…"


def test_a_text_that_fits_is_not_shortened() -> None:
    assert shorten("Fits 🙂", "youtube", field="title") == "Fits 🙂"


def test_the_ellipsis_never_joins_a_link() -> None:
    text = f"See {LONG_URL} and much more after it, really much more"
    shortened = shorten(text, "bluesky", limit=len(LONG_URL) + 7)
    assert shortened == f"See {LONG_URL} …"
    assert [e.text for e in validate("bluesky", shortened).entities] == [LONG_URL]


def test_shortening_keeps_whole_graphemes() -> None:
    family = "👨‍👩‍👧‍👦"  # 11 UTF-16 code units, one grapheme
    assert shorten(family * 3 + " time", "linkedin", limit=25) == family * 2 + "…"


def test_shortening_refuses_what_no_cut_cures() -> None:
    with pytest.raises(CannotAdapt, match="YouTube does not accept <"):
        shorten("a <b> " * 30, "youtube", field="title")


# -- the whole adaptation -------------------------------------------------------------------------------


def test_a_draft_becomes_a_numbered_thread_with_tagged_links_and_mapped_mentions() -> None:
    draft = (
        "Big day: Townhall 2.0 ships with @acme! " * 6
        + "Details: https://townhall.org/blog/2-0 #release #opensource"
    )
    variant = adapt(draft, "mastodon", limit=200, utm=UtmParams(campaign="2-0"), mentions=PEOPLE)
    assert variant.network == "mastodon"
    assert variant.notes == [
        "6 mentions written as Mastodon knows them",
        "UTM parameters added to 1 link",
        "split into 2 posts",
    ]
    assert "@acme@mastodon.social" in variant.posts[0]
    assert (
        "https://townhall.org/blog/2-0?utm_source=mastodon&utm_medium=social&utm_campaign=2-0"
        in (variant.posts[-1])
    )
    assert all(v.valid for v in variant.validations)


def test_instagram_gets_its_hashtags_in_the_first_comment() -> None:
    draft = "Golden hour at the harbour 🌅⛵\n\n" + " ".join(f"#tag{i}" for i in range(33))
    variant = adapt(draft, "instagram", hashtags="first_comment")
    assert variant.posts == ["Golden hour at the harbour 🌅⛵"]
    assert variant.first_comment == " ".join(f"#tag{i}" for i in range(30))
    assert variant.notes == [
        "30 hashtags moved to the first comment",
        "3 hashtags dropped, Instagram allows 30: #tag30 #tag31 #tag32",
    ]


def test_the_first_comment_holds_what_fits_and_the_rest_is_noted() -> None:
    tags = [f"#{word}" for word in ("townhall", "release", "opensource", "selfhosted", "community")]
    variant = adapt("Out now! " + " ".join(tags), "x", limit=40, hashtags="first_comment")
    assert variant.posts == ["Out now!"]
    assert variant.first_comment == "#townhall #release #opensource"
    assert variant.notes == [
        "3 hashtags moved to the first comment",
        "2 hashtags dropped, no more fit in the first comment: #selfhosted #community",
    ]


def test_a_network_without_threads_gets_one_shortened_post() -> None:
    variant = adapt("Une longue phrase. " * 200, "linkedin")
    [post] = variant.posts
    assert post.endswith("phrase. …")
    assert variant.notes == [f"shortened by {len('Une longue phrase. ' * 200) - len(post)} characters"]


def test_a_thread_can_be_declined_for_one_shortened_post() -> None:
    variant = adapt("Word " * 100, "twitter", thread=False)
    assert variant.network == "x" and len(variant.posts) == 1
    assert variant.notes[0].startswith("shortened by ")


def test_youtube_adapts_the_description_unless_told_the_title() -> None:
    assert adapt("Ünïcode " * 700, "youtube").validations[0].field == "description"
    title = adapt("A walk through Townhall 2.0, part one " * 4, "youtube", field="title")
    assert title.validations[0].field == "title" and title.posts[0].endswith("…")


def test_adapt_refuses_rather_than_returns_an_invalid_post() -> None:
    with pytest.raises(Unsplittable):
        adapt(f"{LONG_URL} " * 2, "bluesky", limit=50)
    with pytest.raises(CannotAdapt):
        adapt("Hello", "x", limit=3)


# -- properties -----------------------------------------------------------------------------------------

WORDS = [
    "Townhall", "release", "café", "naïve", "Ærøskøbing", "e\u0301", "क्षि", "مرحبا", "東京", "こんにちは",
    "한국어", "😀", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🇫🇷", "🇺🇦🇯🇵", "1️⃣", "a\u0300\u0301\u0302", "ok", "—", "(yes)",
]  # fmt: skip
ENTITIES = [
    "https://example.com/a?b=1#c", "https://townhall.org/blog/2024/06/release-notes-for-the-summer?x=1",
    "example.org/pricing", "@alice", "@bob@mastodon.social", "@carol.bsky.social", "#release", "#東京",
    "#café", "$AAPL", "@user:matrix.org", "#room:matrix.org", "u/someone", "r/python",
]  # fmt: skip
ENDINGS = ["", "", "", ".", "!", "?", "。", ",", ":"]
SPACES = [" ", " ", " ", "\n", "  ", "\n\n", "\t"]
REFUSED = "\ufeff\ufffe\uffff<>"

chaos = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=REFUSED), min_size=1, max_size=12
)
token = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from(ENTITIES), chaos)
drafts = st.lists(
    st.tuples(token, st.sampled_from(ENDINGS), st.sampled_from(SPACES)), min_size=1, max_size=150
).map(lambda parts: "".join(word + end + space for word, end, space in parts))
# Long enough to need a thread, often of ten posts or more.
threads = st.lists(
    st.tuples(token, st.sampled_from(ENDINGS), st.sampled_from(SPACES)), min_size=40, max_size=150
).map(lambda parts: "".join(word + end + space for word, end, space in parts))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _split_or_unsplittable(text: str, network: str, limit: int) -> list[str] | None:
    """The thread, or None where an entity or a grapheme is longer than a post (checked to be so)."""
    try:
        return split_thread(text, network, limit=limit)
    except Unsplittable as refused:
        assert refused.kind == "grapheme" or refused.text in text
        assert not refused.validation.valid
        return None


@pytest.mark.parametrize("network", sorted(THREADED))
@SETTINGS
@given(text=threads, limit=st.integers(60, 400))
def test_every_post_of_a_thread_is_valid(network: str, text: str, limit: int) -> None:
    posts = _split_or_unsplittable(text, network, limit)
    if posts is not None:
        for post in posts:
            assert validate(network, post, limit=limit).valid, (post, validate(network, post, limit=limit))
        _unnumbered(posts)


@pytest.mark.parametrize("network", sorted(THREADED))
@SETTINGS
@given(text=threads, limit=st.integers(60, 400))
def test_a_thread_loses_and_repeats_nothing_but_whitespace(network: str, text: str, limit: int) -> None:
    posts = _split_or_unsplittable(text, network, limit)
    if posts is not None and len(posts) > 1:
        pieces = _unnumbered(posts)
        _spans(text, pieces)
        assert "".join("".join(pieces).split()) == "".join(text.split())


@pytest.mark.parametrize("network", sorted(THREADED))
@SETTINGS
@given(text=threads, limit=st.integers(60, 400))
def test_a_thread_never_cuts_an_entity(network: str, text: str, limit: int) -> None:
    posts = _split_or_unsplittable(text, network, limit)
    if posts is not None and len(posts) > 1:
        pieces = _unnumbered(posts)
        spans = _spans(text, pieces)
        for entity in validate(network, text).entities:
            holding = [
                i for i, (start, end) in enumerate(spans) if start <= entity.start and entity.end <= end
            ]
            assert len(holding) == 1, (entity, spans)
            assert entity.text in pieces[holding[0]]


@pytest.mark.parametrize("network", sorted(THREADED))
@SETTINGS
@given(text=threads, limit=st.integers(60, 400))
def test_a_thread_never_splits_a_grapheme(network: str, text: str, limit: int) -> None:
    posts = _split_or_unsplittable(text, network, limit)
    if posts is not None and len(posts) > 1:
        pieces = _unnumbered(posts)
        boundaries = {m.start() for m in GRAPHEME.finditer(text)} | {len(text)}
        for start, end in _spans(text, pieces):
            assert start in boundaries and end in boundaries
        kept = [g for piece in pieces for g in _graphemes(piece) if not g.isspace()]
        assert kept == [g for g in _graphemes(text) if not g.isspace()]


FIELDS = [(network, field) for network, rules in NETWORKS.items() for field in rules.fields]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=drafts.filter(lambda t: t.strip() and t.count("@") <= 20),
    target=st.sampled_from(FIELDS),
    limit=st.one_of(st.none(), st.integers(60, 600)),
    thread=st.booleans(),
    hashtags=st.sampled_from(["keep", "end", "first_comment"]),
    utm=st.one_of(st.none(), st.builds(UtmParams, campaign=st.sampled_from(["launch", "été 2024", None]))),
)
def test_adapt_never_returns_an_invalid_post(
    text: str, target: tuple[str, str], limit: int | None, thread: bool, hashtags: str, utm: UtmParams | None
) -> None:
    network, field = target
    try:
        variant = adapt(
            text,
            network,
            field=field,
            limit=limit,
            thread=thread,
            utm=utm,
            mentions=PEOPLE,
            hashtags=hashtags,  # type: ignore[arg-type]
        )
    except Unsplittable as refused:
        assert not refused.validation.valid
        return
    assert variant.posts
    for post in variant.posts:
        assert validate(network, post, limit=limit, field=field).valid
    if variant.first_comment is not None:
        assert validate(network, variant.first_comment, limit=limit, field=field).valid
