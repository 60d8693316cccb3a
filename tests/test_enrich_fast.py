"""The fast understanding path: text normalisation, hashed features, the shipped models and training."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townhall.enrich.classifiers.fast import OTHER, FastBundle, FastModel, train_fast
from townhall.enrich.classifiers.hashing import HashingConfig, featurise
from townhall.enrich.classifiers.textprep import normalise
from townhall.enrich.classifiers.thresholds import choose_oos_threshold, decode_multilabel

ARTEFACTS = Path(__file__).resolve().parents[1] / "src" / "townhall" / "enrich" / "artefacts"
SHIPPED = ("sentiment", "spam", "toxicity", "care_intents")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("see https://t.co/AbC123 now", "see http now"),
        ("WWW.Example.com/deal and gofundme.com/x", "http and http"),
        ("@AcmeAir @joe_99 thanks", "@user @user thanks"),
        ("write to help@acme.com", "write to help@acme.com"),
        ("soooooo goooood!!!!!!", "sooo goood!!!"),
        ("love it 😍😍😍😍😍 #blessed", "love it 😍😍😍 #blessed"),
        ("fish &amp;amp; chips", "fish & chips"),
        ("tabs\tand\n\nnew  lines ", "tabs and new lines"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("line<br />break <a href='https://x.io/p'>link</a>", "line break link"),
        ("I <3 you", "I <3 you"),
        ("ok.so node.js", "ok.so node.js"),
        ("", ""),
    ],
)
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


@settings(max_examples=300, deadline=None)
@given(
    st.text()
    | st.lists(st.sampled_from(["@a", "http://x", "www.", ".com", "&amp;", "<b>", "aaaa", " ", "😀"])).map(
        "".join
    )
)
def test_normalise_never_raises_and_is_stable(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def test_features_are_deterministic_and_weigh_every_text_alike() -> None:
    config = HashingConfig()
    texts = [
        "Great flight, thanks @AcmeAir!",
        "",
        "😡😡",
        "a much longer post about the same great flight, thanks",
    ]
    first, second = featurise(texts, config), featurise(texts, config)
    assert first.shape == (4, config.n_features)
    assert (first != second).nnz == 0
    # word block and character block each have unit weight, whatever the length; an empty text has none
    squares = np.bincount(np.repeat(np.arange(4), np.diff(first.indptr)), weights=first.data**2, minlength=4)
    np.testing.assert_allclose(squares, [2.0, 0.0, 2.0, 2.0], rtol=1e-5)


INTENTS = {
    "order_status": [
        "where is my order",
        "my parcel has not arrived",
        "when will my package ship",
        "tracking shows nothing",
    ],
    "refund": ["i want my money back", "please refund me", "charged twice refund it", "give me a refund now"],
    "cancel": [
        "cancel my subscription",
        "i am leaving for a competitor",
        "close my account",
        "unsubscribe me please",
    ],
}
PREFIXES = ["", "hey ", "@shop ", "hi team, ", "ugh "]
SUFFIXES = ["", "!", " thanks", " asap", " please?"]


def _intent_examples() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, phrases in INTENTS.items():
        for phrase, prefix, suffix in itertools.product(phrases, PREFIXES, SUFFIXES):
            texts.append(f"{prefix}{phrase}{suffix}")
            labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def intent_model() -> FastModel:
    texts, labels = _intent_examples()
    return train_fast(texts, labels, detect_oos=True, seed=0)


def test_train_fast_learns_a_small_dataset(intent_model: FastModel) -> None:
    assert intent_model.labels == sorted(INTENTS)
    assert intent_model.predict(["where's my order??", "refund me please", "cancel the subscription"]) == [
        "order_status",
        "refund",
        "cancel",
    ]


def test_gibberish_is_other_under_the_learnt_threshold(intent_model: FastModel) -> None:
    assert intent_model.oos_threshold is not None and 0 < intent_model.oos_threshold < 1
    assert intent_model.predict_with_oos(["qzx vlorp kkjw", "please refund me"]) == [OTHER, "refund"]
    # an explicit threshold overrides the learnt one
    assert intent_model.predict_with_oos(["qzx vlorp kkjw"], threshold=0.0) != [OTHER]


def test_save_and_load_give_identical_probabilities(intent_model: FastModel, tmp_path: Path) -> None:
    texts = ["where is my order", "", "🙂", "random words here"]
    intent_model.save(tmp_path / "model.npz")
    loaded = FastModel.load(tmp_path / "model.npz")
    assert loaded.labels == intent_model.labels
    assert loaded.oos_threshold == pytest.approx(intent_model.oos_threshold)
    np.testing.assert_array_equal(loaded.predict_proba(texts), intent_model.predict_proba(texts))
    # float16 storage keeps the predictions
    small = intent_model.compact()
    small.save(tmp_path / "small.npz")
    np.testing.assert_allclose(
        FastModel.load(tmp_path / "small.npz").predict_proba(texts),
        intent_model.predict_proba(texts),
        atol=1e-3,
    )


def test_multilabel_training_and_decoding() -> None:
    texts, labels = _intent_examples()
    both = [f"{a} and {b}" for a, b in zip(INTENTS["refund"], INTENTS["cancel"], strict=True)] * 5
    model = train_fast(
        texts + both, [[label] for label in labels] + [["refund", "cancel"]] * len(both), multilabel=True
    )
    assert model.multilabel
    proba = model.predict_proba(["where is my order", "refund me and cancel my subscription"])
    assert proba.shape == (2, 3) and np.all((proba >= 0) & (proba <= 1))
    decoded = model.predict_labels(["where is my order", "please refund me and close my account"])
    assert decoded[0] == ["order_status"]
    assert set(decoded[1]) == {"refund", "cancel"}


def test_decode_multilabel_falls_back_to_the_top_label() -> None:
    proba = np.array([[0.2, 0.3, 0.1], [0.9, 0.6, 0.1]])
    assert decode_multilabel(proba, ["a", "b", "c"], np.full(3, 0.5)) == [["b"], ["a", "b"]]


def test_oos_threshold_is_bounded_by_the_in_scope_cost() -> None:
    confidence = np.linspace(0.3, 1.0, 100)
    correct = np.ones(100, dtype=bool)
    # without out-of-scope examples: reject at most 2% of the right predictions
    assert choose_oos_threshold(confidence, correct) == pytest.approx(confidence[2])
    # out-of-scope examples all below 0.2 need no more than that
    assert choose_oos_threshold(confidence, correct, np.full(10, 0.2)) <= confidence[0]


@pytest.fixture(scope="module")
def shipped() -> dict[str, FastModel]:
    return {name: FastModel.load(ARTEFACTS / f"fast_{name}.npz") for name in SHIPPED}


def test_shipped_models_are_small_and_share_one_hashing(shipped: dict[str, FastModel]) -> None:
    for name in SHIPPED:
        assert (ARTEFACTS / f"fast_{name}.npz").stat().st_size < 7_000_000
    assert shipped["sentiment"].labels == ["negative", "neutral", "positive"]
    assert shipped["spam"].labels == ["ham", "spam"]
    assert shipped["toxicity"].labels == ["hate", "none", "offensive"]
    assert len(shipped["care_intents"].labels) == 14 and shipped["care_intents"].multilabel
    assert len({model.hashing for model in shipped.values()}) == 1


def test_shipped_sentiment(shipped: dict[str, FastModel]) -> None:
    assert shipped["sentiment"].predict(
        ["I love this, best day ever! Thank you so much 😍", "This is awful. Worst service ever, I hate it"]
    ) == ["positive", "negative"]


def test_shipped_spam(shipped: dict[str, FastModel]) -> None:
    spam = shipped["spam"].labels.index("spam")
    proba = shipped["spam"].predict_proba(
        [
            "check out my channel and subscribe http://bit.ly/xyz",
            "this song reminds me of summer with my family",
        ]
    )
    assert proba[0, spam] > 0.5 > proba[1, spam]


# Customers writing to a brand: handles, links and "please help" must not read as spam (the inbox hides
# items over 0.9).
CUSTOMER_TWEETS = [
    "@acme hi, I need help changing my booking, who do I contact?",
    "@AcmeAir my flight got cancelled and I still haven't had the refund, can you check? https://t.co/x1Qz",
    "@NovaBank when will my new card be shipped? I ordered it two weeks ago",
    "@StreamBox the app keeps logging me out on my TV, I've already reinstalled it twice",
    "@VoltGrid please can someone DM me about my bill, I was charged twice this month",
    "hey @ShopRight my order says delivered but nothing arrived 😕 order 88213",
    "@GigaNet internet down again in Leeds since 7am, is there an outage? https://t.co/ab12",
]
TWEET_SPAM = [
    "@acme Congratulations! You have been selected to win a free iPhone, claim it here http://bit.ly/w1n",
    "follow me and I follow back, gain 500 followers fast #followback #teamfollowback",
    "Earn $400 a day from home with this crypto trading bot, DM me for the link 💰💰",
]


def test_shipped_spam_lets_customers_through(shipped: dict[str, FastModel]) -> None:
    spam = shipped["spam"].labels.index("spam")
    assert (shipped["spam"].predict_proba(CUSTOMER_TWEETS)[:, spam] < 0.5).all()
    assert (shipped["spam"].predict_proba(TWEET_SPAM)[:, spam] > 0.5).all()


def test_shipped_toxicity(shipped: dict[str, FastModel]) -> None:
    assert shipped["toxicity"].predict(
        ["you stupid bitch, shut the fuck up", "the weather is lovely today"]
    ) == [
        "offensive",
        "none",
    ]


def test_shipped_care_intents(shipped: dict[str, FastModel]) -> None:
    decoded = shipped["care_intents"].predict_labels(
        ["I want to cancel my subscription, switching to a competitor"]
    )
    assert "churn_risk" in decoded[0]


@pytest.mark.parametrize("text", ["", "   ", "😀🔥👍", "http://t.co/x", "@user"])
def test_texts_without_words_get_a_probability_vector(shipped: dict[str, FastModel], text: str) -> None:
    for model in shipped.values():
        proba = model.predict_proba([text])
        assert proba.shape == (1, len(model.labels)) and np.all(np.isfinite(proba))
        if not model.multilabel:
            assert proba.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_bundle_hashes_once_and_matches_each_model(shipped: dict[str, FastModel]) -> None:
    texts = ["Loving the new update!", "refund me now or I'm leaving", "", "subscribe to my channel"]
    together = FastBundle(shipped).predict_proba(texts)
    for name, model in shipped.items():
        np.testing.assert_allclose(together[name], model.predict_proba(texts), rtol=1e-4, atol=1e-5)
