"""The fast path: linear layers over hashed n-grams, trained with scikit-learn and stored as plain .npz."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

from townhall.enrich.classifiers.hashing import HashingConfig, featurise
from townhall.enrich.classifiers.thresholds import (
    choose_multilabel_threshold,
    choose_oos_threshold,
    decode_multilabel,
)

OTHER = "other"
FORMAT_VERSION = 1


# The enrich stage asks each model about the same batch in turn; hashing it once serves all of them.
_recent: tuple[tuple[HashingConfig, tuple[str, ...]], sp.csr_matrix] | None = None


def _features_of(texts: Sequence[str], hashing: HashingConfig) -> sp.csr_matrix:
    global _recent
    key = (hashing, tuple(texts))
    recent = _recent
    if recent is not None and recent[0] == key:
        return recent[1]
    features = featurise(texts, hashing)
    _recent = (key, features)
    return features


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))


class FastModel:
    """A linear layer over hashed features: softmax over `labels`, or one sigmoid per label when multi-label.

    Only the feature rows that carry weight are kept (`rows`), so a model trained on a few hundred
    examples is a few hundred kilobytes.
    """

    def __init__(
        self,
        *,
        labels: Sequence[str],
        rows: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        multilabel: bool = False,
        hashing: HashingConfig | None = None,
        thresholds: np.ndarray | None = None,
        oos_threshold: float | None = None,
    ) -> None:
        self.labels = list(labels)
        self.multilabel = multilabel
        self.hashing = hashing or HashingConfig()
        self.rows = np.asarray(rows, dtype=np.int64)
        self.weights = np.asarray(weights)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        if self.weights.shape != (self.rows.size, len(self.labels)):
            raise ValueError(f"weights must be (rows, labels), got {self.weights.shape}")
        # per-label decision thresholds of a multi-label model; 0.5 when none were learnt
        self.thresholds = (
            np.asarray(thresholds, dtype=np.float32)
            if thresholds is not None
            else np.full(len(self.labels), 0.5, dtype=np.float32)
        )
        self.oos_threshold = oos_threshold
        self._slots: np.ndarray | None = None
        self._dense: np.ndarray | None = None

    def _layer(self) -> tuple[np.ndarray, np.ndarray]:
        if self._slots is None or self._dense is None:
            # every column of the hashed space maps to its weight row, unused columns to a final zero row
            slots = np.full(self.hashing.n_features, self.rows.size, dtype=np.int32)
            slots[self.rows] = np.arange(self.rows.size, dtype=np.int32)
            dense = np.zeros((self.rows.size + 1, len(self.labels)), dtype=np.float32)
            dense[:-1] = self.weights
            self._slots, self._dense = slots, dense
        return self._slots, self._dense

    def logits(self, features: sp.csr_matrix) -> np.ndarray:
        """Raw scores for already hashed features (see `featurise`)."""
        slots, dense = self._layer()
        compact = sp.csr_matrix(
            (features.data, slots[features.indices], features.indptr),
            shape=(features.shape[0], dense.shape[0]),
        )
        return np.asarray(compact @ dense) + self.intercept

    def proba_from_logits(self, logits: np.ndarray) -> np.ndarray:
        return _sigmoid(logits) if self.multilabel else _softmax(logits)

    def featurise(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Hashed features of `texts` (reused when the previous call hashed the same batch)."""
        return _features_of(texts, self.hashing)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return a (len(texts), len(labels)) array of probabilities."""
        return self.proba_from_logits(self.logits(self.featurise(texts)))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text."""
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def predict_labels(self, texts: Sequence[str]) -> list[list[str]]:
        """Multi-label decoding: every label over its threshold, or the most probable one when none is."""
        return decode_multilabel(self.predict_proba(texts), self.labels, self.thresholds)

    def predict_with_oos(self, texts: Sequence[str], threshold: float | None = None) -> list[str]:
        """The most probable label, or "other" when its probability is below `threshold`.

        Without an explicit threshold the one learnt on held-out examples at training time is used.
        """
        limit = self.oos_threshold if threshold is None else threshold
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1)
        return [
            OTHER if limit is not None and proba[i, j] < limit else self.labels[j] for i, j in enumerate(best)
        ]

    def save(self, path: str | Path) -> None:
        """Write the model as a compressed .npz (no pickles): hashing parameters, labels and weights."""
        present = np.zeros(self.hashing.n_features, dtype=bool)
        present[self.rows] = True
        np.savez_compressed(
            path,
            format_version=np.array(FORMAT_VERSION),
            hashing=self.hashing.as_array(),
            labels=np.array(self.labels, dtype=np.str_),
            multilabel=np.array(self.multilabel),
            # a bitmap of the used rows is 64 KB where their indices would take megabytes
            rows=np.packbits(present),
            weights=self.weights,
            intercept=self.intercept,
            thresholds=self.thresholds,
            oos_threshold=np.array(np.nan if self.oos_threshold is None else self.oos_threshold),
        )

    @classmethod
    def load(cls, path: str | Path) -> FastModel:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: unsupported model format {int(stored['format_version'])}")
            hashing = HashingConfig.from_array(stored["hashing"])
            present = np.unpackbits(stored["rows"], count=hashing.n_features).astype(bool)
            oos = float(stored["oos_threshold"])
            return cls(
                labels=[str(label) for label in stored["labels"]],
                rows=np.flatnonzero(present),
                weights=stored["weights"],
                intercept=stored["intercept"],
                multilabel=bool(stored["multilabel"]),
                hashing=hashing,
                thresholds=stored["thresholds"],
                oos_threshold=None if np.isnan(oos) else oos,
            )

    def compact(self, dtype: type = np.float16, tolerance: float = 0.0) -> FastModel:
        """A copy with weights stored as `dtype`, dropping rows whose weights are all within `tolerance`."""
        keep = np.abs(self.weights).max(axis=1) > tolerance
        return FastModel(
            labels=self.labels,
            rows=self.rows[keep],
            weights=self.weights[keep].astype(dtype),
            intercept=self.intercept,
            multilabel=self.multilabel,
            hashing=self.hashing,
            thresholds=self.thresholds,
            oos_threshold=self.oos_threshold,
        )


