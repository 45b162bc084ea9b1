"""Fault injection on the way papers go from an import to a digest, ending in one table.

Three faults, each with the real pieces (the `paperbot` CLI and bot in
subprocesses, SqliteStore, DigestEngine, the webhook adapter with aiohttp
against tests/support/fake_webhooks.py on 127.0.0.1):

1. `paperbot import` of a synthetic arXiv snapshot is SIGKILLed at random
   points, then run again to the end: the store must hold every paper once and
   pass SQLite's and FTS5's integrity checks.
2. A per-minute webhook digest runs while the disk fills: the store sits on a
   small tmpfs (mounted here when run as root; otherwise SQLite's
   `max_page_count` stands in, and the table says which). Each simulated
   minute (an injected clock) a concurrent writer imports a few papers and the
   digest job runs. At one minute the disk fills between a digest's claim and
   its record; imports and digests fail until space is freed; failed imports
   are re-run, as a user would.
3. The bot (`paperbot run`, tests/support/crash_runner.py, fixed clock) is stopped with
   SIGTERM while its digest POST is held by the fake, which answers after the
   stop began; a later run must post only what is new.

Then: papers imported into the digest topic, posted, posted twice, never
posted. The last two must be 0; the exit status is 1 otherwise.

    .venv/bin/python tests/e2e/fault_injection.py
    .venv/bin/python tests/e2e/fault_injection.py --kills 8 --snapshot-papers 30000 --minutes 40 --seed 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.digest import DigestEngine  # noqa: E402
from bot.models import ChannelRef, DeliveryKey, Subscription, Topic  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402
from store.sqlite.database import fetchall  # noqa: E402
from tests.support import FakeClock, make_paper, webhook_adapter  # noqa: E402
from tests.support.fake_webhooks import FakeWebhooks  # noqa: E402

UTC = timezone.utc
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOPIC = Topic("faults", "Fault injection")
HOOK_ENV = "FAULT_DIGEST_HOOK"
CHANNEL = ChannelRef("webhook", "#faults")
ARXIV_ABS = re.compile(r"arxiv\.org/abs/([0-9]{4}\.[0-9]{4,5})")
BOT_CONFIG = f"""
example_data = false
[fetch]
enabled = false
[digest]
stop_grace_seconds = 30
[[topics]]
name = "{TOPIC.name}"
title = "{TOPIC.title}"
[[subscriptions]]
adapter = "webhook"
channel = "{CHANNEL.channel}"
topic = "{TOPIC.name}"
when = "* * * * *"
max_papers = 50
webhook_env = "{HOOK_ENV}"
"""


@dataclass
class Findings:
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def row(self, what: str, result: str) -> None:
        self.rows.append((what, result))
        print(f"  {what}: {result}", file=sys.stderr, flush=True)


# --- 1. kill an import at random points ------------------------------------------------------


def write_snapshot(path: Path, count: int, rng: random.Random) -> None:
    words = "reward model vision language agent driving benchmark policy preference alignment dataset".split()
    with path.open("w") as out:
        for n in range(1, count + 1):
            abstract = " ".join(rng.choice(words) for _ in range(120))
            out.write(json.dumps({
                "id": f"2601.{n:05d}", "title": f"Synthetic paper {n} on {rng.choice(words)} {rng.choice(words)}",
                "authors": "Ada Lovelace, Alan Turing", "abstract": abstract, "categories": "cs.CV cs.LG",
                "versions": [{"version": "v1", "created": "Mon, 5 Jan 2026 10:00:00 GMT"}], "update_date": "2026-01-05",
            }) + "\n")


def paperbot(*args: str, db: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), "--config", str(config), *args],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


async def kill_imports(work: Path, kills: int, papers: int, rng: random.Random, findings: Findings) -> None:
    snapshot, config = work / "snapshot.jsonl", work / "import.toml"
    write_snapshot(snapshot, papers, rng)
    config.write_text('example_data = false\n[fetch]\nenabled = false\n[[topics]]\nname = "vision"\ncategories = ["cs.CV"]\n')
    started = time.monotonic()
    clean = paperbot("import", str(snapshot), db=work / "timing.db", config=config)
    if clean.wait() != 0:
        findings.problems.append(f"a clean import failed: {clean.stderr.read()[-500:]}")
        return
    duration = time.monotonic() - started
    db = work / "killed.db"
    killed_at = []
    for _ in range(kills):
        delay = rng.uniform(0.05, 0.95) * duration
        process = paperbot("import", str(snapshot), db=db, config=config)
        try:
            process.wait(timeout=delay)
            killed_at.append(f"(done before {delay:.1f}s)")
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_at.append(f"{delay:.1f}s")
    final = paperbot("import", str(snapshot), db=db, config=config)
    code = final.wait()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT arxiv_id) FROM papers").fetchone()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    store = await SqliteStore.open(db)
    try:
        await store.papers.check_index()
        index = "ok"
    except Exception as error:  # the FTS index disagrees with the papers table
        index = f"BROKEN ({error})"
    finally:
        await store.close()
    findings.row(
        f"import of {papers} papers SIGKILLed at {', '.join(killed_at)} (a clean run takes {duration:.1f}s), then re-run",
        f"exit {code}; {stored[0]} papers stored ({stored[1]} distinct); integrity {integrity}; FTS index {index}",
    )
    if code != 0 or stored != (papers, papers) or integrity != "ok" or index != "ok":
        findings.problems.append("the killed import did not end with every paper stored once in a sound store")


# --- 2. a per-minute digest while the disk fills ---------------------------------------------------


class SmallDisk:
    """A 6 MB tmpfs for the store (as root), filled with a ballast file; else SQLite's max_page_count."""

    SIZE_MB = 6

    def __init__(self, work: Path) -> None:
        self.dir = work / "disk"
        self.dir.mkdir()
        self.ballast = self.dir / "ballast"
        mounted = os.geteuid() == 0 and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.SIZE_MB}m", "tmpfs", str(self.dir)], capture_output=True,
        ).returncode == 0
        self.kind = f"a {self.SIZE_MB} MB tmpfs" if mounted else "SQLite max_page_count (no tmpfs: not root or mount refused)"
        self.mounted = mounted
        self.full = False

    def fill(self, db: Path, store: SqliteStore) -> None:
        """Synchronous, so it can run inside a delivery (between its claim and its record)."""
        if self.full:
            return
        self.full = True
        if not self.mounted:
            return  # see fill_by_page_count
        # An empty WAL must grow for the next write; then take every free block.
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        chunk = b"\0" * 65536
        with self.ballast.open("ab") as out:
            with contextlib.suppress(OSError):
                while True:
                    out.write(chunk)
                    out.flush()

    async def fill_by_page_count(self, *stores: SqliteStore) -> None:
        for store in stores:
            async with store.db.locked() as conn:
                [(pages,)] = await fetchall(conn, "PRAGMA page_count")
                await conn.execute(f"PRAGMA max_page_count = {pages}")

    async def free(self, *stores: SqliteStore) -> None:
        self.full = False
        if self.mounted:
            self.ballast.unlink(missing_ok=True)
        else:
            for store in stores:
                async with store.db.locked() as conn:
                    await conn.execute("PRAGMA max_page_count = 1073741823")

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.dir)], check=False)


class LogCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for needle in (
            "was posted but could not be recorded",
            "is now recorded as sent",
            "not delivered",
            "still not delivered",
            "delivered:",
        ):
            if needle in text:
                self.counts[needle] += 1


async def digest_while_the_disk_fills(
    disk: SmallDisk, hooks: FakeWebhooks, minutes: int, rng: random.Random, findings: Findings
) -> tuple[Path, FakeClock, int]:
    db = disk.dir / "paperbot.db"
    clock = FakeClock(START - timedelta(minutes=1))
    store = await SqliteStore.open(db, clock=clock)
    writer = await SqliteStore.open(db, clock=clock)  # another connection, as another process's import
    await store.papers.upsert_topics([TOPIC])
    await store.subscriptions.save_subscription(Subscription(
        id=0, channel=CHANNEL, topic=TOPIC.name, when="* * * * *", max_papers=50, webhook_env=HOOK_ENV, source="config",
    ))
    fill_at, free_at = minutes // 3, 2 * minutes // 3
    filling = {"armed": False}

    def on_step(step: str, key: DeliveryKey) -> None:
        if step == "claimed" and filling["armed"]:
            filling["armed"] = False
            disk.fill(db, store)  # posted next, then the record meets a full disk

    adapter = webhook_adapter({HOOK_ENV: hooks.discord_url}, attempts=2)
    engine = DigestEngine(
        store.subscriptions, store.papers, {"webhook": adapter}, {TOPIC.name: TOPIC}, clock=clock, on_step=on_step
    )
    counter = LogCounter()
    digest_log = logging.getLogger("bot.digest")
    digest_log.addHandler(counter)
    digest_log.setLevel(logging.INFO)
    digest_log.propagate = False  # counted, not printed
    serial, unwritten, refused = 0, [], 0
    try:
        for minute in range(minutes + 1):
            clock.set(START + timedelta(minutes=minute, seconds=rng.choice([0, 0, 1, 30])))
            if minute == fill_at:
                filling["armed"] = True
                if not disk.mounted:
                    await disk.fill_by_page_count(store, writer)
            if minute == free_at:
                await disk.free(store, writer)
            for _ in range(rng.randint(1 if minute == fill_at else 0, 3)):  # a digest is in flight when the disk fills
                serial += 1
                unwritten.append(make_paper(f"2603.{serial:05d}", (TOPIC.name,), title=f"Paper {serial} " + "long title " * 20))
            if unwritten:
                try:
                    await writer.papers.upsert_papers(unwritten)
                    unwritten = []
                except Exception:  # a full disk: the import is re-run next minute
                    refused += 1
            await engine.run_due()
            if filling["armed"] and minute > fill_at:  # no digest claimed at fill time: fill anyway
                disk.fill(db, store)
                filling["armed"] = False
        if unwritten:
            await writer.papers.upsert_papers(unwritten)
        clock.set(START + timedelta(minutes=minutes + 1))
        await engine.run_due()
        await engine.stop()
    finally:
        digest_log.removeHandler(counter)
        await adapter.stop()
        await writer.close()
        await store.close()
    c = counter.counts
    findings.row(
        f"per-minute digest for {minutes + 1} minutes, store on {disk.kind}, full from minute {fill_at} to {free_at}",
        f"{serial} papers written by a concurrent writer, {refused} writes refused and retried; "
        f"{c['delivered:']} digests delivered, {c['not delivered'] + c['still not delivered']} passes failed, "
        f"{c['was posted but could not be recorded']} posted but not recorded, {c['is now recorded as sent']} recorded later",
    )
    return db, clock, serial


