"""How fast is the store at scale? Builds N synthetic papers and prints one table.

    .venv/bin/python benchmarks/store_bench.py                      # 1,000,000 papers, temp DB
    .venv/bin/python benchmarks/store_bench.py --papers 100000
    .venv/bin/python benchmarks/store_bench.py --db benchmarks/out/bench.db          # build and keep
    .venv/bin/python benchmarks/store_bench.py --db benchmarks/out/bench.db --reuse  # query an existing build
    .venv/bin/python benchmarks/store_bench.py --db postgresql://USER:PW@HOST/EMPTY_DB --papers 100000  # the PostgreSQL store

The papers are synthetic but shaped like arXiv: ~12-word titles, ~170-word
abstracts drawn from a Zipf-like vocabulary of 50,000 words, 2-6 authors, a
few topics, and ~5% of papers with Chinese notes. They go in through
`PaperStore.bulk_upsert` in batches of 5,000, the path the snapshot importer
uses. The load rate counts only the store's time (the papers are generated
first). Every query is timed through the store (`latest`/`search`, Paper
objects and all) and, as a floor, as one plain `sqlite3` statement:
`... ORDER BY published DESC, arxiv_id DESC LIMIT 10` for latest and
`... MATCH ? ORDER BY bm25(...) LIMIT 10` for search. The load floor is the
same schema, pragmas and FTS settings filled with the same rows (papers, their
index, topic memberships and notes) by plain `sqlite3` in one thread, on the
first `--floor-papers` papers: each batch made into rows (authors JSON, the
search columns) and written, all on the clock, as any loader of Paper objects
must; the table also gives the share of the store's rate to that floor's SQL
alone.

With a `postgresql://` --db (an empty database, or --reuse) the same papers go
through the PostgreSQL store (`store.postgres`, COPY per batch) and the same
queries are timed; the floor is then the store's own SQL sent through asyncpg
(ids only), so the gap is the store's reading of whole Paper objects.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.models import Notes, Paper  # noqa: E402
from bot.plugins import shown_location, store_scheme  # noqa: E402
from store.common.rows import NOTE_COLUMNS, PAPER_COLUMNS, TOPIC_MEMBER_COLUMNS, note_row, paper_row_tail  # noqa: E402
from store.sqlite import SqliteStore, schema  # noqa: E402
from store.sqlite.query import build_match_query  # noqa: E402
from store.sqlite.search import RANK_EXPRESSION  # noqa: E402

VOCABULARY_SIZE = 50_000
POOL_TOKENS = 8_000_000
BATCH = 5_000
TOPICS = ("reward-models", "vlm", "robotics", "autonomous-driving", "llm-agents")
# Real words planted at Zipf ranks chosen for their document frequency at 182 tokens a paper.
PLANTED = {
    30: "model",  # ~40% of papers
    60: "learning",  # ~23% of papers: the common-word query
    300: "reward",  # ~5%
    1_000: "alignment",  # ~1.5%
    2_000: "driving",
    40_000: "hyperbolic",  # a few hundred papers: the rare-word query
}
CHINESE_WORDS = (
    "自动驾驶 强化学习 奖励模型 视觉语言模型 大语言模型 多模态 数据集 基准测试 机器人 感知 规划 控制 "
    "推理 对齐 偏好 人类反馈 微调 预训练 蒸馏 检索 生成 评估 鲁棒性 泛化 效率 轨迹 场景 仿真 端到端 "
    "注意力 扩散模型 世界模型 智能体 工具调用 思维链 数学 代码 安全 幻觉 长上下文"
).split()
QUERIES = (
    ("search: rare word", "hyperbolic"),
    ("search: three words", "reward model alignment"),
    ("search: Chinese", "自动驾驶"),
    ("search: common word", "learning"),
)
# Multi-word searches by the document frequency of their words: ranks of the Zipf vocabulary
# (`word_at`), from ~90% of papers (rank 5) to 0.04% (rank 40,000, "hyperbolic"). Rare: the rarest
# word is in 0.04%; mixed: in 1.5-5%; common: every word is in 23% or more.
MULTI_WORD = (
    ("rare", (40_000, 30)), ("rare", (40_000, 10, 30)), ("rare", (40_000, 5, 10, 20, 30)),
    ("mixed", (300, 1_000)), ("mixed", (300, 30, 1_000)), ("mixed", (300, 10, 20, 30, 1_000)),
    ("common", (30, 60)), ("common", (10, 30, 60)), ("common", (5, 10, 20, 30, 60)),
)
TOPIC_FOR_LATEST = "robotics"
TARGET_MS = {"latest": 5.0, "search: common word": 50.0}
SELECTIVE_TARGET_MS = 20.0
TARGET_LOAD_SHARE = 0.9  # of the plain-sqlite3 floor, measured in the same run
TARGET_LOAD_RATE = 20_000  # PostgreSQL rows: an absolute anchor (no plain-client floor loads through its tsvector index faster)


def make_vocabulary(rng: random.Random) -> list[str]:
    syllables = "ka ri to mo ne su la vi de po xu an el or im quo ber tal gen dra chi sto tre pha ion".split()
    seen = set(PLANTED.values())
    words = []
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    for rank, word in PLANTED.items():
        words[rank - 1] = word
    return words


def word_at(rank: int, seed: int = 7) -> str:
    """The vocabulary word at a Zipf rank, as `PaperFactory(seed)` draws it (its first use of the rng)."""
    return make_vocabulary(random.Random(seed))[rank - 1]


class PaperFactory:
    """Synthetic papers; text is cut from one big Zipf-sampled token pool, which is fast."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        vocabulary = make_vocabulary(self.rng)
        cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, len(vocabulary) + 1)))
        self.pool = self.rng.choices(vocabulary, cum_weights=cumulative, k=POOL_TOKENS)
        first = [w.capitalize() for w in make_vocabulary(random.Random(seed + 1))[:2000]]
        last = [w.capitalize() for w in make_vocabulary(random.Random(seed + 2))[:5000]]
        self.names = [f"{self.rng.choice(first)} {self.rng.choice(last)}" for _ in range(20_000)]
        self.categories = ["cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO", "stat.ML", "eess.SY"]

    def words(self, count: int) -> str:
        start = self.rng.randrange(len(self.pool) - count)
        return " ".join(self.pool[start : start + count])

    def chinese(self, count: int) -> str:
        return "".join(self.rng.choice(CHINESE_WORDS) for _ in range(count)) + "。"

    def paper(self, index: int, total: int) -> Paper:
        rng = self.rng
        month = 120 * index // total  # ten years of months, in id order like arXiv
        year, month_of_year = 2015 + month // 12, month % 12 + 1
        number = index - (month * total + 119) // 120 + 1  # within its month, as arXiv numbers (valid up to 12M papers)
        notes: tuple[Notes, ...] = ()
        if rng.random() < 0.05:
            notes = (Notes("zh", headline=self.chinese(4), method=self.chinese(12), results=self.chinese(8)),)
        topics = tuple(t for t in TOPICS if rng.random() < 0.06)
        return Paper(
            arxiv_id=f"{year % 100:02d}{month_of_year:02d}.{number:05d}",
            title=self.words(rng.randint(8, 16)).capitalize(),
            version=rng.randint(1, 3),
            abstract=self.words(rng.randint(130, 210)).capitalize() + ".",
            authors=tuple(rng.sample(self.names, rng.randint(2, 6))),
            published=f"{year}-{month_of_year:02d}-{rng.randint(1, 28):02d}",
            categories=tuple(rng.sample(self.categories, rng.randint(1, 3))),
            topics=topics,
            notes=notes,
        )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def verdict(name: str, p95: float) -> str:
    """A query row's target: by the query's kind (the row name before its parenthesis)."""
    target = TARGET_MS.get(name.split(" (")[0], SELECTIVE_TARGET_MS)
    return f"p95 <= {target:g} ms {'ok' if p95 <= target else 'MISSED'}"


