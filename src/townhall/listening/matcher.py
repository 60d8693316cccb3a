"""Match items against many listening queries at once: one tokenisation, one automaton pass per item."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import ahocorasick

from townhall.listening.query import (
    TEXT_BREAK,
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
    token_text,
)
from townhall.listening.reference import (  # noqa: F401  (re-exported: the matcher's public names)
    Analysis,
    ItemView,
    _field_keys,
    _handle,
    _near,
    _spans,
    _url_parts,
    analyse,
    evaluate,
    matched_terms,
    url_matches,
)

K = TypeVar("K", bound=Hashable)


# -- the compiled matcher --------------------------------------------------------------------------------
#
# The items of a batch are tokenised together into one string (`token_text`), in which every literal of
# every query is a key of one Aho-Corasick automaton: " apple " is the token apple, " appl" a token
# starting with appl, a no-space term the substring itself. One pass finds the literals in each item.
# Each query is indexed under literals (its triggers) of which one is in every item it matches, so the
# items holding them are its only candidates, and it is checked on those by a function compiled from it.

# A trigger is ("word" | "prefix" | "nospace", automaton key), ("pair", two keys joined by "\n": both
# must be found), ("field", field key) or ("url", ""): the item has a URL.
_Trigger = tuple[str, str]
_COST = {"pair": 0.3, "word": 1.0, "nospace": 2.0, "prefix": 3.0, "url": 20.0, "field": 30.0}


def _cost(triggers: list[_Trigger]) -> float:
    return sum(_COST[kind] + 4.0 / max(len(key), 1) for kind, key in triggers)


def _field_key(node: Field) -> str:
    return f"\0{node.name}:{node.value}"


def _is_plain(node: Phrase) -> bool:
    return not any(map(is_nospace, node.words))


def _literal(node: Term | Prefix) -> _Trigger:
    """The automaton key of a term or a prefix."""
    if isinstance(node, Prefix):
        return ("prefix", " " + node.text)
    return ("nospace", node.text) if is_nospace(node.text) else ("word", " " + node.text + " ")


def _pair(first: _Trigger, second: _Trigger) -> _Trigger:
    return ("pair", f"{first[1]}\n{second[1]}")


def _triggers(node: Node) -> list[_Trigger] | None:
    """Literals of which at least one is in every item the query matches; None when there is no such set."""
    if isinstance(node, Term | Prefix):
        return [_literal(node)]
    if isinstance(node, Phrase):
        # its two longest words: the longest alone is often a common word ("account", "delivery")
        words = sorted({w for w in node.words if not is_nospace(w)}, key=len, reverse=True)
        if len(words) >= 2:
            return [_pair(_literal(Term(words[0])), _literal(Term(words[1])))]
        return [_literal(Term(max(node.words, key=len)))]
    if isinstance(node, Near):
        options = [t for t in (_triggers(node.left), _triggers(node.right)) if t is not None]
        return min(options, key=_cost)
    if isinstance(node, Field):
        # any url: filter needs the item to have a URL, which most items have not
        return [("url", "")] if node.name == "url" else [("field", _field_key(node))]
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        options = [t for t in map(_triggers, node.children) if t is not None]
        single = sorted(
            (t[0] for t in options if len(t) == 1 and t[0][0] in ("word", "prefix", "nospace")),
            key=lambda t: _cost([t]),
        )
        if len(single) >= 2:
            options.append([_pair(single[0], single[1])])
        return min(options, key=_cost) if options else None
    union: list[_Trigger] = []
    for child in node.children:
        child_triggers = _triggers(child)
        if child_triggers is None:
            return None
        union.extend(t for t in child_triggers if t not in union)
    return union


class _Memo(dict[Any, Any]):
    """A function of metadata values, remembered: items share a few languages, networks and handles."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        super().__init__()
        self.function = function

    def __missing__(self, value: Any) -> Any:
        if len(self) >= 50_000:
            self.clear()
        result = self[value] = self.function(value)
        return result


