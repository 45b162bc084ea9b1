"""In tests/store/, `store` is every kind of store: each test here runs once per entry of
`tests.support.store_factories.STORE_FACTORIES`.

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
from tests.support.store_factories import PERSISTENT, STORE_FACTORIES, StoreFactory


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
