"""The shell both stores share: one database, the parts made from it, and the port's plumbing.

Why this module exists: a store is its engine's `Database` composed into six
parts (`bot.ports.Store`); naming the parts, reading the location and the
read-only flag, and closing are the same for every engine, so each engine's
store says only which parts it is made of and how it opens.
"""

from __future__ import annotations

from typing import Generic, Protocol, Self, TypeVar

from bot.ports import FullTextStore, LibraryStore, NotesStore, PaperStore, SubscriptionStore, VoteStore


class Database(Protocol):
    """What the shell needs of an engine's database object."""

    path: str
    read_only: bool

    async def close(self) -> None: ...


DB = TypeVar("DB", bound=Database)


class ComposedStore(Generic[DB]):
    """Papers, topics, notes, subscriptions and deliveries in one database, as the `Store` port's parts."""

    def __init__(
        self, db: DB, *, papers: PaperStore, subscriptions: SubscriptionStore, notes: NotesStore,
        fulltext: FullTextStore, libraries: LibraryStore, votes: VoteStore,
    ) -> None:  # fmt: skip
        self.db = db
        self.papers = papers
        self.subscriptions = subscriptions
        self.notes = notes
        self.fulltext = fulltext
        self.libraries = libraries
        self.votes = votes

    @property
    def path(self) -> str:
        """The location as messages show it (a PostgreSQL URL without its password)."""
        return self.db.path

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

