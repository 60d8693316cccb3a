"""The accurate path's shipped encoder and heads, and the head training that workspaces use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from townhall.enrich.classifiers.accurate import (
    ARTEFACTS,
    EMBEDDING_DIM,
    FEATURE_DIM,
    OTHER,
    HeadModel,
    shared_encoder,
    train_head,
)

pytestmark = pytest.mark.skipif(
    not (ARTEFACTS / "encoder.onnx").exists(),
    reason="the accurate encoder is not built (training/export_encoder.py)",
)


@pytest.fixture(scope="module")
def encoder():
    return shared_encoder()


def _head(name: str) -> HeadModel:
    return HeadModel.load(ARTEFACTS / f"accurate_{name}.npz")


def test_encoder_gives_unit_vectors_and_keeps_order(encoder) -> None:
    texts = ["my card never arrived", "", "🔥🔥🔥", "the weather is lovely today " * 60]
    vectors = encoder.encode(texts)
    assert vectors.shape == (4, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Sorting by length inside a call must not reorder the results. Dynamic int8 quantisation scales the
    # activations per batch, so the same text in another batch is close, not bit-identical.
    alone = encoder.encode(["my card never arrived"])[0]
    assert float(vectors[0] @ alone) > 0.98
    assert float(vectors[0] @ alone) > max(float(v @ alone) for v in vectors[1:]) + 0.2
    assert encoder.encode([]).shape == (0, EMBEDDING_DIM)


def test_features_start_with_the_sentence_embedding(encoder) -> None:
    texts = ["where is my parcel", "love the new update"]
    features = encoder.features(texts)
    assert features.shape == (2, FEATURE_DIM)
    np.testing.assert_allclose(features[:, :EMBEDDING_DIM], encoder.encode(texts), atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder) -> None:
    a, b, c = encoder.encode(
        [
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The pasta at this restaurant was delicious.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I absolutely love this, best purchase I've made all year! 😍", "positive"),
        ("Worst customer service ever. Two hours on hold and they hung up on me. Never again.", "negative"),
        ("The store opens at 9am on Saturday.", "neutral"),
    ],
)
def test_sentiment_head_on_clear_examples(encoder, text: str, expected: str) -> None:
    head = _head("sentiment")
    assert head.predict(encoder.features([text]), [text]) == [expected]


def test_spam_and_toxicity_heads_on_clear_examples(encoder) -> None:
    spam = _head("spam")
    texts = [
        "CHECK OUT MY CHANNEL!!! subscribe to me for free iphone giveaway http://bit.ly/xyz",
        "this song is so good",
    ]
    assert spam.predict(encoder.features(texts), texts) == ["spam", "ham"]
    toxicity = _head("toxicity")
    texts = ["Thanks for the quick reply, have a nice weekend!", "shut up you stupid bitch"]
    assert toxicity.predict(encoder.features(texts), texts) == ["none", "offensive"]


def test_spam_head_lets_customers_through(encoder) -> None:
    # Customers writing to a brand: handles, links and "please help" must not read as spam (the inbox hides
    # items over 0.9); spam written as a tweet is still caught.
    customers = [
        "@acme hi, I need help changing my booking, who do I contact?",
        "@VirginTrains hi! i need some help with a booking, I need to change the date",
        "@XboxSupport any news on when the pre orders are going to be shipped?",
        "@NovaBank I was charged twice for the same purchase, please can you look into it https://t.co/k2Lp",
        "@StreamBox the app crashes every time I open it on my phone since the update",
        "@AcmeAir please follow back so I can DM you my booking reference",
        "thanks @ShopRight, the replacement arrived today and works perfectly 👍",
    ]
    spam = [
        "@acme Congratulations! You have been selected to win a free iPhone, claim it here http://bit.ly/w1n",
        "follow me and I follow back, gain 500 followers fast #followback #teamfollowback",
        "Earn $400 a day from home with this crypto trading bot, DM me for the link 💰💰",
    ]
    head = _head("spam")
    texts = customers + spam
    proba = head.predict_proba(encoder.features(texts), texts)[:, head.labels.index("spam")]
    assert (proba[: len(customers)] < 0.5).all()
    assert (proba[len(customers) :] > 0.5).all()


def test_empty_and_emoji_only_text_give_a_valid_distribution(encoder) -> None:
    texts = ["", "😂😂😂", "   ", "http://t.co/abc"]
    features = encoder.features(texts)
    for name in ("sentiment", "toxicity", "spam"):
        probs = _head(name).predict_proba(features, texts)
        assert probs.shape[0] == len(texts)
        assert np.all(np.isfinite(probs))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_care_intents_head_is_multilabel(encoder) -> None:
    path = ARTEFACTS / "accurate_care_intents.npz"
    if not path.exists():
        pytest.skip("care intents are not trained")
    head = HeadModel.load(path)
    assert head.multilabel and len(head.labels) == 14
    text = "@AcmeAir I've been charged twice for the same ticket, I want a refund now"
    probs = head.predict_proba(encoder.features([text]), [text])[0]
    assert head.labels[int(probs.argmax())] in {"billing_refund", "complaint"}


def _toy(rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, list[str]]:
    centres = np.eye(3, 8, dtype=np.float32) * 3
    labels = [["cats", "dogs", "fish"][i % 3] for i in range(n)]
    x = np.stack([centres[i % 3] for i in range(n)]) + rng.normal(0, 0.3, (n, 8)).astype(np.float32)
    return x, labels


def test_train_head_learns_a_separable_set_and_round_trips(tmp_path: Path) -> None:
    x, labels = _toy(np.random.default_rng(0))
    head = train_head(x, labels, detect_oos=True)
    assert head.predict(x) == labels
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = HeadModel.load(path)
    assert loaded.labels == head.labels and loaded.oos_threshold == head.oos_threshold
    np.testing.assert_allclose(loaded.predict_proba(x), head.predict_proba(x), atol=1e-6)
    with np.load(path, allow_pickle=False) as data:
        assert "header" in data.files


def test_train_head_with_ngrams_and_multilabel(tmp_path: Path) -> None:
    x, _ = _toy(np.random.default_rng(1), 40)
    texts = [("refund please" if i % 2 else "love it") + f" {i}" for i in range(40)]
    labels = ["billing_refund|complaint" if i % 2 else "praise" for i in range(40)]
    head = train_head(x, labels, multilabel=True, texts=texts, ngram_bits=12)
    assert head.needs_texts and head.labels == ["billing_refund", "complaint", "praise"]
    assert head.predict(x[:2], texts[:2]) == [["praise"], ["billing_refund", "complaint"]]
    head.save(tmp_path / "h.npz")
    again = HeadModel.load(tmp_path / "h.npz")
    np.testing.assert_allclose(again.predict_proba(x, texts), head.predict_proba(x, texts), atol=1e-2)
    with pytest.raises(ValueError):
        head.predict_proba(x)


def test_predict_with_oos_says_other_for_an_unrelated_sentence(encoder) -> None:
    examples = {
        "card_arrival": [
            "when will my new card arrive",
            "my card still has not come",
            "card delivery status",
        ],
        "lost_card": ["I lost my card", "my card was stolen", "I can't find my bank card anywhere"],
        "exchange_rate": [
            "what exchange rate do you use",
            "how much is a dollar in euros",
            "currency rates today",
        ],
    }
    texts = [t for group in examples.values() for t in group for _ in range(4)]
    labels = [name for name, group in examples.items() for _ in group for _ in range(4)]
    head = train_head(encoder.encode(texts), labels, c=10.0, detect_oos=True, max_accuracy_loss=0.05)
    assert head.oos_threshold is not None and 0.0 < head.oos_threshold < 1.0
    queries = ["my card was stolen yesterday", "the recipe needs two eggs and some flour"]
    (first, _), (second, _) = head.predict_with_oos(encoder.encode(queries))
    assert first == "lost_card"
    assert second == OTHER
