"""The shell both stores share: one database, the parts made from it, and the port's plumbing.

Why this module exists: a store is its engine's `Database` composed into six
parts (`bot.ports.Store`); naming the parts, reading the location and the
read-only flag, and closing are the same for every engine, so each engine's
store says only which parts it is made of (its `PartTypes`) and how it opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Protocol, Self, TypeVar

from bot.ports import FullTextStore, LibraryStore, NotesStore, PaperStore, SubscriptionStore, VoteStore


class Database(Protocol):
    """What the shell needs of an engine's database object."""

    path: str
    read_only: bool

    async def close(self) -> None: ...


DB = TypeVar("DB", bound=Database)


class Part(Generic[DB]):
    """One part of a store (papers, subscriptions, notes, ...): a view over the store's database that
    holds nothing else, so any number of them may share it."""

    def __init__(self, db: DB) -> None:
        self.db = db


@dataclass(frozen=True)
class PartTypes(Generic[DB]):
    """What an engine's store is made of: the class of each part, one per port (mypy checks each
    implements its port where an engine names them)."""

    papers: Callable[[DB], PaperStore]
    subscriptions: Callable[[DB], SubscriptionStore]
    notes: Callable[[DB], NotesStore]
    fulltext: Callable[[DB], FullTextStore]
    libraries: Callable[[DB], LibraryStore]
    votes: Callable[[DB], VoteStore]


class ComposedStore(Generic[DB]):
    """Papers, topics, notes, subscriptions and deliveries in one database, as the `Store` port's parts."""

    def __init__(self, db: DB, parts: PartTypes[DB]) -> None:
        self.db = db
        self.papers = parts.papers(db)
        self.subscriptions = parts.subscriptions(db)
        self.notes = parts.notes(db)
        self.fulltext = parts.fulltext(db)
        self.libraries = parts.libraries(db)
        self.votes = parts.votes(db)

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

