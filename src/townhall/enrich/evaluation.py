"""Scoring the models on any labelled file (CSV with text,label columns, or JSON Lines with those keys)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from townhall.core.errors import UnusableInput
from townhall.enrich import engine, language

# Labels as public datasets write them -> Townhall's own.
ALIASES = {
    "neither": "none",
    "hate_speech": "hate",
    "offensive_language": "offensive",
    "not_spam": "ham",
    "1": "spam",
    "0": "ham",
}


def read_labelled(path: Path, *, normalise_labels: bool = True) -> tuple[list[str], list[str]]:
    """Texts and labels of a CSV (header with `text` and `label`) or JSONL file; bad rows are an error."""
    if not path.is_file():
        raise UnusableInput(f"file not found: {path}")
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    texts.append(str(row["text"]))
                    labels.append(str(row["label"]))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise UnusableInput(
                        f"{path.name} line {number}: expected an object with text and label ({exc})"
                    ) from exc
        else:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                raise UnusableInput(f"{path.name} needs a header with 'text' and 'label' columns")
            for row in reader:
                texts.append(row["text"] or "")
                labels.append((row["label"] or "").strip())
    if not texts:
        raise UnusableInput(f"{path.name} has no labelled rows")
    if not normalise_labels:
        return texts, labels
    return texts, [ALIASES.get(label.lower(), label.lower()) for label in labels]


def _predict(texts: list[str], *, path: str, task: str) -> list[str]:
    labels = engine.labels_of(path, task)
    p = engine.probabilities(texts, path=path, task=task)
    return [labels[i] for i in np.argmax(p, axis=1)]


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(float(v), 4) if isinstance(v, float | np.floating) else v for k, v in values.items()}


def evaluate_sentiment(texts: list[str], gold: list[str], *, path: str) -> dict[str, Any]:
    predicted = _predict(texts, path=path, task="sentiment")
    labels = list(engine.SENTIMENTS)
    return _rounded(
        {
            "n": len(texts),
            "path": path,
            "macro_recall": recall_score(gold, predicted, labels=labels, average="macro", zero_division=0),
            "accuracy": accuracy_score(gold, predicted),
            "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
        }
    )


def evaluate_spam(texts: list[str], gold: list[str], *, path: str) -> dict[str, Any]:
    predicted = _predict(texts, path=path, task="spam")
    kwargs: dict[str, Any] = {"pos_label": "spam", "zero_division": 0}
    return _rounded(
        {
            "n": len(texts),
            "path": path,
            "f1": f1_score(gold, predicted, **kwargs),
            "precision": precision_score(gold, predicted, **kwargs),
            "recall": recall_score(gold, predicted, **kwargs),
        }
    )


def evaluate_toxicity(texts: list[str], gold: list[str], *, path: str) -> dict[str, Any]:
    predicted = _predict(texts, path=path, task="toxicity")
    labels = list(engine.TOXICITY)
    return _rounded(
        {
            "n": len(texts),
            "path": path,
            "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
            "accuracy": accuracy_score(gold, predicted),
        }
    )


def evaluate_language(texts: list[str], gold: list[str]) -> dict[str, Any]:
    predicted = [language.detect(text)[0] for text in texts]
    return _rounded({"n": len(texts), "accuracy": accuracy_score(gold, predicted)})


TASKS = {"sentiment": evaluate_sentiment, "spam": evaluate_spam, "toxicity": evaluate_toxicity}