# --- 3. SIGTERM while the bot posts ------------------------------------------------------------------


async def sigterm_mid_post(db: Path, hooks: FakeWebhooks, work: Path, serial: int, findings: Findings) -> None:
    config = work / "bot.toml"
    config.write_text(BOT_CONFIG)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), HOOK_ENV: hooks.discord_url}
    for round_number, held in enumerate((True, False), 1):
        now = START + timedelta(hours=round_number)
        writer = await SqliteStore.open(db, clock=FakeClock(now - timedelta(minutes=1)))
        await writer.papers.upsert_papers(
            make_paper(f"2603.{serial + round_number * 10 + n:05d}", (TOPIC.name,)) for n in range(3)
        )
        await writer.close()
        release = hooks.hold() if held else None
        hooks.arrived.clear()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.crash_runner", "--db", str(db), "--config", str(config),
            "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ"), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        lines: list[str] = []
        stopping = asyncio.Event()

        async def read(process: asyncio.subprocess.Process, lines: list[str], stopping: asyncio.Event, held: bool) -> None:
            assert process.stderr is not None
            async for raw in process.stderr:
                lines.append(raw.decode())
                if "stopping" in lines[-1]:
                    stopping.set()
                if "paperbot running with" in lines[-1] and not held:
                    process.send_signal(signal.SIGTERM)

        reader = asyncio.ensure_future(read(process, lines, stopping, held))
        if held:
            await asyncio.wait_for(hooks.arrived.wait(), 60)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(stopping.wait(), 60)
            release.set()
        await asyncio.wait_for(asyncio.gather(reader, process.wait()), 120)
        hooks.hold().set()  # answer at once from now on
        what = (
            "SIGTERM while the fake held the digest POST, answered after the stop began"
            if held
            else "a later run, SIGTERM once up"
        )
        findings.row(f"paperbot run (fixed clock {now:%H:%M}): {what}", f"exit {process.returncode}")
        if process.returncode != 0:
            findings.problems.append(f"paperbot run exited {process.returncode}: {''.join(lines)[-1500:]}")


# --- the table ----------------------------------------------------------------------------------------


def tally(db: Path, hooks: FakeWebhooks) -> tuple[int, int, int, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        imported = {row[0] for row in conn.execute("SELECT arxiv_id FROM paper_topics WHERE topic = ?", (TOPIC.name,))}
    posts: Counter[str] = Counter()
    for body in hooks.bodies("discord"):
        posts.update(set(ARXIV_ABS.findall(json.dumps(body))))
    posted_twice = sum(1 for count in posts.values() if count > 1)
    return len(imported), len(posts), posted_twice, len(imported - set(posts))


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    findings = Findings()
    with tempfile.TemporaryDirectory(prefix="paperbot-faults-") as tmp:
        work = Path(tmp)
        print(f"fault injection, seed {args.seed}, in {work}", file=sys.stderr)
        await kill_imports(work, args.kills, args.snapshot_papers, rng, findings)
        hooks = await FakeWebhooks().start()
        disk = SmallDisk(work)
        try:
            db, _, serial = await digest_while_the_disk_fills(disk, hooks, args.minutes, rng, findings)
            await disk.free()
            await sigterm_mid_post(db, hooks, work, serial, findings)
            imported, posted, twice, never = tally(db, hooks)
        finally:
            await hooks.close()
            disk.close()
    width = max(len(what) for what, _ in findings.rows)
    print(f"{'fault':<{width}}  result")
    for what, result in findings.rows:
        print(f"{what:<{width}}  {result}")
    print()
    for label, value in (("papers imported into the digest topic", imported), ("papers posted", posted),
                         ("posted twice", twice), ("never posted", never)):
        print(f"{label:<40}{value:>8}")
    if twice or never:
        findings.problems.append(f"{twice} papers posted twice, {never} never posted")
    for problem in findings.problems:
        print(f"PROBLEM: {problem}")
    return 1 if findings.problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5, help="how many times the import is SIGKILLed (default 5)")
    parser.add_argument("--snapshot-papers", type=int, default=20_000, help="papers in the synthetic snapshot (default 20000)")
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes of per-minute digests (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the bot's own logs would drown the table
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
