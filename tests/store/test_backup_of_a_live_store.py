"""`paperbot backup`: a consistent copy of a live WAL store, taken while another process writes.

The live copy runs `paperbot backup` as a process, as cron would; the rest run it in this process.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import EXAMPLE_LIST, ROOT, run_paperbot
from tests.support.store_writer import BATCH


def query(db: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_backup_taken_while_another_process_writes_is_whole_and_consistent(paperbot, tmp_path):
    db = tmp_path / "live.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    example_papers = query(db, "SELECT count(*) FROM papers")[0][0]
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.support.store_writer", str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        committed_before = 0
        while committed_before < 10 * BATCH:
            committed_before = int(writer.stdout.readline())
        target = tmp_path / "backups" / "copy.db"
        target.parent.mkdir()
        result = run_paperbot("backup", str(target), db=db)
        left = [p.name for p in target.parent.iterdir()]
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up {db} to {target}: ")
    assert left == ["copy.db"]  # no temporary file left behind

    assert query(target, "PRAGMA integrity_check") == [("ok",)]
    with contextlib.closing(sqlite3.connect(target)) as conn:
        conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)")  # index matches papers
    copied = {row[0] for row in query(target, "SELECT arxiv_id FROM papers")}
    assert {f"2401.{i:05d}" for i in range(committed_before)} <= copied
    assert len(copied) >= example_papers + committed_before
    assert len(copied) % BATCH == example_papers % BATCH  # whole transactions only
    lookup = paperbot("search", "driving", db=target)
    assert lookup.returncode == 0 and "DriveRX" in lookup.stdout


def test_a_backup_replaces_an_old_one_and_never_overwrites_the_store(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup")
    assert paperbot("backup", str(target), db=db).returncode == 0
    assert query(target, "SELECT count(*) FROM papers") == query(db, "SELECT count(*) FROM papers")

    before = db.read_bytes()
    for same in (str(db), f"{tmp_path}/./p.db", f"{db}-wal"):
        refused = paperbot("backup", same, db=db)
        assert refused.returncode == 2 and "is the store itself" in refused.stderr, same
    assert db.read_bytes() == before

    folder = paperbot("backup", str(tmp_path), db=db)
    assert folder.returncode == 2 and f"{tmp_path} is a directory" in folder.stderr
    nowhere = paperbot("backup", str(tmp_path / "missing" / "copy.db"), db=db)
    assert nowhere.returncode == 2 and f"the directory {tmp_path / 'missing'} does not exist" in nowhere.stderr


def test_a_failed_backup_leaves_the_previous_copy_alone(paperbot, tmp_path):
    not_a_store = tmp_path / "notes.md"
    not_a_store.write_text("# notes\n" * 100)
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup")
    result = paperbot("backup", str(target), db=not_a_store)
    assert result.returncode == 2 and f"{not_a_store} is not a paperbot store" in result.stderr
    assert "Traceback" not in result.stderr
    assert target.read_text() == "yesterday's backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "notes.md"]
    missing = paperbot("backup", str(target), db=tmp_path / "none.db")
    assert missing.returncode == 2 and "there is no store at" in missing.stderr
