"""One draft, adapted for each network: mentions mapped, links tagged, hashtags placed, the text fitted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode

from townhall.publishing.entities import urls
from townhall.publishing.fitting import (
    THREADED,
    CannotAdapt,
    Unsplittable,
    resolve,
    shorten,
    split_thread,
)
from townhall.publishing.networks import INSTAGRAM_MAX_HASHTAGS, NETWORKS, Validation, validate

__all__ = [
    "THREADED",
    "CannotAdapt",
    "Unsplittable",
    "UtmParams",
    "Variant",
    "adapt",
    "add_utm",
    "map_mentions",
    "move_hashtags",
    "shorten",
    "split_thread",
]

HashtagPlace = Literal["keep", "end", "first_comment"]

# A mention as a draft writes it, before it knows the network: @name, where a name may hold dots and
# hyphens inside (@jane.doe). Not after a word, @, or a URL's punctuation (an e-mail address, medium.com/@x),
# and not followed by more of a handle (@acme.bsky.social, @acme@mastodon.social, @acme:matrix.org).
DRAFT_MENTION = re.compile(r"(?<![\w@./:+=-])@(\w(?:[\w.-]*\w)?)(?![\w@]|[.:-]\w)")
HAS_SCHEME = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class UtmParams:
    """The UTM parameters of a campaign; `source` is the network's name unless given."""

    campaign: str | None = None
    content: str | None = None
    medium: str = "social"
    source: str | None = None


@dataclass(frozen=True)
class Variant:
    """A draft adapted for one network: its posts (one, or a thread), their validations, and what changed."""

    network: str
    posts: list[str]
    validations: list[Validation]
    notes: list[str]
    first_comment: str | None = None  # the hashtags taken out of the post, to comment with (as on Instagram)


# -- UTM parameters -------------------------------------------------------------------------------------


def add_utm(
    text: str,
    *,
    source: str,
    medium: str = "social",
    campaign: str | None = None,
    content: str | None = None,
    network: str,
    field: str | None = None,
) -> str:
    """Add utm_source, utm_medium, utm_campaign and utm_content to every http(s) link the network links.

    A link keeps its query and its fragment, and a utm_* parameter it already has is left as it is. A bare
    domain ("example.com/pricing", which X and Bluesky link) is left untouched: the author wrote it to be
    read, and giving it a scheme and a query would change what readers see. Links that the network does not
    make clickable (in an Instagram caption, a YouTube title) are not tagged.
    """
    tagged, _ = _add_utm(text, _utm_pairs(source, medium, campaign, content), network, field)
    return tagged


def _utm_pairs(source: str, medium: str, campaign: str | None, content: str | None) -> list[tuple[str, str]]:
    pairs = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign, "utm_content": content}
    return [(key, value) for key, value in pairs.items() if value]


def _add_utm(text: str, pairs: list[tuple[str, str]], network: str, field: str | None) -> tuple[str, int]:
    name, field = resolve(network, field)
    links = [e for e in validate(name, text, field=field).entities if e.kind == "url"]
    changed = 0
    for link in reversed(links):  # from the end, so that earlier offsets still hold
        if not HAS_SCHEME.match(link.text):
            continue
        tagged = _with_params(link.text, pairs)
        if tagged != link.text:
            text = text[: link.start] + tagged + text[link.end :]
            changed += 1
    return text, changed


def _with_params(url: str, pairs: list[tuple[str, str]]) -> str:
    """The URL with the parameters it lacks appended to its query, written as it was otherwise."""
    before_fragment, hash_sign, fragment = url.partition("#")
    base, _, query = before_fragment.partition("?")
    present = {key.lower() for key, _ in parse_qsl(query, keep_blank_values=True)}
    missing = [(key, value) for key, value in pairs if key not in present]
    if not missing:
        return url
    if "/" not in base.split("://", 1)[1]:
        base += "/"  # https://example.com?x is valid, https://example.com/?x is what browsers show
    joiner = "&" if query and not query.endswith("&") else ""
    return f"{base}?{query}{joiner}{urlencode(missing, quote_via=quote)}{hash_sign}{fragment}"


# -- mentions -------------------------------------------------------------------------------------------


