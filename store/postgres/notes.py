"""Machine-written notes in PostgreSQL: which papers still need them, failures, the daily budget.

The same tables, rules and most SQL as SQLite's (`store.sqlite.notes`,
`store.common.statements`); the budget counter is taken with one conditional
upsert, so any number of replicas and backfills share it without overspending.
"""

from __future__ import annotations

import asyncpg

from bot.merge import notes_carrier
from bot.models import Notes, Paper
from store.common import statements as sql
from store.common.batch import prepare
from store.common.composed import Part
from store.common.rules import BUDGET_KEY_PREFIX
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.upsert import read_papers, write_batch

_TAKE_BUDGET = (
    "INSERT INTO meta AS m (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE "
    "SET value = (m.value::integer + 1)::text WHERE m.value::integer < $2 RETURNING value"
)


class NotesTables(Part[Database]):
    """The `NotesStore` port over the store's `Database`."""

    async def papers_needing_notes(self, lang: str, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Never-tried papers newest first, then failed ones (fewest attempts, longest ago first)."""
        if limit <= 0:
            return []
        untried, failed, params = sql.papers_needing_notes(lang, topic)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            rows = await fetch(conn, numbered(untried), *params, limit)
            if len(rows) < limit:
                rows += await fetch(conn, numbered(failed), *params, limit - len(rows))
            return await read_papers(conn, rows)

        return await self.db.run(read, write=False)

    async def add_notes(self, arxiv_id: str, notes: Notes) -> bool:
        prepared = prepare([notes_carrier(arxiv_id, notes)], self.db.now())

        async def add(conn: asyncpg.Connection) -> bool:
            paper_id = await conn.fetchval("SELECT id FROM papers WHERE arxiv_id = $1", arxiv_id)
            if paper_id is None:
                return False
            await write_batch(conn, prepared)
            await conn.execute(numbered(sql.FORGET_NOTES_FAILURES), paper_id, notes.lang)
            return True

        return await self.db.run(add)

    async def record_notes_failure(self, arxiv_id: str, lang: str, error: str, at: str) -> None:
        await self.db.run(lambda conn: conn.execute(numbered(sql.RECORD_NOTES_FAILURE), lang, error[:500], at, arxiv_id))

    async def notes_failures(self, lang: str) -> dict[str, tuple[int, str]]:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.NOTES_FAILURES), lang), write=False)
        return {arxiv_id: (attempts, error) for arxiv_id, attempts, error in rows}

    async def take_notes_budget(self, day: str, limit: int) -> bool:
        if limit <= 0:
            return False
        key = BUDGET_KEY_PREFIX + day

        async def take(conn: asyncpg.Connection) -> bool:
            taken = await conn.fetchval(_TAKE_BUDGET, key, limit) is not None
            if taken:
                await conn.execute(numbered(sql.DROP_OTHER_BUDGETS), BUDGET_KEY_PREFIX, BUDGET_KEY_PREFIX + "\uffff", key)
            return taken

        return await self.db.run(take)

    async def return_notes_budget(self, day: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE meta SET value = greatest(value::integer - 1, 0)::text WHERE key = $1", BUDGET_KEY_PREFIX + day
            )
        )

    async def notes_budget_spent(self, day: str) -> int:
        value = await self.db.run(
            lambda conn: conn.fetchval(numbered(sql.META_VALUE), BUDGET_KEY_PREFIX + day), write=False
        )
        return int(value) if value else 0
