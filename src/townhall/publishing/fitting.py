"""Fitting a text to a network's length: a thread cut at sentence and word boundaries, or a shortened post."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import regex

from townhall.publishing.counting import GRAPHEME
from townhall.publishing.entities import Entity
from townhall.publishing.networks import ALIASES, NETWORKS, Validation, validate

THREADED = frozenset({"x", "bluesky", "mastodon", "threads"})  # the networks where a post can have replies

# Where a cut may fall, best first. A sentence ends at ., !, ?, … (and their full-width forms) before
# whitespace or at a line break; a word ends at whitespace, or between two characters of a script written
# without spaces (Chinese, Japanese); a grapheme boundary is the last resort, inside one overlong word.
GRAPHEME_CUT, WORD_CUT, SENTENCE_CUT, END = 0, 1, 2, 3
SENTENCE_END = re.compile("[.!?\u2026\u203d\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\\]]*\\Z")
FULL_WIDTH_STOP = re.compile("[\u3002\uff01\uff1f]\\Z")
UNSPACED_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
# A cut at a sentence boundary wins over a later word boundary while it keeps at least this share of what
# the word boundary would: a thread of full sentences reads better, one of two-word posts does not.
SENTENCE_SHARE = 0.5
MAX_NUMBERING_ROUNDS = 20


class CannotAdapt(ValueError):
    """No cut makes the text valid for the network: it holds a character the network refuses, or is empty."""


class Unsplittable(CannotAdapt):
    """A URL, mention, hashtag or a single grapheme cluster is longer than a whole post on its own."""

    def __init__(self, kind: str, text: str, validation: Validation) -> None:
        self.kind = kind
        self.text = text
        self.validation = validation
        label = NETWORKS[validation.network].label
        what = "a single character" if kind == "grapheme" else f"the {kind}"
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(
            f"{what} {shown!r} cannot be cut, and is longer than a whole {label} post: "
            f"{validation.length:,} of {validation.limit:,} ({'; '.join(validation.problems)})"
        )


@dataclass(frozen=True, slots=True)
class Cut:
    """A place to end a piece: the piece ends at `end`; the next one starts at `resume`, past the whitespace
    dropped at the cut (`resume == end` where nothing is dropped)."""

    end: int
    resume: int
    level: int


@dataclass(frozen=True)
class Layout:
    """Where a text may be cut: between its first and last visible characters, never inside an entity or a
    grapheme cluster."""

    first: int
    cuts: list[Cut]  # in text order, the end of the text (level END) last
    entities: list[Entity]

    def ahead(self, start: int) -> list[Cut]:
        """The cuts that end a piece starting at `start`."""
        return self.cuts[bisect.bisect_right(self.cuts, start, key=lambda cut: cut.end) :]


def resolve(network: str, field: str | None) -> tuple[str, str]:
    """The network's own name (`twitter` is `x`) and the field meant: `body`, or a YouTube `description`."""
    name = ALIASES.get(network.lower(), network.lower())
    rules = NETWORKS.get(name)
    if rules is None:
        raise ValueError(f"unknown network {network!r}; known networks: {', '.join(sorted(NETWORKS))}")
    if field is None:
        field = "body" if "body" in rules.fields else "description"
    return name, field


def layout(text: str, entities: Sequence[Entity]) -> Layout | None:
    """Every place `text` may be cut, with its level; None when the text is only whitespace."""
    clusters = [(match.start(), match.end()) for match in GRAPHEME.finditer(text)]
    blank = [text[start:end].isspace() for start, end in clusters]
    visible = [index for index, is_blank in enumerate(blank) if not is_blank]
    if not visible:
        return None
    inside = bytearray(len(text) + 1)  # 1 where a cut would fall strictly inside an entity
    for entity in entities:
        inside[entity.start + 1 : entity.end] = b"\x01" * max(0, entity.end - entity.start - 1)
    cuts: list[Cut] = []
    index = visible[0] + 1
    while index <= visible[-1]:
        at = clusters[index][0]
        if blank[index]:
            after = index
            while blank[after]:
                after += 1
            resume = clusters[after][0]
            if not inside[at] and not inside[resume]:
                ends_sentence = "\n" in text[at:resume] or SENTENCE_END.search(text[max(0, at - 8) : at])
                cuts.append(Cut(at, resume, SENTENCE_CUT if ends_sentence else WORD_CUT))
            index = after + 1  # the cluster at `after` is visible: no cut before it but this one
            continue
        if not blank[index - 1] and not inside[at]:
            before, here = text[clusters[index - 1][0] : at], text[at : clusters[index][1]]
            if FULL_WIDTH_STOP.search(before):
                level = SENTENCE_CUT
            elif UNSPACED_SCRIPT.match(before) or UNSPACED_SCRIPT.match(here):
                level = WORD_CUT
            else:
                level = GRAPHEME_CUT
            cuts.append(Cut(at, at, level))
        index += 1
    cuts.append(Cut(clusters[visible[-1]][1], len(text), END))
    return Layout(first=clusters[visible[0]][0], cuts=cuts, entities=list(entities))


