"""The store's location and its faults as a CLI user meets them: real files, a real full disk
(a small tmpfs when this machine lets us mount one), real concurrent writers in other processes.
The commands run in this process (`paperbot` fixture) except where a process is the point.

Every failure here must be one sentence naming the path and the fix, exit 2, never a
traceback or a hang; lookups must never write, so they work beside a writer, on a full
disk and on a read-only store.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import cli
from store.sqlite import SqliteStore, schema
from tests.support import EXAMPLE_LIST, OFFLINE_CONFIG, ROOT, CommandLine, Finished, make_paper, run_paperbot

SECOND_LIST = ROOT / "tests" / "fixtures" / "paperlists" / "clean.md"
LOOKUPS = (("latest",), ("search", "driving"), ("show", "2505.20665"), ("topics",))


def no_traceback(result: Finished | subprocess.CompletedProcess) -> bool:
    return "Traceback" not in result.stderr and "Traceback" not in result.stdout


def imported_store(paperbot: CommandLine, db: Path) -> Path:
    result = paperbot("import", str(EXAMPLE_LIST), db=db)
    assert result.returncode == 0, result.stderr
    return db


def fts_option(db: Path, key: str) -> int | None:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT v FROM papers_fts_config WHERE k = ?", (key,)).fetchone()
    return row[0] if row else None


def interrupt_bulk_load(db: Path, papers: int = 0) -> None:
    """Leave the store as a bulk import killed half-way leaves it: FTS merging switched off,
    and one unmerged index segment per batch it committed (here `papers` one-paper batches)."""

    async def load() -> None:
        store = await SqliteStore.open(db)
        try:
            async with store.db.locked() as conn:
                await schema.apply_fts_settings(conn, schema.FTS_BULK_SETTINGS)  # as bulk_upsert begins
            for i in range(papers):
                await store.papers.upsert_papers([make_paper(f"2001.{i:05d}", ("reward-model-vlm",), published="2020-01")])
        finally:
            await store.close()

    asyncio.run(load())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- --db paths that cannot work ---------------------------------------------------------


def test_a_file_that_is_not_a_database_is_named_and_left_untouched(paperbot, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n" * 200)
    before = digest(readme)
    for command in (("latest",), ("import", str(EXAMPLE_LIST)), ("run",)):
        result = paperbot("--db", str(readme), *command, db=tmp_path / "unused.db", input_text="")
        assert result.returncode == 2, (command, result.stderr)
        assert f"{readme} is not a paperbot store" in result.stderr and "check the --db path" in result.stderr
        assert no_traceback(result)
    assert digest(readme) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_a_directory_an_empty_path_and_a_mistyped_directory(paperbot, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = paperbot("--db", str(folder), "latest", db=tmp_path / "unused.db")
    assert result.returncode == 2 and f"{folder} is a directory" in result.stderr
    assert f"such as {folder / 'paperbot.db'}" in result.stderr and no_traceback(result)

    for empty in (["--db", "", "topics"], ["topics"]):
        result = paperbot(*empty, db=tmp_path / "unused.db", env={"PAPERBOT_DB": ""})
        assert result.returncode == 2 and "the store path is empty" in result.stderr, empty

    typo = tmp_path / "dta" / "paperbot.db"
    written = paperbot("--db", str(typo), "import", str(EXAMPLE_LIST), db=tmp_path / "unused.db")
    assert written.returncode == 2
    assert f"the directory {typo.parent} does not exist" in written.stderr and f"mkdir -p {typo.parent}" in written.stderr
    read = paperbot("--db", str(typo), "latest", db=tmp_path / "unused.db")
    assert read.returncode == 0 and f"there is no store at {typo} yet" in read.stderr
    assert "No papers yet" in read.stdout
    assert not typo.parent.exists() and not (tmp_path / "unused.db").exists()


def test_the_default_data_directory_is_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("PAPERBOT_DB", "PAPERBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["import", str(EXAMPLE_LIST)]) == 0, capsys.readouterr().err
    assert (tmp_path / "data" / "paperbot.db").is_file()


# --- read-only stores --------------------------------------------------------------------


@pytest.fixture(params=["read-only mount", "chmod"])
def read_only_db(paperbot, request, tmp_path):
    """A store the user cannot write: a read-only bind mount (needs root), or file modes (not as root)."""
    source = tmp_path / "source"
    source.mkdir()
    imported_store(paperbot, source / "p.db")
    if request.param == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root ignores file modes; the read-only mount variant covers this")
        (source / "p.db").chmod(0o444)
        source.chmod(0o555)
        yield source / "p.db"
        source.chmod(0o755)
        return
    view = tmp_path / "view"
    view.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root); the chmod variant covers this")
    try:
        assert subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True).returncode == 0
        yield view / "p.db"
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def test_a_read_only_store_answers_lookups_and_refuses_writes_clearly(paperbot, read_only_db, tmp_path):
    for lookup in LOOKUPS:
        result = paperbot(*lookup, db=read_only_db)
        assert result.returncode == 0, (lookup, result.stderr)
        assert "DriveRX" in result.stdout or "reward-model-vlm" in result.stdout, lookup
    status = paperbot("status", db=read_only_db)
    assert status.returncode == 0, status.stderr
    for write in (("import", str(SECOND_LIST)), ("run",)):
        result = paperbot(*write, db=read_only_db, input_text="")
        assert result.returncode == 2, (write, result.stderr)
        assert f"cannot write to {read_only_db}" in result.stderr and "read-only" in result.stderr
        assert "latest, search, show, topics and status still work" in result.stderr and no_traceback(result)


# --- reads never write -------------------------------------------------------------------


def test_lookups_write_nothing_not_even_index_settings(paperbot, tmp_path):
    db = imported_store(paperbot, tmp_path / "p.db")
    interrupt_bulk_load(db)  # an open for writing would restore merging and merge now
    before = digest(db)
    for lookup in (*LOOKUPS, ("status",)):
        result = paperbot(*lookup, db=db)
        assert result.returncode == 0, (lookup, result.stderr)
    assert digest(db) == before
    assert fts_option(db, "automerge") == 0
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # nothing written, not even uncheckpointed
    assert not Path(f"{db}.lock").exists()


@pytest.mark.parametrize(
    "command", [("latest",), ("export", "--topic", "rm"), ("migrate", "--to", "postgresql://paperbot@127.0.0.1:1/copy")]
)
def test_an_older_schema_is_not_migrated_by_a_reading_command_and_says_how_to_upgrade(paperbot, tmp_path, command):
    db = tmp_path / "old.db"
    asyncio.run(_open_and_close(db, schema.MIGRATIONS[:1]))
    result = paperbot(*command, db=db)
    assert result.returncode == 2 and no_traceback(result)
    assert f"schema version 1, older than this paperbot's {len(schema.MIGRATIONS)}" in result.stderr
    assert "run `paperbot run` or `paperbot import FILE` once to upgrade it, then run this command again" in result.stderr
    assert _user_version(db) == 1
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    assert _user_version(db) == len(schema.MIGRATIONS)
    assert paperbot("latest", db=db).returncode == 0


def test_a_store_from_a_newer_paperbot_is_a_clear_error(paperbot, tmp_path):
    db = tmp_path / "future.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    for command in (("latest",), ("import", str(EXAMPLE_LIST))):
        result = paperbot(*command, db=db)
        assert result.returncode == 2 and no_traceback(result), command
        assert f"{db} has database schema version 99, newer than this paperbot knows" in result.stderr


async def _open_and_close(db: Path, migrations) -> None:
    await (await SqliteStore.open(db, migrations=migrations)).close()


def _user_version(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


# --- another process writing ---------------------------------------------------------------

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
# What a bulk import does first: merging off until the load is done.
conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', 0)")
print("holding", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@contextlib.contextmanager
def another_writer(db: Path):
    """A second process holding SQLite's write lock until the block ends (then it commits)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


