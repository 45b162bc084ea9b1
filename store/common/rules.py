"""What both stores decide the same way, in Python rather than SQL: limits, sampling, budgets.

Why this module exists: a few rules of the store's parts are not SQL at all
(how many papers a read may return, how a random sample of row ids is drawn,
how many candidates to ask the index for, the key of the daily notes
budget); the SQLite and the PostgreSQL parts apply them from here, so they
cannot drift apart.
"""

from __future__ import annotations

import random
from typing import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, TypeVar

T = TypeVar("T")

MAX_LIMIT = 1000
# The daily notes budget is a counter in `meta` under this prefix plus the UTC day (YYYY-MM-DD).
BUDGET_KEY_PREFIX = "notes.spent."
# Candidates are re-ranked by the model and filtered (shown before, too old) after
# the index ranks them: ask the index for this many times the papers wanted.
CANDIDATE_OVERFETCH = 2
# Draw a few more ids than asked, so a sample rarely needs a second round for gaps.
OVERDRAW = 1.05
_MAX_ROUNDS = 8


def clamp_limit(limit: object, default: int = 5) -> int:
    """A result count a read may use: `default` for anything but an int, else within 0..MAX_LIMIT."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        return default
    return max(0, min(limit, MAX_LIMIT))


async def each(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    """The items of a plain or an async iterable (the batches of a bulk load may come either way)."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def draw_ids(
    rng: random.Random, low: int, high: int, size: int, existing: Callable[[list[int]], Awaitable[set[int]]]
) -> list[int]:
    """`size` distinct existing row ids drawn uniformly from [low, high]; `existing` says which of some
    ids are rows (ids a gap swallows are drawn again, in at most a few rounds)."""
    chosen: dict[int, None] = {}
    tried: set[int] = set()
    for _ in range(_MAX_ROUNDS):
        missing = size - len(chosen)
        if missing <= 0:
            break
        room = high - low + 1 - len(tried)
        draws: list[int] = []
        while len(draws) < min(room, int(missing * OVERDRAW) + 8):
            row_id = rng.randint(low, high)
            if row_id not in tried:
                tried.add(row_id)
                draws.append(row_id)
        if not draws:
            break
        found = await existing(draws)
        for row_id in draws:
            if row_id in found and len(chosen) < size:
                chosen[row_id] = None
    return list(chosen)
