"""Loaders for the accurate path's training and dev data in ../shared/data, and a disk cache of embeddings."""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from townhall.enrich.classifiers.accurate import ENCODER_PATH, Encoder  # noqa: E402
from townhall.enrich.classifiers.textprep import normalise  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SEEDS = ROOT / "src" / "townhall" / "enrich" / "seeds"
SPAM_PROBE = ROOT / "training" / "spam_probe.csv"
TWCS_DEMO = ROOT / "demo" / "twcs_sample.csv"
CACHE = Path("/tmp/townhall-accurate-cache")
SEED = 13

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    groups: list[str] | None = None


_LINK = re.compile(r"(?:https?://|www\.)\S*|\bhttp\b", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _dedupe_key(text: str) -> str:
    # TweetEval's copies of SemEval tweets lost their links, anonymised handles and gained quotes: two tweets
    # are the same when their letters and digits are.
    text = _HANDLE.sub(" ", _LINK.sub(" ", html.unescape(text)))
    return _NOT_ALNUM.sub("", text.lower())


def sentiment_dev() -> LabelledTexts:
    """TweetEval sentiment validation split (2,000 tweets)."""
    folder = SHARED / "tweeteval" / "sentiment"
    names = dict(
        line.split("\t") for line in (folder / "mapping.txt").read_text().splitlines() if line.strip()
    )
    texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [names[x.strip()] for x in (folder / "val_labels.txt").read_text().splitlines()]
    return LabelledTexts([t.strip() for t in texts], labels)


def sentiment_train() -> LabelledTexts:
    """SemEval 2013-2016 subtask A, deduplicated, with every text that is also in the dev split removed.

    TweetEval's dev tweets were drawn from these files, so a train tweet goes when its letters and digits
    equal a dev tweet's, or share their first 40 (TweetEval cut some tweets short).
    """
    dev_keys = {_dedupe_key(t) for t in sentiment_dev().texts}
    dev_prefixes = {k[:40] for k in dev_keys if len(k) >= 40}
    seen: set[str] = set()
    texts, labels = [], []
    for path in sorted((SHARED / "semeval2017-task4" / "subtask_A").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.rstrip("\t").split("\t")
            if len(parts) < 3 or parts[1] not in {"negative", "neutral", "positive"}:
                continue
            text = "\t".join(parts[2:]).strip()
            if len(text) > 1 and text[0] == text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            # The 2013 files keep JSON escapes (\u2019, \u002c) as they were distributed.
            text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
            key = _dedupe_key(text)
            if not key or key in seen or key in dev_keys or (len(key) >= 40 and key[:40] in dev_prefixes):
                continue
            seen.add(key)
            texts.append(text)
            labels.append(parts[1])
    return LabelledTexts(texts, labels)


TOXICITY_CLASSES = {"0": "hate", "1": "offensive", "2": "none"}


def toxicity_all() -> LabelledTexts:
    """Davidson et al.'s labelled tweets (the 90% part in shared/), class 0/1/2 as hate/offensive/none."""
    path = SHARED / "davidson-hate-offensive" / "labeled_data_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledTexts([r["tweet"] for r in rows], [TOXICITY_CLASSES[r["class"]] for r in rows])


def spam_all() -> LabelledTexts:
    """The three YouTube Spam Collection videos in shared/, with the video as the group."""
    texts, labels, groups = [], [], []
    for path in sorted((SHARED / "youtube-spam").glob("Youtube0*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.append(row["CONTENT"])
                labels.append("spam" if row["CLASS"].strip() == "1" else "ham")
                groups.append(path.stem)
    return LabelledTexts(texts, labels, groups)


def spam_seeds() -> LabelledTexts:
    """Every care-intent seed (train and dev) as spam when "spam" is among its labels, else ham."""
    texts, labels = [], []
    for split in ("train", "dev"):
        seeds = care_intents(split)
        assert seeds is not None, f"care_intents_{split}.csv is missing"
        texts += seeds.texts
        labels += ["spam" if "spam" in row.split("|") else "ham" for row in seeds.labels]
    return LabelledTexts(texts, labels)


def tweet_ham_rows(tweets: LabelledTexts, *, mentioning: int, other: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a seeded sample of `tweets` to learn as ham, and the rows left out.

    `mentioning` of them mention an account (the shape of a post to a brand), `other` do not.
    """
    order = np.random.default_rng(SEED).permutation(len(tweets.texts))
    mentions = np.array(["@user" in normalise(tweets.texts[i]) for i in order])
    chosen = np.concatenate([order[mentions][:mentioning], order[~mentions][:other]])
    return chosen, np.setdiff1d(order, chosen)


def twcs_inbound() -> list[str]:
    """Customers' tweets to brands in the TWCS demo sample (non-commercial): scored as a domain check only."""
    with TWCS_DEMO.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row["inbound"] == "True"]


def spam_probe() -> list[str]:
    """Our own hand-written spam tweets and comments, to check that tweet-style spam is still caught."""
    with SPAM_PROBE.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def banking77_train() -> LabelledTexts:
    with (SHARED / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledTexts([r["text"] for r in rows], [r["category"] for r in rows])


def clinc150() -> dict[str, LabelledTexts]:
    """CLINC150 full: train, val (in-scope) and oos_train, oos_val, oos_plus (out-of-scope, label "oos")."""
    data = json.loads((SHARED / "clinc150" / "data_full_train_val.json").read_text(encoding="utf-8"))
    plus = json.loads((SHARED / "clinc150" / "data_oos_plus_oos_train.json").read_text(encoding="utf-8"))
    data["oos_plus"] = plus["oos_train"]
    return {
        name: LabelledTexts([t for t, _ in pairs], [lab for _, lab in pairs]) for name, pairs in data.items()
    }


def care_intents(split: str) -> LabelledTexts | None:
    """The hand-written care-intent seeds; labels are "|"-joined (multi-label). None while missing."""
    path = SEEDS / f"care_intents_{split}.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledTexts([r["text"] for r in rows], [r["labels"] for r in rows])


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def embed(texts: list[str], *, encoder_path: Path = ENCODER_PATH, threads: int = 2) -> np.ndarray:
    """`Encoder.features` of `texts` with the given encoder, cached on disk by encoder and text content."""
    key = hashlib.sha256()
    key.update(_file_digest(encoder_path).encode())
    for text in texts:
        key.update(text.encode("utf-8", "surrogatepass"))
        key.update(b"\0")
    path = CACHE / f"{key.hexdigest()[:24]}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    embeddings = Encoder(encoder_path, threads=threads).features(texts, batch_size=32)
    np.save(path, embeddings)
    return embeddings
