"""The listening query language: text normalisation, tokens, the parser, the AST and its printer."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Union

import regex

# Scripts written without spaces between words: a run of them is one token and a query term in them
# matches as a substring of such a run (see docs/listening-queries.md).
_NOSPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\u30fc"
_WORD = rf"[\w--[{_NOSPACE}]]"
_TOKEN_RE = regex.compile(
    rf"""
    [#@]\w+                                   # hashtag, mention (any script)
    | \$\p{{L}}\w*                             # cashtag
    | [{_NOSPACE}]+(?:\s+[{_NOSPACE}]+)*       # run of a no-space script; inner spaces dropped below
    | {_WORD}+(?:['\u2019]{_WORD}+)*          # word; apostrophes inside it dropped below
    | \p{{RI}}\p{{RI}}                         # flag
    | \p{{Extended_Pictographic}}(?:\u200d\p{{Extended_Pictographic}})*   # emoji, ZWJ sequence kept whole
    """,
    regex.V1 | regex.VERBOSE,
)
# Same tokens as _TOKEN_RE on ASCII text, where it is the common case and much cheaper.
_ASCII_TOKEN_RE = re.compile(r"[#@]\w+|\$[a-z]\w*|\w+(?:'\w+)*", re.ASCII)
_ASCII_SIMPLE_RE = re.compile(r"[#@]?\w+", re.ASCII)  # the same where there is no "'" and no "$"
_NOSPACE_RE = regex.compile(rf"[{_NOSPACE}]")
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
_STRIP = {cp: None for lo, hi in _STRIP_RANGES for cp in range(lo, hi + 1)}

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
    decomposed = unicodedata.normalize("NFKD", folded).translate(_STRIP)
    return unicodedata.normalize("NFC", decomposed)


def tokenize(text: str) -> list[str]:
    """The tokens of a text, normalised: words, #hashtags, @mentions, $cashtags, emoji, no-space runs."""
    text = normalize(text)
    if text.isascii():
        if "'" not in text and "$" not in text:
            return _ASCII_SIMPLE_RE.findall(text)
        tokens = _ASCII_TOKEN_RE.findall(text)
        return [t.replace("'", "") for t in tokens] if "'" in text else tokens
    out = []
    for token in _TOKEN_RE.findall(text):
        if token[0] not in "#@$":
            if "'" in token or "\u2019" in token:
                token = token.replace("'", "").replace("\u2019", "")
            elif _NOSPACE_RE.match(token):
                token = _SPACE_RE.sub("", token)
        out.append(token)
    return out


def is_nospace(token: str) -> bool:
    """Whether a token is a run of a script written without spaces (matched as a substring)."""
    return not token.isascii() and bool(_NOSPACE_RE.match(token))


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