@pytest.mark.subprocess
def test_lookups_work_while_another_process_holds_the_write_lock(paperbot, tmp_path):
    db = imported_store(paperbot, tmp_path / "p.db")
    config = tmp_path / "topics.toml"  # config topics: an open for writing would sync them
    config.write_text('[fetch]\nenabled = false\n[[topics]]\nname = "reward-model-vlm"\nquery = \'abs:"reward model"\'\n')
    with another_writer(db):
        for lookup in (*LOOKUPS, ("status",)):
            result = paperbot("--config", str(config), *lookup, db=db)
            assert result.returncode == 0, (lookup, result.stderr)
        assert "DriveRX" in paperbot("--config", str(config), "search", "driving", db=db).stdout
    assert fts_option(db, "automerge") == 0  # the lookups left the import's setting alone


@pytest.mark.subprocess
def test_a_write_that_outwaits_the_busy_timeout_says_the_store_is_busy(paperbot, tmp_path, monkeypatch):
    db = imported_store(paperbot, tmp_path / "p.db")
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 200)  # in this process: why the command runs in-process
    with another_writer(db):
        busy = paperbot("import", str(SECOND_LIST), db=db)
    assert busy.returncode == 2, busy.stderr
    assert f"error: the store is busy: another paperbot process is writing to {db}; try again when it finishes" in busy.stderr
    assert "Traceback" not in busy.stderr
    again = paperbot("import", str(SECOND_LIST), db=db)
    assert again.returncode == 0, again.stderr


# --- a full disk ---------------------------------------------------------------------------