def refuse_incurable(network: str, text: str, field: str) -> None:
    """Raise CannotAdapt when the text has a problem that no cut can cure (a refused character, emptiness).

    Measured without the length limit: what is left is the problems of the text itself, except Bluesky's
    byte cap, which a cut does cure.
    """
    unbounded = validate(network, text, limit=10**12, field=field)
    over = [extra for extra in unbounded.extra_limits if extra.length > extra.limit]
    curable = sum(1 for extra in over if extra.name == "bytes")
    if len(unbounded.problems) > curable:
        label = NETWORKS[network].label
        raise CannotAdapt(f"no cut makes this a valid {label} post: {'; '.join(unbounded.problems)}")


Render = Callable[[int, Cut], str]


class _Fitter:
    """Finds, piece after piece, the furthest cut whose piece (as `render` writes it) is valid."""

    def __init__(self, network: str, field: str, limit: int | None, text: str, plan: Layout) -> None:
        self.network, self.field, self.limit, self.text, self.plan = network, field, limit, text, plan

    def check(self, piece: str) -> Validation:
        return validate(self.network, piece, limit=self.limit, field=self.field)

    def next_cut(self, start: int, render: Render, *, allow_end: bool = True) -> Cut:
        ahead = self.plan.ahead(start)
        if not allow_end:
            ahead = [cut for cut in ahead if cut.level != END]
        verdicts: dict[int, bool] = {}

        def fits(cut: Cut) -> bool:
            if cut.end not in verdicts:
                verdicts[cut.end] = self.check(render(start, cut)).valid
            return verdicts[cut.end]

        if allow_end and fits(ahead[-1]):
            return ahead[-1]
        sentence = _furthest([cut for cut in ahead if cut.level >= SENTENCE_CUT], fits)
        word = _furthest([cut for cut in ahead if cut.level >= WORD_CUT], fits)
        if sentence is not None and (
            word is None or sentence.end - start >= SENTENCE_SHARE * (word.end - start)
        ):
            return sentence
        if word is not None:
            return word
        inside_word = _furthest(ahead, fits)
        if inside_word is not None:
            return inside_word
        raise self.unsplittable(start, ahead[0] if ahead else self.plan.cuts[-1], render)

    def unsplittable(self, start: int, cut: Cut, render: Render) -> CannotAdapt:
        """Why even the smallest piece from `start` fails: an entity or a grapheme too long, or a refusal."""
        validation = self.check(render(start, cut))
        if validation.length <= validation.limit and not any(
            extra.length > extra.limit for extra in validation.extra_limits
        ):
            label = NETWORKS[self.network].label
            return CannotAdapt(f"not a valid {label} post: {'; '.join(validation.problems)}")
        for entity in self.plan.entities:
            if entity.start <= start < entity.end:
                return Unsplittable(entity.kind, entity.text, validation)
        return Unsplittable("grapheme", self.text[start : cut.end], validation)


def _furthest(cuts: list[Cut], fits: Callable[[Cut], bool]) -> Cut | None:
    """The furthest cut that fits, searched by galloping then bisecting (a longer piece rarely fits where a
    shorter one does not; the chosen one is always checked)."""
    if not cuts or not fits(cuts[0]):
        return None
    good, step = 0, 1
    bad = len(cuts)
    while good + step < len(cuts):
        if fits(cuts[good + step]):
            good += step
            step *= 2
        else:
            bad = good + step
            break
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(cuts[middle]):
            good = middle
        else:
            bad = middle
    return cuts[good]


