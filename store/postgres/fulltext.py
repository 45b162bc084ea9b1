"""Papers' full text in PostgreSQL: one row per paper, for the newest version fetched.

The same table, rules and SQL as SQLite's (`store.sqlite.fulltext`,
`store.common.statements`): compressed sections in `body` (BYTEA),
`source = 'none'` with the reason when a version has no usable text, and a
write never replaces a newer version's row.
"""

from __future__ import annotations

from typing import Iterable

import asyncpg

from bot.fulltext.document import FullText
from bot.models import Figure, Paper
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import failure_values, fulltext_from_row, fulltext_values
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.upsert import read_papers

_SAVE_FULLTEXT = numbered(sql.SAVE_FULLTEXT)


class FullTextTables(Part[Database]):
    """The `FullTextStore` port over the store's `Database`."""

    async def papers_needing_fulltext(self, topic: str | None = None, limit: int = 100) -> list[Paper]:
        if limit <= 0:
            return []
        query, params = sql.papers_needing_fulltext(topic, limit)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(conn, await fetch(conn, numbered(query), *params))

        return await self.db.run(read, write=False)

    async def save_fulltext(self, text: FullText) -> bool:
        values = fulltext_values(text, self.db.now())

        async def save(conn: asyncpg.Connection) -> bool:
            if await conn.fetchval("SELECT 1 FROM papers WHERE arxiv_id = $1", text.arxiv_id) is None:
                return False
            await conn.execute(_SAVE_FULLTEXT, *values)
            return True

        return await self.db.run(save)

    async def record_fulltext_failure(self, arxiv_id: str, version: int, reason: str, at: str) -> None:
        await self.db.run(lambda conn: conn.execute(_SAVE_FULLTEXT, *failure_values(arxiv_id, version, reason, at)))

    async def fulltext(self, arxiv_id: str) -> FullText | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.FULLTEXT), arxiv_id), write=False)
        return fulltext_from_row(arxiv_id, rows[0]) if rows else None

    async def fulltext_failure(self, arxiv_id: str) -> str | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.FULLTEXT_FAILURE), arxiv_id), write=False)
        return rows[0][0] if rows else None

    async def figures(self, arxiv_ids: Iterable[str]) -> dict[str, Figure]:
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return {}
        query = (
            "SELECT p.arxiv_id, f.figure_url, f.figure_caption FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id "
            "WHERE p.arxiv_id = ANY($1::text[]) AND f.figure_url IS NOT NULL"
        )
        rows = await self.db.run(lambda conn: fetch(conn, query, ids), write=False)
        return {arxiv_id: Figure(url, caption or "") for arxiv_id, url, caption in rows}
