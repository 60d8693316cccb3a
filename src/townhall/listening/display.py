"""How listening shows its findings: matched terms marked in a post, the caret under a query error,
an alert's evidence made safe to render."""

from __future__ import annotations

import re
from typing import Any

import regex
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from townhall.listening.models import Alert
from townhall.listening.query import Near, Phrase, Prefix, QueryError, Term, is_nospace, normalize, parse

_POSITION_RE = re.compile(r"\(at position (\d+)\)")
# The tokens a reader sees in a post, close enough to the matcher's for marking what it matched.
_TOKEN_RE = regex.compile(
    r"[#@]\w+|\$\p{L}\w*|\w+(?:['\u2019]\w+)*"
    r"|\p{Extended_Pictographic}(?:\u200d\p{Extended_Pictographic})*|\p{RI}\p{RI}"
)


def caret(text: str, message: str) -> dict[str, Any]:
    """The error, with the line of the query it points into and the padding that puts a caret under it."""
    found = _POSITION_RE.search(message)
    if found is None:
        return {"message": message}
    position = min(int(found.group(1)), len(text))
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : end if end >= 0 else len(text)]
    pad = "".join("\t" if c == "\t" else " " for c in text[start:position])
    return {"message": message, "position": position, "line": line, "pad": pad}


def highlight(text: str, terms: list[str]) -> SafeString:
    """The post's text, escaped, with the tokens a matched term stands for in <mark>."""
    words: set[str] = set()
    prefixes: set[str] = set()

    def add(node: Any) -> None:
        if isinstance(node, Near):
            add(node.left)
            add(node.right)
        elif isinstance(node, Prefix):
            prefixes.add(node.text)
        elif isinstance(node, Term):
            words.add(node.text)
        elif isinstance(node, Phrase):
            words.update(node.words)

    for term in terms:
        try:
            add(parse(term))
        except QueryError:
            continue
    runs = [w for w in words if is_nospace(w)]
    out: list[str] = []
    last = 0
    for match in _TOKEN_RE.finditer(text):
        token = normalize(match.group()).replace("'", "").replace("\u2019", "")
        if (
            token in words
            or any(token.startswith(p) for p in prefixes)
            or (runs and is_nospace(token) and any(r in token for r in runs))
        ):
            out.append(f"{escape(text[last : match.start()])}<mark>{escape(match.group())}</mark>")
            last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # every piece of the text went through escape()


def alert_card(alert: Alert) -> dict[str, Any]:
    """An alert with its evidence made safe to show: a key the detector did not write shows nothing."""
    e = alert.explanation if isinstance(alert.explanation, dict) else {}
    ratio = e.get("ratio")
    if not isinstance(ratio, int | float):
        ratio = alert.observed / alert.expected if alert.expected else None
    return {
        "alert": alert,
        "ratio": ratio,
        "terms": rows(e.get("top_terms"), "term"),
        "authors": rows(e.get("top_authors"), "author"),
        "posts": rows(e.get("top_posts"), "text"),
        "sentiment": sentiment_bars(e.get("sentiment")),
    }


def rows(value: Any, key: str, limit: int = 5) -> list[dict[str, Any]]:
    rows = value if isinstance(value, list) else []
    return [r for r in rows if isinstance(r, dict) and r.get(key)][:limit]


def sentiment_bars(value: Any) -> list[dict[str, Any]]:
    """Before and during as three shares each, in percent of the bar (counts or shares alike)."""
    if not isinstance(value, dict):
        return []
    bars = []
    for key, label in (("before", "Before"), ("during", "During")):
        mix = value.get(key)
        if not isinstance(mix, dict):
            continue
        parts = {
            s: float(v)
            for s in ("positive", "neutral", "negative")
            if isinstance(v := mix.get(s), int | float)
        }
        total = sum(parts.values())
        if total <= 0:
            continue
        bars.append({"label": label, "parts": [(s, round(v * 100 / total, 1)) for s, v in parts.items()]})
    return bars
