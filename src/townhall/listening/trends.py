"""Emerging terms: words, hashtags and word pairs whose use rises against a baseline; newsjacking ideas."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

import regex

from townhall.listening.query import (
    And,
    Near,
    Node,
    Or,
    Phrase,
    QueryError,
    Term,
    is_nospace,
    parse,
    tokenize,
)

ItemId = int | str
K = TypeVar("K", int, str)

# Significance of a rise: G² above 10.83 has p < 0.001 for one degree of freedom.
G2_P001 = 10.83
# A unigram is the same story as a pair of words holding at least this share of its support.
SUBSUMED_SHARE = 0.8

_URL_RE = regex.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")

# Function words of English, Spanish, French, German, Portuguese and Italian, and the noise words of
# social posts; normalised like tokens (accents dropped, apostrophes removed) when the module loads.
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
during each even ever every few for from further get gets got had hadn't has hasn't have haven't having
he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into
is isn't it it's its itself just let's like me more most much must mustn't my myself no nor not now of
off on once one only or other ought our ours ourselves out over own really same shan't she she'd she'll
she's should shouldn't so some still such than that that's the their theirs them themselves then there
there's these they they'd they'll they're they've this those though through to too under until up us
very via was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which
while who who's whom why why's will with won't would wouldn't yet you you'd you'll you're you've your
yours yourself yourselves im ive dont cant wont didnt doesnt isnt thats youre
rt amp http https www com lol omg pls ok yes yeah
al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella
ellas ellos en entre era eran es esa esas ese eso esos esta estaba estado estan estar este esto estos
fue fueron ha han hay hasta la las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os
otra otro para pero poco por porque que quien se sea ser si sin sobre son su sus tambien te tiene
tienen todo todos tu tus un una uno unos usted y ya yo
au aux avec ce ces cette dans de des du elle elles en est et etait etre eu il ils je la le les leur
leurs lui ma mais me meme mes moi mon ne nos notre nous on ont ou par pas pour qu que qui sa se ses
si son sont sur ta te tes toi ton tous tout tres tu un une vos votre vous y c'est j'ai d'un d'une
l'on n'est qu'il s'il
aber alle allem allen aller alles als also am an auch auf aus bei bin bis bist da dann das dass dein
deine dem den der des dich die dir doch dort du durch ein eine einem einen einer eines er es etwas
euch euer fur gegen hab habe haben hat hatte ich ihm ihn ihr ihre im in ist ja jetzt kann kein keine
mal man mein meine mich mir mit nach nicht noch nur ob oder ohne schon sehr sein seine sich sie sind
so uber um und uns unser unter vom von vor war waren was weil wenn wer wie wir wird wo zu zum zur
ao aos as com como da das de dela dele deles do dos e ela elas ele eles em entre era essa esse esta
este eu foi foram isso isto ja lhe mais mas me meu minha muito na nao nas nem no nos num numa o os ou
para pela pelas pelo pelos por qual quando que quem se sem ser seu seus sua suas tambem te tem tu
um uma voce voces
ai al alla anche che chi ci coi col come con da dal dalla dei del della delle di e gli ha hanno il in
io la le lei loro lui ma mi mio ne nei nel nella noi non per piu quella quello questa questo se si
sono su sua suo sul sulla ti tra tu tutto un una uno vi
"""
STOPWORDS = frozenset(token for word in _STOPWORDS_TEXT.split() for token in tokenize(word))


@dataclass(frozen=True, slots=True)
class MentionRecord:
    """One post as trends and spike explanations read it; `author` is a handle or id as text."""

    item_id: ItemId
    author: str
    text: str
    created_at: datetime
    reach: int = 0
    engagement: int = 0
    sentiment: str = "unknown"


