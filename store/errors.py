"""SQLite failures as one sentence the store's owner can act on.

sqlite3 reports a full disk, a read-only file or another writer holding the
lock as terse texts ("database or disk is full", "attempt to write a readonly
database", "database is locked") in a traceback. This module is the one
mapping from those errors, and from a `--db` path that cannot work (empty, a
directory, a missing directory), to `bot.errors.StoreError`: a `UserError`, so
the CLI prints the sentence and exits 2 instead of showing a traceback.
Errors it does not recognise are left alone: they are bugs.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator

from bot.errors import StoreError

# Lookups that work on a store the user cannot write to; named in the read-only message.
READ_COMMANDS = "latest, search, show, topics and status"


def busy(path: str) -> StoreError:
    return StoreError(
        f"the store is busy: another paperbot process is writing to {path}; try again when it finishes", path
    )


def full(path: str) -> StoreError:
    return StoreError(
        f"the disk holding {path} is full; free some space on it (or move the store and point --db at it), "
        "then try again; lookups still work meanwhile",
        path,
    )


def read_only(path: str, why: str = "the file or its directory is read-only") -> StoreError:
    return StoreError(
        f"cannot write to {path}: {why}; {READ_COMMANDS} still work, but this command writes: "
        "make the file and its directory writable for this user, or use another --db",
        path,
    )


def not_a_store(path: str, why: str) -> StoreError:
    return StoreError(f"{path} is not a paperbot store ({why}); check the --db path", path)


def from_sqlite(error: BaseException, path: str) -> StoreError | None:
    """The user's version of an sqlite3 error about the store at `path`; None when it is not one."""
    if not isinstance(error, sqlite3.Error):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return busy(path)
    if primary == sqlite3.SQLITE_FULL or (primary in _MAYBE_NO_SPACE and _disk_is_full(path)):
        return full(path)
    if primary == sqlite3.SQLITE_READONLY:
        return read_only(path)
    if primary == sqlite3.SQLITE_NOTADB:
        return not_a_store(path, f"SQLite: {error}")
    if primary == sqlite3.SQLITE_CORRUPT:
        return StoreError(
            f"{path} is damaged (SQLite: {error}); move it aside and restore a copy made with `paperbot backup`", path
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"could not read or write {path} (SQLite: {error}, {getattr(error, 'sqlite_errorname', 'SQLITE_IOERR')}); "
            "check the disk and its free space, then try again",
            path,
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreError(
            f"cannot open {path} (SQLite: {error}); check that its directory exists and that this user may read "
            "and write both",
            path,
        )
    return None


# A full disk does not always say so: growing the WAL index fails as SQLITE_IOERR_SHMSIZE,
# creating a file as SQLITE_CANTOPEN. With no room left, that is the cause to report.
_MAYBE_NO_SPACE = (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
_NEARLY_FULL_BYTES = 1 << 20


def _disk_is_full(path: str) -> bool:
    try:
        stats = os.statvfs(Path(path).parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < _NEARLY_FULL_BYTES


@contextlib.contextmanager
def as_store_errors(path: str) -> Iterator[None]:
    """Re-raise a recognised sqlite3 error from the block as its StoreError (the original chained)."""
    try:
        yield
    except sqlite3.Error as error:
        translated = from_sqlite(error, path)
        if translated is None:
            raise
        raise translated from error


def check_location(path: str, *, writing: bool, create_parent: bool) -> None:
    """Refuse a store path that cannot work, before SQLite turns it into "unable to open database file".

    `create_parent`: make a missing parent directory (only for the default location:
    a mistyped --db directory must be reported, not silently created).
    """
    if not path.strip():
        raise StoreError("the store path is empty; give --db (or PAPERBOT_DB) a file path such as data/paperbot.db", path)
    location = Path(path)
    if location.is_dir():
        raise StoreError(
            f"{path} is a directory, not a store file; give --db a file path such as {location / 'paperbot.db'}", path
        )
    if location.exists() and not location.is_file():
        raise StoreError(f"{path} is not a regular file, so it cannot hold a store; check the --db path", path)
    if not writing:
        if not location.exists():
            raise StoreError(f"there is no store at {path} yet; `paperbot import FILE` or `paperbot run` creates it", path)
        return
    parent = location.parent
    if not parent.exists():
        if not create_parent:
            raise StoreError(
                f"the directory {parent} does not exist, so {path} cannot be created; "
                f"create it (mkdir -p {parent}) or fix the --db path",
                path,
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the directory {parent} for {path}: {error.strerror}; check the --db path", path
            ) from error
    elif not parent.is_dir():
        raise StoreError(f"{parent} is not a directory, so {path} cannot be created; check the --db path", path)
    # SQLite needs to write the file and, for its WAL, create files next to it.
    if location.exists() and not os.access(location, os.W_OK):
        raise read_only(path, "the file is read-only")
    if not os.access(parent, os.W_OK):
        if not location.exists():
            raise StoreError(
                f"cannot create {path}: its directory {parent} is read-only for this user; "
                "make it writable or use another --db",
                path,
            )
        raise read_only(path, f"its directory {parent} is read-only")
