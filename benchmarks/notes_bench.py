"""How fast does the store find the papers that still need machine notes? Prints one table.

    .venv/bin/python benchmarks/notes_bench.py                  # 200,000 papers, temp DB
    .venv/bin/python benchmarks/notes_bench.py --papers 1000000

`papers_needing_notes` walks the `published` index newest first and skips
papers that already have notes in the language (one primary-key probe into
`notes` and one into `note_attempts` per paper). Its cost therefore grows
with how many of the newest papers already have notes: the worst case is a
fully backfilled store, where it reads the whole index to find nothing. This
measures that curve: the store is built once without notes, then the newest
0%, 50%, 99% and 100% of papers get notes (written straight into the `notes`
table; the query is what is timed, not the writing), and each step times the
query a service run makes (daily budget 100 -> LIMIT 101), over all papers
and for one topic (a fifth of the papers).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.models import Paper  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402

TOPICS = ("reward-models", "vlm", "robotics", "autonomous-driving", "llm-agents")
BATCH = 5_000
REPEATS = 5


def synthetic(count: int):
    for start in range(0, count, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, count)):
            day = 1 + i % 28
            month = 1 + (i // 28) % 12
            year = 2000 + i // (28 * 12)
            batch.append(Paper(
                arxiv_id=f"{year % 100:02d}{month:02d}.{i:06d}", title=f"Paper {i} on reward models",
                abstract="We propose a method. It improves results by 3%.", authors=("A. Author",),
                published=f"{year}-{month:02d}-{day:02d}", topics=(TOPICS[i % len(TOPICS)],),
            ))  # fmt: skip
        yield batch


def add_notes_to_newest(path: Path, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO notes (paper_id, lang, source, headline, origin, text_quality, created_at) "
            "SELECT id, 'en', 'llm', 'A headline', 'bench', 'clean', '2025-06-01T00:00:00Z' FROM papers "
            "ORDER BY published DESC, arxiv_id DESC LIMIT ?",
            (count,),
        )


async def timed(store: SqliteStore, topic: str | None) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        found = len(await store.notes.papers_needing_notes("en", topic, 101))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes-bench.db"
        store = await SqliteStore.open(path)
        start = time.perf_counter()
        await store.papers.bulk_upsert(synthetic(args.papers))
        print(f"built {args.papers:,} papers in {time.perf_counter() - start:.1f} s ({sqlite3.sqlite_version=})")
        await store.close()
        print(f"{'newest with notes':>18} | {'all topics: ms':>14} | {'found':>5} | {'one topic: ms':>13} | {'found':>5}")
        for share in (0.0, 0.5, 0.99, 1.0):
            add_notes_to_newest(path, int(args.papers * share))
            store = await SqliteStore.open(path)
            (all_ms, all_found), (topic_ms, topic_found) = await timed(store, None), await timed(store, TOPICS[0])
            await store.close()
            print(f"{share:>18.0%} | {all_ms:>14.1f} | {all_found:>5} | {topic_ms:>13.1f} | {topic_found:>5}")


if __name__ == "__main__":
    asyncio.run(main())
