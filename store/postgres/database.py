"""One PostgreSQL database: its connection pool, retried work, and errors as sentences.

Why this module exists: the store's parts (`PaperTables`, `SubscriptionTables`,
`NotesTables`, `FullTextTables`) share one pool, and each of their operations
is a function of a connection that `run()` calls inside one transaction. A
connection the server dropped (a restart, a failover, `pg_terminate_backend`)
fails only the operation in flight, which never committed: `run()` then
retries it on a fresh connection (`RECONNECT`), so a replica rides out a
server restart and nothing is lost. Any other error propagates at once.

Failures at open the owner can fix become `StoreError`s naming the server as
`host:port` and the database, never the password: an unreachable server, a
refused login, a missing database, a database from a newer paperbot.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, TypedDict, TypeVar
from urllib.parse import unquote, urlsplit

import asyncpg

from bot.errors import StoreError
from bot.plugins import shown_location
from bot.ports import Clock, SystemClock
from bot.retry import RetryPolicy
from bot.utc import iso
from store.postgres import schema

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# A dropped connection: retried on a fresh one, with these waits (the server may be restarting).
RECONNECT = RetryPolicy(attempts=6, first_backoff=0.2, max_backoff=5.0)
CONNECT_TIMEOUT_S = 10.0
POOL_SIZE = 4
_CONNECTION_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    OSError,
)


class _Dropped(Exception):
    """The connection closed under an operation (asyncpg said so with an InterfaceError)."""


@dataclass(frozen=True)
class Server:
    """What a `postgresql://` URL names, for messages: never the password."""

    host: str
    port: int
    database: str
    user: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_location(location: str) -> Server:
    """The server a URL names (libpq's defaults for what it leaves out); a StoreError for a malformed one."""
    shown = shown_location(location)
    try:
        parts = urlsplit(location.strip())
        port = parts.port or 5432
    except ValueError:
        raise StoreError(
            f"{shown} is not a valid PostgreSQL URL; write postgresql://USER:PASSWORD@HOST:PORT/DATABASE", shown
        ) from None
    query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
    host = unquote(parts.hostname or query.get("host", "") or "localhost")
    user = unquote(parts.username or query.get("user", "") or "postgres")
    database = unquote(parts.path.lstrip("/") or query.get("dbname", "") or user)
    return Server(host, port, database, user)


class OpenOptions(TypedDict, total=False):
    """The options of `Database.open`, for what opens one on the way (`PostgresStore.open`)."""

    clock: Clock | None
    read_only: bool
    migrations: list[schema.Migration] | None  # replaces `schema.MIGRATIONS` in tests
    sleep: Sleep


class Database:
    """The pool of one PostgreSQL database, shared by the store's parts."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        server: Server,
        location: str,
        clock: Clock,
        *,
        read_only: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.server = server
        self.path = shown_location(location)  # what messages name; `path` as the SQLite store's
        self.clock = clock
        self.read_only = read_only
        self.sleep = sleep
        # Who claims deliveries through this object (`store.postgres.subscriptions`): unique per open.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @classmethod
    async def open(
        cls,
        location: str,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        migrations: list[schema.Migration] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> "Database":
        """Connect and (writable) migrate; every failure the user can fix is a `StoreError`."""
        server = parse_location(location)
        shown = shown_location(location)
        try:
            pool = await asyncpg.create_pool(
                location.strip(), min_size=1, max_size=POOL_SIZE, timeout=CONNECT_TIMEOUT_S, command_timeout=None
            )
        except Exception as error:
            raise connect_error(error, server, shown) from None
        try:
            async with pool.acquire() as conn:
                if read_only:
                    await _check_readable_schema(conn, migrations, shown)
                else:
                    await schema.migrate(conn, migrations, location=shown)
        except asyncpg.exceptions.InsufficientPrivilegeError as error:
            await pool.close()
            raise not_allowed(error, server, shown) from None
        except BaseException:
            await pool.close()
            raise
        return cls(pool, server, location, clock or SystemClock(), read_only=read_only, sleep=sleep)

    async def close(self) -> None:
        await self.pool.close()

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]], *, write: bool = True) -> T:
        """`work(conn)` inside one transaction (read-only when the store is, or `write=False`);
        retried on a fresh connection when the server dropped the one it had."""
        attempt = 1
        while True:
            try:
                async with self.pool.acquire() as conn:
                    try:
                        async with conn.transaction(readonly=self.read_only or not write):
                            return await work(conn)
                    except asyncpg.exceptions.InternalClientError as error:
                        # The server ended an idle connection (its FATAL notice arrived unasked) and the client
                        # met it at the next statement: the connection is unusable and nothing was committed.
                        conn.terminate()
                        raise _Dropped(str(error)) from error
                    except asyncpg.exceptions.InterfaceError as error:
                        # asyncpg's own complaint: a dropped connection when it is closed (ending the
                        # transaction of one says so), else a bug, raised as it is.
                        if not _closed(conn):
                            raise
                        raise _Dropped(str(error)) from error
            except (*_CONNECTION_LOST, _Dropped) as error:
                if not RECONNECT.may_retry(attempt):
                    raise StoreError(
                        f"lost the connection to the PostgreSQL server at {self.server.address} and could not "
                        f"reconnect ({type(error).__name__}); check that the server is up, then try again",
                        self.path,
                    ) from None
                log.warning("PostgreSQL connection to %s lost (%s); reconnecting", self.server.address, type(error).__name__)
                await self.sleep(RECONNECT.backoff(attempt))
                attempt += 1
            except asyncpg.exceptions.ReadOnlySQLTransactionError:
                raise StoreError(f"cannot write to {self.path}: it was opened read-only (a lookup)", self.path) from None
            except asyncpg.exceptions.InsufficientPrivilegeError as error:
                raise not_allowed(error, self.server, self.path) from None

    @contextlib.asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """A session advisory lock named after `job`, held on a connection of its own while the block runs:
        True when taken, False while another process holds it. The server frees it when its holder's
        connection ends, so a replica that crashed (or lost its connection) never blocks the job for good."""
        key = int.from_bytes(hashlib.blake2b(job.encode(), digest_size=8).digest(), "big", signed=True)
        async with self.pool.acquire() as conn:
            ours = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            try:
                yield ours
            finally:
                if ours:
                    with contextlib.suppress(*_CONNECTION_LOST, asyncpg.exceptions.InterfaceError):
                        await conn.execute("SELECT pg_advisory_unlock($1)", key)

    def now(self) -> str:
        """The clock's time in the store's timestamp format: UTC, seconds, `Z`."""
        return iso(self.clock.now())


def _closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.exceptions.InterfaceError:  # the pool already took the dead connection back
        return True


def connect_error(error: BaseException, server: Server, shown: str) -> StoreError | BaseException:
    """The sentence for a failed connect: which server, what went wrong, what to fix. No password."""
    where = f"the PostgreSQL server at {server.address}"
    if isinstance(error, (asyncpg.exceptions.InvalidPasswordError, asyncpg.exceptions.InvalidAuthorizationSpecificationError)):
        return StoreError(
            f"{where} refused user {server.user!r} (wrong password, or no such role); "
            "fix the user and password in --db (or PAPERBOT_DB)",
            shown,
        )
    if isinstance(error, asyncpg.exceptions.InvalidCatalogNameError):
        return StoreError(
            f"{where} has no database {server.database!r}; create it (createdb {server.database}) or fix --db", shown
        )
    if isinstance(error, (OSError, asyncio.TimeoutError, socket.gaierror, asyncpg.exceptions.CannotConnectNowError)):
        reason = getattr(error, "strerror", None) or type(error).__name__
        return StoreError(
            f"cannot reach {where} ({reason}); check that it is running and that --db names the right host and port",
            shown,
        )
    if isinstance(error, asyncpg.exceptions.PostgresError):
        return StoreError(f"{where} refused the connection: {error}; check --db (or PAPERBOT_DB)", shown)
    if isinstance(error, ValueError):  # the URL itself (asyncpg's parser)
        return StoreError(f"{shown} is not a valid PostgreSQL URL; write postgresql://USER:PASSWORD@HOST:PORT/DATABASE", shown)
    return error


def not_allowed(error: asyncpg.exceptions.InsufficientPrivilegeError, server: Server, shown: str) -> StoreError:
    return StoreError(
        f"user {server.user!r} may not use the tables of database {server.database!r} at {server.address} ({error}); "
        f"grant it the privileges (or make it the database's owner), or use the role that created the store",
        shown,
    )


async def _check_readable_schema(conn: asyncpg.Connection, migrations: list[schema.Migration] | None, shown: str) -> None:
    """A read-only open changes nothing, so the database must already be at this paperbot's schema."""
    current = await schema.schema_version(conn)
    newest = len(schema.MIGRATIONS if migrations is None else migrations)
    if current > newest:
        schema.refuse_newer(current, newest, shown)
    if current < newest:
        raise StoreError(
            f"{shown} has schema version {current}, not this paperbot's {newest}; "
            "run `paperbot run` or `paperbot import FILE` once to create or upgrade it, then run this command again",
            shown,
        )


async def fetch(conn: asyncpg.Connection, sql: str, *params: Any) -> list[tuple]:
    """Every row of one query, as plain tuples (what the shared row code of `store.common.rows` reads)."""
    return [tuple(row) for row in await conn.fetch(sql, *params)]
