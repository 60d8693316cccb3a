"""Loaders for the labelled data in ../shared/data and the care-intent seeds, as train and dev splits.

The shared data directory is `<repo>/../shared/data`, or $TOWNHALL_SHARED_DATA when set.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from sklearn.model_selection import train_test_split

from townhall.enrich.classifiers.textprep import normalise

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "src" / "townhall" / "enrich" / "seeds"
SPAM_PROBE = REPO / "training" / "spam_probe.csv"
TWCS_DEMO = REPO / "demo" / "twcs_sample.csv"
SEED = 0
SENTIMENTS = ("negative", "neutral", "positive")
# Davidson et al.'s classes 0, 1, 2 in the product's words
TOXICITY = {"0": "hate", "1": "offensive", "2": "none"}

Label = TypeVar("Label")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class Split(Generic[Label]):
    """Texts and labels of a train split and a dev split."""

    train_texts: list[str]
    train_labels: list[Label]
    dev_texts: list[str]
    dev_labels: list[Label]


def shared_data() -> Path:
    """The shared data directory."""
    configured = os.environ.get("TOWNHALL_SHARED_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def _key(text: str) -> str:
    # TweetEval anonymised handles, dropped links and wrapped some tweets in quotes, and the 2013 files
    # escape characters: two tweets are the same when their words are
    return _NOT_WORD.sub("", normalise(_unescape_json(text)).lower().replace("http", ""))


def _unescape_json(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def _stratified(
    texts: list[str], labels: list[str], *, dev_size: float = 0.1, seed: int = SEED
) -> Split[str]:
    train_texts, dev_texts, train_labels, dev_labels = train_test_split(
        texts, labels, test_size=dev_size, random_state=seed, stratify=labels
    )
    return Split(list(train_texts), list(train_labels), list(dev_texts), list(dev_labels))


def _tweeteval(task: str, split: str) -> tuple[list[str], list[str]]:
    folder = shared_data() / "tweeteval" / task
    names = dict(
        line.split("\t") for line in (folder / "mapping.txt").read_text().splitlines() if line.strip()
    )
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [names[line.strip()] for line in (folder / f"{split}_labels.txt").read_text().splitlines()]
    if len(texts) != len(labels):
        raise ValueError(f"tweeteval/{task}/{split}: {len(texts)} texts but {len(labels)} labels")
    return [text.strip() for text in texts], labels


def semeval_sentiment() -> tuple[list[str], list[str]]:
    """Every SemEval 2013-2016 subtask A tweet once (the first label of a repeated text wins)."""
    seen: set[str] = set()
    texts, labels = [], []
    for path in sorted((shared_data() / "semeval2017-task4" / "subtask_A").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.rstrip("\t").split("\t")
            if len(fields) < 3 or fields[1] not in SENTIMENTS:
                continue
            text = _unescape_json("\t".join(fields[2:]).strip())
            if len(text) > 1 and text[0] == text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            key = _key(text)
            if key and key not in seen:
                seen.add(key)
                texts.append(text)
                labels.append(fields[1])
    return texts, labels


def sentiment() -> Split[str]:
    """Train: SemEval 2013-2016 subtask A, deduplicated, without any dev text. Dev: TweetEval's val split."""
    dev_texts, dev_labels = _tweeteval("sentiment", "val")
    dev_keys = {_key(text) for text in dev_texts}
    texts, labels = semeval_sentiment()
    kept = [(text, label) for text, label in zip(texts, labels, strict=True) if _key(text) not in dev_keys]
    return Split([t for t, _ in kept], [label for _, label in kept], dev_texts, dev_labels)


def airline_sentiment() -> tuple[list[str], list[str]]:
    """CrowdFlower airline tweets (non-commercial terms): for evaluation only, never for shipped models."""
    path = shared_data() / "brand-mentions-crowdflower" / "airline_sentiment_dev.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["text"] for row in rows], [row["airline_sentiment"] for row in rows]


