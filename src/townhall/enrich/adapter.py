"""Workspace adapters: corrections become a small learned shift on top of a shipped model's output.

A correction is one labelled example; a few of them must change how *their* words are read ("War Zone" is
a game mode, not a threat) without retraining the shipped model or disturbing everything else. The
adapter is a sparse weight matrix over hashed word n-grams, added to the shipped model's log-probabilities
(softmax tasks) or logits (multi-label tasks) and trained by gradient descent with an L2 pull towards zero,
so words that never appear in corrections keep a zero row and change nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**20
_VECTORIZER = HashingVectorizer(
    n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2", lowercase=True
)
_EPS = 1e-7


def featurize(texts: list[str]) -> sparse.csr_matrix:
    return _VECTORIZER.transform(texts).tocsr()


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _base_scores(probabilities: np.ndarray, multilabel: bool) -> np.ndarray:
    p = np.clip(probabilities, _EPS, 1 - _EPS)
    return np.log(p / (1 - p)) if multilabel else np.log(p)


@dataclass
class Adapter:
    """Rows of the delta matrix for the hashed features that corrections touched."""

    labels: list[str]
    multilabel: bool
    rows: np.ndarray  # feature indices, int64, sorted
    delta: np.ndarray  # (len(rows), len(labels)) float32

    def apply(self, texts: list[str], probabilities: np.ndarray) -> np.ndarray:
        """The shipped model's probabilities for `texts`, shifted by what the corrections taught."""
        if len(self.rows) == 0 or len(texts) == 0:
            return probabilities
        features = featurize(texts)[:, self.rows]
        shift = np.asarray(features @ self.delta)
        scores = _base_scores(probabilities, self.multilabel) + shift
        return _sigmoid(scores) if self.multilabel else _softmax(scores)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            labels=np.array(self.labels),
            multilabel=np.array(self.multilabel),
            rows=self.rows,
            delta=self.delta,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Adapter:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(
                labels=[str(x) for x in stored["labels"]],
                multilabel=bool(stored["multilabel"]),
                rows=stored["rows"].astype(np.int64),
                delta=stored["delta"].astype(np.float32),
            )


def train_adapter(
    texts: list[str],
    targets: np.ndarray,
    base_probabilities: np.ndarray,
    *,
    labels: list[str],
    multilabel: bool,
    l2: float = 0.01,
    steps: int = 300,
    learning_rate: float = 2.0,
) -> Adapter:
    """Fit the delta so that base scores + delta reproduce the corrected labels.

    `targets` is one-hot (softmax tasks) or a 0/1 matrix (multi-label), `base_probabilities` the shipped
    model's output for the same texts. Full-batch gradient descent: corrections are few (tens to
    thousands), so this takes milliseconds to a second.
    """
    features = featurize(texts)
    rows = np.unique(features.indices).astype(np.int64)
    if len(rows) == 0:
        return Adapter(labels, multilabel, rows, np.zeros((0, len(labels)), dtype=np.float32))
    x = features[:, rows].tocsr()
    base = _base_scores(base_probabilities, multilabel)
    delta = np.zeros((len(rows), len(labels)), dtype=np.float64)
    n = x.shape[0]
    for _ in range(steps):
        scores = base + np.asarray(x @ delta)
        predicted = _sigmoid(scores) if multilabel else _softmax(scores)
        gradient = np.asarray(x.T @ (predicted - targets)) / n + l2 * delta
        delta -= learning_rate * gradient
    return Adapter(labels, multilabel, rows, delta.astype(np.float32))
