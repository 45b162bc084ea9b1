"""The stores the store contract tests run against, one factory each, as pytest fixtures.

Why this module exists: the contract tests talk to a store only through the
ports of `bot.ports` (`Store` and its parts), so one test proves a promise for
every store. A test module takes the fixtures with
`pytest_plugins = ["tests.support.store_factories"]` and must define a `clock`
fixture (a `FakeClock`). Another store (PostgreSQL, issue 17) is one more
entry in `STORE_FACTORIES`; no test is copied.

- `store`: a fresh, empty store of each kind.
- `store_factory`: opens more stores of the same kind (`await store_factory.open("other")`);
  opening the same name again reopens that store where the kind keeps data.
- `persistent_store_factory`: the same, only for the kinds that keep data across a reopen.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

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


async def _factory(name: str, tmp_path: Path, clock: Clock) -> AsyncIterator[StoreFactory]:
    factory = STORE_FACTORIES[name](tmp_path, clock)
    try:
        yield factory
    finally:
        await factory.close_all()


@pytest.fixture(params=sorted(STORE_FACTORIES))
async def store_factory(request, tmp_path, clock) -> AsyncIterator[StoreFactory]:
    async for factory in _factory(request.param, tmp_path, clock):
        yield factory


@pytest.fixture(params=PERSISTENT)
async def persistent_store_factory(request, tmp_path, clock) -> AsyncIterator[StoreFactory]:
    async for factory in _factory(request.param, tmp_path, clock):
        yield factory


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    return await store_factory.open()
