"""The one timestamp format paperbot writes and reads: UTC, ISO 8601, to the second, `Z`.

Why this module exists: the store's rows (`added_at`, deliveries, failures),
the arXiv cursors, `status --json`, digests and notes all keep times as text
and compare or read them back. Written by four hands they would drift (an
offset instead of `Z`, microseconds, local time); written here they cannot.

- `iso(moment)`: `2025-06-08T09:30:00Z`, whatever zone `moment` is in.
- `parse_iso(text)`: the aware datetime back (`Z` or any offset; no offset
  means UTC); `ValueError` for anything else. `parse_iso_or_none` is the
  lenient read for stored values that may be missing or hand-edited.
- `shown(moment)`: the same instant for people, `2025-06-08 09:30:00 UTC`.
- `iso_millis(seconds)`: a log line's time, to the millisecond.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(moment: datetime) -> str:
    """`moment` as the stored format: UTC, seconds, `Z`."""
    return moment.astimezone(timezone.utc).strftime(FORMAT)


def parse_iso(text: str) -> datetime:
    """The aware UTC datetime of a stored timestamp; ValueError when `text` is not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_iso_or_none(text: str | None) -> datetime | None:
    """`parse_iso(text)`, or None when `text` is empty or unreadable."""
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        return None


def shown(moment: datetime | str) -> str:
    """A timestamp (a datetime or its stored text) for people: `2025-06-08 09:30:00 UTC`."""
    text = moment if isinstance(moment, str) else iso(moment)
    return text.replace("T", " ").replace("Z", " UTC")


def iso_millis(seconds: float) -> str:
    """A Unix time as `2025-06-08T09:30:00.123Z` (log lines)."""
    millis = int((seconds - int(seconds)) * 1000)  # as logging computes `record.msecs`
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