def timed(runs: int, call) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


async def timed_async(runs: int, call) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def floor_rows(papers: list[Paper], now: str, next_id: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rows `bulk_upsert` writes for these new papers (each already as the store admits it):
    their `papers` rows from `next_id` on, topic memberships and notes."""
    rows, members, notes = [], [], []
    for row_id, paper in enumerate(papers, start=next_id):
        rows.append((row_id, *paper_row_tail(paper, now)))
        members.extend((row_id, topic, now, paper.published, paper.arxiv_id) for topic in paper.topics)
        notes.extend(note_row(row_id, note) for note in paper.notes)
    return rows, members, notes


class PlainLoad:
    """The load floor's writer: plain sqlite3 in one thread, one transaction a batch, filling the
    store's schema (made by opening the store) with its pragmas and bulk FTS settings, and
    indexing each batch with one `INSERT ... SELECT` as the store does. Made by `plain_load`."""

    _INSERT = f"INSERT INTO papers ({', '.join(PAPER_COLUMNS)}) VALUES ({', '.join('?' * len(PAPER_COLUMNS))})"
    _FTS_COLUMNS = "title, abstract, authors, search_notes, search_cjk"
    _INDEX = f"INSERT INTO papers_fts (rowid, {_FTS_COLUMNS}) SELECT id, {_FTS_COLUMNS} FROM papers WHERE id >= ?"
    _MEMBER = (
        f"INSERT INTO paper_topics ({', '.join(TOPIC_MEMBER_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(TOPIC_MEMBER_COLUMNS))})"
    )
    _NOTE = f"INSERT INTO notes ({', '.join(NOTE_COLUMNS)}) VALUES ({', '.join('?' * len(NOTE_COLUMNS))})"

    def __init__(self, path: str, topics: Iterable[str]) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in schema.CONNECTION_PRAGMAS:
            self.conn.execute(pragma)
        for key, value in schema.FTS_BULK_SETTINGS.items():
            self.conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES (?, ?)", (key, value))
        self.conn.executemany("INSERT OR IGNORE INTO topics (name) VALUES (?)", [(name,) for name in sorted(topics)])

    def write(self, rows: list[tuple], members: list[tuple], notes: list[tuple]) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(self._INSERT, rows)
        conn.execute(self._INDEX, (rows[0][0],))
        conn.executemany(self._MEMBER, members)
        conn.executemany(self._NOTE, notes)
        conn.execute("COMMIT")

    def finish(self) -> None:
        """The merge `bulk_upsert` ends with (`optimize`), then close."""
        try:
            self.conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('optimize')")
        finally:
            self.conn.close()


async def plain_load(path: str, topics: Iterable[str]) -> PlainLoad:
    """A `PlainLoad` into a new database at `path`, its schema made by opening the store there."""
    store = await SqliteStore.open(path)
    await store.close()
    return PlainLoad(path, topics)


async def load_floor(path: str, papers: list[Paper]) -> tuple[float, float]:
    """The bulk load done the plain way, in one thread: each batch of `papers` made into the rows
    `bulk_upsert` writes (papers with their search columns, topic memberships, notes: the encoding
    any loader of Paper objects does) and written by `PlainLoad`, all on the clock. Returns
    papers/s, and the share of the time spent in SQL. What it leaves out is the store's own:
    its rules (`bot.merge`: limits, merging with stored copies) and its pipelining."""
    load = await plain_load(path, {topic for paper in papers for topic in paper.topics})
    return write_floor(load, (papers[first : first + BATCH] for first in range(0, len(papers), BATCH)), len(papers))


def write_floor(load: PlainLoad, batches: Iterable[Sequence[Paper]], limit: int) -> tuple[float, float]:
    """The rows of `batches` (their first `limit` papers) written by `load`, all on the clock, making
    the batches included (a generator is consumed inside it); then `load` is finished. Returns
    papers/s, and the share of the time spent in SQL."""
    now = "2025-01-01T00:00:00Z"
    written, in_sql = 0, 0.0
    start = time.perf_counter()
    try:
        for batch in batches:
            rows = floor_rows(batch[: limit - written], now, written + 1)
            began = time.perf_counter()
            load.write(*rows)
            in_sql += time.perf_counter() - began
            written += len(rows[0])
            if written >= limit:
                break
    finally:
        began = time.perf_counter()
        load.finish()
        in_sql += time.perf_counter() - began
    elapsed = time.perf_counter() - start
    return written / elapsed, in_sql / elapsed


async def build(path: str, total: int, floor_papers: int | None) -> tuple[float, float]:
    """Generate, then load through bulk_upsert; returns (papers/s, seconds)."""
    print(f"generating {total:,} papers ...", file=sys.stderr, flush=True)
    factory = PaperFactory()
    papers = [factory.paper(i, total) for i in range(total)]
    batches = [papers[i : i + BATCH] for i in range(0, total, BATCH)]
    if floor_papers is None:
        floor_papers = total
    if floor_papers:
        floor_path = path + ".floor"
        print(f"loading the first {min(floor_papers, total):,} through plain sqlite3 (floor) ...", file=sys.stderr, flush=True)
        rate, sql_share = await load_floor(floor_path, papers[:floor_papers])
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(floor_path + suffix):
                os.remove(floor_path + suffix)
        floor_meta = (f"{rate:.0f}", str(min(floor_papers, total)), f"{sql_share:.3f}")
    else:
        floor_meta = None
    print("loading ...", file=sys.stderr, flush=True)
    store = await SqliteStore.open(path)
    try:
        start = time.perf_counter()
        report = await store.papers.bulk_upsert(batches)
        seconds = time.perf_counter() - start
        assert report.new == total, report
        await store.papers.set_meta("bench.load_rate", f"{total / seconds:.0f}")
        await store.papers.set_meta("bench.load_seconds", f"{seconds:.1f}")
        if floor_meta:
            await store.papers.set_meta("bench.floor_rate", floor_meta[0])
            await store.papers.set_meta("bench.floor_papers", floor_meta[1])
            await store.papers.set_meta("bench.floor_sql_share", floor_meta[2])
    finally:
        await store.close()
    return total / seconds, seconds


def file_size(path: str) -> int:
    return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal", "-shm") if os.path.exists(path + suffix))


async def measure(path: str, runs: int) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    floor = sqlite3.connect(path)
    floor.execute("PRAGMA mmap_size = 1073741824")
    total = floor.execute("SELECT count(*) FROM papers").fetchone()[0]
    store = await SqliteStore.open(path)
    try:
        load_rate = await store.papers.get_meta("bench.load_rate")
        load_seconds = await store.papers.get_meta("bench.load_seconds")
        floor_rate = await store.papers.get_meta("bench.floor_rate")
        floor_papers = await store.papers.get_meta("bench.floor_papers")
        sql_share = float(await store.papers.get_meta("bench.floor_sql_share") or "nan")
        share = float(load_rate) / float(floor_rate) if load_rate and floor_rate else None
        rows.append(
            (
                "load (bulk_upsert, 5,000 a batch)",
                f"{float(load_rate):,.0f} papers/s ({load_seconds} s)" if load_rate else "n/a",
                f"{float(floor_rate):,.0f} papers/s (first {int(floor_papers):,}; {sql_share:.0%} of it SQL)"
                if floor_rate else "",
                f"{share:.2f} of the floor (>= {TARGET_LOAD_SHARE}: {'ok' if share >= TARGET_LOAD_SHARE else 'MISSED'}); "
                f"{share * sql_share:.2f} of its SQL alone" if share is not None else "",
            )
        )
        rows.append((f"database size ({total:,} papers)", f"{file_size(path) / 1e9:.2f} GB", "", ""))

        latest_sql = "SELECT id FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT 10"
        topic_sql = (
            "SELECT paper_id FROM paper_topics WHERE topic = ? ORDER BY published DESC, arxiv_id DESC LIMIT 10"
        )
        for name, call, floor_call in (
            ("latest", lambda: store.papers.latest(None, 10), lambda: floor.execute(latest_sql).fetchall()),
            (
                f"latest (topic {TOPIC_FOR_LATEST})",
                lambda: store.papers.latest(TOPIC_FOR_LATEST, 10),
                lambda: floor.execute(topic_sql, (TOPIC_FOR_LATEST,)).fetchall(),
            ),
        ):
            p50, p95 = await timed_async(runs, call)
            f50, f95 = timed(runs, floor_call)
            rows.append((name, f"{p50:.2f} / {p95:.2f} ms", f"{f50:.2f} / {f95:.2f} ms", verdict("latest", p95)))

        multi_word = [
            (f"search: {len(ranks)} words, {kind}", " ".join(word_at(rank) for rank in ranks)) for kind, ranks in MULTI_WORD
        ]
        for name, text in (*QUERIES, *multi_word):
            match = build_match_query(text)
            hits = floor.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", (match,)).fetchone()[0]
            floor_sql = f"SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY {RANK_EXPRESSION} LIMIT 10"
            found = await store.papers.search(text, limit=10)
            assert found, f"no results for {text!r}"
            p50, p95 = await timed_async(runs, lambda text=text: store.papers.search(text, limit=10))
            f50, f95 = timed(runs, lambda sql=floor_sql, match=match: floor.execute(sql, (match,)).fetchall())
            label = f"{name} '{text}' ({hits:,} hits, {100 * hits / total:.2g}%)"
            same = same_top_as_bm25(floor, match, [paper.arxiv_id for paper in found])
            rows.append(
                (label, f"{p50:.2f} / {p95:.2f} ms", f"{f50:.2f} / {f95:.2f} ms",
                 f"{verdict(name, p95)}; {'= bm25 top 10' if same else 'newest-slice top 10'}")
            )
    finally:
        await store.close()
        floor.close()
    return rows


async def build_postgres(url: str, total: int) -> float:
    """Load `total` papers into the empty PostgreSQL database at `url`; papers/s."""
    from store.postgres.store import PostgresStore

    print(f"generating {total:,} papers ...", file=sys.stderr, flush=True)
    factory = PaperFactory()
    papers = [factory.paper(i, total) for i in range(total)]
    store = await PostgresStore.open(url)
    try:
        if await store.papers.paper_count():
            raise SystemExit("store_bench: the PostgreSQL database already holds papers; give an empty one, or --reuse")
        print("loading ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        report = await store.papers.bulk_upsert(papers[i : i + BATCH] for i in range(0, total, BATCH))
        seconds = time.perf_counter() - start
        assert report.new == total, report
        await store.db.run(lambda conn: conn.execute("ANALYZE"))
        await store.papers.set_meta("bench.load_rate", f"{total / seconds:.0f}")
        await store.papers.set_meta("bench.load_seconds", f"{seconds:.1f}")
    finally:
        await store.close()
    return total / seconds


async def measure_postgres(url: str, runs: int) -> list[tuple[str, str, str, str]]:
    import asyncpg

    from store.postgres.search import RANK_WEIGHTS, query_terms, tsquery_sql
    from store.postgres.store import PostgresStore

    rows: list[tuple[str, str, str, str]] = []
    store = await PostgresStore.open(url)
    floor = await asyncpg.connect(url)
    try:
        total = await store.papers.paper_count()
        load_rate = await store.papers.get_meta("bench.load_rate")
        load_seconds = await store.papers.get_meta("bench.load_seconds")
        rows.append(
            (
                "load (bulk_upsert, 5,000 a batch)",
                f"{float(load_rate):,.0f} papers/s ({load_seconds} s)" if load_rate else "n/a", "",
                f">= {TARGET_LOAD_RATE:,}/s {'ok' if load_rate and float(load_rate) >= TARGET_LOAD_RATE else 'MISSED'}",
            )
        )  # fmt: skip
        size = await floor.fetchval("SELECT pg_database_size(current_database())")
        rows.append((f"database size ({total:,} papers)", f"{size / 1e9:.2f} GB", "", ""))

        latest_sql = "SELECT id FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT 10"
        topic_sql = "SELECT paper_id FROM paper_topics WHERE topic = $1 ORDER BY published DESC, arxiv_id DESC LIMIT 10"
        for name, call, floor_call in (
            ("latest", lambda: store.papers.latest(None, 10), lambda: floor.fetch(latest_sql)),
            (
                f"latest (topic {TOPIC_FOR_LATEST})",
                lambda: store.papers.latest(TOPIC_FOR_LATEST, 10),
                lambda: floor.fetch(topic_sql, TOPIC_FOR_LATEST),
            ),
        ):
            p50, p95 = await timed_async(runs, call)
            f50, f95 = await timed_async(runs, floor_call)
            rows.append((name, f"{p50:.2f} / {p95:.2f} ms", f"{f50:.2f} / {f95:.2f} ms", verdict("latest", p95)))

        for name, text in QUERIES:
            tsquery, params = tsquery_sql(query_terms(text), first_param=1)
            hits = await floor.fetchval(f"SELECT count(*) FROM papers WHERE search @@ {tsquery}", *params)
            floor_sql = (
                f"SELECT p.id FROM papers AS p, (SELECT {tsquery} AS query) AS q WHERE p.search @@ q.query "
                f"ORDER BY ts_rank({RANK_WEIGHTS}, p.search, q.query) DESC, p.id DESC LIMIT 10"
            )
            assert await store.papers.search(text, limit=10), f"no results for {text!r}"
            p50, p95 = await timed_async(runs, lambda text=text: store.papers.search(text, limit=10))
            f50, f95 = await timed_async(runs, lambda sql=floor_sql, values=params: floor.fetch(sql, *values))
            label = f"{name} '{text}' ({hits:,} hits, {100 * hits / total:.2g}%)"
            rows.append((label, f"{p50:.2f} / {p95:.2f} ms", f"{f50:.2f} / {f95:.2f} ms", verdict(name, p95)))
    finally:
        await floor.close()
        await store.close()
    return rows


def same_top_as_bm25(conn: sqlite3.Connection, match: str, arxiv_ids: list[str]) -> bool:
    """Whether these papers are plain bm25's top ones for `match`: the same scores in the same order
    (compared by score, so papers tied on score may come in either order)."""
    floor_sql = f"SELECT {RANK_EXPRESSION} FROM papers_fts WHERE papers_fts MATCH ? ORDER BY {RANK_EXPRESSION} LIMIT ?"
    expected = [score for (score,) in conn.execute(floor_sql, (match, len(arxiv_ids)))]
    scored = dict(
        conn.execute(
            f"SELECT p.arxiv_id, {RANK_EXPRESSION} FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
            f"WHERE papers_fts MATCH ? AND p.arxiv_id IN (SELECT value FROM json_each(?))",
            (match, json.dumps(arxiv_ids)),
        )
    )
    got = [scored.get(arxiv_id) for arxiv_id in arxiv_ids]
    if len(got) != len(expected):
        return False
    return all(a is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(got, expected, strict=True))


def print_table(rows: list[tuple[str, str, str, str]], header: tuple[str, str, str, str]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1_000_000, help="papers to generate (default 1,000,000)")
    parser.add_argument(
        "--db", help="database file (default: a temp file, deleted afterwards), or a postgresql:// URL of an empty database"
    )
    parser.add_argument("--reuse", action="store_true", help="query an existing --db instead of building it")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query (default 50)")
    parser.add_argument(
        "--floor-papers", type=int,
        help="papers for the plain-sqlite3 load floor (default: all, as many as the store loads; 0: skip)",
    )
    args = parser.parse_args()

    if args.db and store_scheme(args.db) in ("postgresql", "postgres"):
        if not args.reuse:
            await build_postgres(args.db, args.papers)
        load_before = os.getloadavg()
        rows = await measure_postgres(args.db, args.runs)
        print(
            f"store_bench: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"PostgreSQL store at {shown_location(args.db)}, Python {sys.version.split()[0]}, "
            f"1-min load average {load_before[0]:.2f} before the queries, {os.getloadavg()[0]:.2f} after"
        )
        print_table(rows, ("what", "store p50 / p95", "asyncpg floor p50 / p95", "target"))
        return 0

    temp_dir = None
    if args.db:
        path = args.db
    else:
        temp_dir = tempfile.TemporaryDirectory(prefix="store_bench_", dir=os.environ.get("TMPDIR", "/tmp"))
        path = os.path.join(temp_dir.name, "bench.db")
    try:
        if not (args.reuse and os.path.exists(path)):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            await build(path, args.papers, args.floor_papers)
        load_before = os.getloadavg()
        rows = await measure(path, args.runs)
        print(
            f"store_bench: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, "
            f"1-min load average {load_before[0]:.2f} before the queries, {os.getloadavg()[0]:.2f} after"
        )
        print_table(rows, ("what", "store p50 / p95", "sqlite3 floor p50 / p95", "target"))
    finally:
        if temp_dir is not None:
            temp_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
