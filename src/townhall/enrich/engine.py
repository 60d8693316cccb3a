"""Runs the shipped models over a batch of texts on either path and says what each text is."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from townhall.enrich import language
from townhall.enrich.adapter import Adapter

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
FAST, ACCURATE = "fast", "accurate"
PATHS = (FAST, ACCURATE)
SENTIMENTS = ("negative", "neutral", "positive")
TOXICITY = ("none", "offensive", "hate")
IntentLabel = Literal[
    "question",
    "complaint",
    "bug_report",
    "feature_request",
    "praise",
    "purchase_intent",
    "churn_risk",
    "billing_refund",
    "order_or_account_status",
    "partnership_or_press",
    "job_seeker",
    "spam",
    "abuse",
    "other",
]
CARE_INTENTS: tuple[str, ...] = get_args(IntentLabel)
TASKS = ("sentiment", "toxicity", "spam", "care_intents")
# Models are trained on English posts; elsewhere their reading is a guess and is said to be one.
SUPPORTED_LANGUAGES = {"en"}
INTENT_THRESHOLD = 0.5
# Tasks where the accurate path averages its embedding head with the fast model: they read different
# evidence (meaning vs exact words), and on TweetEval val the even mix scores 0.710 macro-recall against
# 0.692 and 0.690 alone. The weight is the plain average, not tuned.
ENSEMBLED = {"sentiment"}


@dataclass
class Understanding:
    language: str = language.UNKNOWN
    language_confidence: float = 0.0
    sentiment: str = "unknown"
    sentiment_score: float = 0.0
    sentiment_confidence: float = 0.0
    intents: list[dict[str, Any]] = field(default_factory=list)
    primary_intent: str = "other"
    spam_probability: float = 0.0
    toxicity: str = "unknown"
    toxicity_probability: float = 0.0
    entities: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ModelUnavailable(RuntimeError):
    """The artefacts for a path are not in the package."""


class _Registry:
    """Loads each shipped model once per process, on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], Any] = {}

    def model(self, path: str, task: str) -> Any:
        key = (path, task)
        if key not in self._models:
            with self._lock:
                if key not in self._models:
                    self._models[key] = self._load(path, task)
        return self._models[key]

    def _load(self, path: str, task: str) -> Any:
        file = ARTEFACTS / f"{path}_{task}.npz"
        if not file.exists():
            raise ModelUnavailable(f"the {path} {task} model is not installed ({file.name} is missing)")
        if path == FAST:
            from townhall.enrich.classifiers.fast import FastModel

            return FastModel.load(file)
        from townhall.enrich.classifiers.accurate import HeadModel

        return HeadModel.load(file)

    def encoder(self) -> Any:
        from townhall.enrich.classifiers.accurate import shared_encoder

        # Job workers that run several processes set this to 1 so they do not fight over the cores.
        return shared_encoder(threads=int(os.environ.get("TOWNHALL_ENCODER_THREADS", "2")))


registry = _Registry()


def available(path: str) -> bool:
    needed = [ARTEFACTS / f"{path}_{task}.npz" for task in TASKS]
    if path == ACCURATE:
        needed.append(ARTEFACTS / "encoder.onnx")
    return all(f.exists() for f in needed)


def probabilities(
    texts: list[str], *, path: str, task: str, features: np.ndarray | None = None
) -> np.ndarray:
    """The shipped model's class probabilities for each text (columns in the model's label order).

    On the accurate path, pass `features` (from `encode_features`) to share one encoder run between tasks.
    """
    if not texts:
        return np.zeros((0, len(labels_of(path, task))), dtype=np.float32)
    model = registry.model(path, task)
    if path == FAST:
        return np.asarray(model.predict_proba(texts))
    if features is None:
        features = encode_features(texts)
    result = np.asarray(model.predict_proba(features, texts if model.needs_texts else None))
    if task in ENSEMBLED and available(FAST):
        fast = registry.model(FAST, task)
        order = [list(fast.labels).index(label) for label in model.labels]
        result = (result + np.asarray(fast.predict_proba(texts))[:, order]) / 2
    return result


def encode_features(texts: list[str]) -> np.ndarray:
    """The encoder's features of each text, read by every accurate head."""
    return np.asarray(registry.encoder().features(texts))


def labels_of(path: str, task: str) -> list[str]:
    return list(registry.model(path, task).labels)


def understand(
    texts: list[str], *, path: str = FAST, adapters: dict[str, Adapter] | None = None
) -> list[Understanding]:
    """Language, sentiment, intents, spam, toxicity and entities of every text, in one batch."""
    from townhall.enrich.entities import entities_of

    if path == ACCURATE and not available(ACCURATE):
        path = FAST  # an installation without the accurate models still reads every item
    adapters = adapters or {}
    results = [Understanding() for _ in texts]
    readable: list[int] = []
    for index, text in enumerate(texts):
        result = results[index]
        result.language, result.language_confidence = language.detect(text)
        result.entities = entities_of(text)
        if language.has_words(text) or _has_emoji(text):
            readable.append(index)
    if not readable:
        return results
    batch = [texts[i] for i in readable]
    features = encode_features(batch) if path == ACCURATE else None
    scores = {task: probabilities(batch, path=path, task=task, features=features) for task in TASKS}
    for task, adapter in adapters.items():
        if task in scores:
            scores[task] = adapter.apply(batch, scores[task])
    label_sets = {task: labels_of(path, task) for task in TASKS}
    for row, index in enumerate(readable):
        _fill(results[index], {task: (label_sets[task], scores[task][row]) for task in TASKS})
    return results


def _fill(result: Understanding, scores: dict[str, tuple[list[str], np.ndarray]]) -> None:
    guessing = result.language not in SUPPORTED_LANGUAGES and result.language != language.UNKNOWN
    labels, p = scores["sentiment"]
    by_label = dict(zip(labels, (float(x) for x in p), strict=True))
    best = max(by_label, key=lambda k: by_label[k])
    result.sentiment_score = round(by_label.get("positive", 0.0) - by_label.get("negative", 0.0), 4)
    result.sentiment_confidence = round(by_label[best], 4)
    result.sentiment = "unknown" if guessing and by_label[best] < 0.8 else best
    labels, p = scores["toxicity"]
    by_label = dict(zip(labels, (float(x) for x in p), strict=True))
    worst = max(("offensive", "hate"), key=lambda k: by_label.get(k, 0.0))
    result.toxicity_probability = round(1.0 - by_label.get("none", 0.0), 4)
    result.toxicity = worst if by_label.get("none", 0.0) < 0.5 else "none"
    labels, p = scores["spam"]
    result.spam_probability = round(float(dict(zip(labels, p, strict=True)).get("spam", 0.0)), 4)
    labels, p = scores["care_intents"]
    ranked = sorted(zip(labels, (float(x) for x in p), strict=True), key=lambda pair: -pair[1])
    chosen = [{"label": label, "p": round(prob, 4)} for label, prob in ranked if prob >= INTENT_THRESHOLD]
    if not chosen:
        chosen = [{"label": "other", "p": round(dict(ranked).get("other", 0.0), 4)}]
    result.intents = chosen
    result.primary_intent = str(chosen[0]["label"])


def _has_emoji(text: str) -> bool:
    return any(ord(ch) >= 0x2600 and not ch.isalnum() for ch in text)
