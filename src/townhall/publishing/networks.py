"""Per-network post rules: the length as each network counts it, its limits, and the entities it links."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from townhall.publishing import counting
from townhall.publishing import entities as found
from townhall.publishing.entities import Entity
from townhall.text import twitter
from townhall.text._twitter_patterns import INVALID_CHARS as X_INVALID_CHARS

# Each field's rules name their source (the network's documentation or reference code); docs/networks.md
# has the same table for readers.


@dataclass(frozen=True, slots=True)
class Limit:
    """A cap besides the main length: Bluesky's bytes, Instagram's hashtags and mentions."""

    name: str
    length: int
    limit: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "length": self.length, "limit": self.limit}


@dataclass(frozen=True)
class Validation:
    """A text checked against one network field: `valid` is exactly "within the limit and no problems"."""

    network: str
    field: str
    length: int
    limit: int
    valid: bool
    counted_as: str
    entities: list[Entity] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    extra_limits: list[Limit] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what `townhall validate` prints."""
        return {
            "network": self.network,
            "field": self.field,
            "length": self.length,
            "limit": self.limit,
            "valid": self.valid,
            "counted_as": self.counted_as,
            "entities": [entity.as_dict() for entity in self.entities],
            "problems": list(self.problems),
            "extra_limits": [extra.as_dict() for extra in self.extra_limits],
        }


Check = Callable[[str, list[Entity], int], tuple[list[Limit], list[str]]]


def _no_check(text: str, entities: list[Entity], limit: int) -> tuple[list[Limit], list[str]]:
    return [], []


@dataclass(frozen=True)
class FieldRules:
    """How one field of a network is measured, and where the rule comes from."""

    limit: int
    counted_as: str
    count: Callable[[str], int]
    find_entities: Callable[[str], list[Entity]]
    source: str
    unit: str = "characters"  # the word the problems use for `count`'s unit
    required: bool = False
    check: Check = _no_check  # further caps and refusals beyond the length


@dataclass(frozen=True)
class NetworkRules:
    """A network's name, its label for people, and the rules of each field a post of it has."""

    name: str
    label: str
    fields: Mapping[str, FieldRules]


BLUESKY_MAX_BYTES = 3_000
INSTAGRAM_MAX_HASHTAGS = 30
INSTAGRAM_MAX_MENTIONS = 20
MATRIX_EVENT_BYTES = 65_536
# Room left for the rest of the event: the content's other keys, sender, room id, prev/auth event ids,
# hashes and signatures, which a homeserver adds and counts towards the 65,536 bytes.
MATRIX_ENVELOPE_BYTES = 5_536


# -- checks beyond the length --------------------------------------------------------------------------


def _x_check(text: str, entities: list[Entity], limit: int) -> tuple[list[Limit], list[str]]:
    """twitter-text's other two refusals: an empty post, and a BOM, U+FFFE or U+FFFF anywhere in it."""
    if not text:
        return [], ["an X post cannot be empty"]
    refused = sorted({char for char in text if char in X_INVALID_CHARS})
    if not refused:
        return [], []
    return [], [f"X does not accept {', '.join(f'U+{ord(char):04X}' for char in refused)} in a post"]


def _bluesky_check(text: str, entities: list[Entity], limit: int) -> tuple[list[Limit], list[str]]:
    size = counting.utf8_bytes(text)
    problems = (
        [f"{size:,} bytes in UTF-8; Bluesky allows {BLUESKY_MAX_BYTES:,}"] if size > BLUESKY_MAX_BYTES else []
    )
    return [Limit("bytes", size, BLUESKY_MAX_BYTES)], problems


def _instagram_check(text: str, entities: list[Entity], limit: int) -> tuple[list[Limit], list[str]]:
    tags = sum(1 for entity in entities if entity.kind == "hashtag")
    mentions = sum(1 for entity in entities if entity.kind == "mention")
    problems = []
    if tags > INSTAGRAM_MAX_HASHTAGS:
        problems.append(f"{tags} hashtags; Instagram allows at most {INSTAGRAM_MAX_HASHTAGS}")
    if mentions > INSTAGRAM_MAX_MENTIONS:
        problems.append(f"{mentions} @mentions; Instagram allows at most {INSTAGRAM_MAX_MENTIONS}")
    caps = [
        Limit("hashtags", tags, INSTAGRAM_MAX_HASHTAGS),
        Limit("mentions", mentions, INSTAGRAM_MAX_MENTIONS),
    ]
    return caps, problems


