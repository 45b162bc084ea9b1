"""PostgresStore: one PostgreSQL database shared by any number of `paperbot run` replicas.

`PostgresStore` is the `bot.ports.Store` port over one asyncpg pool
(`store.postgres.database.Database`: transactions, reconnects, errors as
sentences), composed into the same parts as the SQLite store: `papers`,
`subscriptions`, `notes`, `fulltext`, `libraries`, `votes`. The merge rules are the core's
(`bot.merge`) and the row encoding is shared with SQLite (`store.common.rows`),
so both stores keep the same papers from the same copies; the contract tests
(tests/store/test_store_contract.py) run unchanged against both. Selected by a
`postgresql://` or `postgres://` `--db` (entry point in pyproject.toml);
the driver comes with the `[postgres]` extra.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Unpack

from bot.ports import Store
from store.common.composed import ComposedStore, PartTypes
from store.postgres.database import Database, OpenOptions
from store.postgres.fulltext import FullTextTables
from store.postgres.libraries import LibraryTables
from store.postgres.notes import NotesTables
from store.postgres.papers import PaperTables
from store.postgres.subscriptions import SubscriptionTables
from store.postgres.votes import VoteTables

PARTS = PartTypes(PaperTables, SubscriptionTables, NotesTables, FullTextTables, LibraryTables, VoteTables)


class PostgresStore(ComposedStore[Database]):
    """Papers, topics, notes, subscriptions and deliveries in one PostgreSQL database."""

    @classmethod
    async def open(cls, location: str, **options: Unpack[OpenOptions]) -> "PostgresStore":
        """Connect (and, writable, migrate); the options are `Database.open`'s."""
        return cls(await Database.open(location, **options), PARTS)

    def exclusive(self, job: str) -> AbstractAsyncContextManager[bool]:
        """One replica at a time runs `job` (a PostgreSQL advisory lock, `Database.exclusive`)."""
        return self.db.exclusive(job)


if TYPE_CHECKING:  # mypy proves here that the store and each of its parts implement their ports
    _implements: type[Store] = PostgresStore