class FastBundle:
    """Several fast models over one hashing: a batch is hashed once and multiplied by all layers at once."""

    def __init__(self, models: dict[str, FastModel]) -> None:
        configs = {model.hashing for model in models.values()}
        if len(configs) != 1:
            raise ValueError("a bundle needs at least one model, and its models must share one hashing")
        self.models = dict(models)
        self.hashing = configs.pop()
        rows = np.unique(np.concatenate([model.rows for model in self.models.values()]))
        self._slots = np.full(self.hashing.n_features, rows.size, dtype=np.int32)
        self._slots[rows] = np.arange(rows.size, dtype=np.int32)
        # all layers side by side: one sparse-dense product serves every model
        width = sum(len(model.labels) for model in self.models.values())
        self._weights = np.zeros((rows.size + 1, width), dtype=np.float32)
        self._columns: dict[str, slice] = {}
        start = 0
        for name, model in self.models.items():
            columns = slice(start, start + len(model.labels))
            self._weights[self._slots[model.rows], columns] = model.weights
            self._columns[name] = columns
            start = columns.stop
        self._intercept = np.concatenate([model.intercept for model in self.models.values()])

    def predict_proba(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Each model's probabilities for `texts`, by model name."""
        features = featurise(texts, self.hashing)
        compact = sp.csr_matrix(
            (features.data, self._slots[features.indices], features.indptr),
            shape=(features.shape[0], self._weights.shape[0]),
        )
        logits = np.asarray(compact @ self._weights) + self._intercept
        return {
            name: model.proba_from_logits(logits[:, self._columns[name]])
            for name, model in self.models.items()
        }


def _fit_layer(
    features: sp.csr_matrix, targets: np.ndarray, *, C: float, class_weight: str | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one logistic regression; return weights (columns, classes) and the intercept."""
    classifier = LogisticRegression(
        C=C,
        class_weight=class_weight,
        solver="liblinear" if np.unique(targets).size == 2 else "lbfgs",
        max_iter=1000,
        random_state=seed,
    )
    classifier.fit(features, targets)
    coef, intercept = classifier.coef_, classifier.intercept_
    if coef.shape[0] == 1:
        # a binary problem has one score; as the softmax of (0, z) it gives the same probability
        coef = np.vstack((np.zeros_like(coef), coef))
        intercept = np.array([0.0, intercept[0]])
    return coef.T, intercept


def _fit(
    features: sp.csr_matrix,
    targets: np.ndarray,
    labels: Sequence[str],
    *,
    multilabel: bool,
    hashing: HashingConfig,
    C: float,
    class_weight: str | None,
    seed: int,
) -> FastModel:
    """Fit on the hashed columns the examples use, and keep only those rows."""
    rows = np.unique(features.indices)
    remap = np.full(features.shape[1], -1, dtype=np.int32)
    remap[rows] = np.arange(rows.size, dtype=np.int32)
    compact = sp.csr_matrix(
        (features.data, remap[features.indices], features.indptr), shape=(features.shape[0], rows.size)
    )
    n_labels = len(labels)
    weights = np.zeros((rows.size, n_labels), dtype=np.float32)
    intercept = np.zeros(n_labels, dtype=np.float32)
    settings = {"C": C, "class_weight": class_weight, "seed": seed}
    if multilabel:
        for label in range(n_labels):
            column = targets[:, label]
            if column.all() or not column.any():
                # a label that every example or none has is a constant
                intercept[label] = 10.0 if column.all() else -10.0
                continue
            coef, bias = _fit_layer(compact, column.astype(int), **settings)  # type: ignore[arg-type]
            weights[:, label], intercept[label] = coef[:, 1], bias[1]
    else:
        present = np.unique(targets)
        # a label without examples in this sample is never predicted
        intercept[:] = -30.0
        if present.size == 1:
            intercept[present] = 0.0
        else:
            coef, bias = _fit_layer(compact, targets, **settings)  # type: ignore[arg-type]
            weights[:, present], intercept[present] = coef, bias
    return FastModel(
        labels=labels, rows=rows, weights=weights, intercept=intercept, multilabel=multilabel, hashing=hashing
    )


def train_fast(
    texts: Sequence[str],
    labels: Sequence[str] | Sequence[Iterable[str]],
    *,
    multilabel: bool = False,
    C: float = 16.0,
    class_weight: str | None = "balanced",
    seed: int = 0,
    detect_oos: bool = False,
    oos_label: str = OTHER,
    folds: int = 3,
    hashing: HashingConfig | None = None,
) -> FastModel:
    """Train a fast model from labelled texts.

    Single-label: `labels` holds one label per text. With `detect_oos`, held-out predictions from
    `folds`-fold cross-validation choose the threshold under which `predict_with_oos` answers "other"
    (see `choose_oos_threshold`); texts labelled `oos_label` are not a class but help choose it.
    Multi-label: `labels` holds a collection of labels per text (one-vs-rest), and cross-validation chooses
    the threshold of the "top label plus any other over the threshold" decoding.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels must have the same length")
    if not texts:
        raise ValueError("nothing to train on")
    hashing = hashing or HashingConfig()
    features = featurise(texts, hashing)
    features.sum_duplicates()
    fit = {"hashing": hashing, "C": C, "class_weight": class_weight, "seed": seed}
    if multilabel:
        return _train_multilabel(features, labels, folds=folds, fit=fit)
    single = [str(label) for label in labels]
    inscope = np.array([label != oos_label for label in single]) if detect_oos else np.ones(len(single), bool)
    names = sorted({label for label, keep in zip(single, inscope, strict=True) if keep})
    if len(names) < 2:
        raise ValueError("a single-label model needs at least two labels")
    index = {name: i for i, name in enumerate(names)}
    targets = np.array([index.get(label, -1) for label in single])
    model = _fit(features[inscope], targets[inscope], names, multilabel=False, **fit)  # type: ignore[arg-type]
    if detect_oos:
        model.oos_threshold = _held_out_oos_threshold(features, targets, names, folds=folds, fit=fit)
    return model


def _train_multilabel(
    features: sp.csr_matrix,
    labels: Sequence[Iterable[str]] | Sequence[str],
    *,
    folds: int,
    fit: dict[str, Any],
) -> FastModel:
    sets = [{label} if isinstance(label, str) else set(label) for label in labels]
    names = sorted(set().union(*sets))
    targets = np.array([[name in chosen for name in names] for chosen in sets], dtype=bool)
    model = _fit(features, targets, names, multilabel=True, **fit)
    if folds >= 2 and len(sets) >= 2 * folds:
        held_out = np.zeros(targets.shape, dtype=np.float32)
        for train, test in KFold(folds, shuffle=True, random_state=fit["seed"]).split(targets):
            part = _fit(features[train], targets[train], names, multilabel=True, **fit)
            held_out[test] = part.proba_from_logits(part.logits(features[test]))
        model.thresholds = np.full(len(names), choose_multilabel_threshold(held_out, targets), np.float32)
    return model


def _held_out_oos_threshold(
    features: sp.csr_matrix, targets: np.ndarray, names: list[str], *, folds: int, fit: dict[str, Any]
) -> float:
    inscope = targets >= 0
    folds = min(folds, int(np.bincount(targets[inscope], minlength=len(names)).min()))
    if folds < 2:
        return 0.0
    confidence = np.zeros(targets.size)
    correct = np.zeros(targets.size, dtype=bool)
    # out-of-scope examples form one more stratum, so that every fold scores some; they are never trained on
    strata = np.where(inscope, targets, len(names)) if (~inscope).sum() >= folds else targets.clip(0)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=fit["seed"])
    for train, test in splitter.split(np.zeros(targets.size), strata):
        train = train[inscope[train]]
        part = _fit(features[train], targets[train], names, multilabel=False, **fit)
        proba = part.proba_from_logits(part.logits(features[test]))
        confidence[test] = proba.max(axis=1)
        correct[test] = proba.argmax(axis=1) == targets[test]
    return choose_oos_threshold(confidence[inscope], correct[inscope], confidence[~inscope])