def _youtube_check(text: str, entities: list[Entity], limit: int) -> tuple[list[Limit], list[str]]:
    refused = sorted({char for char in text if char in "<>"})
    return [], [f"YouTube does not accept {' or '.join(refused)}"] if refused else []


def _x_length(text: str) -> int:
    return twitter.parse_tweet(text).weighted_length


NETWORKS: dict[str, NetworkRules] = {
    "x": NetworkRules(
        "x",
        "X",
        {
            "body": FieldRules(
                limit=280,
                counted_as="twitter-text v3 weighted characters",
                count=_x_length,
                find_entities=found.x_entities,
                source="twitter-text config/v3.json and conformance/validate.yml; X developer docs, "
                "'Counting characters': NFC text, Latin-1 and general punctuation weigh 1, other code points "
                "and each emoji sequence 2, every URL 23",
                check=_x_check,
            )
        },
    ),
    "bluesky": NetworkRules(
        "bluesky",
        "Bluesky",
        {
            "body": FieldRules(
                limit=300,
                counted_as="grapheme clusters (and UTF-8 bytes)",
                count=counting.graphemes,
                find_entities=found.bluesky_entities,
                source="lexicon app.bsky.feed.post: text maxGraphemes 300 and maxLength 3000 (Lexicon string "
                "lengths are UTF-8 bytes); facets per app.bsky.richtext.facet, UTF-8 byte offsets",
                check=_bluesky_check,
            )
        },
    ),
    "mastodon": NetworkRules(
        "mastodon",
        "Mastodon",
        {
            "body": FieldRules(
                limit=500,
                counted_as="grapheme clusters, each URL as 23, a remote mention as its local part",
                count=counting.mastodon_length,
                find_entities=found.mastodon_entities,
                source="Mastodon app/validators/status_length_validator.rb (each_grapheme_cluster, URLs "
                "as 23 x's, @user@domain as @user); the limit is the instance's "
                "configuration.statuses.max_characters from GET /api/v2/instance, 500 by default",
            )
        },
    ),
    "threads": NetworkRules(
        "threads",
        "Threads",
        {
            "body": FieldRules(
                limit=500,
                counted_as="code points, each emoji as its UTF-8 bytes",
                count=counting.emoji_as_utf8_bytes,
                find_entities=found.threads_entities,
                source="Threads API docs (developers.facebook.com/docs/threads), posts: text up to 500 "
                "characters, emoji counted by their UTF-8 byte length",
            )
        },
    ),
    "linkedin": NetworkRules(
        "linkedin",
        "LinkedIn",
        {
            "body": FieldRules(
                limit=3_000,
                counted_as="UTF-16 code units",
                count=counting.utf16_units,
                find_entities=found.links_and_hashtags,
                source="LinkedIn Help, 'character limits': posts up to 3,000 characters; the unit is not "
                "documented, UTF-16 (JavaScript's and Java's length) is the stricter reading",
            )
        },
    ),
    "instagram": NetworkRules(
        "instagram",
        "Instagram",
        {
            "body": FieldRules(
                limit=2_200,
                counted_as="UTF-16 code units",
                count=counting.utf16_units,
                find_entities=found.instagram_entities,
                source="Instagram Graph API, content publishing (IG User Media, caption): 'limited to 2,200 "
                "characters, 30 hashtags, and 20 @ tags'; the unit is not documented, UTF-16 is the stricter "
                "reading",
                check=_instagram_check,
            )
        },
    ),
    "facebook": NetworkRules(
        "facebook",
        "Facebook",
        {
            "body": FieldRules(
                limit=63_206,
                counted_as="UTF-16 code units",
                count=counting.utf16_units,
                find_entities=found.links_and_hashtags,
                source="Facebook's post length, 63,206 characters since 2011 (Help Center); the Graph API "
                "documents no other; the unit is not documented, UTF-16 is the stricter reading",
            )
        },
    ),
    "youtube": NetworkRules(
        "youtube",
        "YouTube",
        {
            "title": FieldRules(
                limit=100,
                counted_as="UTF-16 code units",
                count=counting.utf16_units,
                find_entities=found.youtube_title_entities,
                source="YouTube Data API v3, videos resource, snippet.title: 'maximum length of 100 "
                "characters' and no < or >; the unit is not documented, UTF-16 is the stricter reading",
                required=True,
                check=_youtube_check,
            ),
            "description": FieldRules(
                limit=5_000,
                counted_as="UTF-8 bytes",
                count=counting.utf8_bytes,
                find_entities=found.youtube_description_entities,
                source="YouTube Data API v3, videos resource, snippet.description: 'maximum length of 5000 "
                "bytes' and no < or >",
                unit="bytes",
                check=_youtube_check,
            ),
        },
    ),
    "reddit": NetworkRules(
        "reddit",
        "Reddit",
        {
            "title": FieldRules(
                limit=300,
                counted_as="code points",
                count=counting.code_points,
                find_entities=found.no_entities,
                source="Reddit API, POST /api/submit: 'title: up to 300 characters'; Reddit measures "
                "with Python's len() (code points)",
                required=True,
            ),
            "body": FieldRules(
                limit=40_000,
                counted_as="code points",
                count=counting.code_points,
                find_entities=found.reddit_entities,
                source="Reddit's self-post text limit, 40,000 characters (raised from 10,000 in 2019); "
                "Python's len() (code points)",
            ),
        },
    ),
    "matrix": NetworkRules(
        "matrix",
        "Matrix",
        {
            "body": FieldRules(
                limit=MATRIX_EVENT_BYTES - MATRIX_ENVELOPE_BYTES,
                counted_as="UTF-8 bytes as a JSON string",
                count=counting.json_string_bytes,
                find_entities=found.matrix_entities,
                source="Matrix spec, Client-Server API, 'Size limits': an event is at most 65,536 bytes as "
                "canonical JSON, and m.text sets no text limit of its own; 5,536 bytes are left for the "
                "rest of the event",
                unit="bytes",
            )
        },
    ),
}
ALIASES = {"twitter": "x"}  # the name the inbox and importers use for X


