"""Match items against many listening queries at once: one tokenisation, one index lookup per token."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import regex

from townhall.listening.query import (
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    Word,
    is_nospace,
    normalize,
    to_text,
    tokenize,
)

K = TypeVar("K", bound=Hashable)
Predicate = Callable[["Analysis"], bool]
_SCHEME_RE = regex.compile(r"^[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class ItemView:
    """What a listening query can see of an item: its text and the metadata the field filters read."""

    text: str
    author: str = ""
    lang: str = ""
    network: str = ""
    channel_id: str = ""
    channel_handle: str = ""
    urls: tuple[str, ...] = ()
    sentiment: str = ""
    intents: tuple[str, ...] = ()


def _handle(value: str) -> str:
    return normalize(value).strip().lstrip("@")


def _url_parts(url: str) -> tuple[str, str]:
    url = _SCHEME_RE.sub("", normalize(url).strip())
    url = url.removeprefix("www.")
    host, _, path = url.partition("/")
    return host.partition(":")[0], path


def url_matches(value: str, urls: Iterable[str]) -> bool:
    """`url:example.com/shop` holds for a URL on that host or a subdomain, under that path."""
    return _url_parts_match(_url_parts(value), urls)


def _url_parts_match(parts: tuple[str, str], urls: Iterable[str]) -> bool:
    host, path = parts
    for url in urls:
        h, p = _url_parts(url)
        if (h == host or h.endswith("." + host)) and p.startswith(path):
            return True
    return False


class Analysis:
    """An item tokenised once, with the lookups both the matcher and the reference evaluator read."""

    __slots__ = ("_field_keys", "item", "nospace", "tokens", "tset")

    def __init__(self, item: ItemView) -> None:
        self.item = item
        self.tokens = tokenize(item.text)
        self.tset = set(self.tokens)
        self.nospace = [] if item.text.isascii() else [t for t in self.tset if is_nospace(t)]
        self._field_keys: set[str] | None = None

    def field_keys(self) -> set[str]:
        """The item's metadata as "\\0name:value" keys, the form field filters are indexed under."""
        if self._field_keys is None:
            item = self.item
            lang = normalize(item.lang).strip().replace("_", "-")
            keys = {
                "\0from:" + _handle(item.author),
                "\0lang:" + lang,
                "\0lang:" + lang.partition("-")[0],
                "\0network:" + normalize(item.network).strip(),
                "\0channel:" + _handle(item.channel_id),
                "\0channel:" + _handle(item.channel_handle),
                "\0sentiment:" + normalize(item.sentiment).strip(),
            }
            keys.update("\0intent:" + normalize(i).strip() for i in item.intents)
            self._field_keys = keys
        return self._field_keys


def analyse(item: ItemView) -> Analysis:
    """Tokenise an item once for any number of evaluations."""
    return Analysis(item)


# -- the reference evaluator: the matching rules written as plainly as possible ------------------------


def _token_matches(word: str, token: str) -> bool:
    return word == token or (not word.isascii() and is_nospace(word) and is_nospace(token) and word in token)


def _spans(node: Word, tokens: list[str]) -> list[tuple[int, int]]:
    if isinstance(node, Prefix):
        return [(i, i + 1) for i, t in enumerate(tokens) if t.startswith(node.text)]
    words = (node.text,) if isinstance(node, Term) else node.words
    first, k = words[0], len(words)
    return [
        (i, i + k)
        for i in range(len(tokens) - k + 1)
        if _token_matches(first, tokens[i])
        and all(_token_matches(w, tokens[i + j]) for j, w in enumerate(words))
    ]


def _near(node: Near, tokens: list[str]) -> bool:
    rights = _spans(node.right, tokens)
    for s1, e1 in _spans(node.left, tokens):
        for s2, e2 in rights:
            if (e1 <= s2 and s2 - e1 <= node.distance) or (e2 <= s1 and s1 - e2 <= node.distance):
                return True
    return False


