"""Turn a batch of texts into hashed word and character n-gram features, vectorised over the whole batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from townhall.enrich.classifiers.textprep import normalise

# scikit-learn's HashingVectorizer builds every character n-gram as a Python string (~2,500 tweets/s for
# char_wb 2-5 on one core); hashing rolling polynomials over the code points of the whole batch at once
# reaches ~40,000/s, which the listening volume needs. The features are the same kind: word 1-2-grams and
# character 3-5-grams inside space-padded words (2-grams added nothing on the dev splits and cost 25% more).
_BASE = np.uint64(0x100000001B3)
_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_BIGRAM = np.uint64(0xC2B2AE3D27D4EB4F)

_SEPARATOR, _WORD, _SYMBOL, _UNKNOWN = 0, 1, 2, 255
# Character classes by code point, filled in lazily for the non-ASCII characters a batch contains.
_CLASSES = np.full(0x110000, _UNKNOWN, dtype=np.uint8)
for _code in range(128):
    _char = chr(_code)
    _CLASSES[_code] = _WORD if (_char.isalnum() or _char == "_") else _SYMBOL if _char in "!?" else _SEPARATOR


@dataclass(frozen=True)
class HashingConfig:
    """How texts become features; saved with every model so that a model file describes itself."""

    word_bits: int = 18
    char_bits: int = 18
    char_min: int = 3
    char_max: int = 5

    @property
    def n_features(self) -> int:
        return (1 << self.word_bits) + (1 << self.char_bits)

    def as_array(self) -> np.ndarray:
        return np.array(list(asdict(self).values()), dtype=np.int64)

    @classmethod
    def from_array(cls, values: np.ndarray) -> HashingConfig:
        return cls(*(int(value) for value in values))


def _classify(points: np.ndarray) -> np.ndarray:
    classes = _CLASSES[points]
    unknown = classes == _UNKNOWN
    if unknown.any():
        for code in np.unique(points[unknown]).tolist():
            char = chr(code)
            # Letters of any script are words; emoji and other symbols are tokens of their own; the emoji
            # variation selector only changes how the previous character is drawn.
            if char.isalnum():
                _CLASSES[code] = _WORD
            elif char.isspace() or code == 0xFE0F:
                _CLASSES[code] = _SEPARATOR
            else:
                _CLASSES[code] = _SYMBOL
        classes = _CLASSES[points]
    return classes


def _bucket(hashes: np.ndarray, bits: int) -> np.ndarray:
    # Fibonacci hashing: the top bits of a multiplication by the golden ratio spread nearby values apart.
    return ((hashes * _GOLDEN) >> np.uint64(64 - bits)).astype(np.int64)


def _powers(base: np.uint64, size: int) -> np.ndarray:
    powers = np.empty(size, dtype=np.uint64)
    powers[0] = 1
    if size > 1:
        np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=powers[1:])
    return powers


def _char_ngrams(points: np.ndarray, space: np.ndarray, config: HashingConfig) -> tuple[list, list]:
    positions, hashes = [], []
    size = points.size
    rolling = points.copy()
    interior_space = np.zeros(size, dtype=bool)
    for n in range(2, config.char_max + 1):
        count = size - n + 1
        if count <= 0:
            break
        rolling = rolling[:count] * _BASE + points[n - 1 :]
        if n == 2:
            valid = ~(space[:count] & space[1 : count + 1])
        else:
            # an n-gram stays inside one padded word: no space except at its two ends
            interior_space = interior_space[:count] | space[n - 2 : count + n - 2]
            valid = ~interior_space
        if n >= config.char_min:
            start = np.flatnonzero(valid)
            positions.append(start)
            hashes.append(rolling[start] + np.uint64(n))
    return positions, hashes


def _word_ngrams(points: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    classes = _classify(points.astype(np.int64))
    word = classes == _WORD
    before = np.concatenate(([False], word[:-1]))
    after = np.concatenate((word[1:], [False]))
    symbol = np.flatnonzero(classes == _SYMBOL)
    starts = np.concatenate((np.flatnonzero(word & ~before), symbol))
    ends = np.concatenate((np.flatnonzero(word & ~after) + 1, symbol + 1))
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    # hash(token) = sum(c_j * B**(j - start)) from prefix sums of c_j * B**j and the inverse powers of B
    prefix = np.zeros(points.size + 1, dtype=np.uint64)
    np.cumsum(points * _powers(_BASE, points.size), out=prefix[1:])
    tokens = (prefix[ends] - prefix[starts]) * _powers(_BASE_INVERSE, points.size)[starts]
    token_doc = doc[starts]
    same = token_doc[1:] == token_doc[:-1]
    bigrams = (tokens[:-1][same] * _BIGRAM + tokens[1:][same]) * _BIGRAM
    return np.concatenate((token_doc, token_doc[:-1][same])), np.concatenate((tokens, bigrams))


def featurise(texts: Sequence[str], config: HashingConfig) -> sp.csr_matrix:
    """Return a (len(texts), config.n_features) matrix: word block then character block.

    Each block is scaled by 1/sqrt(its number of n-grams), so texts of any length weigh alike. Rows may hold
    the same column twice (its counts add up in a product); `sum_duplicates()` gives the canonical form.
    """
    docs = [f" {normalise(text).lower()} " for text in texts]
    n_docs = len(docs)
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    points = np.frombuffer("".join(docs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    points = points.astype(np.uint64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    word_bits, char_bits = config.word_bits, config.char_bits
    with np.errstate(over="ignore"):
        word_doc, word_hashes = _word_ngrams(points, doc)
        char_positions, char_hashes = _char_ngrams(points, points == 32, config)
        char_doc = doc[np.concatenate(char_positions)] if char_positions else np.zeros(0, dtype=np.int64)
        word_columns = _bucket(word_hashes, word_bits)
        char_columns = (
            _bucket(np.concatenate(char_hashes), char_bits) + (1 << word_bits)
            if char_hashes
            else np.zeros(0, dtype=np.int64)
        )
    values = []
    for block_doc in (word_doc, char_doc):
        counts = np.bincount(block_doc, minlength=n_docs).astype(np.float32)
        values.append((1.0 / np.sqrt(np.maximum(counts, 1.0)))[block_doc])
    rows = np.concatenate((word_doc, char_doc))
    # both blocks are already ordered by document; a stable sort merges them into row order cheaply
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    columns = np.concatenate((word_columns, char_columns))[order]
    data = np.concatenate(values)[order]
    return sp.csr_matrix(
        (data, columns.astype(np.int32), indptr.astype(np.int32)), shape=(n_docs, config.n_features)
    )
