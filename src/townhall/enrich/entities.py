"""Hashtags, mentions, cashtags and URLs of a post, by the same rules the publishing validator uses."""

from __future__ import annotations

from townhall.text.twitter import extract_entities

KINDS = {"hashtag": "hashtags", "mention": "mentions", "cashtag": "cashtags", "url": "urls"}


def entities_of(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in KINDS.values()}
    for entity in extract_entities(text):
        bucket = KINDS.get(entity.kind)
        if bucket is not None and entity.value not in found[bucket]:
            found[bucket].append(entity.value)
    return found
