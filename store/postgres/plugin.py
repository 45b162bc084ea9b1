"""The `postgresql` and `postgres` entry points of `paperbot.stores` (pyproject.toml).

A location is a libpq-style URL: `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`
(`?host=/path` for a Unix socket). The password is best given in the URL of
`PAPERBOT_DB` (the environment), never on a command line others can read;
every message and log line shows the URL without it (`bot.plugins.shown_location`).
`serving` is accepted and ignored: unlike SQLite's single server, any number of
replicas may serve one PostgreSQL store (claims decide who sends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import StoreError
from bot.plugins import BackupReport, needs_extra, shown_location, store_scheme
from bot.ports import Clock

if TYPE_CHECKING:
    from store.postgres.store import PostgresStore


class PostgresPlugin:
    async def open(self, location: str, *, clock: Clock, read_only: bool = False, serving: bool = False) -> PostgresStore:
        # The driver is imported only here: without the extra, this is a ConfigError naming it.
        with needs_extra("postgres", "a postgresql:// store", "--db (or PAPERBOT_DB)", None):
            from store.postgres.store import PostgresStore
        return await PostgresStore.open(location, clock=clock, read_only=read_only)

    async def copy_from(self, source: str, location: str, *, clock: Clock) -> BackupReport:
        """`paperbot migrate`: the SQLite store at `source` copied into the empty database at `location`."""
        if store_scheme(source) != "sqlite":
            raise StoreError(f"migrate copies a SQLite store into PostgreSQL; --db {shown_location(source)} is not one", source)
        with needs_extra("postgres", "a postgresql:// store", "--to", None):
            from store.postgres.migrate import copy_sqlite_store
        from store.sqlite.plugin import sqlite_path  # only a migration reads a SQLite store
        return await copy_sqlite_store(sqlite_path(source), location, clock=clock)

    def exists(self, location: str) -> bool:
        # A server is asked at open; a lookup on an empty database then says so itself.
        return True

    def backup(self, location: str, target: str) -> BackupReport:
        raise StoreError(
            "paperbot backup copies SQLite stores; back a PostgreSQL store up with the server's own tools "
            f"(pg_dump) against {shown_location(location)}",
            shown_location(location),
        )


plugin = PostgresPlugin()
