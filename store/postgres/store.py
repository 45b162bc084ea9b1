"""PostgresStore: one PostgreSQL database shared by any number of `paperbot run` replicas.

`PostgresStore` is the `bot.ports.Store` port over one asyncpg pool
(`store.postgres.database.Database`: transactions, reconnects, errors as
sentences), composed into the same parts as the SQLite store: `papers`,
`subscriptions`, `notes`, `fulltext`, `libraries`, `votes`. The merge rules are the core's
(`bot.merge`) and the row encoding is shared with SQLite (`store.sqlite.rows`),
so both stores keep the same papers from the same copies; the contract tests
(tests/store/test_store_contract.py) run unchanged against both. Selected by a
`postgresql://` or `postgres://` `--db` (entry point in pyproject.toml);
the driver comes with the `[postgres]` extra.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from bot.ports import Clock, Store
from store.postgres import schema
from store.postgres.database import Database, Sleep
from store.postgres.fulltext import FullTextTables
from store.postgres.libraries import LibraryTables
from store.postgres.notes import NotesTables
from store.postgres.papers import PaperTables
from store.postgres.subscriptions import SubscriptionTables
from store.postgres.votes import VoteTables


class PostgresStore:
    """Papers, topics, notes, subscriptions and deliveries in one PostgreSQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.papers = PaperTables(db)
        self.subscriptions = SubscriptionTables(db)
        self.notes = NotesTables(db)
        self.fulltext = FullTextTables(db)
        self.libraries = LibraryTables(db)
        self.votes = VoteTables(db)

    @classmethod
    async def open(
        cls,
        location: str,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        migrations: list[schema.Migration] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> "PostgresStore":
        """Connect (and, writable, migrate); `migrations` replaces `schema.MIGRATIONS` in tests."""
        return cls(await Database.open(location, clock=clock, read_only=read_only, migrations=migrations, sleep=sleep))

    @property
    def path(self) -> str:
        """The location without its password, as messages show it."""
        return self.db.path

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    def exclusive(self, job: str) -> AbstractAsyncContextManager[bool]:
        """One replica at a time runs `job` (a PostgreSQL advisory lock, `Database.exclusive`)."""
        return self.db.exclusive(job)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> "PostgresStore":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


if TYPE_CHECKING:  # mypy proves here that the store and each of its parts implement their ports
    _implements: type[Store] = PostgresStore