def _field(node: Field, item: ItemView) -> bool:
    name, value = node.name, node.value
    if name == "from":
        return _handle(item.author) == value
    if name == "lang":
        lang = normalize(item.lang).strip().replace("_", "-")
        return lang == value or lang.partition("-")[0] == value
    if name == "network":
        return normalize(item.network).strip() == value
    if name == "channel":
        return value in (_handle(item.channel_id), _handle(item.channel_handle))
    if name == "sentiment":
        return normalize(item.sentiment).strip() == value
    if name == "intent":
        return any(normalize(i).strip() == value for i in item.intents)
    return url_matches(value, item.urls)


def evaluate(node: Node, analysis: Analysis) -> bool:
    """Whether one query matches an analysed item, by walking the tree (the reference the matcher obeys)."""
    if isinstance(node, Term | Prefix | Phrase):
        return bool(_spans(node, analysis.tokens))
    if isinstance(node, Near):
        return _near(node, analysis.tokens)
    if isinstance(node, Field):
        return _field(node, analysis.item)
    if isinstance(node, Not):
        return not evaluate(node.child, analysis)
    if isinstance(node, And):
        return all(evaluate(c, analysis) for c in node.children)
    return any(evaluate(c, analysis) for c in node.children)


def matched_terms(node: Node, analysis: Analysis) -> list[str]:
    """The query's terms, phrases and NEAR pairs (outside any NOT) that occur in the item, in query order."""
    found: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, And | Or):
            for c in n.children:
                walk(c)
        elif isinstance(n, Term | Prefix | Phrase | Near) and evaluate(n, analysis):
            text = to_text(n)
            if text not in found:
                found.append(text)

    walk(node)
    return found


# -- the compiled matcher --------------------------------------------------------------------------------

_Trigger = tuple[str, str]  # ("token" | "prefix" | "nospace" | "field", key)


def _cost(trigger: _Trigger) -> float:
    kind, key = trigger
    base = {"token": 1.0, "nospace": 2.0, "prefix": 3.0, "field": 30.0}[kind]
    return base + 4.0 / max(len(key), 1)


def _field_key(node: Field) -> str:
    return f"\0{node.name}:{node.value}"


def _triggers(node: Node) -> list[_Trigger] | None:
    """Literals of which at least one is in every item the query matches; None when there is no such set."""
    if isinstance(node, Term):
        return [("nospace" if is_nospace(node.text) else "token", node.text)]
    if isinstance(node, Prefix):
        return [("prefix", node.text)]
    if isinstance(node, Phrase):
        word = max(node.words, key=len)
        return [("nospace" if is_nospace(word) else "token", word)]
    if isinstance(node, Near):
        options = [t for t in (_triggers(node.left), _triggers(node.right)) if t is not None]
        return min(options, key=lambda ts: sum(map(_cost, ts)))
    if isinstance(node, Field):
        return None if node.name == "url" else [("field", _field_key(node))]
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        options = [t for t in map(_triggers, node.children) if t is not None]
        return min(options, key=lambda ts: sum(map(_cost, ts))) if options else None
    union: list[_Trigger] = []
    for child in node.children:
        child_triggers = _triggers(child)
        if child_triggers is None:
            return None
        union.extend(child_triggers)
    return union


def _compile(node: Node) -> Predicate:
    if isinstance(node, Term):
        text = node.text
        if is_nospace(text):
            return lambda a: any(text in t for t in a.nospace)
        return lambda a: text in a.tset
    if isinstance(node, Prefix):
        prefix = node.text
        return lambda a: any(t.startswith(prefix) for t in a.tset)
    if isinstance(node, Phrase | Near):
        words = _plain_words(node)
        if isinstance(node, Phrase):
            phrase = node
            return lambda a: words <= a.tset and bool(_spans(phrase, a.tokens))
        near = node
        return lambda a: words <= a.tset and _near(near, a.tokens)
    if isinstance(node, Field):
        if node.name == "url":
            parts = _url_parts(node.value)
            return lambda a: bool(a.item.urls) and _url_parts_match(parts, a.item.urls)
        key = _field_key(node)
        return lambda a: key in a.field_keys()
    if isinstance(node, Not):
        child = _compile(node.child)
        return lambda a: not child(a)
    children = tuple(_compile(c) for c in node.children)
    if isinstance(node, And):
        return lambda a: all(c(a) for c in children)
    return lambda a: any(c(a) for c in children)


