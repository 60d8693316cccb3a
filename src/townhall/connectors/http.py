"""The one HTTP layer every connector calls through: timeouts, retries, Retry-After, rate budgets."""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ConnectorError(Exception):
    """A network call that failed for good; the message says what and where, for the channel's health."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable


class AuthError(ConnectorError):
    """The network refused the channel's credentials (401): retrying will not help."""


@dataclass
class RateBudget:
    """At most `calls` requests per `per_seconds` for one account (a sliding window), shared by threads."""

    calls: int = 300
    per_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _sent: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self) -> float:
        """Wait until one more call fits the budget; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                self._sent = [t for t in self._sent if now - t < self.per_seconds]
                if len(self._sent) < self.calls:
                    self._sent.append(now)
                    return waited
                pause = self.per_seconds - (now - self._sent[0])
            self.sleep(pause)
            waited += pause


_budgets: dict[str, RateBudget] = {}
_budgets_lock = threading.Lock()


def budget_for(account: str, *, calls: int = 300, per_seconds: float = 300.0) -> RateBudget:
    """The process-wide budget of one account (network + handle), created on first use."""
    with _budgets_lock:
        if account not in _budgets:
            _budgets[account] = RateBudget(calls=calls, per_seconds=per_seconds)
        return _budgets[account]


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def rate_limit_reset_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from the headers networks send instead of Retry-After:
    an epoch time (Bluesky's `ratelimit-reset`), seconds (Reddit's `x-ratelimit-reset`) or an ISO time
    (Mastodon's `X-RateLimit-Reset`)."""
    if not value:
        return None
    value = value.strip()
    now = now or datetime.now(UTC)
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    if number > 1e9:  # an epoch time, not a duration
        return max(0.0, number - now.timestamp())
    return max(0.0, number)


class HttpClient:
    """Wraps an `httpx.Client` (injected in tests with `httpx.MockTransport`) with the retry policy.

    Retries 429 (waiting what Retry-After says), 5xx, timeouts and dropped connections, with exponential
    backoff and full jitter, at most `retries` times; every attempt first takes a slot of the rate budget.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        budget: RateBudget | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=True)
        self.budget = budget
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.calls = 0

    def _pause(self, attempt: int, hinted: float | None) -> None:
        if hinted is not None:
            wait = min(hinted, self.max_wait)
        else:
            wait = self.rng.uniform(0, min(self.max_wait, self.backoff * 2**attempt))
        self.sleep(wait)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send, retrying what is worth retrying; ConnectorError for what is not, or when out of tries."""
        last: str = ""
        for attempt in range(self.retries + 1):
            if self.budget is not None:
                self.budget.acquire()
            self.calls += 1
            try:
                response = self.client.request(method, url, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__} on {method} {url}"
                if attempt < self.retries:
                    self._pause(attempt, None)
                    continue
                raise ConnectorError(f"{last} (gave up after {attempt + 1} tries)", retryable=True) from exc
            if response.status_code in RETRY_STATUSES:
                last = f"HTTP {response.status_code} on {method} {url}"
                if attempt < self.retries:
                    headers = response.headers
                    hinted = retry_after_seconds(headers.get("Retry-After"))
                    if hinted is None and response.status_code == 429:
                        hinted = rate_limit_reset_seconds(
                            headers.get("ratelimit-reset") or headers.get("x-ratelimit-reset")
                        )
                    self._pause(attempt, hinted)
                    continue
                raise ConnectorError(
                    f"{last} (gave up after {attempt + 1} tries)", status=response.status_code, retryable=True
                )
            if response.status_code == 401:
                raise AuthError(
                    f"HTTP 401 on {method} {url}: refused the credentials ({response.text[:200]})",
                    status=401,
                )
            # Anything else (403 included: on most networks "not allowed to do this", not "who are you")
            # is the caller's to read; `json` turns it into an error that carries the network's own words.
            return response
        raise ConnectorError(last or f"{method} {url} failed")  # pragma: no cover - the loop always returns

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The response's JSON; an error status or a body that is not JSON is a ConnectorError."""
        response = self.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise ConnectorError(
                f"HTTP {response.status_code} on {method} {url}: {response.text[:300]}",
                status=response.status_code,
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConnectorError(
                f"malformed JSON from {method} {url}: {response.text[:120]!r}",
                status=response.status_code,
                retryable=True,
            ) from exc

    def close(self) -> None:
        self.client.close()
