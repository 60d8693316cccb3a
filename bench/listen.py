"""Listening benchmark: items/s of the one-pass Matcher against trying every query's regex in turn.

Generates Q realistic listening queries (brands, products, competitors, phrases, NEAR, hashtags,
negations, wildcards, field filters) and a pool of items built from the demo customer-care tweets,
mutated, with brand names, hashtags, emoji, accents and some CJK inserted; N items are matched by
cycling through the pool, in batches (`Matcher.match_many`).

The baseline is the naive way: each query compiled to one Python regex, tried on each item in turn
(see `compile_baseline`). Being slow, it runs on the first --baseline-items items only, and the
Matcher must find exactly the same matches there (the same queries, with the same matched terms).
Last line: {"items_per_s": x, "baseline_items_per_s": x, "ratio": x, "agree": true|false}.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import regex

from townhall.listening.matcher import ItemView, Matcher
from townhall.listening.query import (
    NOSPACE_SCRIPTS,
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    is_nospace,
    normalize,
    parse,
    regex_tokens,
    to_text,
)

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


# -- the baseline: one regex per query, tried in turn ----------------------------------------------------
#
# A regex runs on one string per item: its tokens between single spaces (normalised and tokenised by
# the reference rules, `regex_tokens(normalize(text))`: word boundaries in "McDonald's", runs of
# no-space scripts and emoji sequences cannot be written as a regex over the raw text), a newline,
# then its metadata as "\0name:value" entries. A query is a chain of lookaheads from the start of that
# string: AND is one after the other, OR an alternation, NOT a negative lookahead, and a term, phrase
# or NEAR a lookahead for its tokens with a space before and after.

_NOSPACE_TOKEN = f"(?=[{NOSPACE_SCRIPTS}])[^ \n]*"  # a token in a no-space script
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def _escape(value: str) -> str:
    # metadata values may hold anything, the "\0" between entries too
    return value.replace("\\", "\\\\").replace("\0", "\\0")


def _url_entry(url: str) -> str:
    url = _SCHEME.sub("", normalize(url).strip()).removeprefix("www.")
    host, _, path = url.partition("/")
    return f"url:{_escape(host.partition(':')[0])}/{_escape(path)}"


def _handle(value: str) -> str:
    return normalize(value).strip().lstrip("@")


def baseline_subject(item: ItemView) -> str:
    """The string every query's regex is tried on for the item."""
    lang = normalize(item.lang).strip().replace("_", "-")
    entries = [
        f"from:{_escape(_handle(item.author))}",
        f"lang:{_escape(lang)}",
        f"network:{_escape(normalize(item.network).strip())}",
        f"channel:{_escape(_handle(item.channel_id))}",
        f"channel:{_escape(_handle(item.channel_handle))}",
        f"sentiment:{_escape(normalize(item.sentiment).strip())}",
        *(f"intent:{_escape(normalize(i).strip())}" for i in item.intents),
        *map(_url_entry, item.urls),
    ]
    tokens = regex_tokens(normalize(item.text))
    return " " + " ".join(tokens) + " \n\0" + "\0".join(entries) + "\0"


def _token(word: str, wildcard: bool = False) -> str:
    if wildcard:
        return re.escape(word) + "[^ \n]*"
    if is_nospace(word):
        # a term in a no-space script matches inside a run of one
        return _NOSPACE_TOKEN + re.escape(word) + "[^ \n]*"
    return re.escape(word)


def _span(node: Term | Prefix | Phrase) -> str:
    if isinstance(node, Phrase):
        return " ".join(map(_token, node.words))
    return _token(node.text, isinstance(node, Prefix))


def _field(node: Field) -> str:
    value = re.escape(_escape(node.value))
    if node.name == "lang" and "-" not in node.value:
        return f"(?=.*?\\0lang:{value}(?:-[^\\0]*)?\\0)"  # en is en-GB too
    if node.name == "url":
        host, _, path = _url_entry(node.value).removeprefix("url:").partition("/")
        # that host or a subdomain, under that path
        return f"(?=.*?\\0url:(?:[^\\0/]*\\.)?{re.escape(host)}/{re.escape(path)}[^\\0]*\\0)"
    return f"(?=.*?\\0{node.name}:{value}\\0)"


