"""X/Twitter text rules, as the twitter-text conformance suite defines them: the one import for callers.

Entities (URLs, @mentions, @user/lists, #hashtags, $cashtags) are found with code-point offsets; posts are
weighed as X counts them (V3: 280 weighted, emoji sequences as one unit); entities and search hits can be
rendered as HTML.
"""

from townhall.text.twitter_autolink import (
    ALL_KINDS,
    LinkBases,
    autolink,
    autolink_api_entities,
    hit_highlight,
)
from townhall.text.twitter_extract import (
    Entity,
    EntityKind,
    extract_cashtags,
    extract_cashtags_with_indices,
    extract_entities,
    extract_hashtags,
    extract_hashtags_with_indices,
    extract_mentions,
    extract_mentions_or_lists_with_indices,
    extract_mentions_with_indices,
    extract_reply_username,
    extract_urls,
    extract_urls_with_indices,
)
from townhall.text.twitter_validate import (
    V1,
    V2,
    V3,
    TweetParseResult,
    WeightConfig,
    WeightRange,
    is_valid_hashtag,
    is_valid_list,
    is_valid_url,
    is_valid_username,
    parse_tweet,
)

__all__ = [
    "ALL_KINDS",
    "V1",
    "V2",
    "V3",
    "Entity",
    "EntityKind",
    "LinkBases",
    "TweetParseResult",
    "WeightConfig",
    "WeightRange",
    "autolink",
    "autolink_api_entities",
    "extract_cashtags",
    "extract_cashtags_with_indices",
    "extract_entities",
    "extract_hashtags",
    "extract_hashtags_with_indices",
    "extract_mentions",
    "extract_mentions_or_lists_with_indices",
    "extract_mentions_with_indices",
    "extract_reply_username",
    "extract_urls",
    "extract_urls_with_indices",
    "hit_highlight",
    "is_valid_hashtag",
    "is_valid_list",
    "is_valid_url",
    "is_valid_username",
    "parse_tweet",
]
