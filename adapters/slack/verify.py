"""Who may reach `/slack/events`: Slack's signature, checked before anything else reads the request.

Why this exists: bolt checks the signature too, but it logs every refused
request's whole body at INFO (a forged body with a newline writes a fake log
line; twenty 1 MB bodies add 20 MB of log) and raises on a timestamp that is
not a number (a 500 with a traceback, before any authentication). This check
runs first, so bolt only ever sees requests Slack signed; anything else gets
401 and its caller one short reason (never the body).

It also remembers the signatures it accepted for as long as Slack's
timestamps are valid (5 minutes): a signed request captured and replayed
inside that window is refused instead of running twice. Memory is bounded:
past `max_remembered` signatures the oldest are forgotten first.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Callable, Mapping

WINDOW_SECONDS = 5 * 60  # Slack's rule: refuse a request whose timestamp is further off than this
MAX_REMEMBERED = 10_000
MAX_TIMESTAMP_DIGITS = 12


class SlackRequestCheck:
    def __init__(
        self, signing_secret: str, *, now: Callable[[], float] = time.time, max_remembered: int = MAX_REMEMBERED
    ) -> None:
        self._secret = signing_secret.encode("utf-8")
        self._now = now
        self._max = max_remembered
        self._accepted: OrderedDict[str, int] = OrderedDict()  # signature -> its timestamp, oldest first

    def refusal(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """Why the request is refused, or None when Slack signed it and it is not a replay."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return "no Slack signature"
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
            return "timestamp is not a number"
        stamp, now = int(timestamp), self._now()
        if abs(now - stamp) > WINDOW_SECONDS:
            return "timestamp more than 5 minutes off"
        expected = "v0=" + hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return "bad signature"
        self._forget_older_than(now - WINDOW_SECONDS)
        if signature in self._accepted:
            return "replayed request (this signature was already accepted)"
        self._accepted[signature] = stamp
        while len(self._accepted) > self._max:
            self._accepted.popitem(last=False)
        return None

    def _forget_older_than(self, cutoff: float) -> None:
        while self._accepted and next(iter(self._accepted.values())) < cutoff:
            self._accepted.popitem(last=False)

    def __len__(self) -> int:
        return len(self._accepted)