def map_mentions(text: str, mapping: Mapping[str, Mapping[str, str]], network: str) -> str:
    """Write each draft mention (`@acme`) as the network knows that person or organisation.

    `mapping` gives each name its forms per network, e.g. {"acme": {"x": "@acme", "bluesky":
    "@acme.bsky.social", "mastodon": "@acme@mastodon.social", "linkedin": "Acme Inc"}}; a "name" entry is
    the plain name written where a network has no form, and the name itself (without @) is written when
    there is no "name" either. Names match without regard to case; a mention with no entry in the mapping,
    and anything inside a link, is left as written.
    """
    mapped, _ = _map_mentions(text, mapping, network)
    return mapped


def _map_mentions(text: str, mapping: Mapping[str, Mapping[str, str]], network: str) -> tuple[str, int]:
    name, _ = resolve(network, None)
    forms = {key.lower().lstrip("@"): value for key, value in mapping.items()}
    links = urls(text)
    pieces: list[str] = []
    at = changed = 0
    for match in DRAFT_MENTION.finditer(text):
        person = forms.get(match.group(1).lower())
        if person is None or any(link.start <= match.start() < link.end for link in links):
            continue
        written = person.get(name) or person.get("name") or match.group(1)
        pieces += [text[at : match.start()], written]
        at = match.end()
        changed += 1
    pieces.append(text[at:])
    return "".join(pieces), changed


# -- hashtags -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TagRun:
    """Hashtags next to each other on one line; `apart` when they stand as a block of tags rather than as
    words of a sentence."""

    start: int
    end: int
    tags: list[str]
    apart: bool


def _tag_runs(text: str, network: str, field: str) -> list[_TagRun]:
    tags = [e for e in validate(network, text, field=field).entities if e.kind == "hashtag"]
    groups: list[list[tuple[int, int]]] = []
    for tag in tags:
        if groups and not text[groups[-1][-1][1] : tag.start].strip(" \t"):
            groups[-1].append((tag.start, tag.end))
        else:
            groups.append([(tag.start, tag.end)])
    runs = []
    for group in groups:
        start, end = group[0][0], group[-1][1]
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start].strip()
        ends_line = not text[end : _line_end(text, end)].strip()
        # "Big news! #launch #oss" and a line of tags are a block; "I love #python" is a sentence.
        apart = ends_line and (not before or not before[-1].isalnum() or len(group) > 1)
        runs.append(_TagRun(start, end, [text[s:e] for s, e in group], apart))
    return runs


def move_hashtags(
    text: str, network: str, *, where: HashtagPlace = "keep", field: str | None = None
) -> tuple[str, list[str]]:
    """Place the hashtags: `keep` them where they are, gather the blocks of tags at the `end`, or take them
    all out for a `first_comment`. Returns the text and the hashtags that left it.

    A hashtag inside a sentence ("I love #python today") stays there for `end`, and loses only its # for
    `first_comment`, so that the sentence still reads. On Instagram, tags beyond the 30 it allows are
    dropped for `keep` and `end` (returned); for `first_comment` every tag is returned, and the comment
    is held to the same cap by `adapt`.
    """
    name, field = resolve(network, field)
    runs = _tag_runs(text, name, field)
    if not runs:
        return text, []
    taken_out = [run for run in runs if where == "first_comment" or (where == "end" and run.apart)]
    staying = {tag[1:].lower() for run in runs if run not in taken_out for tag in run.tags}
    moved: list[str] = []
    for run in taken_out:
        for tag in run.tags:
            if tag[1:].lower() not in staying | {t[1:].lower() for t in moved}:
                moved.append(tag)
    if where == "first_comment":
        edits = [(run.start, run.end, "" if run.apart else " ".join(t[1:] for t in run.tags)) for run in runs]
        return _edited(text, edits), moved
    # Instagram counts every tag of the caption, those left in the text first, then those gathered at the end.
    room = INSTAGRAM_MAX_HASHTAGS if name == "instagram" else len(moved) + sum(len(run.tags) for run in runs)
    dropped: list[str] = []
    edits = [(run.start, run.end, "") for run in taken_out]
    for run in runs:
        if run in taken_out:
            continue
        keep = [index < room for index in range(len(run.tags))]
        room -= min(room, len(run.tags))
        if all(keep):
            continue
        dropped += [tag for tag, kept in zip(run.tags, keep, strict=True) if not kept]
        if run.apart:
            written = [tag for tag, kept in zip(run.tags, keep, strict=True) if kept]
        else:
            written = [tag if kept else tag[1:] for tag, kept in zip(run.tags, keep, strict=True)]
        edits.append((run.start, run.end, " ".join(written)))
    dropped += moved[room:]
    result = _edited(text, edits)
    if moved[:room]:
        result = "\n\n".join(part for part in (result.rstrip(), " ".join(moved[:room])) if part)
    return result, dropped


