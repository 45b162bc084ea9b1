"""How fast does `paperbot import` load the arXiv metadata snapshot? Prints one table.

    .venv/bin/python benchmarks/snapshot_bench.py                       # 1,000,000 lines, generated, then imported
    .venv/bin/python benchmarks/snapshot_bench.py --lines 100000
    .venv/bin/python benchmarks/snapshot_bench.py --reuse-file          # import the file generated last time
    .venv/bin/python benchmarks/snapshot_bench.py --gzip                # the same, as .jsonl.gz

The file is synthetic but in the snapshot's format and shape: ~12-word titles
and ~170-word abstracts with the snapshot's hard line wraps, 2-6 authors as
both `authors` and `authors_parsed` (some with LaTeX accents), 1-3
categories, comments (some with a GitHub link), 1-3 versions, ~5% old-style
ids (`hep-th/9901001`), ~30% abstracts with LaTeX math, ~5% with a GitHub link
at the end, ~3% with non-ASCII letters, and planted phrases so the
topics match a realistic few percent. It is written to
`benchmarks/out/` (gitignored) in a child process, so the generator's memory
is not counted.

The import is `bot.ingest.snapshot.import_snapshot`, the function behind
`paperbot import`, into a fresh temp store (FTS index included), with the
topics of `config/paperbot.toml` plus one more. Papers/s is the import's wall
time. RSS is sampled after every batch (shown every ~100k lines) and by a
50 ms background sampler for the peak. A second, "parse only" run feeds the
same importer a store that drops the batches: it is the cost of our side
(reading, JSON, mapping, topic matching), so the rest of the wall time is the
store's (`bulk_upsert`: its Python preparation plus SQLite/FTS5 work). The
floor does the same work the plain way, in one thread of a child process: the
importer's own reader (`read_batches`: the file, its JSON, the mapping) and
each batch's rows written by plain `sqlite3` into the same schema
(`store_bench.PlainLoad`: same rows, indexes and FTS settings), everything on
the clock; the import should beat it by parsing in its worker process while
SQLite indexes. `--floor-papers N` limits it to the first N papers.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.ingest.snapshot import BATCH_SIZE, SnapshotProgress, import_snapshot, read_batches  # noqa: E402
from bot.models import Topic, UpsertReport  # noqa: E402
from bot.progress import SilentProgress  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
TARGET_RATE = 20_000
SAMPLE_EVERY = 100_000
EXTRA_TOPIC = Topic(
    "autonomous-driving",
    "Autonomous driving",
    '(abs:"autonomous driving" OR ti:driving) AND (abs:planning OR abs:perception OR abs:trajectory)',
    ("cs.CV", "cs.RO", "cs.LG"),
)

# --- the synthetic snapshot ---------------------------------------------------------------

VOCABULARY = 40_000
POOL = 4_000_000
SYLLABLES = "ka ri to mo ne su la vi de po xu an el or im quo ber tal gen dra chi sto tre pha ion".split()
COMMON = (
    "the of and a to in we is for that on with this by model learning data method results our are "
    "as be from an which show propose approach network performance can task training"
).split()
PLANTED = (
    (0.03, "reward model"), (0.03, "preference"), (0.03, "vision-language"), (0.02, "VLM"),
    (0.02, "autonomous driving"), (0.03, "planning"), (0.02, "trajectory"), (0.02, "perception"),
)  # fmt: skip
NON_ASCII = ("Schrödinger", "naïve", "Poincaré", "Erdős", "α-stable", "Møller")
LATEX = ("$\\alpha$", "$\\mathcal{O}(n^2)$", "\\emph{exactly}", "$\\sqrt{s}=13$ TeV", "$\\ell_1$-norm", "$10^{-3}$")
CATEGORIES = (
    "cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO", "stat.ML", "hep-th", "hep-ph", "math.GT",
    "quant-ph", "astro-ph.GA", "cond-mat.str-el", "math.PR", "eess.SY",
)  # fmt: skip
OLD_ARCHIVES = ("hep-th", "hep-ph", "math.GT", "cond-mat", "astro-ph", "quant-ph")
LATEX_LAST = ('M\\"uller', "Bal\\'azs", "Sch{\\\"o}lkopf", "Ben\\'{\\i}tez", "P\\v{c}elar")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _word(rng: random.Random, seen: set[str]) -> str:
    while True:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            return word


class SnapshotFactory:
    """Snapshot lines; text is cut from one Zipf-sampled token pool, which is fast."""

    def __init__(self, seed: int = 11) -> None:
        rng = self.rng = random.Random(seed)
        seen: set[str] = set(COMMON)
        vocabulary = COMMON + [_word(rng, seen) for _ in range(VOCABULARY - len(COMMON))]
        weights = [1.0 / rank for rank in range(1, len(vocabulary) + 1)]
        self.pool = rng.choices(vocabulary, weights=weights, k=POOL)
        self.first = [_word(rng, seen).capitalize() for _ in range(1500)]
        self.last = [_word(rng, seen).capitalize() for _ in range(4000)]
        self.encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def words(self, count: int) -> list[str]:
        start = self.rng.randrange(POOL - count)
        return self.pool[start : start + count]

    def abstract(self) -> str:
        rng = self.rng
        words = self.words(rng.randint(130, 210))
        for probability, phrase in PLANTED:
            if rng.random() < probability:
                words.insert(rng.randrange(len(words)), phrase)
        if rng.random() < 0.03:
            words.insert(rng.randrange(len(words)), rng.choice(NON_ASCII))
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 4)):
                words.insert(rng.randrange(len(words)), rng.choice(LATEX))
        if rng.random() < 0.05:
            words += ["Code", "is", "available", "at", f"https://github.com/{rng.choice(self.last).lower()}/{rng.choice(self.last).lower()}"]
        words[0] = words[0].capitalize()
        # The snapshot's shape: two leading spaces, lines wrapped near 80 columns, a final newline.
        lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        return "  " + "\n".join(lines) + ".\n"

    def title(self) -> str:
        rng = self.rng
        words = self.words(rng.randint(8, 16))
        if rng.random() < 0.02:
            words.insert(rng.randrange(len(words)), "Driving")
        text = " ".join(words).capitalize()
        if len(text) > 70:
            cut = text.rfind(" ", 0, 70)
            text = text[:cut] + "\n  " + text[cut + 1 :]
        return text

    def authors(self) -> tuple[str, list[list[str]]]:
        rng = self.rng
        parsed = []
        for _ in range(rng.randint(2, 6)):
            last = rng.choice(LATEX_LAST) if rng.random() < 0.03 else rng.choice(self.last)
            first = f"{rng.choice(self.first)[0]}." if rng.random() < 0.5 else rng.choice(self.first)
            parsed.append([last, first, ""])
        names = [f"{first} {last}" for last, first, _ in parsed]
        text = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        return text, parsed

    def created(self, year: int, month: int) -> str:
        rng = self.rng
        day = rng.randint(1, 28)
        return (
            f"{rng.choice(DAYS)}, {day} {MONTHS[month - 1]} {year} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} GMT"
        )

    def arxiv_id(self, index: int, old_index: int, old: bool) -> tuple[str, int, int]:
        if old:
            archive = OLD_ARCHIVES[old_index % len(OLD_ARCHIVES)]
            serial = old_index // len(OLD_ARCHIVES)
            month = serial // 1000
            year, month_of_year = 1992 + month // 12, month % 12 + 1
            return f"{archive}/{year % 100:02d}{month_of_year:02d}{serial % 1000:03d}", year, month_of_year
        month = index // 20_000
        year, month_of_year = 2008 + month // 12, month % 12 + 1
        return f"{year % 100:02d}{month_of_year:02d}.{index % 20_000:05d}", year, month_of_year

    def line(self, index: int, old_index: int, old: bool) -> str:
        rng = self.rng
        arxiv_id, year, month = self.arxiv_id(index, old_index, old)
        authors, parsed = self.authors()
        comment = None
        if rng.random() < 0.6:
            comment = f"{rng.randint(4, 40)} pages, {rng.randint(1, 12)} figures"
            if rng.random() < 0.12:
                comment += f"; code: https://github.com/{rng.choice(self.last).lower()}/{rng.choice(self.last).lower()}"
        versions = [{"version": "v1", "created": self.created(year, month)}]
        for number in range(2, rng.choice((1, 1, 1, 2, 2, 3)) + 1):
            versions.append({"version": f"v{number}", "created": self.created(min(year + 1, 2030), month)})
        record = {
            "id": arxiv_id,
            "submitter": parsed[0][1] + " " + parsed[0][0],
            "authors": authors,
            "title": self.title(),
            "comments": comment,
            "journal-ref": f"Phys.Rev.D{rng.randint(50, 110)}:{rng.randint(1000, 99999)},{year}" if rng.random() < 0.2 else None,
            "doi": f"10.1103/PhysRevD.{rng.randint(50, 110)}.{rng.randint(1000, 99999)}" if rng.random() < 0.25 else None,
            "report-no": None,
            "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 3))),
            "license": None,
            "abstract": self.abstract(),
            "versions": versions,
            "update_date": f"{min(year + 1, 2030)}-{month:02d}-{rng.randint(1, 28):02d}",
            "authors_parsed": parsed,
        }
        return self.encode(record)


def generate(path: str, lines: int, compress: bool) -> None:
    """Write `lines` snapshot lines to `path` (runs in a child process)."""
    factory = SnapshotFactory()
    temp = path + ".part"
    opener = (lambda p: gzip.open(p, "wt", encoding="utf-8", compresslevel=3)) if compress else (
        lambda p: open(p, "w", encoding="utf-8")
    )
    old_index = 0
    with opener(temp) as out:
        chunk: list[str] = []
        for index in range(lines):
            old = factory.rng.random() < 0.05
            chunk.append(factory.line(index, old_index, old))
            old_index += old
            if len(chunk) == 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            out.write("\n".join(chunk) + "\n")
    os.replace(temp, path)


# --- measuring ----------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class PeakSampler(threading.Thread):
    """Current RSS every 50 ms, so a short spike between batches still shows in the peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self.stopping.set()
        self.join()
        return max(self.peak, rss_mb())


