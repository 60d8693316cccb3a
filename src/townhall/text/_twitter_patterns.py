"""Character classes and compiled expressions behind the X/Twitter text rules (private to townhall.text)."""

from __future__ import annotations

import functools
import json
import re
import string
from importlib import resources
from typing import NamedTuple

import regex

# Case-insensitive parts are spelled out as [aA] classes or use ASCII-only folding: Python's Unicode case
# folding would let U+212A KELVIN SIGN or U+017F LONG S stand in for ASCII letters, which X does not accept.

SPACES = "\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
INVALID_CHARS = "\ufffe\ufeff\uffff"
DIRECTIONAL_MARKERS = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
# All ASCII punctuation, as upstream's Java has it; its JavaScript leaves out '"' and '`', which would let a
# quote or backtick sit inside a domain name.
PUNCTUATION = re.escape(string.punctuation)
LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
CYRILLIC = "\u0400-\u04ff"
AT_SIGNS = "@\uff20"
HASH_SIGNS = "#\uff03"


def _load_tlds() -> list[str]:
    data = json.loads(resources.files("townhall.text").joinpath("data/tlds.json").read_text("utf-8"))
    return [*data["generic"], *data["country"]]


def _letter(char: str) -> str:
    """A non-ASCII TLD character matching both cases, as the upstream /i flag does."""
    upper = char.upper()
    if upper != char and len(upper) == 1:
        return f"[{re.escape(char)}{re.escape(upper)}]"
    return re.escape(char)


