"""Papers' full text in SQLite: one row per paper, for the newest version fetched.

Why this module exists: full text is big (30-150 KB a paper) and read only by
the notes writer, `/paper ask` and the key figure, so it lives in a table of
its own (schema version 5, `store.sqlite.schema`), compressed
(`bot.fulltext.document`), never in `papers` or the search index.

- `source` is `html` or `pdf`, or `none` when that version has no usable
  full text (`error` says why: no HTML nor PDF, too large, unreadable); a
  `none` row keeps the paper from being tried again until a new version.
- `version` is the paper version the row was made from: a paper whose
  stored version is newer is a candidate again, and a write never replaces a
  newer version's row with an older one's.

`FullTextTables` implements `bot.ports.FullTextStore` over the store's `Database`;
its row encoding (`store.common.rows`) and most of its SQL (`store.common.statements`)
are shared with the PostgreSQL store.
"""

from __future__ import annotations

from typing import Iterable

from bot.fulltext.document import FullText
from bot.models import Figure, Paper
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import failure_values, fulltext_from_row, fulltext_values, to_json
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import read_papers


class FullTextTables(Part[Database]):
    """The `FullTextStore` port over the store's `Database`."""

    async def papers_needing_fulltext(self, topic: str | None = None, limit: int = 100) -> list[Paper]:
        if limit <= 0:
            return []
        async with self.db.locked() as conn:
            return await read_papers(conn, await fetchall(conn, *sql.papers_needing_fulltext(topic, limit)))

    async def save_fulltext(self, text: FullText) -> bool:
        values = fulltext_values(text, self.db.now())
        async with self.db.transaction() as conn:
            known = await fetchall(conn, "SELECT 1 FROM papers WHERE arxiv_id = ?", (text.arxiv_id,))
            if known:
                await conn.execute(sql.SAVE_FULLTEXT, values)
        return bool(known)

    async def record_fulltext_failure(self, arxiv_id: str, version: int, reason: str, at: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(sql.SAVE_FULLTEXT, failure_values(arxiv_id, version, reason, at))

    async def fulltext(self, arxiv_id: str) -> FullText | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.FULLTEXT, (arxiv_id,))
        return fulltext_from_row(arxiv_id, rows[0]) if rows else None

    async def fulltext_failure(self, arxiv_id: str) -> str | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.FULLTEXT_FAILURE, (arxiv_id,))
        return rows[0][0] if rows else None

    async def figures(self, arxiv_ids: Iterable[str]) -> dict[str, Figure]:
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return {}
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                "SELECT p.arxiv_id, f.figure_url, f.figure_caption FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id "
                "WHERE p.arxiv_id IN (SELECT value FROM json_each(?)) AND f.figure_url IS NOT NULL",
                (to_json(ids),),
            )
        return {arxiv_id: Figure(url, caption or "") for arxiv_id, url, caption in rows}
