"""Workspace-defined intents: a team's own labels, learned from examples, with out-of-scope detection."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.utils import timezone

from townhall.core.errors import Invalid, NotFound
from townhall.enrich import engine
from townhall.enrich.models import IntentExample, IntentSet
from townhall.workspaces.models import Workspace

# How labelled files mark an example that belongs to none of the intents.
OOS_LABELS = {"oos", "out_of_scope", "other", "none"}
OTHER = "other"
MIN_EXAMPLES_PER_INTENT = 2
# Hashed word/character n-grams beside the sentence features: exact product and plan names matter here.
INTENT_NGRAM_BITS = 18


def _to_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path)
        return path.read_bytes()


def _from_bytes(path_kind: str, data: bytes) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        path.write_bytes(data)
        if path_kind == engine.ACCURATE:
            from townhall.enrich.classifiers.accurate import HeadModel

            return HeadModel.load(path)
        from townhall.enrich.classifiers.fast import FastModel

        return FastModel.load(path)


def check_examples(texts: list[str], labels: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels:
        if label not in OOS_LABELS:
            counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise Invalid("an intent set needs at least two intents with examples", field="data")
    thin = sorted(label for label, n in counts.items() if n < MIN_EXAMPLES_PER_INTENT)
    if thin:
        raise Invalid(
            f"give at least {MIN_EXAMPLES_PER_INTENT} examples for: {', '.join(thin[:10])}", field="data"
        )
    return counts


def do_train_intent_set(
    *,
    name: str,
    texts: list[str],
    labels: list[str],
    workspace: Workspace | None = None,
    path: str | None = None,
) -> IntentSet:
    """Learn (or relearn) an intent set from examples; rows labelled `oos` teach what is out of scope."""
    counts = check_examples(texts, labels)
    chosen = path or (engine.ACCURATE if engine.available(engine.ACCURATE) else engine.FAST)
    in_scope = [(t, label) for t, label in zip(texts, labels, strict=True) if label not in OOS_LABELS]
    outside = [t for t, label in zip(texts, labels, strict=True) if label in OOS_LABELS]
    if chosen == engine.ACCURATE:
        from townhall.enrich.classifiers.accurate import train_head

        in_texts = [t for t, _ in in_scope]
        model: Any = train_head(
            engine.encode_features(in_texts),
            [label for _, label in in_scope],
            texts=in_texts,
            ngram_bits=INTENT_NGRAM_BITS,
            oos_embeddings=engine.encode_features(outside) if outside else None,
            oos_texts=outside or None,
            detect_oos=True,
        )
    else:
        from townhall.enrich.classifiers.fast import train_fast

        model = train_fast(
            texts, [label if label not in OOS_LABELS else OTHER for label in labels], detect_oos=True
        )
    intent_set, _ = IntentSet.objects.update_or_create(
        workspace=workspace,
        name=name,
        defaults={
            "path": chosen,
            "labels": sorted(counts),
            "model": _to_bytes(model),
            "examples": len(texts),
            "trained_at": timezone.now(),
        },
    )
    IntentExample.objects.filter(intent_set=intent_set).delete()
    IntentExample.objects.bulk_create(
        [
            IntentExample(intent_set=intent_set, text=t, label=label)
            for t, label in zip(texts, labels, strict=True)
        ],
        batch_size=2000,
    )
    return intent_set


def get_intent_set(*, name: str, workspace: Workspace | None = None) -> IntentSet:
    found = IntentSet.objects.filter(workspace=workspace, name=name).first()
    if found is None:
        raise NotFound(f"no intent set named {name!r}; train one with `townhall intents train`")
    return found


def classify(intent_set: IntentSet, texts: list[str]) -> list[tuple[str, float]]:
    """(intent, confidence) per text; `other` when the text matches none of the set's intents."""
    model = _from_bytes(intent_set.path, bytes(intent_set.model))
    if intent_set.path == engine.ACCURATE:
        features = engine.encode_features(texts)
        return list(model.predict_with_oos(features, texts if model.needs_texts else None))
    probabilities = model.predict_proba(texts)
    labels = model.predict_with_oos(texts)
    return [(label, float(row.max())) for label, row in zip(labels, probabilities, strict=True)]


def evaluate(intent_set: IntentSet, texts: list[str], gold: list[str]) -> dict[str, Any]:
    """In-scope accuracy (a rejected in-scope text counts as wrong), and out-of-scope recall when the
    file has out-of-scope rows."""
    predicted = [label for label, _ in classify(intent_set, texts)]
    truth = np.array([OTHER if g in OOS_LABELS else g for g in gold])
    guess = np.array(predicted)
    in_scope = truth != OTHER
    figures: dict[str, Any] = {"n": len(texts), "name": intent_set.name, "path": intent_set.path}
    figures["accuracy"] = (
        round(float(np.mean(guess[in_scope] == truth[in_scope])), 4) if in_scope.any() else None
    )
    if (~in_scope).any():
        figures["oos_recall"] = round(float(np.mean(guess[~in_scope] == OTHER)), 4)
        figures["n_oos"] = int((~in_scope).sum())
    return figures