def _trie_pattern(words: list[str]) -> str:
    """One alternation of all words as a trie; a longer word is tried before its prefix."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [
            (re.escape(char) if char.isascii() else _letter(char)) + emit(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    # (?ai:) folds ASCII letters only: with full Unicode folding U+212A KELVIN SIGN would pass for "k".
    return f"(?ai:{emit(trie)})"


PUNYCODE_TLD = "[xX][nN]--[0-9a-zA-Z-]+"

# --- URLs ------------------------------------------------------------------------------------------------

DOMAIN_CHAR = f"[^{PUNCTUATION}{SPACES}{INVALID_CHARS}{DIRECTIONAL_MARKERS}]"
SUBDOMAIN = f"(?:(?:{DOMAIN_CHAR}(?:[_-]|{DOMAIN_CHAR})*)?{DOMAIN_CHAR}\\.)"
DOMAIN_NAME = f"(?:(?:{DOMAIN_CHAR}(?:-|{DOMAIN_CHAR})*)?{DOMAIN_CHAR}\\.)"

PATH_CHAR = f"[a-zA-Z{CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{LATIN_ACCENTS}]"
PATH_PARENS = f"(?:\\((?:{PATH_CHAR}+|(?:{PATH_CHAR}*\\({PATH_CHAR}+\\){PATH_CHAR}*))\\))"
PATH_END = f"(?:[+\\-a-zA-Z{CYRILLIC}0-9=_#/{LATIN_ACCENTS}]|{PATH_PARENS})"
PATH_SEGMENT = f"(?:(?:{PATH_CHAR}*(?:{PATH_PARENS}{PATH_CHAR}*)*{PATH_END})|(?:@{PATH_CHAR}+/))"
QUERY = "(?:\\?[a-zA-Z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]*[a-zA-Z0-9\\-_&=#/])"

# A URL match starts at most this far before its domain: a preceding character and "https://".
URL_LEAD = 1 + len("https://")
PROTOCOL = re.compile("[hH][tT][tT][pP][sS]?://")
# Everything after the domain; all optional, so it always matches.
URL_REST = re.compile(f"(?::(?P<port>[0-9]+))?(?P<path>/{PATH_SEGMENT}*)?(?P<query>{QUERY})?")
# Matched against a label reversed: how far back from its dot it stays a subdomain or a domain name.
SUBDOMAIN_RUN = re.compile(f"(?:{DOMAIN_CHAR}|[_-])*")
DOMAIN_NAME_RUN = re.compile(f"(?:{DOMAIN_CHAR}|-)*")


def _expand(char_class: str) -> frozenset[str]:
    """The characters of a class body written as single characters and "a-z" ranges."""
    chars: set[str] = set()
    i = 0
    while i < len(char_class):
        if i + 2 < len(char_class) and char_class[i + 1] == "-":
            chars.update(map(chr, range(ord(char_class[i]), ord(char_class[i + 2]) + 1)))
            i += 3
        else:
            chars.add(char_class[i])
            i += 1
    return frozenset(chars)


# The complement of DOMAIN_CHAR.
NOT_DOMAIN_CHAR = frozenset(string.punctuation) | _expand(SPACES + INVALID_CHARS + DIRECTIONAL_MARKERS)
# Characters that cannot precede a URL (its match cannot start on them, except at the start of the text).
NOT_BEFORE_URL = frozenset(string.ascii_letters + string.digits + AT_SIGNS + "$" + HASH_SIGNS + INVALID_CHARS)


class UrlPatterns(NamedTuple):
    tld: re.Pattern[str]
    ascii_domain: re.Pattern[str]


@functools.cache
def url_patterns() -> UrlPatterns:
    """Compiled on first use: the TLD list makes these the slowest expressions to build."""
    return UrlPatterns(
        tld=re.compile(_tld()),
        ascii_domain=re.compile(f"(?:[-a-zA-Z0-9{LATIN_ACCENTS}]+\\.)+{_tld()}"),
    )


@functools.cache
def url_reference() -> re.Pattern[str]:
    """The URL rule as one expression, as upstream states it (finditer gives its matches).

    _twitter_url_scan finds the same matches without this expression's quadratic backtracking; the tests
    hold the two to that.
    """
    return re.compile(
        f"(?P<before>[^A-Za-z0-9{AT_SIGNS}${HASH_SIGNS}{INVALID_CHARS}]|[{DIRECTIONAL_MARKERS}]|^)"
        "(?P<url>"
        "(?P<protocol>[hH][tT][tT][pP][sS]?://)?"
        f"(?P<domain>{SUBDOMAIN}*{DOMAIN_NAME}{_tld()})"
        "(?::(?P<port>[0-9]+))?"
        f"(?P<path>/{PATH_SEGMENT}*)?"
        f"(?P<query>{QUERY})?"
        ")"
    )


@functools.cache
def _tld() -> str:
    return f"(?:{_trie_pattern(_load_tlds())}(?=[^0-9a-zA-Z@+-]|\\Z)|{PUNYCODE_TLD})"


TCO_URL = re.compile(f"[hH][tT][tT][pP][sS]?://[tT]\\.[cC][oO]/(?P<slug>[a-zA-Z0-9]+){QUERY}?")
# Separators that punycode treats as dots when it encodes a host label.
IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")

# --- Mentions, lists, hashtags, cashtags -----------------------------------------------------------------

MENTION_OR_LIST = re.compile(
    f"(?P<before>^|[^a-zA-Z0-9_!#$%&*{AT_SIGNS}]|(?:^|[^a-zA-Z0-9_+~.-])(?:rt|RT|rT|Rt):?)"
    f"(?P<at>[{AT_SIGNS}])"
    "(?P<name>[a-zA-Z0-9_]{1,20})"
    "(?P<slug>/[a-zA-Z][a-zA-Z0-9_\\-]{0,24})?"
)
MENTION_END = re.compile(f"[{AT_SIGNS}{LATIN_ACCENTS}]|://")
REPLY = re.compile(f"[{SPACES}]*[{AT_SIGNS}](?P<name>[a-zA-Z0-9_]{{1,20}})")

HASHTAG_SPECIALS = (
    "_\u200c\u200d\ua67e\u05be\u05f3\u05f4\uff5e\u301c\u309b\u309c\u30a0\u30fb\u3003\u0f0b\u0f0c\u00b7"
)
HASHTAG_ALNUM = f"[\\p{{L}}\\p{{M}}\\p{{Nd}}{HASHTAG_SPECIALS}]"
HASHTAG = regex.compile(
    f"(?P<before>^|\ufe0e|\ufe0f|[^&\\p{{L}}\\p{{M}}\\p{{Nd}}{HASHTAG_SPECIALS}])"
    f"(?P<hash>[{HASH_SIGNS}])(?!\ufe0f|\u20e3)"
    f"(?P<tag>{HASHTAG_ALNUM}*[\\p{{L}}\\p{{M}}]{HASHTAG_ALNUM}*)"
)
HASHTAG_END = re.compile(f"[{HASH_SIGNS}]|://")
# Hashtags in these scripts are marked right-to-left when linked.
RTL_CHARS = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufe70-\ufeff]")

CASHTAG = re.compile(
    f"(?P<before>^|[{SPACES}])(?P<dollar>\\$)(?P<tag>[a-zA-Z]{{1,6}}(?:[._][a-zA-Z]{{1,2}})?)"
    f"(?=\\Z|[{SPACES}]|[{PUNCTUATION}])"
)

# --- Emoji (UTS #51 sequences) ---------------------------------------------------------------------------

# One emoji of a ZWJ sequence: a skin-toned emoji, a text-default emoji (U+FE0F optional), or an
# emoji-default one. A lone digit, "#" or "*" is text; a lone skin tone or regional indicator is a character
# (of emoji weight), and so is U+FE0F after an emoji-default emoji or a skin tone, as upstream counts them.
# Unlike upstream's fixed list (2021), any well-formed ZWJ sequence or flag counts as one emoji: this differs
# only for sequences that list lacks, newer ones (Emoji 13.1 on, like heart on fire) and unlisted
# combinations (cat, ZWJ, dog), which it counts emoji by emoji.
_EMOJI_ELEMENT = (
    "(?:\\p{Emoji_Modifier_Base}\\p{Emoji_Modifier}"
    "|[^\\P{Emoji}\\p{Emoji_Presentation}#*0-9]\ufe0f?"
    "|[^\\P{Emoji_Presentation}\\p{Emoji_Modifier}\\p{Regional_Indicator}])"
)
EMOJI = regex.compile(
    "(?:\\p{Regional_Indicator}\\p{Regional_Indicator}"
    "|[#*0-9]\ufe0f?\u20e3"
    "|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    f"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*)"
)

# --- URL validation (RFC 3986 shapes) --------------------------------------------------------------------

_UNRESERVED = f"[a-zA-Z{CYRILLIC}0-9\\-._~]"
_PCT_ENCODED = "(?:%[0-9a-fA-F]{2})"
_SUB_DELIMS = "[!$&'()*+,;=]"
_PCHAR = f"(?:{_UNRESERVED}|{_PCT_ENCODED}|{_SUB_DELIMS}|[:|@])"
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
_IPV4 = f"(?:{_DEC_OCTET}(?:\\.{_DEC_OCTET}){{3}})"
_IPV6 = "(?:\\[[a-fA-F0-9:.]+\\])"
_ALNUM_U = "(?:[a-zA-Z0-9]|[^\\x00-\\x7f])"
_UNICODE_SUBDOMAIN = f"(?:{_ALNUM_U}(?:(?:[a-zA-Z0-9_\\-]|[^\\x00-\\x7f])*{_ALNUM_U})?)"
_UNICODE_DOMAIN_SEGMENT = f"(?:{_ALNUM_U}(?:(?:[a-zA-Z0-9\\-]|[^\\x00-\\x7f])*{_ALNUM_U})?)"
_UNICODE_TLD = f"(?:(?:[a-zA-Z]|[^\\x00-\\x7f])(?:(?:[a-zA-Z0-9\\-]|[^\\x00-\\x7f])*{_ALNUM_U})?)"
_ASCII_SUBDOMAIN = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9_\\-]*[a-zA-Z0-9])?)"
_ASCII_DOMAIN_SEGMENT = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?)"
_ASCII_TLD = "(?:[a-zA-Z](?:[a-zA-Z0-9\\-]*[a-zA-Z0-9])?)"
_USERINFO = f"(?:{_UNRESERVED}|{_PCT_ENCODED}|{_SUB_DELIMS}|:)*"
_PORT = "[0-9]{1,5}"


def _authority(subdomain: str, segment: str, tld: str) -> re.Pattern[str]:
    host = f"(?:{_IPV4}|{_IPV6}|(?:(?:{subdomain}\\.)*(?:{segment}\\.){tld}))"
    return re.compile(f"(?:{_USERINFO}@)?{host}(?::{_PORT})?")


URL_PARTS = re.compile(
    r"(?:(?P<scheme>[^:/?#]+)://)?(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?"
)
URL_SCHEME = re.compile("[hH][tT][tT][pP][sS]?")
UNICODE_AUTHORITY = _authority(_UNICODE_SUBDOMAIN, _UNICODE_DOMAIN_SEGMENT, _UNICODE_TLD)
ASCII_AUTHORITY = _authority(_ASCII_SUBDOMAIN, _ASCII_DOMAIN_SEGMENT, _ASCII_TLD)
URL_PATH = re.compile(f"(?:/{_PCHAR}*)*")
URL_QUERY = re.compile(f"(?:{_PCHAR}|/|\\?)*")
