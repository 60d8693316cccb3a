"""Decision thresholds chosen on held-out predictions: out-of-scope rejection and multi-label decoding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Rejecting text as out of scope may cost at most this share of the in-scope predictions that were right.
MAX_INSCOPE_LOSS = 0.02
_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def choose_oos_threshold(
    inscope_confidence: np.ndarray,
    inscope_correct: np.ndarray,
    oos_confidence: np.ndarray | None = None,
    *,
    max_inscope_loss: float = MAX_INSCOPE_LOSS,
) -> float:
    """The top-label probability under which a prediction becomes "other", from held-out predictions.

    A workspace's labelled examples rarely include out-of-scope text, so the threshold is bounded by what it
    costs: at most `max_inscope_loss` of the in-scope examples that were predicted right may be rejected.
    Within that bound, out-of-scope examples (when there are any) pick the threshold that maximises
    in-scope accuracy plus out-of-scope recall; without them it is the highest threshold in the bound.
    """
    right = np.sort(np.asarray(inscope_confidence)[np.asarray(inscope_correct, dtype=bool)])
    total = max(len(inscope_confidence), 1)
    if right.size == 0:
        return 0.0
    # rejecting below t loses every right prediction with confidence < t
    allowed = int(np.floor(max_inscope_loss * total))
    highest = float(right[min(allowed, right.size - 1)])
    if oos_confidence is None or len(oos_confidence) == 0:
        return highest
    oos = np.sort(np.asarray(oos_confidence))
    candidates = np.unique(np.concatenate((right[right <= highest], oos[oos <= highest], [highest])))
    kept = (right.size - np.searchsorted(right, candidates, side="left")) / total
    rejected = np.searchsorted(oos, candidates, side="left") / oos.size
    return float(candidates[int(np.argmax(kept + rejected))])


def decode_multilabel(proba: np.ndarray, labels: Sequence[str], thresholds: np.ndarray) -> list[list[str]]:
    """Labels over their thresholds, most probable first; the most probable label alone when none passes."""
    chosen = []
    for row in proba:
        over = np.flatnonzero(row >= thresholds)
        order = over[np.argsort(-row[over], kind="stable")] if over.size else [int(row.argmax())]
        chosen.append([labels[i] for i in order])
    return chosen


def choose_multilabel_threshold(proba: np.ndarray, targets: np.ndarray) -> float:
    """One threshold for every label, chosen on held-out predictions for `decode_multilabel`.

    With one threshold for all, decoding is "the top label, plus any other over the threshold"; per-label
    thresholds overfit a few dozen examples per label. The threshold maximises micro-F1 plus exact-match
    rate: micro-F1 alone is flat over a wide range and favours low thresholds that add a wrong second label.
    """
    truth = np.asarray(targets, dtype=bool)
    top = np.zeros_like(truth)
    top[np.arange(len(proba)), proba.argmax(axis=1)] = True
    best, best_score = 0.5, -1.0
    # ties go to the threshold nearest 0.5, the least committal choice
    for threshold in sorted(_GRID, key=lambda t: abs(t - 0.5)):
        predicted = (proba >= threshold) | top
        micro_f1 = 2 * (predicted & truth).sum() / max(predicted.sum() + truth.sum(), 1)
        score = micro_f1 + (predicted == truth).all(axis=1).mean()
        if score > best_score + 1e-9:
            best, best_score = float(threshold), score
    return best
