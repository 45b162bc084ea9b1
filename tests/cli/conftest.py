"""Fixtures of the `paperbot` command's tests.

- `db`: a SQLite file holding `seeded_papers`, written before the command opens it.
- `seeded_papers`: three reward-vlm papers (2506.00001-3, published June 1-3, 2025); a test module
  that needs more overrides it, asking for this one and adding its own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.models import Paper
from store.sqlite import SqliteStore
from tests.support import make_paper


@pytest.fixture
def seeded_papers() -> list[Paper]:
    return [make_paper(f"2506.0000{i}", ("reward-vlm",), published=f"2025-06-0{i}") for i in (1, 2, 3)]


@pytest.fixture
def db(tmp_path: Path, seeded_papers: list[Paper]) -> Path:
    path = tmp_path / "p.db"

    async def seed() -> None:
        async with await SqliteStore.open(path) as store:
            await store.papers.upsert_papers(seeded_papers)

    asyncio.run(seed())
    return path
