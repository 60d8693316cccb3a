"""Emerging terms and newsjacking: what rises against a baseline, what is left out, what it is joined to."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.listening.trends import (
    STOPWORDS,
    MentionRecord,
    TermCounts,
    co_occurrence,
    count_terms,
    emerging,
    log_likelihood,
    newsjacking,
    query_terms,
    terms,
)

NOW = datetime(2024, 5, 1, tzinfo=UTC)
VOCABULARY = [
    *("coffee", "latte", "espresso", "barista", "morning", "cup", "beans", "roast", "store", "order"),
    *("app", "queue", "price", "milk", "oat", "croissant", "breakfast", "loyalty", "points", "card"),
    *("menu", "seasonal", "summer", "iced", "cold", "brew", "decaf", "mug"),
]
ACME = frozenset({"acme"})  # the topic's query term


def post(item: int, author: str, text: str, reach: int = 0) -> MentionRecord:
    return MentionRecord(item, author, text, NOW, reach=reach)


def chatter(rng: random.Random, count: int, first_id: int) -> list[MentionRecord]:
    """Ordinary posts about a coffee brand: a few words of its everyday vocabulary, many authors."""
    return [
        post(first_id + i, f"user{rng.randrange(300)}", "acme " + " ".join(rng.sample(VOCABULARY, 4)))
        for i in range(count)
    ]


def test_an_injected_term_that_rises_is_ranked_first() -> None:
    rng = random.Random(1)
    baseline = chatter(rng, 2000, 0)
    recent = chatter(rng, 300, 10_000)
    recent += [
        post(20_000 + i, f"fan{i}", f"acme {rng.choice(VOCABULARY)} #freerefill today") for i in range(30)
    ]
    found = emerging(count_terms(recent), count_terms(baseline))
    assert found[0].term == "#freerefill"
    assert found[0].recent_count == 30 and found[0].baseline_count == 0
    assert found[0].score > 10.83 and found[0].ratio > 1.5
    assert set(found[0].examples) <= {20_000 + i for i in range(30)} and len(found[0].examples) == 3
    # the everyday vocabulary, in the same proportions in both windows, does not emerge
    assert not {t.term for t in found} & set(VOCABULARY)


def test_a_word_pair_wins_over_its_own_words() -> None:
    rng = random.Random(2)
    baseline = chatter(rng, 1000, 0) + [
        post(5000 + i, f"u{i}", "swift delivery as always") for i in range(20)
    ]
    recent = chatter(rng, 200, 10_000)
    sightings = [
        "Taylor Swift spotted with an acme cold brew",
        "taylor swift loves acme???",
        "saw TAYLOR SWIFT at the acme store",
        "is that taylor swift in the acme ad",
    ]
    recent += [post(20_000 + i, f"swiftie{i}", sightings[i % 4]) for i in range(28)]
    found = [t.term for t in emerging(count_terms(recent, exclude=ACME), count_terms(baseline, exclude=ACME))]
    assert found[0] == "taylor swift"
    assert "taylor" not in found and "swift" not in found


def test_a_sentence_shared_many_times_gives_one_pair_not_all_of_them() -> None:
    rng = random.Random(4)
    baseline = chatter(rng, 1000, 0)
    recent = chatter(rng, 200, 10_000)
    recent += [post(20_000 + i, f"fan{i}", "free refills forever announced today") for i in range(30)]
    found = [t.term for t in emerging(count_terms(recent), count_terms(baseline))]
    fragments = {"free refills", "refills forever", "forever announced"}
    assert len(fragments & set(found)) == 1, found
    assert not {"free", "refills", "forever", "announced"} & set(found)


def test_one_account_repeating_a_word_does_not_emerge() -> None:
    rng = random.Random(3)
    baseline = chatter(rng, 1000, 0)
    recent = chatter(rng, 200, 10_000)
    recent += [post(20_000 + i, "coinbot", "acme cheapcoins cheapcoins cheapcoins") for i in range(200)]
    by_author = emerging(count_terms(recent, exclude=ACME), count_terms(baseline, exclude=ACME))
    assert "cheapcoins" not in {t.term for t in by_author}
    by_post = emerging(
        count_terms(recent, per="post", exclude=ACME), count_terms(baseline, per="post", exclude=ACME)
    )
    assert by_post[0].term == "cheapcoins" and by_post[0].recent_count == 200


def test_a_term_counts_once_per_post() -> None:
    counts = count_terms([post(1, "a", "win win win WIN #win"), post(2, "", "win"), post(3, "", "lose")])
    assert counts.counts["win"] == 2 and counts.counts["#win"] == 1
    assert counts.total == 3  # posts with no author each count as their own author
    assert "win win" not in counts.counts


def test_the_topics_query_terms_are_left_out() -> None:
    exclude = query_terms('acme OR "acme pay" OR #acmecoffee -hiring')
    assert exclude == {"acme", "acme pay", "#acmecoffee"}
    found = terms("ACME Pay is down again @acme #acme #acmecoffee, acme support", exclude=exclude)
    assert found == ["pay", "support"]


def test_stopwords_numbers_urls_and_single_letters_are_not_terms() -> None:
    found = terms("The 2024 results are in: https://example.com/results?id=3 www.example.org x y z 10,000")
    assert found == ["results"]
    for text in (
        "the and of with",
        "el la de que para",
        "le les des est pour",
        "der die das und nicht über",
        "o que não para com você",
        "RT via amp",
    ):
        assert terms(text) == [], text
    assert "uber" in STOPWORDS and "nao" in STOPWORDS and "voce" in STOPWORDS  # normalised like tokens


def test_cjk_and_emoji_terms_emerge_like_words() -> None:
    baseline = [post(i, f"u{i}", "今日 コーヒー 🙂") for i in range(200)]
    recent = [post(1000 + i, f"u{i}", "今日 コーヒー 🙂") for i in range(50)]
    recent += [post(2000 + i, f"w{i}", "地震、怖い 🔥 猫") for i in range(20)]
    found = {t.term for t in emerging(count_terms(recent), count_terms(baseline))}
    assert {"地震", "🔥", "猫"} <= found or {"地震 怖い", "🔥", "猫"} <= found
    assert "今日" not in found and "🙂" not in found
    assert terms("🔥🔥 猫") == ["🔥", "猫"]


def test_log_likelihood_is_dunnings_g2() -> None:
    # 40 of 1,000 recent posts against 100 of 10,000: the 2x2 table worked out by hand
    a, n1, b, n2 = 40, 1000, 100, 10_000
    expected_a = n1 * (a + b) / (n1 + n2)
    expected_b = n2 * (a + b) / (n1 + n2)
    expected_c = n1 * (n1 + n2 - a - b) / (n1 + n2)
    expected_d = n2 * (n1 + n2 - a - b) / (n1 + n2)
    by_hand = 2 * (
        a * math.log(a / expected_a)
        + b * math.log(b / expected_b)
        + (n1 - a) * math.log((n1 - a) / expected_c)
        + (n2 - b) * math.log((n2 - b) / expected_d)
    )
    assert math.isclose(log_likelihood(a, n1, b, n2), by_hand)
    assert log_likelihood(10, 100, 100, 1000) == 0.0
    assert log_likelihood(5, 10, 0, 0) == 0.0


def test_no_baseline_no_emerging_terms() -> None:
    recent = count_terms([post(i, f"u{i}", "brand new topic") for i in range(50)])
    assert emerging(recent, TermCounts({}, 0)) == []
    assert emerging(TermCounts({}, 0), recent) == []


def test_newsjacking_suggests_rising_terms_already_found_with_a_topic() -> None:
    rng = random.Random(5)
    stream_before = chatter(rng, 2000, 0)
    stream_now = chatter(rng, 400, 10_000)
    stream_now += [post(20_000 + i, f"n{i}", "heatwave warning for the weekend") for i in range(60)]
    stream_now += [post(30_000 + i, f"m{i}", "#worldcup final tonight") for i in range(40)]
    rising = emerging(count_terms(stream_now), count_terms(stream_before))
    assert {"heatwave warning", "#worldcup"} <= {t.term for t in rising}

    brand = [
        post(40_000, "a", "acme iced latte in this heatwave warning"),
        post(40_001, "b", "heatwave warning, acme cold brew time"),
        post(40_002, "c", "acme heatwave warning deals?"),
        post(40_003, "d", "acme latte before the #worldcup final"),
    ]
    industry = [post(50_000 + i, f"i{i}", "coffee shops and the #worldcup final crowds") for i in range(6)]
    together = co_occurrence(rising, {"Acme": brand, "Coffee shops": industry})
    assert together["Acme"]["heatwave warning"] == [40_000, 40_001, 40_002]
    suggestions = newsjacking(rising, together)
    pairs = [(s.topic, s.term) for s in suggestions]
    assert ("Acme", "heatwave warning") in pairs and ("Coffee shops", "#worldcup") in pairs
    assert ("Acme", "#worldcup") not in pairs  # one post together is not enough by default
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    first = suggestions[0]
    assert first.together >= 3 and first.examples and first.score > first.emergence
    assert newsjacking(rising, together, min_together=1, limit=50)[-1].together >= 1
    assert newsjacking([], together) == []
    # a topic listening for the trend itself is not told to join it
    own = co_occurrence(rising, {"Heat": brand}, exclude={"Heat": query_terms('"heatwave warning"')})
    assert "heatwave warning" not in own["Heat"]


text_strategy = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    max_size=200,
) | st.sampled_from(["", "  ", "#", "@@", "$", "http://", "🔥", "地震", "a b", "x" * 50])


@settings(max_examples=200, deadline=None)
@given(st.lists(text_strategy, max_size=30), st.lists(text_strategy, max_size=30))
def test_arbitrary_posts_never_raise_and_score_finite(
    recent_texts: list[str], baseline_texts: list[str]
) -> None:
    recent = [post(i, f"a{i % 3}", t) for i, t in enumerate(recent_texts)]
    baseline = [post(1000 + i, f"b{i % 5}", t) for i, t in enumerate(baseline_texts)]
    for text in recent_texts:
        found = terms(text)
        assert len(found) == len(set(found)) and all(t.strip() for t in found)
    result = emerging(count_terms(recent), count_terms(baseline), min_count=1)
    assert [t.score for t in result] == sorted((t.score for t in result), reverse=True)
    for term in result:
        assert math.isfinite(term.score) and math.isfinite(term.ratio) and term.ratio >= 1.5
        assert term.recent_count >= 1 and term.term not in STOPWORDS
