"""One retry policy for every remote paperbot talks to, and one reading of Retry-After.

Why this module exists: arXiv, the notes server, Slack, webhooks and Discord's
reconnects each retried in their own loop with their own caps, and the caps
drifted apart. The rules now live here once; each caller keeps only its own
numbers, as a `RetryPolicy` beside its code:

- `attempts` requests in all (the first one included);
- before retry n (1, 2, ...) wait `first_backoff * 2**(n-1)` seconds, at most
  `max_backoff`, plus up to `jitter` of it at random (so many clients do not
  come back in step);
- a server that says how long to wait (429/503 with Retry-After, Discord's
  JSON `retry_after`, OpenAI's `retry-after-ms`) is waited for at least that
  long; one asking for more than `max_retry_after` is not waited for at all:
  the caller gives up now and the next scheduled run tries again.

Every remote may answer with how long to wait, as delta-seconds or as an HTTP
date; honouring it is what keeps the bot polite and unbanned.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one kind of request (see the module docstring)."""

    attempts: int = 1
    first_backoff: float = 1.0
    max_backoff: float = 300.0
    max_retry_after: float = 300.0
    jitter: float = 0.0

    def may_retry(self, attempt: int) -> bool:
        """Whether attempt number `attempt` (1 = the first request) may be followed by another."""
        return attempt < self.attempts

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1 = the first retry) when the server said nothing."""
        wait = min(self.max_backoff, self.first_backoff * 2 ** (retry - 1))
        return wait * (1 + self.jitter * random.random()) if self.jitter else wait

    def too_long(self, retry_after: float | None) -> bool:
        """True when the server asks for a longer wait than this policy waits: give up for now."""
        return retry_after is not None and retry_after > self.max_retry_after

    def wait(self, retry: int, retry_after: float | None = None) -> float:
        """The wait before retry number `retry`: the backoff, or longer if the server asked for longer."""
        backoff = self.backoff(retry)
        return backoff if retry_after is None else max(backoff, retry_after)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP-date); None if absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_after_seconds(headers: Mapping[str, str], now: datetime, body: Any = None) -> float | None:
    """The pause an answer asks for, from any of the forms servers use; None when it names none.

    Discord's JSON body `retry_after` (sub-second) first, then OpenAI's
    `retry-after-ms` header, then `Retry-After` (seconds or an HTTP date).
    Header names are matched whatever their case.
    """
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)) and math.isfinite(body["retry_after"]):
        return max(0.0, float(body["retry_after"]))
    millis = _header(headers, "retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    return parse_retry_after(_header(headers, "retry-after"), now)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's, httpx's and requests' headers ignore case themselves; a plain dict does not.
    value = headers.get(name)
    if value is not None:
        return value
    return next((value for key, value in headers.items() if key.lower() == name), None)