def fill_up(directory: Path) -> None:
    """Write a filler file until the filesystem refuses even one more byte."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the max_page_count test covers the store code")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_full_disk_after_an_interrupted_import(paperbot, small_disk):
    """The reported case on a real full filesystem (a 16 MB tmpfs): every command failed with a
    traceback and then hung, because each open retried the interrupted index merge. Subprocesses,
    so that a hang is a timeout, not a stuck suite."""
    db = imported_store(paperbot, small_disk / "p.db")
    interrupt_bulk_load(db, papers=30)
    fill_up(small_disk)

    for lookup in LOOKUPS:
        result = run_paperbot(*lookup, db=db, timeout=60)
        assert result.returncode == 0, (lookup, result.stderr)
    for write in (("import", str(SECOND_LIST)), ("run",)):
        result = run_paperbot(*write, db=db, input_text="", timeout=60)
        assert result.returncode == 2, (write, result.stderr)
        assert f"the disk holding {db} is full" in result.stderr and "free some space" in result.stderr
        assert no_traceback(result)

    (small_disk / "filler").unlink()
    again = run_paperbot("import", str(SECOND_LIST), db=db, timeout=60)
    assert again.returncode == 0, again.stderr
    assert fts_option(db, "automerge") == schema.FTS_SETTINGS["automerge"]  # the merge was finished


def test_a_full_store_fails_cleanly_and_stops_its_database_thread(paperbot, tmp_path, monkeypatch):
    """The same with SQLite's own size limit (`max_page_count`), which needs no root: the failed
    merge at open must close the connection, or its thread keeps the process from exiting."""
    db = imported_store(paperbot, tmp_path / "p.db")
    interrupt_bulk_load(db, papers=30)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("VACUUM")  # no free pages left: the merge at open needs the file to grow
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setattr(schema, "CONNECTION_PRAGMAS", (*schema.CONNECTION_PRAGMAS, f"PRAGMA max_page_count = {pages}"))
    threads = threading.active_count()
    full = paperbot("import", str(SECOND_LIST), db=db)
    assert full.returncode == 2 and f"the disk holding {db} is full" in full.stderr and "Traceback" not in full.stderr
    deadline = time.monotonic() + 10
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.01)  # the stopped thread takes a moment to finish
    assert threading.active_count() == threads
    latest = paperbot("latest", db=db)
    assert latest.returncode == 0 and "DriveRX" in latest.stdout


# --- one bot per store ---------------------------------------------------------------------


@pytest.mark.subprocess
def test_a_second_run_on_the_same_store_refuses_to_start(paperbot, tmp_path):
    db = imported_store(paperbot, tmp_path / "p.db")
    lock = Path(f"{db}.lock")
    first = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), "--config", str(OFFLINE_CONFIG), "run"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = paperbot("run", db=db, input_text="")
        assert second.returncode == 2 and no_traceback(second)
        assert f"another `paperbot run` (pid {first.pid}) is already serving {db}" in second.stderr
        assert paperbot("latest", db=db).returncode == 0  # lookups work beside the bot
        assert paperbot("import", str(SECOND_LIST), db=db).returncode == 0
        first.kill()  # a crash: the OS releases the lock
        first.communicate(timeout=30)
    finally:
        first.kill()
    third = paperbot("run", db=db, input_text="")
    assert third.returncode == 0, third.stderr


def test_json_lookups_on_a_store_that_does_not_exist_create_nothing(paperbot, tmp_path):
    db = tmp_path / "nothing.db"
    result = paperbot("topics", "--json", db=db)
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert list(tmp_path.iterdir()) == []


# --- a damaged file --------------------------------------------------------------------------


def damage(db: Path) -> None:
    """Keep the header page (so the file still opens) and overwrite every other page."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[page_size:] = b"\xa5" * (len(data) - page_size)
    db.write_bytes(bytes(data))


def test_a_damaged_store_is_one_sentence_in_the_cli_and_in_chat(paperbot, tmp_path, caplog):
    db = imported_store(paperbot, tmp_path / "p.db")
    damage(db)
    result = paperbot("latest", db=db)
    assert result.returncode == 2 and no_traceback(result)
    assert f"{db} is damaged" in result.stderr and "`paperbot backup`" in result.stderr

    async def ask() -> str:
        from bot.commands import CommandRouter
        from bot.service import PaperService

        store = await SqliteStore.open(db, read_only=True)
        try:
            return (await CommandRouter(PaperService(store.papers)).handle_text("/paper latest")).text
        finally:
            await store.close()

    answer = asyncio.run(ask())
    assert f"{db} is damaged" in answer and "went wrong" not in answer
    assert any(record.levelname == "ERROR" and "is damaged" in record.getMessage() for record in caplog.records)


def test_a_new_store_in_a_read_only_directory_is_refused_clearly(paperbot, read_only_db):
    beside = read_only_db.parent / "new.db"
    result = paperbot("import", str(EXAMPLE_LIST), db=beside)
    assert result.returncode == 2 and no_traceback(result)
    assert f"cannot create {beside}: its directory {read_only_db.parent} is read-only" in result.stderr