@dataclass(frozen=True)
class TermCounts:
    """How many posts (or authors) of a window use each term, out of `total`, with example posts."""

    counts: Mapping[str, int]
    total: int
    examples: Mapping[str, tuple[ItemId, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class EmergingTerm:
    """A term used significantly more in the recent window than in the baseline."""

    term: str
    recent_count: int
    baseline_count: int
    score: float  # G², the log-likelihood ratio of the rise
    ratio: float  # recent share over baseline share, both smoothed
    examples: tuple[ItemId, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """An emerging term that already comes up with a topic's mentions: a conversation the topic can join."""

    topic: int | str
    term: str
    score: float
    emergence: float
    together: int
    examples: tuple[ItemId, ...] = ()


def query_terms(text: str) -> frozenset[str]:
    """The words and phrases a listening query looks for, normalised, to leave out of its emerging terms."""
    out: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, Term):
            out.add(node.text)
        elif isinstance(node, Phrase):
            out.add(" ".join(node.words))
        elif isinstance(node, Near):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, And | Or):  # NOT terms are absent from the topic's mentions anyway
            for child in node.children:
                walk(child)

    walk(parse(text))
    return frozenset(out)


def own_terms(queries: Iterable[str]) -> frozenset[str]:
    """The terms of every query that parses (a query stored before a grammar change adds none)."""
    out: set[str] = set()
    for text in queries:
        try:
            out |= query_terms(text)
        except QueryError:
            continue
    return frozenset(out)


def _is_candidate(token: str) -> bool:
    if token in STOPWORDS:
        return False
    bare = token.strip("_")
    if not bare or bare.isdigit():
        return False
    # a single letter or digit says nothing; a single CJK character or emoji may be a whole word
    return len(token) > 1 or is_nospace(token) or not token.isalnum()


def _excluded(term: str, exclude: Collection[str]) -> bool:
    return term in exclude or (term[0] in "#@$" and term[1:] in exclude)


def terms(text: str, *, exclude: Collection[str] = frozenset()) -> list[str]:
    """The candidate terms of one post, each once: its words, hashtags, mentions, emoji and word pairs.

    A pair is two adjacent words, neither a stopword nor an excluded term; hashtags, mentions and emoji
    stand alone.
    """
    out: dict[str, None] = {}
    previous: str | None = None
    for token in tokenize(_URL_RE.sub(" ", text)):
        if not _is_candidate(token) or _excluded(token, exclude):
            previous = None
            continue
        out[token] = None
        if not token[0].isalnum():
            previous = None
            continue
        if previous is not None and previous != token:
            pair = f"{previous} {token}"
            if pair not in exclude:
                out[pair] = None
        previous = token
    return list(out)


def count_terms(
    posts: Iterable[MentionRecord],
    *,
    per: Literal["author", "post"] = "author",
    exclude: Collection[str] = frozenset(),
    examples: int = 3,
) -> TermCounts:
    """Count, for each term, the authors (or posts) using it; each post counts a term once."""
    users_of: dict[str, set[ItemId]] = defaultdict(set)
    units: set[ItemId] = set()
    best: dict[str, list[tuple[int, int, int, ItemId]]] = defaultdict(list)
    for order, post in enumerate(posts):
        # posts with no known author each count as their own author
        unit: ItemId = post.item_id if per == "post" or not post.author else f"@{post.author}"
        units.add(unit)
        rank = (post.engagement, post.reach, -order, post.item_id)
        for term in terms(post.text, exclude=exclude):
            users_of[term].add(unit)
            heap = best[term]
            if len(heap) < examples:
                heapq.heappush(heap, rank)
            elif examples and rank[:3] > heap[0][:3]:
                heapq.heapreplace(heap, rank)
    return TermCounts(
        counts={term: len(users) for term, users in users_of.items()},
        total=len(units),
        examples={term: tuple(r[3] for r in sorted(heap, reverse=True)) for term, heap in best.items()},
    )


def _xlogx(observed: float, expected: float) -> float:
    return observed * math.log(observed / expected) if observed > 0 else 0.0


def log_likelihood(recent: float, recent_total: float, baseline: float, baseline_total: float) -> float:
    """Dunning's G² for a term used `recent` times out of `recent_total` against the baseline's counts."""
    table = ((recent, recent_total - recent), (baseline, baseline_total - baseline))
    total = recent_total + baseline_total
    used = recent + baseline
    g2 = 0.0
    for row, row_total in zip(table, (recent_total, baseline_total), strict=True):
        for observed, column_total in zip(row, (used, total - used), strict=True):
            g2 += _xlogx(observed, row_total * column_total / total) if total else 0.0
    return max(0.0, 2.0 * g2)


def emerging(
    recent: TermCounts,
    baseline: TermCounts,
    *,
    min_count: int = 5,
    min_ratio: float = 1.5,
    min_score: float = G2_P001,
    smoothing: float = 0.5,
    limit: int = 20,
) -> list[EmergingTerm]:
    """The terms of the recent window that rise significantly against the baseline, strongest first."""
    if recent.total <= 0 or baseline.total <= 0:
        return []
    k = smoothing
    n1, n2 = recent.total, baseline.total
    found: dict[str, EmergingTerm] = {}
    for term, raw in recent.counts.items():
        a = min(raw, n1)
        if a < min_count:
            continue
        b = min(baseline.counts.get(term, 0), n2)
        ratio = ((a + k) / (n1 + 2 * k)) / ((b + k) / (n2 + 2 * k))
        if ratio < min_ratio:
            continue
        score = log_likelihood(a + k, n1 + 2 * k, b + k, n2 + 2 * k)
        if score >= min_score:
            examples = recent.examples.get(term, ())
            found[term] = EmergingTerm(term, a, b, round(score, 2), round(ratio, 2), examples)
    return _one_per_story(found)[:limit]


def _one_per_story(found: dict[str, EmergingTerm]) -> list[EmergingTerm]:
    """Rank the terms, one per story: no word whose pair holds most of its posts, no fragment of a pair.

    A pair overlapping a stronger pair with about the same posts is another fragment of one sentence
    shared many times.
    """

    def same_posts(small: EmergingTerm, large: EmergingTerm) -> bool:
        return small.recent_count >= SUBSUMED_SHARE * large.recent_count

    for pair in [t for t in found if " " in t]:
        for word in pair.split(" "):
            unigram = found.get(word)
            if unigram is not None and same_posts(found[pair], unigram):
                del found[word]
    ranked = sorted(found.values(), key=lambda t: (-t.score, -t.recent_count, t.term))
    kept: list[EmergingTerm] = []
    words_kept: dict[str, list[EmergingTerm]] = {}
    for term in ranked:
        words = term.term.split(" ") if " " in term.term else []
        overlapping = [k for w in words for k in words_kept.get(w, ())]
        if any(same_posts(term, k) and same_posts(k, term) for k in overlapping):
            continue
        kept.append(term)
        for word in words:
            words_kept.setdefault(word, []).append(term)
    return kept


def co_occurrence(
    emerging_terms: Sequence[EmergingTerm],
    topic_posts: Mapping[K, Iterable[MentionRecord]],
    *,
    exclude: Mapping[K, Collection[str]] | None = None,
) -> dict[K, dict[str, list[ItemId]]]:
    """Per topic, the emerging terms found in its mentions and in which posts; `exclude`: its query terms."""
    wanted = {t.term for t in emerging_terms}
    out: dict[K, dict[str, list[ItemId]]] = {}
    for topic, posts in topic_posts.items():
        own = exclude.get(topic, frozenset()) if exclude else frozenset()
        found: dict[str, list[ItemId]] = defaultdict(list)
        for post in posts:
            for term in terms(post.text, exclude=own):
                if term in wanted:
                    found[term].append(post.item_id)
        out[topic] = dict(found)
    return out


def newsjacking(
    emerging_terms: Sequence[EmergingTerm],
    together: Mapping[K, Mapping[str, Sequence[ItemId]]],
    *,
    min_together: int = 2,
    examples: int = 3,
    limit: int = 10,
) -> list[Suggestion]:
    """Emerging terms found in a topic's mentions, ranked by emergence times log2(1 + posts together)."""
    by_term = {t.term: t for t in emerging_terms}
    out: list[Suggestion] = []
    for topic, found in together.items():
        for term, items in found.items():
            emerging_term = by_term.get(term)
            if emerging_term is None or len(set(items)) < min_together:
                continue
            distinct = list(dict.fromkeys(items))
            score = emerging_term.score * math.log2(1 + len(distinct))
            out.append(
                Suggestion(
                    topic=topic,
                    term=term,
                    score=round(score, 2),
                    emergence=emerging_term.score,
                    together=len(distinct),
                    examples=tuple(distinct[:examples]),
                )
            )
    out.sort(key=lambda s: (-s.score, str(s.topic), s.term))
    return out[:limit]