class _Batch:
    """The items of one `match_many` as the compiled queries read them, and their matches so far."""

    __slots__ = ("_nospace", "_tokens", "ends", "found_in", "items", "out", "spaced", "starts")

    def __init__(self, items: Sequence[ItemView], spaced: str, breaks: list[int]) -> None:
        self.items = items
        self.spaced = spaced  # the tokens of all the items, " \x02 " between two items
        self.starts = breaks[:-1]  # item n's tokens are spaced[starts[n] : ends[n]], a space each end
        self.ends = [end - 1 for end in breaks[1:-1]] + [breaks[-1]]
        self.found_in: list[set[int]] = []  # the literals found in each item
        self.out: list[dict[Any, list[str]]] = [{} for _ in items]
        self._tokens: dict[int, list[str]] = {}
        self._nospace: dict[int, str] = {}

    def tokens(self, n: int) -> list[str]:
        """Item n's tokens, for the checks that walk them (NEAR, phrases with no-space words)."""
        tokens = self._tokens.get(n)
        if tokens is None:
            tokens = self._tokens[n] = self.spaced[self.starts[n] : self.ends[n]].split()
        return tokens

    def nospace(self, n: int) -> str:
        """Item n's runs of no-space scripts, a newline after each."""
        runs = self._nospace.get(n)
        if runs is None:
            runs = self._nospace[n] = "".join(t + "\n" for t in self.tokens(n) if is_nospace(t))
        return runs


def _lang_and_base(value: str) -> frozenset[str]:
    lang = normalize(value).strip().replace("_", "-")
    return frozenset((lang, lang.partition("-")[0]))


_URLS = _Memo(lambda urls: tuple(map(_url_parts, urls)))  # an item's URLs as (host, path)
_META = _Memo(lambda value: normalize(value).strip())
_HANDLES = _Memo(_handle)
_LANGS = _Memo(_lang_and_base)


def _has_url(urls: tuple[str, ...], host: str, path: str) -> bool:
    """Whether one of the URLs is on that host or a subdomain, under that path."""
    for h, p in _URLS[urls]:  # noqa: SIM110 - a generator costs a call, on every url: filter
        if (h == host or h.endswith("." + host)) and p.startswith(path):
            return True
    return False


def _weight(node: Node) -> float:
    """About how dear a node is to check, so that And and Or try the cheap children first."""
    if isinstance(node, Term | Prefix | Phrase):
        return 1.0 if _is_literal(node) else 3.0
    if isinstance(node, Near):
        return 4.0
    if isinstance(node, Field):
        return 1.5 if node.name == "url" else 2.0
    if isinstance(node, Not):
        return _weight(node.child)
    return sum(map(_weight, node.children))


def _words(node: Term | Phrase) -> tuple[str, ...]:
    return node.words if isinstance(node, Phrase) else (node.text,)


def _is_literal(node: Node) -> bool:
    """Whether the node holds exactly when its automaton literal is found."""
    if isinstance(node, Term):
        return not is_nospace(node.text)
    return isinstance(node, Prefix)


_Check = Callable[[Iterable[int], Any, _Batch], None]  # (candidate item numbers, query id, batch)


