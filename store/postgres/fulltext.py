"""Papers' full text in PostgreSQL: one row per paper, for the newest version fetched.

The same table and rules as SQLite's (`store.sqlite.fulltext`): compressed
sections in `body` (BYTEA), `source = 'none'` with the reason when a version
has no usable text, and a write never replaces a newer version's row.
"""

from __future__ import annotations

from typing import Iterable

import asyncpg

from bot.fulltext.document import FullText
from bot.models import Figure, Paper
from store.postgres.database import Database, fetch
from store.postgres.papers import PAPER_READ_COLS_P
from store.postgres.upsert import read_papers
from store.sqlite.fulltext import failure_values, fulltext_from_row, fulltext_values

_UPSERT = (
    "INSERT INTO fulltext (paper_id, version, source, body, chars, figure_url, figure_caption, error, fetched_at) "
    "SELECT id, $1, $2, $3, $4, $5, $6, $7, $8 FROM papers WHERE arxiv_id = $9 "
    "ON CONFLICT (paper_id) DO UPDATE SET version = excluded.version, source = excluded.source, body = excluded.body, "
    "chars = excluded.chars, figure_url = excluded.figure_url, figure_caption = excluded.figure_caption, "
    "error = excluded.error, fetched_at = excluded.fetched_at WHERE excluded.version >= fulltext.version"
)


class FullTextTables:
    """The `FullTextStore` port over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def papers_needing_fulltext(self, topic: str | None = None, limit: int = 100) -> list[Paper]:
        if limit <= 0:
            return []
        params: tuple[str, ...] = ()
        if topic is None:
            source, order = "papers AS p", "p.published DESC, p.arxiv_id DESC"
        else:
            source = "paper_topics AS t JOIN papers AS p ON p.id = t.paper_id"
            order, params = "t.published DESC, t.arxiv_id DESC", (topic,)
        sql = (
            f"SELECT {PAPER_READ_COLS_P} FROM {source} LEFT JOIN fulltext AS f ON f.paper_id = p.id "
            f"WHERE {'t.topic = $2 AND ' if topic is not None else ''}(f.paper_id IS NULL OR f.version < p.version) "
            f"ORDER BY {order} LIMIT $1"
        )

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(conn, await fetch(conn, sql, limit, *params))

        return await self.db.run(read, write=False)

    async def save_fulltext(self, text: FullText) -> bool:
        values = fulltext_values(text, self.db.now())

        async def save(conn: asyncpg.Connection) -> bool:
            if await conn.fetchval("SELECT 1 FROM papers WHERE arxiv_id = $1", text.arxiv_id) is None:
                return False
            await conn.execute(_UPSERT, *values)
            return True

        return await self.db.run(save)

    async def record_fulltext_failure(self, arxiv_id: str, version: int, reason: str, at: str) -> None:
        await self.db.run(lambda conn: conn.execute(_UPSERT, *failure_values(arxiv_id, version, reason, at)))

    async def fulltext(self, arxiv_id: str) -> FullText | None:
        sql = (
            "SELECT f.version, f.source, f.body, f.figure_url, f.figure_caption, f.fetched_at FROM fulltext AS f "
            "JOIN papers AS p ON p.id = f.paper_id WHERE p.arxiv_id = $1 AND f.source != 'none'"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, arxiv_id), write=False)
        return fulltext_from_row(arxiv_id, rows[0]) if rows else None

    async def fulltext_failure(self, arxiv_id: str) -> str | None:
        sql = (
            "SELECT f.error FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id WHERE p.arxiv_id = $1 AND f.source = 'none'"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, arxiv_id), write=False)
        return rows[0][0] if rows else None

    async def figures(self, arxiv_ids: Iterable[str]) -> dict[str, Figure]:
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return {}
        sql = (
            "SELECT p.arxiv_id, f.figure_url, f.figure_caption FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id "
            "WHERE p.arxiv_id = ANY($1::text[]) AND f.figure_url IS NOT NULL"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, ids), write=False)
        return {arxiv_id: Figure(url, caption or "") for arxiv_id, url, caption in rows}
