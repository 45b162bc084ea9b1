"""Lookup latency on any existing store, for stores store_bench.py did not build (a snapshot import).

    .venv/bin/python benchmarks/snapshot_bench.py --lines 2800000 --db /path/snap.db   # build one
    .venv/bin/python benchmarks/lookup_bench.py /path/snap.db [--runs 30] [--topic NAME] [--query TEXT ...]

Why apart from store_bench.py: its `--reuse` queries words of its own synthetic
vocabulary, which a store filled from snapshot lines does not hold. This opens
the store read-only, as a lookup does, and times `latest` (whole store and one
topic) and `search` for the queries given (default: words the snapshot bench's
lines use), printing p50/p95 beside the targets store_bench.py uses.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from store.sqlite import SqliteStore

TARGET_MS = {"latest": 5.0, "search": 20.0, "search: common word": 50.0}
# (query, target kind): words the snapshot bench's lines hold; 'learning' is in most of its papers.
DEFAULT_QUERIES = (("reward model", "search"), ("driving", "search"), ("learning", "search: common word"))


async def timed(runs: int, call) -> tuple[float, float, int]:
    found = len(await call())  # warm the cache once, as a serving bot's is
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)], found


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--topic", default="reward-model-vlm")
    parser.add_argument("--query", action="append", help="a search to time (repeatable)")
    args = parser.parse_args()
    store = await SqliteStore.open(args.db, read_only=True)
    try:
        total = await store.papers.paper_count()
        print(f"lookup_bench: {args.db}, {total:,} papers, {args.runs} runs each")
        print(f"{'what':45s}  {'p50 / p95':>20s}  {'results':>7s}  target")
        cases = [("latest", "latest", lambda: store.papers.latest(None, 10)),
                 (f"latest (topic {args.topic})", "latest", lambda: store.papers.latest(args.topic, 10))]  # fmt: skip
        for text, kind in [(text, "search") for text in args.query or ()] or DEFAULT_QUERIES:
            cases.append((f"search {text!r}", kind, lambda text=text: store.papers.search(text, limit=10)))
        for name, kind, call in cases:
            p50, p95, found = await timed(args.runs, call)
            target = TARGET_MS[kind]
            verdict = f"p95 <= {target:g} ms {'ok' if p95 <= target else 'MISSED'}"
            print(f"{name:45s}  {f'{p50:.2f} / {p95:.2f} ms':>20s}  {found:>7}  {verdict}")
    finally:
        await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