def baseline_pattern(node: Node) -> str:
    """A query as a regex that matches at the start of `baseline_subject` exactly when it holds."""
    if isinstance(node, Term | Prefix | Phrase):
        return f"(?=[^\\n]*? {_span(node)} )"
    if isinstance(node, Near):
        left, right, gap = _span(node.left), _span(node.right), f"(?: [^ \\n]+){{0,{node.distance}}}"
        return f"(?=[^\\n]*? (?:{left}{gap} {right}|{right}{gap} {left}) )"
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Not):
        return f"(?!{baseline_pattern(node.child)})"
    if isinstance(node, And):
        return "".join(map(baseline_pattern, node.children))
    return "(?:" + "|".join(map(baseline_pattern, node.children)) + ")"


def _compile(pattern: str) -> re.Pattern[str] | regex.Pattern[str]:
    # the `regex` module only where a no-space script class needs it: `re` is quicker
    if NOSPACE_SCRIPTS in pattern:
        return regex.compile(pattern, regex.DOTALL | regex.V0)
    return re.compile(pattern, re.DOTALL)


@dataclass(frozen=True)
class BaselineQuery:
    """One query for the baseline: its regex, and one regex per term for its matched terms."""

    key: object
    pattern: re.Pattern[str] | regex.Pattern[str]
    terms: tuple[tuple[re.Pattern[str] | regex.Pattern[str], str], ...]


def _leaves(node: Node) -> list[Node]:
    """The terms, phrases and NEAR pairs outside NOT, whose matched terms are reported."""
    if isinstance(node, And | Or):
        return [leaf for child in node.children for leaf in _leaves(child)]
    return [node] if isinstance(node, Term | Prefix | Phrase | Near) else []


def compile_baseline(queries: dict[int, Node]) -> list[BaselineQuery]:
    """Each query compiled to its own regex, with nothing shared between queries."""
    out = []
    for key, node in queries.items():
        terms = dict.fromkeys((to_text(n), baseline_pattern(n)) for n in _leaves(node))
        compiled_terms = tuple((_compile(pattern), text) for text, pattern in terms)
        out.append(BaselineQuery(key, _compile(baseline_pattern(node)), compiled_terms))
    return out


def baseline_match(queries: list[BaselineQuery], item: ItemView) -> dict[object, list[str]]:
    """The naive matcher: every query's regex tried on the item in turn."""
    subject = baseline_subject(item)
    return {
        q.key: [text for pattern, text in q.terms if pattern.match(subject)]
        for q in queries
        if q.pattern.match(subject)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--baseline-items", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000, help="items per Matcher.match_many call")
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
    for start in range(0, args.items, args.batch):
        batch = [pool[i % len(pool)] for i in range(start, min(start + args.batch, args.items))]
        found = matcher.match_many(batch)
        matches += sum(map(len, found))
        if len(first) < baseline_n:
            first.extend(found[: baseline_n - len(first)])
    elapsed = time.perf_counter() - started
    items_per_s = args.items / elapsed

    compiled = compile_baseline(queries)
    started = time.perf_counter()
    baseline = [baseline_match(compiled, item) for item in pool[:baseline_n]]
    baseline_per_s = baseline_n / (time.perf_counter() - started)
    agree = baseline == first
    if not agree:
        wrong = next(i for i, (a, b) in enumerate(zip(first, baseline, strict=True)) if a != b)
        print(f"item {wrong}: matcher {first[wrong]} baseline {baseline[wrong]}", file=sys.stderr)

    print(
        f"{args.queries} queries, {args.items} items (pool {len(pool)}), {matches} matches "
        f"({matches / args.items:.2f} per item), {len(matcher.always_candidates)} always-candidate queries",
        file=sys.stderr,
    )
    print(f"matcher:  {items_per_s:,.0f} items/s (batches of {args.batch})", file=sys.stderr)
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
