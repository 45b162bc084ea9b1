"""The SQLite store: one file (WAL, FTS5) holding papers, subscriptions and notes.

`SqliteStore` is the `bot.ports.Store` port: one `Database` (connection, lock,
transactions, error mapping) composed into parts, each a port of its own:
`papers` (`PaperTables`), `subscriptions` (`SubscriptionTables`), `notes`
(`NotesTables`), `fulltext` (`FullTextTables`), `libraries` (`LibraryTables`) and `votes`
(`VoteTables`). What to keep when a known paper arrives again is decided by
the core (`bot.merge`); this package encodes rows and runs SQL. Open with
`await SqliteStore.open(path)` (or `async with await SqliteStore.open(path)`);
`":memory:"` gives a private in-memory store for tests. Lookups open it with
`read_only=True`, which writes nothing, so they never wait for a writer's lock.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, AsyncIterator, Unpack

from bot.ports import Store
from store.common.composed import ComposedStore, PartTypes
from store.sqlite.database import Database, OpenOptions
from store.sqlite.fulltext import FullTextTables
from store.sqlite.libraries import LibraryTables
from store.sqlite.notes import NotesTables
from store.sqlite.papers import PaperTables
from store.sqlite.subscriptions import SubscriptionTables
from store.sqlite.votes import VoteTables

__all__ = ["SqliteStore"]


PARTS = PartTypes(PaperTables, SubscriptionTables, NotesTables, FullTextTables, LibraryTables, VoteTables)


class SqliteStore(ComposedStore[Database]):
    """Papers, topics, notes, subscriptions and deliveries in one SQLite file."""

    @classmethod
    async def open(cls, path: str | os.PathLike[str], **options: Unpack[OpenOptions]) -> "SqliteStore":
        """Open (the options are `Database.open`'s); a writable open also restores the FTS
        settings and finishes an interrupted bulk load's index merge."""
        db = await Database.open(path, **options)
        if not db.read_only:
            try:
                await PaperTables(db).prepare_for_writing()
            except BaseException:
                # A failed merge (a full disk) must not leave the database thread running:
                # the process would never exit.
                await db.close()
                raise
        return cls(db, PARTS)

    @contextlib.asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Always this process's: one `paperbot run` serves a SQLite store (`serving_lock`)."""
        yield True


if TYPE_CHECKING:  # mypy proves here that the store and each of its parts implement their ports
    _implements: type[Store] = SqliteStore
