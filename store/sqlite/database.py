"""One SQLite database: its connection, the lock every part takes, and its transactions.

Why this module exists: the store's parts (`PaperTables`, `SubscriptionTables`,
`NotesTables`) share one connection, so they must take turns on it; a reader
must never see half of a write and two writers must never interleave their
transactions. Each part is given this object and goes through `locked()` or
`transaction()`, which also turn a SQLite fault the owner can fix (full disk,
busy, read-only, damaged) into the `StoreError` sentence of `store.errors`,
whatever operation met it.

Opening is here too: creating and migrating a writable store, and the
read-only open of lookups, which writes nothing at all so it works beside a
bulk import, on a full disk and on a read-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from typing import Any, AsyncIterator, Iterable, TypedDict
from urllib.parse import quote

import aiosqlite

from bot.errors import StoreError
from bot.ports import Clock, SystemClock
from bot.utc import iso
from store.errors import as_store_errors, check_location, not_a_store
from store.sqlite import schema
from store.sqlite.serving_lock import ServingLock

log = logging.getLogger(__name__)


class OpenOptions(TypedDict, total=False):
    """The options of `Database.open`, for what opens one on the way (`SqliteStore.open`)."""

    clock: Clock | None
    migrations: list[schema.Migration] | None
    read_only: bool
    create_parent: bool
    serving: bool


class Database:
    """The connection to one SQLite file (or `":memory:"`), shared by the store's parts."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        clock: Clock,
        path: str,
        *,
        read_only: bool = False,
        serving_lock: ServingLock | None = None,
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._serving_lock = serving_lock
        self.clock = clock
        self.path = path
        self.read_only = read_only

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        migrations: list[schema.Migration] | None = None,
        read_only: bool = False,
        create_parent: bool = True,
        serving: bool = False,
    ) -> "Database":
        """Connect; every failure the user can fix is a `StoreError` naming the path.

        Writable (the default): create the file (and, with `create_parent`, its
        directory) and migrate it to the newest schema.
        `read_only`: change nothing at all, not even settings, and run no migration;
        the file must exist with the current schema.
        `serving`: also hold `<path>.lock` until close, so a second `paperbot run`
        on the same store refuses to start (`store.sqlite.serving_lock`).
        `migrations` replaces `schema.MIGRATIONS`; tests use it to exercise a future step.
        """
        path = str(path)
        with as_store_errors(path):
            if path != ":memory:":
                check_location(path, writing=not read_only, create_parent=create_parent)
            conn = await _connect(path, read_only, migrations)
            try:
                # Taken once the file is known to be a store, so a wrong --db leaves no lock file behind.
                serving_lock = ServingLock.acquire(path) if serving and path != ":memory:" else None
            except BaseException:
                await close_quietly(conn)
                raise
        return cls(conn, clock or SystemClock(), path, read_only=read_only, serving_lock=serving_lock)

    async def close(self) -> None:
        try:
            async with self.locked() as conn:
                await conn.close()
        finally:
            if self._serving_lock is not None:
                self._serving_lock.release()

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for this block alone; a SQLite fault the owner can fix leaves it as a StoreError."""
        with as_store_errors(self.path):
            async with self._lock:
                yield self._conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`locked()` inside BEGIN IMMEDIATE ... COMMIT: every write of the block, or on any error none."""
        async with self.locked() as conn:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise

    def now(self) -> str:
        """The clock's time in the store's timestamp format: UTC, seconds, `Z`."""
        return iso(self.clock.now())


async def fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
    """Every row of one query, as plain tuples (the caller holds the database's lock)."""
    async with conn.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def scalar(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row of a query that always returns one."""
    return (await fetchall(conn, sql, params))[0][0]


async def _connect(path: str, read_only: bool, migrations: list[schema.Migration] | None) -> aiosqlite.Connection:
    """A ready connection (migrated, when writable); closed again if any step fails."""
    if read_only:
        conn = await _connect_read_only(path)
    else:
        conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        if read_only:
            await _check_readable_schema(conn, path, migrations)
        else:
            for pragma in schema.CONNECTION_PRAGMAS:
                await conn.execute(pragma)
            await conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
            await schema.migrate(conn, migrations, path=path)
    except BaseException:
        await close_quietly(conn)
        raise
    return conn


async def _connect_read_only(path: str) -> aiosqlite.Connection:
    """A connection that cannot write (SQLite's `mode=ro` plus `query_only`).

    WAL readers need a `-shm` index; with no bot or import running it does not
    exist, and in a read-only directory or on a full disk it cannot be made.
    When, besides, no commit waits in the `-wal`, the file alone is the whole
    store: it is then read as immutable.
    """
    if path == ":memory:":
        raise StoreError("an in-memory store cannot be opened read-only", path)
    wal = f"{path}-wal"
    wal_has_commits = os.path.exists(wal) and os.path.getsize(wal) > 0
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        return await _connect_for_reading(uri)
    except sqlite3.OperationalError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        cannot_make_shm = code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL)
        if not cannot_make_shm or wal_has_commits:
            raise
        log.debug("%s: read-only open failed (%s); reading the file as immutable", path, error)
    return await _connect_for_reading(uri + "&immutable=1")


async def _connect_for_reading(uri: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    try:
        for pragma in schema.READ_PRAGMAS:
            await conn.execute(pragma)
        await conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
        await conn.execute("SELECT count(*) FROM sqlite_master")  # opens the file (and its WAL) now
    except BaseException:
        await close_quietly(conn)
        raise
    return conn


async def _check_readable_schema(conn: aiosqlite.Connection, path: str, migrations: list[schema.Migration] | None) -> None:
    """A read-only store must be at this paperbot's schema: it cannot be migrated here."""
    current = await schema.schema_version(conn)
    newest = len(schema.MIGRATIONS if migrations is None else migrations)
    if current > newest:
        schema.refuse_newer(current, newest, path)
    if current == 0:
        raise not_a_store(path, "an empty or foreign SQLite file")
    if current < newest:
        raise StoreError(
            f"the store {path} has schema version {current}, older than this paperbot's {newest}; "
            "run `paperbot run` or `paperbot import FILE` once to upgrade it, then run this command again",
            path,
        )


async def close_quietly(conn: aiosqlite.Connection) -> None:
    """Close on an error path: stop the database thread; the error being raised matters more."""
    try:
        await conn.close()
    except Exception as error:
        log.debug("closing the store after a failure failed too: %s", error)
