"""Normalise social text the same way for every classifier, in training and at run time."""

from __future__ import annotations

import html
import re

# Zero-width characters and the byte-order mark hide inside copied text and split words invisibly.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Only the markup that comment platforms actually send (YouTube's textDisplay); "<3" must survive.
_MARKUP = re.compile(r"</?(?:a|b|i|u|p|br|em|strong|span|div)\b[^<>]*>", re.IGNORECASE)
# Angle brackets end a URL so that a link inside markup (href="...">) leaves the markup recognisable.
_URL = re.compile(r"(?:https?://|www\.)[^\s<>]+", re.IGNORECASE)
# A bare domain is a link too ("gofundme.com/x", "bit.ly/y"); only common top-level domains, so that "ok.so"
# or "node.js" stay words.
_TLD = (
    r"(?:com|net|org|info|biz|io|co|me|ly|gl|tv|us|uk|de|fr|pl|ro|ru|in|be|ca|au|es|it|nl|br|jp|xyz|site|online"
    r"|club|shop|app|gg)\b"
)
_DOMAIN_HINT = re.compile(r"\." + _TLD, re.IGNORECASE)
_DOMAIN = re.compile(r"(?<![\w@.\-])(?:[a-z0-9][a-z0-9\-]*\.)+" + _TLD + r"(?:/[^\s<>]*)?", re.IGNORECASE)
# TweetEval anonymises every handle to "@user"; an email address is not a mention.
_MENTION = re.compile(r"(?<![\w@])@\w+")
_RUN = re.compile(r"(.)\1\1\1", re.DOTALL)
_REPEAT = re.compile(r"(.)(?=\1\1\1)\1+", re.DOTALL)


def _unescape(text: str) -> str:
    # Exports escape more than once ("&amp;amp;"); unescape until nothing changes so the result is stable.
    while "&" in text:
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def _strip_markup(text: str) -> str:
    # Removing a tag can close another around it ("<a<b>>"), so strip until none is left.
    while "<" in text:
        stripped = _MARKUP.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def normalise(text: str) -> str:
    """Return `text` with URLs as "http", handles as "@user", runs of a character cut to three, single spaces.

    Emoji, hashtags, case and punctuation are kept: they carry sentiment and intent. The result is stable:
    normalise(normalise(x)) == normalise(x).
    """
    # The cheap membership tests skip a regex scan on most texts; this runs on every item of a listening feed.
    if not text.isascii():
        # Invisible characters go before unescaping ("&am\u200bp;") and after it ("&#8203;").
        text = _INVISIBLE.sub("", text)
    if "&" in text:
        text = _INVISIBLE.sub("", _unescape(text))
    if "<" in text:
        text = _strip_markup(text)
    if "://" in text or "www." in text.lower():
        text = _URL.sub("http", text)
    if "." in text and _DOMAIN_HINT.search(text):
        text = _DOMAIN.sub("http", text)
    if "@" in text:
        text = _MENTION.sub("@user", text)
    if _RUN.search(text):
        text = _REPEAT.sub(r"\1\1\1", text)
    return " ".join(text.split())
