"""`paperbot backup`: a consistent copy of a live store.

Copying the file with `cp` while the bot runs is not a backup: the store is in
WAL mode, so recent commits live in `-wal` until a checkpoint, and a copy taken
mid-write can be torn. SQLite's online backup API copies the pages of one read
snapshot, so the copy holds exactly what was committed when it started, while
the bot and imports go on writing. The copy is written to a temporary file in
the target's directory and renamed over the target only when complete, so the
target is never half a store, even if the backup is interrupted.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.errors import StoreError
from store.errors import as_store_errors, check_location, not_a_store

# Files SQLite keeps next to a store; writing a backup over one of them would destroy the store.
_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")


@dataclass(frozen=True)
class BackupReport:
    source: str
    target: str
    papers: int
    size_bytes: int

    def summary(self) -> str:
        return (
            f"backed up {self.source} to {self.target}: {self.papers:,} papers, "
            f"{self.size_bytes / 1_000_000:.1f} MB"
        )


def backup_store(source: str, target: str) -> BackupReport:
    """Copy the store at `source` to `target` (replaced atomically if it exists)."""
    check_location(source, writing=False, create_parent=False)
    target_path = Path(target)
    _refuse_source_files(Path(source), target_path)
    if target_path.is_dir():
        raise StoreError(
            f"{target} is a directory; give the backup a file name, such as {target_path / 'paperbot-backup.db'}",
            target,
        )
    if not target_path.parent.is_dir():
        raise StoreError(
            f"the directory {target_path.parent} does not exist; create it or choose another backup path", target
        )
    if not os.access(target_path.parent, os.W_OK):
        raise StoreError(f"cannot write into {target_path.parent}: it is read-only; choose another backup path", target)
    with as_store_errors(source):
        reader = sqlite3.connect(f"file:{quote(os.path.abspath(source))}?mode=ro", uri=True)
        try:
            if not reader.execute("PRAGMA user_version").fetchone()[0]:
                raise not_a_store(source, "an empty or foreign SQLite file")
            papers = reader.execute("SELECT count(*) FROM papers").fetchone()[0]
            temp_path = _copy_to_temp(reader, target_path)
        finally:
            reader.close()
    os.replace(temp_path, target_path)
    _sync_directory(target_path.parent)
    return BackupReport(source, target, papers, target_path.stat().st_size)


def _refuse_source_files(source: Path, target: Path) -> None:
    resolved = target.resolve()
    for suffix in _COMPANIONS:
        companion = Path(f"{source}{suffix}")
        same = resolved == companion.resolve() or (
            target.exists() and companion.exists() and os.path.samefile(target, companion)
        )
        if same:
            raise StoreError(
                f"the backup target {target} is the store itself (or one of its files); give another path", str(target)
            )


def _copy_to_temp(reader: sqlite3.Connection, target: Path) -> Path:
    """Back up into a new temporary file next to `target`; return its path (synced to disk)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    temp_path = Path(name)
    try:
        with as_store_errors(str(target)):
            writer = sqlite3.connect(temp_path)
            try:
                # pages=-1: one step, so one read snapshot of the source (consistent while it is written to).
                reader.backup(writer, pages=-1)
            finally:
                writer.close()
        with open(temp_path, "rb+") as copied:
            os.fsync(copied.fileno())
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return temp_path


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