def _line_end(text: str, at: int) -> int:
    """Where the line holding `at` ends: at its newline, or at the end of the text."""
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def _edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; a block of tags removed whole takes its line's spacing along."""
    removed_line = False
    for start, end, replacement in sorted(edits, reverse=True):
        if replacement:
            text = text[:start] + replacement + text[end:]
            continue
        start = len(text[:start].rstrip(" \t"))
        end = _line_end(text, end)
        if (start == 0 or text[start - 1] == "\n") and end < len(text):
            end += 1  # the tags were the whole line: the line goes too
        text = text[:start] + text[end:]
        removed_line = True
    if removed_line:
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text


# -- the whole adaptation -------------------------------------------------------------------------------


def adapt(
    draft: str,
    network: str,
    *,
    limit: int | None = None,
    thread: bool = True,
    numbering: bool = True,
    utm: UtmParams | None = None,
    mentions: Mapping[str, Mapping[str, str]] | None = None,
    hashtags: HashtagPlace = "keep",
    field: str | None = None,
) -> Variant:
    """Adapt `draft` for `network`: map its mentions, tag its links, place its hashtags, then fit it, as a
    thread where the network has them and `thread` is on, else shortened to one post.

    Every post returned is valid for the network; what cannot be made valid raises CannotAdapt (Unsplittable
    where an entity is longer than a whole post), a ValueError.
    """
    name, field = resolve(network, field)
    label = NETWORKS[name].label
    notes: list[str] = []
    text = draft
    if mentions:
        text, count = _map_mentions(text, mentions, name)
        if count:
            notes.append(f"{_plural(count, 'mention')} written as {label} knows them")
    if utm is not None:
        pairs = _utm_pairs(utm.source or name, utm.medium, utm.campaign, utm.content)
        text, count = _add_utm(text, pairs, name, field)
        if count:
            notes.append(f"UTM parameters added to {_plural(count, 'link')}")
    first_comment = None
    placed, left = move_hashtags(text, name, where=hashtags, field=field)
    why = f"{label} allows {INSTAGRAM_MAX_HASHTAGS}"
    if hashtags == "first_comment" and left:
        comment_tags = left[:INSTAGRAM_MAX_HASHTAGS] if name == "instagram" else list(left)
        while comment_tags and not validate(name, " ".join(comment_tags), limit=limit, field=field).valid:
            comment_tags.pop()  # the comment is a post too: as many tags as it holds
            why = "no more fit in the first comment"
        if comment_tags:
            first_comment = " ".join(comment_tags)
            notes.append(f"{_plural(len(comment_tags), 'hashtag')} moved to the first comment")
        left = left[len(comment_tags) :]
    elif hashtags == "end" and placed != text:
        notes.append("hashtags gathered at the end")
    if left:
        notes.append(f"{_plural(len(left), 'hashtag')} dropped, {why}: {' '.join(left)}")
    text = placed
    if thread and name in THREADED:
        posts = split_thread(text, name, numbering=numbering, limit=limit)
        if len(posts) > 1:
            notes.append(f"split into {len(posts)} posts")
    else:
        posts = [shorten(text, name, limit=limit, field=field)]
        if posts[0] != text:
            before = validate(name, text, limit=limit, field=field).length
            after = validate(name, posts[0], limit=limit, field=field).length
            notes.append(f"shortened by {before - after:,} {NETWORKS[name].fields[field].unit}")
    validations = [validate(name, post, limit=limit, field=field) for post in posts]
    invalid = [(number, v) for number, v in enumerate(validations, 1) if not v.valid]
    if invalid:
        found = [f"post {number} is not valid for {label}: {', '.join(v.problems)}" for number, v in invalid]
        raise CannotAdapt("; ".join(found))
    return Variant(name, posts, validations, notes, first_comment=first_comment)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
