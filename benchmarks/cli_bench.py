"""How long does a person wait for `paperbot latest/search/show/topics`? Whole processes, timed.

    .venv/bin/python benchmarks/cli_bench.py                                  # a 23-paper store built here
    .venv/bin/python benchmarks/cli_bench.py --db /work/benchdata/bench1m.db  # and a big one (store_bench.py --db ... builds it)

Each lookup is run as the `paperbot` command a user types (a new interpreter each time, start-up,
config file and store included), `--runs` times after one warm-up run, and printed as median and
p95 of the wall time beside two floors: `python -c pass` with the same interpreter (the start-up no
Python program avoids) and the same query done by the `sqlite3` command, or, where this machine has
no `sqlite3` binary, by a `python -c` script with the stdlib `sqlite3` module (Python 3.11 has no
`python -m sqlite3` shell). The small store is synthetic papers from `store_bench.PaperFactory`
loaded through the store; the config is the shipped `config/paperbot.toml`. Byte-code is written
on the warm-up run (PYTHONDONTWRITEBYTECODE is cleared for the children), as an installed package has it,
and so is the config's stamp (`bot.settings`: the config model accepted this file, so lookups skip it),
in a cache folder of this run's own (XDG_CACHE_HOME), as any earlier paperbot command would have left it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from store_bench import PaperFactory, percentile, print_table  # noqa: E402

from store.sqlite import SqliteStore  # noqa: E402
from store.sqlite.query import build_match_query  # noqa: E402
from store.sqlite.search import RANK_EXPRESSION  # noqa: E402

SEARCH_WORDS = "reward model alignment"
SMALL_STORE_PAPERS = 23
TARGET_MS = 100.0


def paperbot_command() -> list[str]:
    """The installed `paperbot` script next to this interpreter, else `python -m bot`."""
    script = Path(sys.executable).with_name("paperbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def build_small_store(path: str, papers: int) -> None:
    factory = PaperFactory()
    store = await SqliteStore.open(path)
    try:
        await store.papers.bulk_upsert([[factory.paper(i, papers) for i in range(papers)]])
    finally:
        await store.close()


def floor_script(sql: str, parameters: tuple[str, ...]) -> list[str]:
    """The query as a process without paperbot: the sqlite3 shell, else a python -c with sqlite3."""
    script = f"import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute({sql!r}, {parameters!r}).fetchall())"
    return [sys.executable, "-c", script]


def lookups(db: str) -> list[tuple[str, list[str], str, tuple[str, ...]]]:
    """(name, paperbot words, the same query as SQL, its parameters) for each lookup."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        newest = conn.execute("SELECT arxiv_id FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT 1").fetchone()[0]
    finally:
        conn.close()
    return [
        ("latest --count 1", ["latest", "--count", "1"],
         "SELECT arxiv_id, title, abstract FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT 1", ()),
        (f"search '{SEARCH_WORDS}'", ["search", SEARCH_WORDS],
         f"SELECT p.arxiv_id, p.title, p.abstract FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
         f"WHERE papers_fts MATCH ? ORDER BY {RANK_EXPRESSION} LIMIT 10", (build_match_query(SEARCH_WORDS),)),
        (f"show {newest}", ["show", newest], "SELECT * FROM papers WHERE arxiv_id = ?", (newest,)),
        ("topics", ["topics"], "SELECT name, title, paper_count FROM topics ORDER BY name", ()),
    ]


def timed_process(command: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float]:
    """Median and p95 wall milliseconds of `command`, after one warm-up run that must succeed, and its
    median CPU milliseconds (user + system): on a busy machine the wall time measures the other
    processes too, the CPU time much less."""
    warm = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if warm.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({warm.returncode}): {warm.stderr.strip()[-500:]}")
    samples, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, check=True)
        samples.append((time.perf_counter() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    return statistics.median(samples), percentile(samples, 0.95), statistics.median(cpu)


def measure(db: str, runs: int, env: dict[str, str]) -> list[tuple[str, str, str, str]]:
    sqlite_shell = shutil.which("sqlite3")
    rows = []
    for name, words, sql, parameters in lookups(db):
        p50, p95, cpu = timed_process([*paperbot_command(), "--db", db, *words], runs, env)
        if sqlite_shell:
            literal = sql
            for parameter in parameters:  # the shell takes no parameters: quoted SQL literals, in order
                literal = literal.replace("?", "'" + parameter.replace("'", "''") + "'", 1)
            floor_command = [sqlite_shell, "-readonly", db, literal]
        else:
            floor_command = [*floor_script(sql, parameters), db]
        f50, f95, _ = timed_process(floor_command, runs, env)
        verdict = f"p95 <= {TARGET_MS:g} ms {'ok' if p95 <= TARGET_MS else 'MISSED'}"
        rows.append((f"paperbot {name}", f"{p50:.0f} / {p95:.0f} ms (CPU {cpu:.0f})", f"{f50:.0f} / {f95:.0f} ms", verdict))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", default=[], help="also time lookups on this store (repeatable)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    parser.add_argument("--small-papers", type=int, default=SMALL_STORE_PAPERS, help="papers in the built small store (0: none)")
    args = parser.parse_args()

    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PAPERBOT_CONFIG"] = str(ROOT / "config" / "paperbot.toml")
    with tempfile.TemporaryDirectory(prefix="cli_bench_") as folder:
        env["XDG_CACHE_HOME"] = os.path.join(folder, "cache")
        stores = list(args.db)
        if args.small_papers:
            small = os.path.join(folder, "small.db")
            asyncio.run(build_small_store(small, args.small_papers))
            stores.insert(0, small)
        load_before = os.getloadavg()[0]
        start_p50, start_p95, start_cpu = timed_process([sys.executable, "-c", "pass"], args.runs, env)
        tables = []
        for db in stores:
            count = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("SELECT count(*) FROM papers").fetchone()[0]
            tables.append((count, measure(db, args.runs, env)))
        print(
            f"cli_bench: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {args.runs} runs each, "
            f"1-min load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
            f"sqlite3 floor: {'the sqlite3 shell' if shutil.which('sqlite3') else 'python -c with the sqlite3 module'}"
        )
        header = ("whole process", "p50 / p95 (CPU p50)", "floor p50 / p95", "target")
        for count, rows in tables:
            print(f"\n{count:,} papers; `python -c pass`: {start_p50:.0f} / {start_p95:.0f} ms, CPU {start_cpu:.0f} ms")
            print_table(rows, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
