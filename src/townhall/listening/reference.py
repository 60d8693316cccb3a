"""What a listening query sees of an item, and the matching rules written as plainly as possible: the
reference the compiled matcher (`townhall.listening.matcher`) obeys and is tested against."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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

_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://")


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
    """An item tokenised once, for any number of reference evaluations."""

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
            self._field_keys = _field_keys(self.item)
        return self._field_keys


def _field_keys(item: ItemView) -> set[str]:
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
    return keys


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
