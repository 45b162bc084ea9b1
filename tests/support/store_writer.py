"""A second process that keeps writing papers into a store, for tests of what must work beside it.

    python -m tests.support.store_writer DB

Commits batches of `BATCH` new papers through the real store, one transaction each, and
after each commit prints how many papers it has committed so far. Runs until killed.
"""

from __future__ import annotations

import asyncio
import sys

from store.sqlite import SqliteStore
from tests.support import make_paper

BATCH = 20


async def write_forever(db: str) -> None:
    store = await SqliteStore.open(db)
    committed = 0
    while True:
        batch = [make_paper(f"2401.{committed + i:05d}", ("written",), published="2024-01") for i in range(BATCH)]
        await store.papers.upsert_papers(batch)
        committed += BATCH
        print(committed, flush=True)


if __name__ == "__main__":
    asyncio.run(write_forever(sys.argv[1]))