class _Compiler:
    """Compiles each query to a Python function that checks it on all its candidate items of a batch.

    A query becomes one generated function, so that checking it on an item costs a few set lookups
    (`7 in f` for "literal 7 is in the item") and no call, however the query nests. The generated
    source holds only literal values written with repr() and names of this module's helpers.
    """

    def __init__(self) -> None:
        self.literals: dict[str, int] = {}
        self.names: dict[str, Any] = {
            "_META": _META,
            "_HANDLES": _HANDLES,
            "_LANGS": _LANGS,
            "_has_url": _has_url,
            "_spans": _spans,
            "_near": _near,
        }
        # whether the query's code reads the item `i`, its span of the batch's string
        self.reads_item = self.reads_span = False

    def literal(self, node: Term | Prefix) -> int:
        return self.literals.setdefault(_literal(node)[1], len(self.literals))

    def constant(self, value: object) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def condition(self, node: Node) -> str:
        """The node as a Python expression over `f`, `i` and `b`.

        `f` is the set of the literals found in item `n`, `i` that item, `b` the _Batch.
        """
        if isinstance(node, Phrase):
            needed = self.constant(self._needed(node))
            if _is_plain(node):
                # the tokens of an item are between one or more spaces in the batch's string
                phrase = re.compile(" " + " +".join(map(re.escape, node.words)) + " ")
                return f"{needed} <= f and {self._span_search(phrase)}"
            return f"{needed} <= f and bool(_spans({self.constant(node)}, b.tokens(n)))"
        if isinstance(node, Term | Prefix):
            literal = self.literal(node)
            if not _is_literal(node):
                # the automaton finds a no-space term anywhere, in a #hashtag too: it must be in a run
                return f"{literal} in f and {node.text!r} in b.nospace(n)"
            return f"{literal} in f"
        if isinstance(node, Near):
            needed = self.constant(self._needed(node.left) | self._needed(node.right))
            return f"{needed} <= f and _near({self.constant(node)}, b.tokens(n))"
        if isinstance(node, Field):
            return self._field(node)
        if isinstance(node, Not):
            return f"not ({self.condition(node.child)})"
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(f"({self.condition(c)})" for c in sorted(node.children, key=_weight))

    def _field(self, node: Field) -> str:
        name, value = node.name, node.value
        self.reads_item = True
        if name == "from":
            return f"_HANDLES[i.author] == {value!r}"
        if name == "lang":
            return f"{value!r} in _LANGS[i.lang]"
        if name == "channel":
            return f"{value!r} in (_HANDLES[i.channel_id], _HANDLES[i.channel_handle])"
        if name == "intent":
            return f"{value!r} in map(_META.__getitem__, i.intents)"
        if name == "url":
            host, path = _url_parts(value)
            return f"bool(i.urls) and _has_url(i.urls, {host!r}, {path!r})"
        return f"_META[i.{name}] == {value!r}"  # network, sentiment

    def _span_search(self, pattern: re.Pattern[str]) -> str:
        self.reads_span = True
        return f"{self.constant(pattern.search)}(spaced, starts[n], ends[n]) is not None"

    def _needed(self, node: Word) -> frozenset[int]:
        """Literals that must be found for the node to hold."""
        if isinstance(node, Prefix):
            return frozenset((self.literal(node),))
        return frozenset(self.literal(Term(w)) for w in _words(node) if not is_nospace(w))

    def source(self, node: Node, name: str) -> str:
        """The source of the query's check, `name(ns, key, b)`.

        For each item n of `ns` that the query matches, it sets `b.out[n][key]` to the query's matched
        terms (see `matched_terms`).
        """
        leaves: list[Node] = []
        texts: list[str] = []

        def walk(n: Node) -> None:
            if isinstance(n, And | Or):
                for c in n.children:
                    walk(c)
            elif isinstance(n, Term | Prefix | Phrase | Near) and to_text(n) not in texts:
                leaves.append(n)
                texts.append(to_text(n))

        walk(node)
        self.reads_item = self.reads_span = False
        if isinstance(node, Term | Prefix | Phrase | Near):
            body = [f"if {self.condition(node)}:", f"    out[n][key] = [{texts[0]!r}]"]
        else:
            appends = []
            for leaf, text in zip(leaves, texts, strict=True):
                appends += [f"if {self.condition(leaf)}:", f"    terms.append({text!r})"]
            if isinstance(node, Or) and all(
                isinstance(c, Term | Prefix | Phrase | Near) for c in node.children
            ):
                # such a query matches exactly when one of its terms is found
                body = ["terms = []", *appends, "if terms:", "    out[n][key] = terms"]
            else:
                condition = self.condition(node)
                body = [
                    f"if not ({condition}):",
                    "    continue",
                    "terms = []",
                    *appends,
                    "out[n][key] = terms",
                ]
        # plain statements only: a comprehension is a function call of its own
        lines = [f"def {name}(ns, key, b):", "    found_in, out = b.found_in, b.out"]
        if self.reads_item:
            lines.append("    items = b.items")
        if self.reads_span:
            lines.append("    spaced, starts, ends = b.spaced, b.starts, b.ends")
        lines += ["    for n in ns:", "        f = found_in[n]"]
        if self.reads_item:
            lines.append("        i = items[n]")
        return "\n".join(lines + ["        " + line for line in body])

    def compile(self, nodes: list[Node]) -> list[_Check]:
        """Each query's function: it adds the query's matches among the candidate items to `out`."""
        names = [f"_q{i}" for i in range(len(nodes))]
        sources = [self.source(node, name) for node, name in zip(nodes, names, strict=True)]
        exec(compile("\n\n".join(sources), "<listening queries>", "exec"), self.names)
        return [self.names[name] for name in names]


_BREAK = -1  # the automaton's value for TEXT_BREAK, between two items


