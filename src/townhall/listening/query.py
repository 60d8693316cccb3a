"""The listening query language: text normalisation, tokens, the parser, the AST and its printer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import regex

# Scripts written without spaces between words: a run of them is one token and a query term in them
# matches as a substring of such a run (see docs/listening-queries.md). The body of a `regex` class.
NOSPACE_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\u30fc"
_RUN = rf"[{NOSPACE_SCRIPTS}]"
_WORD = rf"[\w--[{NOSPACE_SCRIPTS}]]"
_TOKEN_RE = regex.compile(
    rf"""
    [#@]\w+                                   # hashtag, mention (any script)
    | \$\p{{L}}\w*                             # cashtag
    | {_RUN}+(?:\s+{_RUN}+)*                 # run of a no-space script; inner spaces dropped below
    | {_WORD}+(?:['\u2019]{_WORD}+)*          # word; apostrophes inside it dropped below
    | \p{{RI}}\p{{RI}}                         # flag
    | \p{{Extended_Pictographic}}(?:\u200d\p{{Extended_Pictographic}})*   # emoji, ZWJ sequence kept whole
    """,
    regex.V1 | regex.VERBOSE,
)
_NOSPACE_RE = regex.compile(rf"[{NOSPACE_SCRIPTS}]")
_SPACE_RE = regex.compile(r"\s+")

# Marks removed after NFKD: Latin/Greek/Cyrillic diacritics, Arabic vowel marks, emoji presentation
# selectors and skin tones. Marks that change the letter in other scripts (kana voicing, Indic vowel
# signs) are kept, so "ガ" does not match "カ".
_STRIP_RANGES = [
    (0x0300, 0x036F),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE0E, 0xFE0F),
    (0xFE20, 0xFE2F),
    (0x1F3FB, 0x1F3FF),
]
_STRIP_RE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _STRIP_RANGES) + "]+")

TEXT_BREAK = "\x02"  # between the tokens of two texts in token_text

# Bytes of UTF-8 text as the tokeniser sees them: ASCII letters lower-cased, ASCII characters that are
# never part of a token turned into spaces, the rest (token characters, TEXT_BREAK, non-ASCII) kept.
_TOKEN_ASCII = "abcdefghijklmnopqrstuvwxyz0123456789_#@$'" + TEXT_BREAK
_BYTE_CLASSES = bytes(
    b if b >= 0x80 or chr(b) in _TOKEN_ASCII else ord(chr(b).lower()) if chr(b).isupper() else 0x20
    for b in range(256)
)
_LONE_DOLLAR_RE = re.compile(rb"\$(?![a-z])")  # not a cashtag: "$" is a separator
# A tag ends at "'", which then separates. Every tag has a space before it (see _ascii_spaced), and
# once lone "$" are gone every "$" starts a cashtag. Replaced in the reversed text, where the search
# starts from the rare "'" rather than from every space.
_TAG_APOSTROPHE_REVERSED_RE = re.compile(rb"'(?=\w++[#@$] )")
_INNER_APOSTROPHE_RE = re.compile(rb"'(?<=\w')(?=\w)")  # inside a word: dropped
_LONE_HASH_RE = re.compile(rb"#(?!\w)")  # with nothing after it, "#" is a separator
_LONE_AT_RE = re.compile(rb"@(?!\w)")
_NON_ASCII_MARKS = bytes(min(b, 0x80) for b in range(256))  # every non-ASCII byte becomes 0x80
_GROUPS: dict[bytes, str] = {}
_GROUPS_MAX = 50_000

FIELDS = ("from", "lang", "network", "channel", "url", "sentiment", "intent")
_KEYWORDS = ("AND", "OR", "NOT")
_NEAR_RE = regex.compile(r"NEAR/(\d{1,4})")
_FIELD_RE = regex.compile(r"(?i)(" + "|".join(FIELDS) + r"):")
_BREAK = set('()"')


def normalize(text: str) -> str:
    """Casefold, decompose (NFKD), drop diacritics and recompose, so that "Café" and "cafe" are equal."""
    if text.isascii():
        return text.lower()
    # NFKD first so compatibility forms (math bold letters) casefold; again after, as casefolding composes.
    folded = unicodedata.normalize("NFKD", text).casefold()
    decomposed = _STRIP_RE.sub("", unicodedata.normalize("NFKD", folded))
    return unicodedata.normalize("NFC", decomposed)


def tokenize(text: str) -> list[str]:
    """The tokens of a text, normalised: words, #hashtags, @mentions, $cashtags, emoji, no-space runs."""
    return _spaced(text.replace(TEXT_BREAK, ",") if TEXT_BREAK in text else text).split()


def token_text(texts: Sequence[str]) -> str:
    """The tokens of the texts in one string: whitespace between tokens, TEXT_BREAK between texts.

    `token_text([text]).split() == tokenize(text)`, and for several texts the same with a TEXT_BREAK
    token between those of one text and the next. One pass of C string operations over all of them
    costs much less per text than `tokenize` on each, whose cost is mostly the work of a call.
    """
    if not texts:
        return ""
    # A TEXT_BREAK inside a text is a separator like any other control character, as "," is. The
    # spaces around each TEXT_BREAK put between texts stay, so " \x02 " marks every break.
    joined = f" {TEXT_BREAK} ".join(texts)
    if joined.count(TEXT_BREAK) != len(texts) - 1:
        joined = f" {TEXT_BREAK} ".join(t.replace(TEXT_BREAK, ",") for t in texts)
    return _spaced(joined)


def _spaced(text: str) -> str:
    """The text's tokens with whitespace between them."""
    # The same tokens as regex_tokens(normalize(text)), found mostly by C string operations. No
    # token holds ASCII punctuation or spaces, so the text is cut there into pieces, and pieces of
    # ASCII characters only are dealt with as bytes (_ascii_spaced). The other pieces are normalised
    # and go through _TOKEN_RE, those with only whitespace between them together, as a run of a
    # no-space script goes on across whitespace. Normalising piece by piece gives the same text, as
    # no ASCII separator combines with what follows it once diacritics are dropped.
    if text.isascii():
        return _ascii_spaced(text.encode("ascii").translate(_BYTE_CLASSES))
    # U+2019 is the same as "'" to every rule, and is often the one non-ASCII character of a text
    raw = text.encode("utf-8", "surrogatepass").replace(b"\xe2\x80\x99", b"'")
    data = raw.translate(_BYTE_CLASSES)
    if raw.isascii():
        return _ascii_spaced(data)
    marks = raw.translate(_NON_ASCII_MARKS)
    segments: list[bytes] = []
    groups: list[bytes] = []
    done = group_start = 0
    at = marks.find(0x80)
    while at >= 0:
        start = data.rfind(b" ", done, at) + 1
        end = data.find(b" ", at)
        if end < 0:
            end = len(data)
        if groups and raw[done:start].isspace():
            groups[-1] = data[group_start:end]
        else:
            segments.append(data[done:start])
            groups.append(data[start:end])
            group_start = start
        done = end
        at = marks.find(0x80, end)
    segments.append(data[done:])
    # each group leaves a "\x01" (a separator, so in no piece) where its tokens go back
    parts = _ascii_spaced(b" \x01 ".join(segments)).split("\x01")
    out = [parts[0]]
    for group, after in zip(groups, parts[1:], strict=True):
        out += (_group_spaced(group), after)
    return "".join(out)


def _ascii_spaced(data: bytes) -> str:
    """ASCII pieces as _spaced prepares them, as tokens between spaces, by _TOKEN_RE's rules."""
    # "#", "@" and "$" only ever start a token: a space goes before each. Bytes are tested by value,
    # as `int in bytes` is much cheaper than `bytes in bytes`: 35 "#", 36 "$", 39 "'", 64 "@".
    if 35 in data:
        data = data.replace(b"#", b" #")
    if 64 in data:
        data = data.replace(b"@", b" @")
    if 36 in data:
        data = _LONE_DOLLAR_RE.sub(b" ", data.replace(b"$", b" $"))
    if 39 in data:
        if 35 in data or 64 in data or 36 in data:
            data = _TAG_APOSTROPHE_REVERSED_RE.sub(b" ", data[::-1])[::-1]
        data = _INNER_APOSTROPHE_RE.sub(b"", data).replace(b"'", b" ")
    if 35 in data:
        data = _LONE_HASH_RE.sub(b"", data)
    if 64 in data:
        data = _LONE_AT_RE.sub(b"", data)
    return data.decode("ascii")


def _group_spaced(group: bytes) -> str:
    """The tokens of pieces with non-ASCII characters (see _spaced), between spaces."""
    try:
        return _GROUPS[group]
    except KeyError:
        pass
    spaced = " " + " ".join(regex_tokens(normalize(group.decode("utf-8", "surrogatepass")))) + " "
    # the same few emoji, accented words and contractions come back in text after text
    if len(_GROUPS) >= _GROUPS_MAX:
        _GROUPS.clear()
    _GROUPS[group] = spaced
    return spaced


def regex_tokens(normal: str) -> list[str]:
    """The tokens of a normalised text by _TOKEN_RE alone: the definition `tokenize` is held to."""
    out = []
    for token in _TOKEN_RE.findall(normal):
        if token[0] not in "#@$":
            if "'" in token or "\u2019" in token:
                token = token.replace("'", "").replace("\u2019", "")
            elif _NOSPACE_RE.match(token):
                token = _SPACE_RE.sub("", token)
        out.append(token)
    return out


_NOSPACE_START: dict[str, bool] = {}


def is_nospace(token: str) -> bool:
    """Whether a token is a run of a script written without spaces (matched as a substring)."""
    if token.isascii():
        return False
    first = token[0]
    known = _NOSPACE_START.get(first)
    if known is None:
        known = _NOSPACE_START[first] = bool(_NOSPACE_RE.match(first))
    return known


class QueryError(ValueError):
    """A listening query that does not parse; `position` is the 0-based offset of the problem."""

    def __init__(self, expected: str, position: int) -> None:
        super().__init__(f"expected {expected} at {position}")
        self.expected = expected
        self.position = position


@dataclass(frozen=True, slots=True)
class Term:
    """One token: a word, #hashtag, @mention, $cashtag, emoji, or a run of a no-space script."""

    text: str


@dataclass(frozen=True, slots=True)
class Prefix:
    """A trailing wildcard term (`refund*`): any token starting with `text`."""

    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Two or more tokens in this order, with nothing but punctuation or spaces between them."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Near:
    """Two terms or phrases at most `distance` tokens apart, in either order."""

    left: Term | Prefix | Phrase
    right: Term | Prefix | Phrase
    distance: int


@dataclass(frozen=True, slots=True)
class Field:
    """A filter on the item's metadata (`lang:en`); `value` is normalised."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Union[Term, Prefix, Phrase, Near, Field, Not, And, Or]  # noqa: UP007 - used at runtime
Word = Term | Prefix | Phrase


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # "(" ")" AND OR NOT - NEAR WORD PHRASE FIELD END
    pos: int
    text: str = ""
    value: str = ""
    number: int = 0


def _field_value(name: str, raw: str, pos: int) -> str:
    value = normalize(raw).strip()
    if name in ("from", "channel"):
        value = value.lstrip("@")
    if name == "lang":
        value = value.replace("_", "-")
    if not value:
        raise QueryError(f'a value after "{name}:"', pos)
    return value


def _lex(text: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Lexeme(c, i))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError("a closing '\"'", n)
            out.append(_Lexeme("PHRASE", i, text[i + 1 : end]))
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            out.append(_Lexeme("-", i))
            i += 1
        else:
            field = _FIELD_RE.match(text, i)
            if field:
                name = field.group(1).lower()
                j = field.end()
                if j < n and text[j] == '"':
                    end = text.find('"', j + 1)
                    if end < 0:
                        raise QueryError("a closing '\"'", n)
                    raw, nxt = text[j + 1 : end], end + 1
                else:
                    nxt = j
                    while nxt < n and not text[nxt].isspace() and text[nxt] not in _BREAK:
                        nxt += 1
                    raw = text[j:nxt]
                out.append(_Lexeme("FIELD", i, name, _field_value(name, raw, j)))
                i = nxt
                continue
            j = i
            while j < n and not text[j].isspace() and text[j] not in _BREAK:
                j += 1
            word = text[i:j]
            near = _NEAR_RE.fullmatch(word)
            if word in _KEYWORDS:
                out.append(_Lexeme(word, i))
            elif near:
                out.append(_Lexeme("NEAR", i, word, number=int(near.group(1))))
            elif word.startswith("NEAR/") or word == "NEAR":
                raise QueryError('"NEAR/n" with n a number of words', i)
            else:
                out.append(_Lexeme("WORD", i, word))
            i = j
    out.append(_Lexeme("END", n))
    return out


def _leaf(lexeme: _Lexeme) -> Node:
    body, wildcard = lexeme.text, False
    if lexeme.kind == "WORD" and body.endswith("*"):
        body, wildcard = body[:-1], True
    tokens = tokenize(body)
    if not tokens:
        what = (
            "words inside the quotes" if lexeme.kind == "PHRASE" else "a term with letters, digits or emoji"
        )
        raise QueryError(what, lexeme.pos)
    if len(tokens) > 1:
        if wildcard:
            raise QueryError('a single word before "*"', lexeme.pos)
        return Phrase(tuple(tokens))
    if wildcard and not is_nospace(tokens[0]):
        return Prefix(tokens[0])
    return Term(tokens[0])


_STARTS = {"(", "NOT", "-", "WORD", "PHRASE", "FIELD"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexemes = _lex(text)
        self.i = 0

    def peek(self) -> _Lexeme:
        return self.lexemes[self.i]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def query(self) -> Node:
        node = self.or_expr()
        end = self.peek()
        if end.kind == ")":
            raise QueryError('end of query (this ")" has no "(")', end.pos)
        if end.kind != "END":
            raise QueryError("AND, OR, a term or end of query", end.pos)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.and_expr())
        return _flat(Or, children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
            elif kind not in _STARTS:
                break
            children.append(self.unary())
        return _flat(And, children)

    def unary(self) -> Node:
        if self.peek().kind in ("NOT", "-"):
            self.take()
            return Not(self.unary())
        return self.near()

    def near(self) -> Node:
        start = self.peek()
        if start.kind == "NEAR":
            raise QueryError(f"a term or phrase before {start.text}", start.pos)
        left = self.primary()
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        if not isinstance(left, Term | Prefix | Phrase):
            raise QueryError(f"a term or phrase before {op.text}", op.pos)
        operand = self.peek()
        if operand.kind not in ("WORD", "PHRASE"):
            raise QueryError(f"a term or phrase after {op.text}", operand.pos)
        right = _leaf(self.take())
        assert isinstance(right, Term | Prefix | Phrase)
        if self.peek().kind == "NEAR":
            raise QueryError("AND or OR between two NEAR expressions", self.peek().pos)
        return Near(left, right, op.number)

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "(":
            node = self.or_expr()
            close = self.peek()
            if close.kind != ")":
                raise QueryError('")"', close.pos)
            self.take()
            return node
        if lexeme.kind in ("WORD", "PHRASE"):
            return _leaf(lexeme)
        if lexeme.kind == "FIELD":
            return Field(lexeme.text, lexeme.value)
        raise QueryError('a term, phrase, field or "("', lexeme.pos)


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))


def parse(text: str) -> Node:
    """Parse a listening query; raises QueryError with the position and what was expected there."""
    return _Parser(text).query()


def _quote_value(value: str) -> str:
    if not value or any(c.isspace() or c in _BREAK for c in value):
        return f'"{value}"'
    return value


def to_text(node: Node) -> str:
    """The canonical text of a query: parse(to_text(node)) == node for every parsed node."""
    if isinstance(node, Term):
        return node.text
    if isinstance(node, Prefix):
        return node.text + "*"
    if isinstance(node, Phrase):
        # a space between two no-space runs would join them into one token when read back
        text = node.words[0]
        for before, word in zip(node.words, node.words[1:], strict=False):
            text += ("-" if is_nospace(before) and is_nospace(word) else " ") + word
        return f'"{text}"'
    if isinstance(node, Near):
        return f"{to_text(node.left)} NEAR/{node.distance} {to_text(node.right)}"
    if isinstance(node, Field):
        return f"{node.name}:{_quote_value(node.value)}"
    if isinstance(node, Not):
        inner = to_text(node.child)
        return f"NOT ({inner})" if isinstance(node.child, And | Or) else f"NOT {inner}"
    if isinstance(node, And):
        return " ".join(f"({to_text(c)})" if isinstance(c, And | Or) else to_text(c) for c in node.children)
    return " OR ".join(f"({to_text(c)})" if isinstance(c, Or) else to_text(c) for c in node.children)
