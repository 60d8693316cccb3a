"""Listening benchmark: items/s of the one-pass Matcher against evaluating every query in turn.

Generates Q realistic listening queries (brands, products, competitors, phrases, NEAR, hashtags,
negations, wildcards, field filters) and a pool of items built from the demo customer-care tweets,
mutated, with brand names, hashtags, emoji, accents and some CJK inserted; N items are matched by
cycling through the pool. The baseline (tokenise once, then walk every query's tree) is timed on the
first --baseline-items items, and both must find the same matches there.
Last line: {"items_per_s": x, "baseline_items_per_s": x, "ratio": x, "agree": true|false}.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

from townhall.listening.matcher import ItemView, Matcher, analyse, evaluate, matched_terms
from townhall.listening.query import Node, parse

DEMO_CSV = Path(__file__).resolve().parents[1] / "demo" / "twcs_sample.csv"
SEED = 20_260_101
POOL_MAX = 50_000
SYLLABLES = [
    "zen",
    "tri",
    "nova",
    "lux",
    "pay",
    "cor",
    "vel",
    "tek",
    "mo",
    "bit",
    "arc",
    "flo",
    "qui",
    "ra",
    "sol",
    "dex",
    "vo",
    "lin",
    "kor",
    "mi",
    "ster",
    "ax",
    "pho",
    "gen",
]
REAL_BRANDS = [
    "apple",
    "sprint",
    "uber",
    "spotify",
    "amazon",
    "delta",
    "xbox",
    "comcast",
    "tesco",
    "hulu",
    "verizon",
    "chipotle",
    "airbnb",
    "netflix",
    "paypal",
    "samsung",
    "google",
    "nike",
    "adobe",
]
PRODUCTS = ["pay", "pro", "max", "one", "cloud", "plus", "go", "air", "mini", "music"]
TOPICS = [
    "refund",
    "broken",
    "cancel",
    "late",
    "battery",
    "crash",
    "charge",
    "outage",
    "support",
    "delivery",
    "price",
    "login",
    "update",
    "screen",
    "account",
    "wifi",
    "order",
    "bill",
]
EMOJI = ["😡", "👍🏽", "🔥", "😂", "🙏", "❤️", "📦", "💸"]
ACCENTED = ["café", "crème", "señor", "über", "naïve", "façade"]
CJK = ["苹果手机坏了", "配送が遅い", "退款", "東京の店"]
LANGS = ["en", "en-GB", "es", "fr", "de", "ja", "pt-BR"]
NETWORKS = ["twitter", "bluesky", "mastodon", "reddit", "rss"]
SENTIMENTS = ["positive", "negative", "neutral"]
INTENTS = ["complaint", "question", "praise", "churn_risk", "purchase"]


def brands(rng: random.Random, n: int) -> list[str]:
    names = list(REAL_BRANDS)
    while len(names) < n:
        name = "".join(rng.sample(SYLLABLES, rng.choice([2, 2, 3])))
        if name not in names:
            names.append(name)
    return names


def make_queries(rng: random.Random, q: int, names: list[str]) -> dict[int, Node]:
    def b() -> str:
        return rng.choice(names)

    templates = [
        lambda: b(),
        lambda: f'{b()} OR "{b()} {rng.choice(PRODUCTS)}"',
        lambda: f"{b()} ({rng.choice(TOPICS)} OR {rng.choice(TOPICS)}*) -hiring -job*",
        lambda: f'"{b()} {rng.choice(PRODUCTS)}" NEAR/3 {rng.choice(TOPICS)}',
        lambda: f"#{b()} OR @{b()}support OR @{b()}",
        lambda: f"({b()} OR {b()} OR {b()}) lang:{rng.choice(LANGS)} -spam",
        lambda: f"{b()[:4]}* network:{rng.choice(NETWORKS)}",
        lambda: f"{b()} sentiment:negative NOT from:{b()}",
        lambda: f"${b()[:4]} OR {b()} NEAR/5 stock*",
        lambda: f"({b()} OR {b()}) intent:{rng.choice(INTENTS)}",
        lambda: f"{b()} {rng.choice(ACCENTED)} OR {b()} {rng.choice(EMOJI)}",
        lambda: f'{b()} OR "{b()} {rng.choice(PRODUCTS)} {rng.choice(TOPICS)}" OR {rng.choice(CJK)[:2]}',
    ]
    out = {i: parse(rng.choice(templates)()) for i in range(q)}
    # a few queries with no indexable literal, evaluated on every item
    for i in range(0, q, 200):
        out[i] = parse(f"url:{b()}.com OR (NOT {b()} network:{rng.choice(NETWORKS)} url:{b()}.com)")
    return out


def make_items(rng: random.Random, n: int, names: list[str]) -> list[ItemView]:
    with DEMO_CSV.open(newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    vocabulary = [w for t in texts for w in t.split()]
    pool = []
    for _ in range(min(n, POOL_MAX)):
        words = rng.choice(texts).split()
        for _ in range(rng.randint(0, 3)):
            if words:
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
        inserts = []
        if rng.random() < 0.4:
            inserts.append(rng.choice([str.lower, str.title, str.upper])(rng.choice(names)))
        if rng.random() < 0.1:
            inserts.append(f"{rng.choice(names)} {rng.choice(PRODUCTS)}")
        if rng.random() < 0.1:
            inserts.append("#" + rng.choice(names).title())
        if rng.random() < 0.2:
            inserts.append(rng.choice(EMOJI))
        if rng.random() < 0.05:
            inserts.append(rng.choice(ACCENTED))
        if rng.random() < 0.02:
            inserts.append(rng.choice(CJK))
        for word in inserts:
            words.insert(rng.randint(0, len(words)), word)
        pool.append(
            ItemView(
                " ".join(words),
                author=rng.choice(names) if rng.random() < 0.05 else f"user{rng.randrange(10**6)}",
                lang=rng.choice(LANGS),
                network=rng.choice(NETWORKS),
                channel_handle=rng.choice(names),
                urls=(f"https://www.{rng.choice(names)}.com/help",) if rng.random() < 0.1 else (),
                sentiment=rng.choice(SENTIMENTS),
                intents=tuple(rng.sample(INTENTS, rng.randint(0, 2))),
            )
        )
    return pool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--baseline-items", type=int, default=2_000)
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    names = brands(rng, 400)
    queries = make_queries(rng, args.queries, names)
    pool = make_items(rng, args.items, names)
    matcher = Matcher(queries)

    started = time.perf_counter()
    matches = 0
    first: list[dict[int, list[str]]] = []
    baseline_n = min(args.baseline_items, args.items, len(pool))
    for i in range(args.items):
        found = matcher.match(pool[i % len(pool)])
        matches += len(found)
        if i < baseline_n:
            first.append(found)
    elapsed = time.perf_counter() - started
    items_per_s = args.items / elapsed

    started = time.perf_counter()
    baseline: list[dict[int, list[str]]] = []
    for item in pool[:baseline_n]:
        analysis = analyse(item)
        baseline.append({k: matched_terms(n, analysis) for k, n in queries.items() if evaluate(n, analysis)})
    baseline_per_s = baseline_n / (time.perf_counter() - started)
    agree = baseline == first

    print(
        f"{args.queries} queries, {args.items} items (pool {len(pool)}), {matches} matches "
        f"({matches / args.items:.2f} per item), {len(matcher.always_candidates)} always-candidate queries",
        file=sys.stderr,
    )
    print(f"matcher:  {items_per_s:,.0f} items/s", file=sys.stderr)
    print(
        f"baseline: {baseline_per_s:,.0f} items/s (first {baseline_n} items), agree={agree}", file=sys.stderr
    )
    print(
        json.dumps(
            {
                "items_per_s": round(items_per_s, 1),
                "baseline_items_per_s": round(baseline_per_s, 1),
                "ratio": round(items_per_s / baseline_per_s, 1),
                "agree": agree,
            }
        )
    )
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