class Matcher(Generic[K]):
    """Many listening queries compiled together, matched against batches of items in one pass.

    An item costs about the same whatever the number of queries, but for the queries it is a candidate
    for: those with one of their triggering literals in it.
    """

    def __init__(self, queries: Mapping[K, Node]) -> None:
        self._ids: list[K] = list(queries)
        compiler = _Compiler()
        self._checks = compiler.compile([queries[k] for k in self._ids])
        self._always: list[int] = []
        self._url: list[int] = []
        self._fields: dict[str, list[int]] = {}
        triggered: dict[str, set[int]] = {}
        pairs: dict[tuple[str, str], set[int]] = {}
        self._several_triggers: list[bool] = []
        for i, key in enumerate(self._ids):
            triggers = _triggers(queries[key])
            self._several_triggers.append(triggers is None or len(triggers) > 1)
            if triggers is None:
                self._always.append(i)
            for kind, literal in triggers or ():
                if kind == "url":
                    self._url.append(i)
                elif kind == "field":
                    self._fields.setdefault(literal, []).append(i)
                elif kind == "pair":
                    first, second = literal.split("\n")
                    pairs.setdefault((first, second), set()).add(i)
                else:
                    triggered.setdefault(literal, set()).add(i)
        literals = compiler.literals
        for literal in [*triggered, *(k for pair in pairs for k in pair)]:
            literals.setdefault(literal, len(literals))
        self._triggered = [frozenset(triggered.get(literal, ())) for literal in literals]
        # queries to check where both literals of a pair are found: first -> second -> queries
        self._pairs: dict[int, dict[int, frozenset[int]]] = {}
        for (first, second), ids in pairs.items():
            self._pairs.setdefault(literals[first], {})[literals[second]] = frozenset(ids)
        self._automaton = ahocorasick.Automaton()
        for literal, literal_id in literals.items():
            self._automaton.add_word(literal, literal_id)
        self._automaton.add_word(f" {TEXT_BREAK} ", _BREAK)
        self._automaton.make_automaton()

    @property
    def always_candidates(self) -> list[K]:
        """Queries that can match without any indexed literal or URL (pure NOT), checked on every item."""
        return [self._ids[i] for i in self._always]

    def match(self, item: ItemView) -> dict[K, list[str]]:
        """The queries the item matches, each with the terms of it that were found."""
        return self.match_many((item,))[0]

    def match_many(self, items: Sequence[ItemView]) -> list[dict[K, list[str]]]:
        """`match` for each item, in order; much cheaper per item than `match` on batches of hundreds."""
        # All the items' tokens go through the automaton in one string, TEXT_BREAK between items.
        spaced = " " + token_text([item.text for item in items]) + " "
        found_in: list[set[int]] = []  # the literals found in each item
        holders: dict[int, list[int]] = {}  # the items each literal is found in
        breaks = [0]
        found: set[int] = set()
        n = 0
        for end, literal in self._automaton.iter(spaced):
            if literal == _BREAK:
                found_in.append(found)
                found = set()
                breaks.append(end)
                n += 1
            elif literal not in found:
                found.add(literal)
                if literal in holders:
                    holders[literal].append(n)
                else:
                    holders[literal] = [n]
        found_in.append(found)
        breaks.append(len(spaced))
        batch = _Batch(items, spaced, breaks)
        batch.found_in = found_in
        # The candidate items of each query, from the items of its literals, then each query is
        # checked on all its candidates in turn (not each item on all its candidate queries): its
        # compiled function stays in the CPU caches while in use, and there is one call per query.
        candidates_of: dict[int, list[int]] = {}
        triggered, pairs = self._triggered, self._pairs
        for literal, numbers in holders.items():
            for i in triggered[literal]:
                candidates_of.setdefault(i, []).extend(numbers)
            if literal in pairs:
                partners = pairs[literal]
                for second in partners.keys() & holders.keys():
                    both = sorted(set(numbers).intersection(holders[second]))
                    for i in partners[second]:
                        candidates_of.setdefault(i, []).extend(both)
        with_url = [n for n, item in enumerate(items) if item.urls] if self._url else []
        for i in self._url if with_url else ():
            candidates_of.setdefault(i, []).extend(with_url)
        for i in self._always if items else ():
            candidates_of.setdefault(i, []).extend(range(len(items)))
        if self._fields:
            for n, item in enumerate(items):
                for key in self._fields.keys() & _field_keys(item):
                    for i in self._fields[key]:
                        candidates_of.setdefault(i, []).append(n)
        checks, ids, several = self._checks, self._ids, self._several_triggers
        for i in sorted(candidates_of):
            numbers = candidates_of[i]
            # an item with two of a query's literals is its candidate twice
            checks[i](dict.fromkeys(numbers) if several[i] else numbers, ids[i], batch)
        return batch.out
