"""The accurate path: a MiniLM sentence encoder in int8 ONNX and small trained heads on its embeddings."""

from __future__ import annotations

import itertools
import json
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from townhall.enrich.classifiers.textprep import normalise

ARTEFACTS = Path(__file__).resolve().parent.parent / "artefacts"
ENCODER_PATH = ARTEFACTS / "encoder.onnx"
TOKENIZER_PATH = ARTEFACTS / "tokenizer.json"
EMBEDDING_DIM = 384
# The sentence embedding, then the mean-pooled states of transformer layers 3, 4 and 5 (each unit length).
FEATURE_DIM = EMBEDDING_DIM * 4
MAX_TOKENS = 128
OTHER = "other"


class Encoder:
    """Turns texts into L2-normalised sentence embeddings; the model is loaded on first use, once."""

    def __init__(
        self,
        model_path: Path = ENCODER_PATH,
        tokenizer_path: Path = TOKENIZER_PATH,
        *,
        threads: int = 2,
        max_tokens: int = MAX_TOKENS,
        normalise_text: bool = True,
    ) -> None:
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self.threads = threads
        self.max_tokens = max_tokens
        self.normalise_text = normalise_text
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    def _load(self) -> tuple[ort.InferenceSession, Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
                tokenizer.enable_truncation(max_length=self.max_tokens)
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._session = ort.InferenceSession(
                    str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return one float32 unit vector per text, in the order given (shape `(len(texts), 384)`)."""
        return self._run(texts, batch_size, with_layers=False)

    def features(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The sentence embedding followed by the pooled lower-layer states, `(len(texts), FEATURE_DIM)`.

        The first EMBEDDING_DIM columns are `encode`'s vectors, so a head trained on embeddings alone reads
        these rows too (see `HeadModel.logits`). One model run gives both.
        """
        return self._run(texts, batch_size, with_layers=True)

    def _run(self, texts: Sequence[str], batch_size: int, *, with_layers: bool) -> np.ndarray:
        width_out = FEATURE_DIM if with_layers else EMBEDDING_DIM
        if not texts:
            return np.zeros((0, width_out), dtype=np.float32)
        session, tokenizer = self._load()
        prepared = [normalise(t) if self.normalise_text else t for t in texts]
        encodings = tokenizer.encode_batch(prepared)
        # Batching texts of similar length keeps padding, which costs as much as real tokens, to a minimum.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), width_out), dtype=np.float32)
        names = ["sentence_embedding", "layer_embeddings"] if with_layers else ["sentence_embedding"]
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            results = session.run(names, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = np.hstack(results) if with_layers else results[0]
        return out


_ENCODERS: dict[tuple[str, int], Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(model_path: Path = ENCODER_PATH, *, threads: int = 2) -> Encoder:
    """The process-wide encoder for `model_path`, so the ONNX session is built once per process."""
    key = (str(model_path), threads)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = Encoder(model_path, threads=threads)
        return _ENCODERS[key]


_TOKEN = re.compile(r"\w+|[^\w\s]")


_LAST_GRAMS: tuple[tuple[int, tuple[str, ...]], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def ngram_features(texts: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashed word 1-2-grams and in-word character 2-5-grams of each text, as CSR parts with unit rows.

    Returns `(indptr, indices, values)`. These carry what a sentence embedding smooths away: a slur, a spam
    phrase or a product name that the encoder has never seen still has its own features here. The last batch
    is remembered, so the heads that read one item share one featurisation.
    """
    global _LAST_GRAMS
    key = (bits, tuple(texts))
    if _LAST_GRAMS is not None and _LAST_GRAMS[0] == key:
        return _LAST_GRAMS[1]
    result = _ngram_features(texts, bits)
    _LAST_GRAMS = (key, result)
    return result


def _ngram_features(texts: Sequence[str], bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mask = (1 << bits) - 1
    indptr = [0]
    indices: list[int] = []
    for text in texts:
        words = _TOKEN.findall(normalise(text).lower())
        grams = {"w " + w for w in words}
        grams.update("b " + a + " " + b for a, b in itertools.pairwise(words))
        for word in words:
            padded = f" {word} "
            for n in range(2, 6):
                grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
        row = sorted({zlib.crc32(g.encode("utf-8", "surrogatepass")) & mask for g in grams})
        indices.extend(row)
        indptr.append(len(indices))
    counts = np.diff(np.array(indptr))
    values = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)
    return np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int64), values


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0)))


@dataclass
class HeadModel:
    """A classifier over sentence embeddings: a logistic regression or a small MLP, optionally with n-grams.

    `layers` are `(weights, bias)` pairs applied in order with ReLU between them; the last gives one logit
    per label. A linear head may also weigh hashed n-grams of the text (`ngram_bits` > 0; `ngram_weights` has
    one row per hash bucket), and then needs the texts as well as their embeddings. Multi-label heads score
    each label on its own (sigmoid); the others give a distribution (softmax).
    """

    labels: list[str]
    layers: list[tuple[np.ndarray, np.ndarray]]
    multilabel: bool = False
    oos_threshold: float | None = None
    oos_label: str = OTHER
    ngram_bits: int = 0
    ngram_weights: np.ndarray | None = None
    info: dict[str, object] = field(default_factory=dict)

    @property
    def needs_texts(self) -> bool:
        return self.ngram_bits > 0

    def logits(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        # A head trained on sentence embeddings reads the leading columns of `Encoder.features` rows.
        x = x[:, : self.layers[0][0].shape[0]]
        for i, (weights, bias) in enumerate(self.layers):
            x = x @ weights + bias
            if i < len(self.layers) - 1:
                np.maximum(x, 0.0, out=x)
        if self.ngram_bits and self.ngram_weights is not None:
            if texts is None or len(texts) != len(x):
                raise ValueError("this head also reads the texts: pass one text per embedding")
            indptr, indices, values = ngram_features(texts, self.ngram_bits)
            rows = np.repeat(np.arange(len(x)), np.diff(indptr))
            x = x.copy()
            np.add.at(x, rows, self.ngram_weights[indices] * values[:, None])
        return x

    def predict_proba(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Per-label probabilities, shape `(n, len(labels))`; rows sum to 1 unless the head is multi-label."""
        logits = self.logits(embeddings, texts)
        return _sigmoid(logits) if self.multilabel else _softmax(logits)

    def predict(
        self, embeddings: np.ndarray, texts: Sequence[str] | None = None, *, threshold: float = 0.5
    ) -> list[list[str]] | list[str]:
        """The most probable label per row, or for a multi-label head every label above `threshold`."""
        probs = self.predict_proba(embeddings, texts)
        if self.multilabel:
            return [[self.labels[j] for j in np.flatnonzero(row >= threshold)] for row in probs]
        return [self.labels[j] for j in probs.argmax(axis=1)]

    def predict_with_oos(
        self, embeddings: np.ndarray, texts: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """`(label, confidence)` per row; `oos_label` when even the best label is below `oos_threshold`."""
        probs = self.predict_proba(embeddings, texts)
        best = probs.argmax(axis=1)
        confidence = probs[np.arange(len(probs)), best]
        threshold = -1.0 if self.oos_threshold is None else self.oos_threshold
        return [
            (self.labels[j] if p >= threshold else self.oos_label, float(p))
            for j, p in zip(best, confidence, strict=True)
        ]

    def save(self, path: Path) -> None:
        """Write the head as a plain `.npz` (arrays and a JSON header; loading never unpickles)."""
        header = {
            "format": 1,
            "labels": self.labels,
            "multilabel": self.multilabel,
            "oos_threshold": self.oos_threshold,
            "oos_label": self.oos_label,
            "layers": len(self.layers),
            "ngram_bits": self.ngram_bits,
            "info": self.info,
        }
        arrays: dict[str, np.ndarray] = {"header": np.array(json.dumps(header))}
        for i, (weights, bias) in enumerate(self.layers):
            arrays[f"w{i}"] = weights.astype(np.float32)
            arrays[f"b{i}"] = bias.astype(np.float32)
        if self.ngram_weights is not None:
            # Half precision halves the file; the n-gram weights are small and far from float16's limits.
            arrays["ngram_weights"] = self.ngram_weights.astype(np.float16)
        with Path(path).open("wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> HeadModel:
        with np.load(Path(path), allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            layers = [(data[f"w{i}"], data[f"b{i}"]) for i in range(int(header["layers"]))]
            ngram_weights = (
                data["ngram_weights"].astype(np.float32) if "ngram_weights" in data.files else None
            )
        return cls(
            labels=list(header["labels"]),
            layers=layers,
            multilabel=bool(header["multilabel"]),
            oos_threshold=header["oos_threshold"],
            oos_label=header["oos_label"],
            ngram_bits=int(header.get("ngram_bits", 0)),
            ngram_weights=ngram_weights,
            info=dict(header["info"]),
        )


def _label_sets(labels: Sequence[str] | Sequence[Sequence[str]]) -> list[set[str]]:
    # A multi-label example is a list of labels or one "|"-joined string ("complaint|churn_risk").
    return [set(x.split("|")) if isinstance(x, str) else set(x) for x in labels]


def _two_class(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # scikit-learn keeps one weight vector for two classes; softmax([0, z]) equals its sigmoid(z).
    return np.hstack([np.zeros_like(weights), weights]), np.concatenate([np.zeros_like(bias), bias])


@dataclass
class _Features:
    embeddings: np.ndarray
    texts: Sequence[str] | None
    ngram_bits: int
    ngram_scale: float

    def matrix(self) -> Any:
        """The design matrix: embeddings, or a sparse [embeddings ⊕ scaled n-grams] when n-grams are on."""
        x = self.embeddings
        if not self.ngram_bits or self.texts is None:
            return x
        import scipy.sparse as sp

        indptr, indices, values = ngram_features(self.texts, self.ngram_bits)
        shape = (len(self.texts), 1 << self.ngram_bits)
        grams = sp.csr_matrix((values * self.ngram_scale, indices, indptr), shape=shape)
        return sp.hstack([sp.csr_matrix(x), grams], format="csr")

    def subset(self, rows: np.ndarray) -> _Features:
        texts = None if self.texts is None else [self.texts[int(i)] for i in rows]
        return _Features(self.embeddings[rows], texts, self.ngram_bits, self.ngram_scale)


def _split_weights(
    features: _Features, weights: np.ndarray, bias: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray | None]:
    dim = features.embeddings.shape[1]
    layer = (weights[:dim].astype(np.float32), bias.astype(np.float32))
    if not features.ngram_bits:
        return [layer], None
    return [layer], (weights[dim:] * features.ngram_scale).astype(np.float32)


def _fit(
    features: _Features,
    labels: list[str] | list[set[str]],
    *,
    multilabel: bool,
    c: float,
    hidden: int,
    class_weight: str | None,
    seed: int,
) -> HeadModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if multilabel:
        names = sorted(set().union(*labels))
        target = np.array([[name in row for name in names] for row in labels], dtype=np.int64)
    else:
        names = sorted({str(name) for name in labels})
        index = {name: i for i, name in enumerate(names)}
        target = np.array([index[str(name)] for name in labels])
    x = features.matrix()
    extra = {"ngram_bits": features.ngram_bits}
    if hidden:
        if features.ngram_bits:
            raise ValueError("an MLP head reads embeddings only; use ngram_bits=0")
        mlp = MLPClassifier(
            hidden_layer_sizes=(hidden,), alpha=1.0 / (c * len(x)), max_iter=200, random_state=seed
        )
        mlp.fit(x, target)
        layers = [
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(mlp.coefs_, mlp.intercepts_, strict=True)
        ]
        if not multilabel and len(names) == 2:
            layers[-1] = _two_class(*layers[-1])
        return HeadModel(labels=names, layers=layers, multilabel=multilabel)
    if not multilabel:
        model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight, random_state=seed)
        model.fit(x, target)
        weights, bias = model.coef_.T, model.intercept_
        if len(names) == 2:
            weights, bias = _two_class(weights, bias)
        layers, ngram_weights = _split_weights(features, weights, bias)
        return HeadModel(labels=names, layers=layers, ngram_weights=ngram_weights, **extra)  # type: ignore[arg-type]
    weights = np.zeros((x.shape[1], len(names)), dtype=np.float32)
    bias = np.zeros(len(names), dtype=np.float32)
    for j in range(len(names)):
        column = target[:, j]
        if column.min() == column.max():
            bias[j] = 10.0 if column[0] else -10.0
            continue
        model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight, random_state=seed)
        model.fit(x, column)
        weights[:, j] = model.coef_[0]
        bias[j] = model.intercept_[0]
    layers, ngram_weights = _split_weights(features, weights, bias)
    return HeadModel(
        labels=names,
        layers=layers,
        multilabel=True,
        ngram_weights=ngram_weights,
        **extra,  # type: ignore[arg-type]
    )


def choose_oos_threshold(
    in_scope_confidence: np.ndarray,
    in_scope_correct: np.ndarray,
    *,
    max_accuracy_loss: float = 0.005,
) -> float:
    """The confidence below which an item is called out of scope, from held-out in-scope examples.

    The highest threshold that costs at most `max_accuracy_loss` of in-scope accuracy (a rejected in-scope
    item counts as wrong): as many out-of-scope items as possible are caught for a price the workspace knows.
    Out-of-scope confidences are not needed; the more is rejected, the more of them are caught.
    """
    if len(in_scope_confidence) == 0:
        return 0.0
    baseline = float(np.mean(in_scope_correct))
    best = 0.0
    for threshold in np.unique(in_scope_confidence):
        if (
            float(np.mean(in_scope_correct & (in_scope_confidence >= threshold)))
            >= baseline - max_accuracy_loss
        ):
            best = float(threshold)
        else:
            break
    return best


def _held_out_rows(labels: list[str], seed: int) -> np.ndarray:
    """A stratified fifth of the examples (of labels with at least 3), as a boolean mask."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    for rows in by_label.values():
        if len(rows) >= 3:
            held[rng.choice(rows, size=max(1, len(rows) // 5), replace=False)] = True
    return held


def train_head(
    embeddings: np.ndarray,
    labels: Sequence[str] | Sequence[Sequence[str]],
    *,
    multilabel: bool = False,
    c: float = 10.0,
    hidden: int = 0,
    texts: Sequence[str] | None = None,
    ngram_bits: int = 0,
    ngram_scale: float = 1.0,
    class_weight: str | None = None,
    oos_embeddings: np.ndarray | None = None,
    oos_texts: Sequence[str] | None = None,
    detect_oos: bool = False,
    max_accuracy_loss: float = 0.005,
    seed: int = 0,
) -> HeadModel:
    """Train a head on embeddings: logistic regression (or an MLP with `hidden` units), L2 strength `1/c`.

    With `ngram_bits` the texts' hashed n-grams (`ngram_features`, scaled by `ngram_scale`) join the
    embeddings. With
    `detect_oos` (or out-of-scope examples) a fifth of the examples is held out, the out-of-scope threshold is
    chosen on it (see `choose_oos_threshold`), and the head is refitted on all of them. Out-of-scope examples
    are then only scored: `info["held_out_oos_recall"]` says how many of them the threshold catches.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    prepared: list[str] | list[set[str]] = _label_sets(labels) if multilabel else [str(y) for y in labels]
    if len(prepared) != len(x):
        raise ValueError(f"{len(x)} embeddings but {len(prepared)} labels")
    if ngram_bits and (texts is None or len(texts) != len(x)):
        raise ValueError("n-gram features need one text per embedding")
    features = _Features(x, texts, ngram_bits, ngram_scale)
    options: dict[str, object] = {"c": c, "hidden": hidden, "class_weight": class_weight, "seed": seed}
    from threadpoolctl import threadpool_limits

    # One BLAS thread: lbfgs on these sizes gains nothing from more, and on a busy machine several threads
    # fighting over two cores made BANKING77 training three times slower.
    with threadpool_limits(limits=1):
        return _train_head(
            features, prepared, multilabel, options, detect_oos, oos_embeddings, oos_texts, max_accuracy_loss
        )


def _train_head(
    features: _Features,
    prepared: list[str] | list[set[str]],
    multilabel: bool,
    options: dict[str, object],
    detect_oos: bool,
    oos_embeddings: np.ndarray | None,
    oos_texts: Sequence[str] | None,
    max_accuracy_loss: float,
) -> HeadModel:
    x, texts = features.embeddings, features.texts
    head = _fit(features, prepared, multilabel=multilabel, **options)  # type: ignore[arg-type]
    if (detect_oos or oos_embeddings is not None) and not multilabel:
        flat = [str(y) for y in prepared]
        held = _held_out_rows(flat, int(options["seed"]))  # type: ignore[call-overload]
        train_rows, held_rows = np.flatnonzero(~held), np.flatnonzero(held)
        part = _fit(
            features.subset(train_rows),
            [flat[i] for i in train_rows],
            multilabel=False,
            **options,  # type: ignore[arg-type]
        )
        probs = part.predict_proba(
            x[held_rows], None if texts is None else [texts[int(i)] for i in held_rows]
        )
        correct = np.array(part.labels)[probs.argmax(axis=1)] == np.array([flat[i] for i in held_rows])
        confidence = probs.max(axis=1)
        head.oos_threshold = choose_oos_threshold(confidence, correct, max_accuracy_loss=max_accuracy_loss)
        kept = float(np.mean(correct & (confidence >= head.oos_threshold)))
        head.info["held_out_in_scope_accuracy"] = round(kept, 4)
        if oos_embeddings is not None and len(oos_embeddings):
            oos_confidence = part.predict_proba(np.asarray(oos_embeddings, dtype=np.float32), oos_texts).max(
                axis=1
            )
            head.info["held_out_oos_recall"] = round(float(np.mean(oos_confidence < head.oos_threshold)), 4)
    head.info.update({**options, "ngram_scale": features.ngram_scale, "examples": len(x)})
    return head