def validate(network: str, text: str, *, limit: int | None = None, field: str = "body") -> Validation:
    """Check `text` as `network` would for `field`; `limit` replaces the field's usual limit (a Mastodon
    instance's own, X Premium's 25,000).

    Raises ValueError for a network or a field that has no rules, or a limit below 1.
    """
    name = ALIASES.get(network.lower(), network.lower())
    rules = NETWORKS.get(name)
    if rules is None:
        raise ValueError(f"unknown network {network!r}; known networks: {', '.join(sorted(NETWORKS))}")
    field_rules = rules.fields.get(field)
    if field_rules is None:
        raise ValueError(f"{rules.label} has no field {field!r}; its fields: {', '.join(rules.fields)}")
    if limit is not None and limit < 1:
        raise ValueError(f"a limit must be at least 1, not {limit}")
    effective = field_rules.limit if limit is None else limit
    problems: list[str] = []
    surrogates = counting.lone_surrogates(text)
    if surrogates:
        problems.append(f"the text is not valid Unicode: a lone surrogate at character {surrogates[0]}")
    # A lone surrogate has no UTF-8 form; U+FFFD keeps every offset and byte count as they were.
    readable = counting.without_lone_surrogates(text)
    length = field_rules.count(readable)
    entities = field_rules.find_entities(readable)
    if surrogates:
        entities = [dataclasses.replace(e, text=text[e.start : e.end]) for e in entities]
    if field_rules.required and not readable.strip():
        problems.append(f"a {rules.label} {'post' if field == 'body' else field} cannot be empty")
    if length > effective:
        problems.append(
            f"{length:,} {field_rules.unit} as {rules.label} counts them; the limit is {effective:,}"
        )
    extra_limits, more = field_rules.check(readable, entities, effective)
    problems.extend(more)
    return Validation(
        network=rules.name,
        field=field,
        length=length,
        limit=effective,
        valid=length <= effective and not problems,
        counted_as=field_rules.counted_as,
        entities=entities,
        problems=problems,
        extra_limits=extra_limits,
    )
