"""Finding URL matches in linear time: what the upstream URL expression finds, without its backtracking."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import NamedTuple

from townhall.text import _twitter_patterns as p


class UrlMatch(NamedTuple):
    """One match of the URL rule; the fields are its groups (path is None when absent)."""

    before: str
    start: int
    end: int
    protocol: str | None
    domain: str
    path: str | None


def url_matches(text: str) -> Iterator[UrlMatch]:
    """The matches p.url_patterns().url.finditer(text) yields, found in time linear in the text.

    The expression tries every start, and from each it takes as many subdomain labels as it can before
    backing off label by label until a domain name and a TLD follow: quadratic on text like "a.a.a.a…!".
    But labels end at dots, so whether a chain starting at a label can end in "name.TLD", and where, is the
    same from every start; it is worked out once per label here.
    """
    dots = []
    index = text.find(".")
    while index != -1:
        dots.append(index)
        index = text.find(".", index + 1)
    if not dots:
        return
    labels = _Labels(text, dots)
    position = 0  # where the next match may start
    tried = 0  # every start before this has failed (the windows of neighbouring dots overlap)
    for k, dot in enumerate(dots):
        # A label or a TLD must follow a domain's dot: not so after a full stop ending a sentence.
        if dot <= max(position, tried) or dot + 1 == len(text) or text[dot + 1] in p.NOT_DOMAIN_CHAR:
            continue
        # A match's domain starts in the label run ending at its first dot, at most URL_LEAD characters after
        # the match starts (a preceding character and "https://").
        start = max(labels.run_start(k) - p.URL_LEAD, position, tried)
        while start < dot:
            # Cheap refusals first: a URL needs an allowed preceding character and then a domain character
            # or a protocol (only at the very start may it begin without a preceding character).
            if start and (text[start] in p.NOT_BEFORE_URL or text[start + 1] in p.NOT_DOMAIN_CHAR):
                start += 1
                continue
            match = _match_at(text, start, labels)
            if match is None:
                start += 1
                continue
            yield match
            start = position = match.end
        tried = max(tried, dot)


def _match_at(text: str, start: int, labels: _Labels) -> UrlMatch | None:
    # The preceding character (or the very start), then an optional protocol, in the expression's order.
    url_starts = []
    if text[start] not in p.NOT_BEFORE_URL:
        url_starts.append(start + 1)
    if start == 0:
        url_starts.append(0)
    for url_start in url_starts:
        protocol = p.PROTOCOL.match(text, url_start)
        for domain_start in ([protocol.end()] if protocol else []) + [url_start]:
            domain_end = labels.domain_end(domain_start)
            if domain_end is None:
                continue
            rest = p.URL_REST.match(text, domain_end)
            assert rest is not None  # every part after the domain is optional
            return UrlMatch(
                before=text[start:url_start],
                start=url_start,
                end=rest.end(),
                protocol=protocol.group() if protocol and domain_start == protocol.end() else None,
                domain=text[domain_start:domain_end],
                path=rest.group("path"),
            )
    return None


class _Labels:
    """The dot-separated labels of a text, and where a domain starting in each can end."""

    def __init__(self, text: str, dots: list[int]) -> None:
        self.text = text
        self.dots = dots
        self._runs: dict[int, tuple[int, int]] = {}
        self._chains: dict[int, int | None] = {}
        self._tlds: dict[int, int | None] = {}

    def run_start(self, k: int) -> int:
        """Where the run of subdomain characters (domain characters, "_" and "-") before dot k starts."""
        return self._run(k)[0]

    def domain_end(self, start: int) -> int | None:
        """End of the domain that the expression matches from start, or None."""
        k = bisect.bisect_left(self.dots, start)
        if k == len(self.dots) or self.dots[k] == start or not self._ends_ok(start, k):
            return None
        subdomain_from, name_from = self._run(k)
        if start >= subdomain_from:
            chain = self._chain(k + 1)
            if chain is not None:
                return chain
        if start >= name_from:
            return self._tld_end(self.dots[k] + 1)
        return None

    def _ends_ok(self, start: int, k: int) -> bool:
        # A label starts and ends on a domain character: no "_" or "-" at either end.
        return (
            self.text[start] not in p.NOT_DOMAIN_CHAR and self.text[self.dots[k] - 1] not in p.NOT_DOMAIN_CHAR
        )

    def _run(self, k: int) -> tuple[int, int]:
        """Earliest starts of the label before dot k as a subdomain and as a domain name."""
        if k not in self._runs:
            label_start = self.dots[k - 1] + 1 if k else 0
            reversed_label = self.text[label_start : self.dots[k]][::-1]
            subdomain = p.SUBDOMAIN_RUN.match(reversed_label)
            name = p.DOMAIN_NAME_RUN.match(reversed_label)
            assert subdomain is not None and name is not None  # both match the empty string
            self._runs[k] = (self.dots[k] - subdomain.end(), self.dots[k] - name.end())
        return self._runs[k]

    def _chain(self, k: int) -> int | None:
        """End of the domain made of whole labels from label k on: the most subdomains, then name.TLD."""
        if k >= len(self.dots):
            return None  # the text after the last dot cannot be a label: a label is followed by a dot
        pending = []
        while k < len(self.dots) and k not in self._chains:
            pending.append(k)
            k += 1
        later = self._chains.get(k)  # None past the last dot
        for k in reversed(pending):
            label_start = self.dots[k - 1] + 1 if k else 0
            subdomain_from, name_from = self._run(k)
            whole = label_start < self.dots[k] and self._ends_ok(label_start, k)
            if whole and subdomain_from <= label_start and later is not None:
                end: int | None = later
            elif whole and name_from <= label_start:
                end = self._tld_end(self.dots[k] + 1)
            else:
                end = None
            self._chains[k] = later = end
        return self._chains[pending[0]] if pending else self._chains[k]

    def _tld_end(self, start: int) -> int | None:
        if start not in self._tlds:
            match = p.url_patterns().tld.match(self.text, start)
            self._tlds[start] = match.end() if match else None
        return self._tlds[start]