def spam_videos() -> dict[str, tuple[list[str], list[str]]]:
    """YouTube comments by video: texts and labels spam/ham."""
    videos = {}
    for path in sorted((shared_data() / "youtube-spam").glob("Youtube0*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
        video = path.stem.split("-", 1)[1]
        videos[video] = (
            [row["CONTENT"] for row in rows],
            ["spam" if row["CLASS"].strip() == "1" else "ham" for row in rows],
        )
    return videos


def spam_folds() -> Iterator[tuple[str, Split[str]]]:
    """Leave one video out: train on the others' comments, dev on the held-out video's."""
    videos = spam_videos()
    for held_out, (dev_texts, dev_labels) in videos.items():
        train = [
            (t, label)
            for name, (ts, ls) in videos.items()
            if name != held_out
            for t, label in zip(ts, ls, strict=True)
        ]
        yield held_out, Split([t for t, _ in train], [label for _, label in train], dev_texts, dev_labels)


def spam_tweets(*, mentioning: int, other: int, seed: int = SEED) -> Split[str]:
    """Tweets that join every spam training set, and SemEval tweets left out of it to score as ham.

    Train: the care-intent seeds (train and dev; spam when "spam" is among their labels) and a seeded sample
    of SemEval tweets as ham: `mentioning` that mention an account, the shape of a post to a brand, and
    `other` that do not. Dev: every SemEval tweet not sampled, all ham.
    """
    texts, _ = semeval_sentiment()
    order = np.random.default_rng(seed).permutation(len(texts))
    mentions = np.array(["@user" in normalise(texts[i]) for i in order])
    chosen = np.concatenate([order[mentions][:mentioning], order[~mentions][:other]])
    left = np.setdiff1d(order, chosen)
    train_texts, train_labels = [], []
    for name in ("care_intents_train.csv", "care_intents_dev.csv"):
        seed_texts, seed_labels = _care_intents(name)
        train_texts += seed_texts
        train_labels += ["spam" if "spam" in labels else "ham" for labels in seed_labels]
    train_texts += [texts[i] for i in chosen]
    train_labels += ["ham"] * len(chosen)
    return Split(train_texts, train_labels, [texts[i] for i in left], ["ham"] * len(left))


def twcs_inbound() -> list[str]:
    """Customers' tweets to brands in the TWCS demo sample (non-commercial): scored as a domain check only."""
    with TWCS_DEMO.open(encoding="utf-8", newline="") as file:
        return [row["text"] for row in csv.DictReader(file) if row["inbound"] == "True"]


def spam_probe() -> list[str]:
    """Our own hand-written spam tweets and comments, to check that tweet-style spam is still caught."""
    with SPAM_PROBE.open(encoding="utf-8", newline="") as file:
        return [row["text"] for row in csv.DictReader(file)]


def davidson() -> tuple[list[str], list[str]]:
    """Davidson et al. tweets labelled hate / offensive / none."""
    path = shared_data() / "davidson-hate-offensive" / "labeled_data_train.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["tweet"] for row in rows], [TOXICITY[row["class"]] for row in rows]


def toxicity() -> Split[str]:
    """Davidson et al. with a seeded, stratified 10% dev split (the upstream held-out 10% is elsewhere)."""
    texts, labels = davidson()
    return _stratified(texts, labels)


def tweeteval_toxicity() -> tuple[list[str], list[str]]:
    """TweetEval's hate tweets as hate, and its offensive task as offensive / none.

    TweetEval's "not-hate" tweets are left out: many are offensive, so they fit neither other label.
    """
    texts, labels = [], []
    for text, label in zip(*_tweeteval("hate", "train"), strict=True):
        if label == "hate":
            texts.append(text)
            labels.append("hate")
    for text, label in zip(*_tweeteval("offensive", "train"), strict=True):
        texts.append(text)
        labels.append("offensive" if label == "offensive" else "none")
    return texts, labels


def _care_intents(name: str) -> tuple[list[str], list[list[str]]]:
    with (SEEDS / name).open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["text"] for row in rows], [row["labels"].split("|") for row in rows]


def care_intents() -> Split[list[str]]:
    """The care-intent seeds: multi-label, labels separated by "|" in the files."""
    train_texts, train_labels = _care_intents("care_intents_train.csv")
    dev_texts, dev_labels = _care_intents("care_intents_dev.csv")
    return Split(train_texts, train_labels, dev_texts, dev_labels)


def banking77() -> Split[str]:
    """BANKING77 train with a seeded, stratified 10% dev split (the official test split is elsewhere)."""
    path = shared_data() / "banking77" / "train.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return _stratified([row["text"] for row in rows], [row["category"] for row in rows])


def clinc150(*, with_oos_train: bool = True) -> Split[str]:
    """CLINC150: train -> val; out-of-scope queries are labelled "oos" in both."""
    data = json.loads((shared_data() / "clinc150" / "data_full_train_val.json").read_text(encoding="utf-8"))
    train = data["train"] + (data["oos_train"] if with_oos_train else [])
    dev = data["val"] + data["oos_val"]
    return Split(
        [t for t, _ in train], [label for _, label in train], [t for t, _ in dev], [label for _, label in dev]
    )