def _plain_words(node: Word | Near) -> frozenset[str]:
    """Tokens that must be present as they are (no wildcard, no substring) for the node to hold."""
    if isinstance(node, Near):
        return _plain_words(node.left) | _plain_words(node.right)
    words = node.words if isinstance(node, Phrase) else (node.text,) if isinstance(node, Term) else ()
    return frozenset(w for w in words if not is_nospace(w))


class Matcher(Generic[K]):
    """Many listening queries compiled together; `match` costs about the same for 10 or 10,000 queries."""

    def __init__(self, queries: Mapping[K, Node]) -> None:
        self._ids: list[K] = list(queries)
        self._nodes: list[Node] = [queries[k] for k in self._ids]
        self._predicates: list[Predicate] = [_compile(n) for n in self._nodes]
        self._always: list[int] = []
        indexes: dict[str, dict[str, list[int]]] = {k: {} for k in ("token", "prefix", "nospace", "field")}
        for i, node in enumerate(self._nodes):
            triggers = _triggers(node)
            if triggers is None:
                self._always.append(i)
                continue
            for kind, key in triggers:
                queries_for_key = indexes[kind].setdefault(key, [])
                if not queries_for_key or queries_for_key[-1] != i:
                    queries_for_key.append(i)
        self._tokens = indexes["token"]
        self._prefix = indexes["prefix"]
        self._nospace = indexes["nospace"]
        self._fields = indexes["field"]
        # Wildcard prefixes are bucketed by their first few characters: one slice per token finds the
        # buckets to check, whatever the number of distinct prefix lengths.
        self._head = min((len(p) for p in self._prefix), default=0)
        self._prefix_heads: dict[str, list[str]] = {}
        for prefix in self._prefix:
            self._prefix_heads.setdefault(prefix[: self._head], []).append(prefix)
        self._nospace_lengths = tuple(sorted({len(k) for k in self._nospace}))

    @property
    def always_candidates(self) -> list[K]:
        """Queries that can match without any indexed literal (pure NOT, url:), evaluated on every item."""
        return [self._ids[i] for i in self._always]

    def match(self, item: ItemView) -> dict[K, list[str]]:
        """The queries the item matches, each with the terms of it that were found."""
        analysis = Analysis(item)
        candidates: set[int] = set()
        index = self._tokens
        for token in index.keys() & analysis.tset:
            candidates.update(index[token])
        if self._head:
            head, tset = self._head, analysis.tset
            for key in self._prefix_heads.keys() & {t[:head] for t in tset}:
                for prefix in self._prefix_heads[key]:
                    if any(t.startswith(prefix) for t in tset):
                        candidates.update(self._prefix[prefix])
        if self._nospace and analysis.nospace:
            for run in analysis.nospace:
                for n in self._nospace_lengths:
                    for start in range(len(run) - n + 1):
                        candidates.update(self._nospace.get(run[start : start + n], ()))
        if self._fields:
            for key in self._fields.keys() & analysis.field_keys():
                candidates.update(self._fields[key])
        candidates.update(self._always)
        out: dict[K, list[str]] = {}
        predicates, nodes, ids = self._predicates, self._nodes, self._ids
        for i in sorted(candidates):
            if predicates[i](analysis):
                out[ids[i]] = matched_terms(nodes[i], analysis)
        return out