def split_thread(text: str, network: str, *, numbering: bool = True, limit: int | None = None) -> list[str]:
    """Split `text` into the posts of a thread on `network`, each valid there, numbered " 1/3" when asked.

    Cuts fall at sentence boundaries first, then at word boundaries, and only inside a single overlong word
    at a grapheme boundary; never inside a URL, mention, hashtag or cashtag as the network finds them. The
    whitespace at a cut is dropped. A text that fits stays one post, unnumbered. Raises Unsplittable when
    an entity (or one grapheme cluster) is longer than a whole post, CannotAdapt when the text has a problem
    no cut cures, and ValueError for a network without threads (shorten the text for it instead).
    """
    name, field = resolve(network, None)
    if name not in THREADED:
        raise ValueError(f"{NETWORKS[name].label} has no threads; shorten the text for it instead")
    whole = validate(name, text, limit=limit, field=field)
    if whole.valid:
        return [text]
    refuse_incurable(name, text, field)
    plan = layout(text, whole.entities)
    if plan is None:
        raise CannotAdapt(f"the text is only whitespace, and too long for one {NETWORKS[name].label} post")
    fitter = _Fitter(name, field, limit, text, plan)
    if not numbering:
        return [text[start:end] for start, end in _pieces(fitter, lambda number: "")]
    total = 2
    for _ in range(MAX_NUMBERING_ROUNDS):
        spans = _pieces(fitter, partial(_numbering, total=total))
        count = len(spans)
        if count <= total:
            pieces = [text[start:end] for start, end in spans]
            if count > 1:
                pieces = [_numbering(number, count, piece) for number, piece in enumerate(pieces, 1)]
            if all(fitter.check(post).valid for post in pieces):
                return pieces
        total = max(count, total + 1)
    raise CannotAdapt("the thread's numbering did not settle")  # pragma: no cover - the count only grows


def _numbering(number: int, total: int, piece: str = "") -> str:
    """The piece with its place in the thread after a space: "… 1/3"."""
    return f"{piece} {number}/{total}"


def _pieces(fitter: _Fitter, suffix: Callable[[int], str]) -> list[tuple[int, int]]:
    """The (start, end) of each piece, greedily the longest that fits with its suffix."""
    text = fitter.text
    spans: list[tuple[int, int]] = []
    start = fitter.plan.first
    while True:
        after = suffix(len(spans) + 1)

        def render(begin: int, cut: Cut, after: str = after) -> str:
            return text[begin : cut.end] + after

        cut = fitter.next_cut(start, render)
        spans.append((start, cut.end))
        if cut.level == END:
            return spans
        start = cut.resume


def shorten(
    text: str, network: str, *, limit: int | None = None, ellipsis: str = "…", field: str | None = None
) -> str:
    """`text` cut to fit one post on `network`, with `ellipsis` after what is kept; unchanged if it fits.

    The cut falls at a sentence or word boundary (inside a single overlong word only if there is no other),
    never inside an entity or a grapheme cluster. The ellipsis follows with a space after a sentence's end
    or an entity, so that it never becomes part of a link. Raises Unsplittable when the first entity or
    grapheme cluster alone is too long, CannotAdapt when the text has a problem no cut cures.
    """
    name, field = resolve(network, field)
    whole = validate(name, text, limit=limit, field=field)
    if whole.valid:
        return text
    refuse_incurable(name, text, field)
    plan = layout(text, whole.entities)
    if plan is None:
        raise CannotAdapt(f"the text is only whitespace, and too long for one {NETWORKS[name].label} post")
    entity_ends = {entity.end for entity in plan.entities}

    def render(start: int, cut: Cut) -> str:
        kept = text[start : cut.end]
        spaced = cut.end in entity_ends or SENTENCE_END.search(kept[-8:])
        return kept + (" " if spaced else "") + ellipsis

    fitter = _Fitter(name, field, limit, text, plan)
    if len(plan.cuts) == 1:  # one word and nothing to cut at: say which
        raise fitter.unsplittable(plan.first, plan.cuts[0], render)
    return render(plan.first, fitter.next_cut(plan.first, render, allow_end=False))