class NullStore:
    """Takes every batch and drops it: an import through it costs only the importer's side."""

    async def bulk_upsert(self, batches) -> UpsertReport:
        count = 0
        async for batch in batches:
            count += len(batch)
        return UpsertReport(new=count)


def floor_rate(path: str, topics: list[Topic], count: int, db_path: str, answer: Any) -> None:
    """In a child process (its memory is not the import's): the floor of the import, in one thread.
    The importer's own reader (`read_batches`: reading, JSON, mapping, limits, topic matching) and
    the rows of each batch's first `count` papers written by plain sqlite3 into the same schema
    (`store_bench.PlainLoad`), all on the clock. Answers (papers/s, share of the time in SQL)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from store_bench import plain_load, write_floor

    load = asyncio.run(plain_load(db_path, [topic.name for topic in topics]))
    try:
        answer.put(write_floor(load, read_batches(path, topics, BATCH_SIZE, SnapshotProgress()), count))
    finally:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db_path + suffix):
                os.remove(db_path + suffix)


def db_size(path: str) -> int:
    return sum(os.path.getsize(path + s) for s in ("", "-wal", "-shm") if os.path.exists(path + s))


async def run_import(path: str, topics: list[Topic], store, label: str) -> tuple:
    samples: list[tuple[int, float]] = []
    next_sample = [SAMPLE_EVERY]

    def on_batch(progress: SnapshotProgress) -> None:
        if progress.lines >= next_sample[0]:
            samples.append((progress.lines, rss_mb()))
            next_sample[0] += SAMPLE_EVERY

    print(f"{label} ...", file=sys.stderr, flush=True)
    sampler = PeakSampler()
    sampler.start()
    start_rss = rss_mb()
    result = await import_snapshot(store, path, topics, progress=SilentProgress(), on_batch=on_batch)
    peak = sampler.stop()
    return result, samples, start_rss, peak


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"{'what'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * max(len(v) for _, v in rows)}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the synthetic file (default 1,000,000)")
    parser.add_argument("--file", help="snapshot file (default benchmarks/out/snapshot-<lines>.jsonl[.gz])")
    parser.add_argument("--reuse-file", action="store_true", help="import the existing file instead of generating it")
    parser.add_argument("--gzip", action="store_true", help="generate and import a .jsonl.gz")
    parser.add_argument("--keep-file", action="store_true", help="keep the generated file afterwards")
    parser.add_argument("--no-parse-only", action="store_true", help="skip the parse-only (null store) run")
    parser.add_argument("--db", help="database file (default: a temp file, deleted afterwards)")
    parser.add_argument(
        "--floor-papers", type=int,
        help="papers for the plain-sqlite3 floor, run before the import (default: all, as many as the import; 0: skip)",
    )
    args = parser.parse_args()

    suffix = ".jsonl.gz" if args.gzip else ".jsonl"
    path = args.file or str(OUT / f"snapshot-{args.lines}{suffix}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    generated = False
    if not (args.reuse_file and os.path.exists(path)):
        free = shutil.disk_usage(Path(path).parent).free
        if free < args.lines * 4_000:  # file ~1.6 KB a line, database ~2 KB a paper
            print(f"not enough disk space in {Path(path).parent}: {free / 1e9:.1f} GB free", file=sys.stderr)
            return 1
        print(f"generating {args.lines:,} lines into {path} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=generate, args=(path, args.lines, args.gzip))
        child.start()
        child.join()
        if child.exitcode:
            return 1
        generated = True
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    config = load_config(str(ROOT / "config" / "paperbot.toml"), explicit=True)
    topics = [*config.topic_list(), EXTRA_TOPIC]

    from store.sqlite import SqliteStore

    temp_dir = None
    if args.db:
        db_path = args.db
        for s in ("", "-wal", "-shm"):
            if os.path.exists(db_path + s):
                os.remove(db_path + s)
    else:
        temp_dir = tempfile.TemporaryDirectory(prefix="snapshot_bench_", dir=os.environ.get("TMPDIR", "/tmp"))
        db_path = os.path.join(temp_dir.name, "bench.db")
    try:
        parse_only = None
        if not args.no_parse_only:
            parse_only, _, _, _ = await run_import(path, topics, NullStore(), "parse only (null store)")
        floor = None
        floor_papers = sys.maxsize if args.floor_papers is None else args.floor_papers
        if floor_papers:
            print("plain sqlite3 into the same schema (floor) ...", file=sys.stderr, flush=True)
            context = multiprocessing.get_context("spawn")
            answer = context.Queue()
            child = context.Process(target=floor_rate, args=(path, topics, floor_papers, db_path + ".floor", answer))
            child.start()  # not a pool: the importer starts its own worker process, which a pool's daemon may not
            floor = answer.get()
            child.join()
        store = await SqliteStore.open(db_path)
        try:
            await store.papers.upsert_topics(topics)
            result, samples, start_rss, peak = await run_import(path, topics, store.papers, "import into a fresh store")
        finally:
            await store.close()
        size = db_size(db_path)
    finally:
        if temp_dir is not None:
            temp_dir.cleanup()
        if generated and not args.keep_file:
            os.remove(path)

    ok = "ok" if result.rate >= TARGET_RATE else "MISSED"
    rows = [
        ("file", f"{os.path.basename(path)} ({result.lines:,} lines)"),
        ("papers imported", f"{result.papers:,} ({result.stored.new:,} new, {result.skipped_count:,} skipped)"),
        ("import wall time (FTS index included)", f"{result.elapsed:.1f} s"),
        ("import rate", f"{result.rate:,.0f} papers/s (target >= {TARGET_RATE:,}: {ok})"),
    ]
    if floor is not None:
        floor_papers_per_s, sql_share = floor
        rows.append(
            (
                "floor: same reader + plain sqlite3, one thread",
                f"{floor_papers_per_s:,.0f} papers/s (first {min(floor_papers, result.papers):,}; {sql_share:.0%} of it SQL); "
                f"the import is {result.rate / floor_papers_per_s:.2f} of it",
            )
        )
    if parse_only is not None:
        share = parse_only.elapsed / result.elapsed
        rows.append(
            (
                "parse only (null store): our side",
                f"{parse_only.elapsed:.1f} s, {parse_only.rate:,.0f} papers/s ({share:.0%} of the import's wall time)",
            )
        )
        rows.append(("rest: store (bulk_upsert) not overlapped", f"{result.elapsed - parse_only.elapsed:.1f} s"))
    rows.append(("RSS at start / peak", f"{start_rss:.0f} MB / {peak:.0f} MB"))
    rows.append(("RSS by lines read", ", ".join(f"{lines // 1000}k: {mb:.0f}" for lines, mb in samples) + " MB"))
    rows.append(("database size", f"{size / 1e9:.2f} GB"))
    for name, count in result.topic_matches.items():
        rows.append((f"topic {name}", f"{count:,} papers ({count / max(result.papers, 1):.1%})"))
    print_table(rows)
    return 0 if ok == "ok" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
