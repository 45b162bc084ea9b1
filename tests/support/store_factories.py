"""The stores the store contract tests run against, one factory each.

Why this module exists: the contract tests talk to a store only through the
ports of `bot.ports` (`Store` and its parts), so one test proves a promise for
every store. tests/store/conftest.py makes the fixtures (`store`,
`store_factory`, `persistent_store_factory`) from `STORE_FACTORIES`; another
store (PostgreSQL, issue 17) is one more entry there, and no test is copied.
Everywhere else, tests/conftest.py's `store` is one SQLite file store.
"""

from __future__ import annotations

from pathlib import Path

from bot.ports import Clock, Store
from store.sqlite import SqliteStore


class StoreFactory:
    """Opens stores of one kind for one test and closes them all at its end."""

    persistent = True

    def __init__(self, directory: Path, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock
        self._opened: list[Store] = []

    async def open(self, name: str = "store") -> Store:
        store = await self._open(name)
        self._opened.append(store)
        return store

    async def _open(self, name: str) -> Store:
        raise NotImplementedError

    async def close_all(self) -> None:
        while self._opened:
            await self._opened.pop().close()


class SqliteFileFactory(StoreFactory):
    async def _open(self, name: str) -> Store:
        return await SqliteStore.open(self.directory / f"{name}.db", clock=self.clock)


class SqliteMemoryFactory(StoreFactory):
    persistent = False  # every open is a new, empty store

    async def _open(self, name: str) -> Store:
        return await SqliteStore.open(":memory:", clock=self.clock)


STORE_FACTORIES: dict[str, type[StoreFactory]] = {
    "sqlite-file": SqliteFileFactory,
    "sqlite-memory": SqliteMemoryFactory,
}
PERSISTENT = sorted(name for name, factory in STORE_FACTORIES.items() if factory.persistent)
