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

`FullTextTables` implements `bot.ports.FullTextStore` over the store's `Database`.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from bot.fulltext.document import FullText, compress_sections, decompress_sections
from bot.models import Figure, Paper
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import read_papers
from store.sqlite.rows import PAPER_READ_COLUMNS, to_json

_PAPER_COLS_P = ", ".join(f"p.{name}" for name in PAPER_READ_COLUMNS)
_UPSERT = (
    "INSERT INTO fulltext (paper_id, version, source, body, chars, figure_url, figure_caption, error, fetched_at) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM papers WHERE arxiv_id = ? "
    "ON CONFLICT (paper_id) DO UPDATE SET version = excluded.version, source = excluded.source, body = excluded.body, "
    "chars = excluded.chars, figure_url = excluded.figure_url, figure_caption = excluded.figure_caption, "
    "error = excluded.error, fetched_at = excluded.fetched_at WHERE excluded.version >= fulltext.version"
)


# The row's values and its reading, shared with the PostgreSQL store (same table, same rules).
# Column order: version, source, body, chars, figure_url, figure_caption, error, fetched_at, arxiv_id.


def fulltext_values(text: FullText, now: str) -> tuple:
    """A fetched text's row, in `_UPSERT`'s parameter order."""
    figure = text.figure
    return (
        text.version, text.source, compress_sections(text.sections), text.chars,
        figure.url if figure else None, figure.caption if figure else None, None, text.fetched_at or now, text.arxiv_id,
    )  # fmt: skip


def failure_values(arxiv_id: str, version: int, reason: str, at: str) -> tuple:
    """The row of a version with no usable text (`source = 'none'`), in `_UPSERT`'s parameter order."""
    return (version, "none", None, 0, None, None, reason[:500], at, arxiv_id)


def fulltext_from_row(arxiv_id: str, row: Sequence) -> FullText:
    """A stored text from `SELECT version, source, body, figure_url, figure_caption, fetched_at`."""
    version, source, body, figure_url, caption, fetched_at = row
    figure = Figure(figure_url, caption or "") if figure_url else None
    return FullText(arxiv_id, version, source, decompress_sections(body), figure, fetched_at)


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
            f"SELECT {_PAPER_COLS_P} FROM {source} LEFT JOIN fulltext AS f ON f.paper_id = p.id "
            f"WHERE {'t.topic = ? AND ' if topic is not None else ''}(f.paper_id IS NULL OR f.version < p.version) "
            f"ORDER BY {order} LIMIT ?"
        )
        async with self.db.locked() as conn:
            return await read_papers(conn, await fetchall(conn, sql, (*params, limit)))

    async def save_fulltext(self, text: FullText) -> bool:
        values = fulltext_values(text, self.db.now())
        async with self.db.transaction() as conn:
            known = await fetchall(conn, "SELECT 1 FROM papers WHERE arxiv_id = ?", (text.arxiv_id,))
            if known:
                await conn.execute(_UPSERT, values)
        return bool(known)

    async def record_fulltext_failure(self, arxiv_id: str, version: int, reason: str, at: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(_UPSERT, failure_values(arxiv_id, version, reason, at))

    async def fulltext(self, arxiv_id: str) -> FullText | None:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                "SELECT f.version, f.source, f.body, f.figure_url, f.figure_caption, f.fetched_at FROM fulltext AS f "
                "JOIN papers AS p ON p.id = f.paper_id WHERE p.arxiv_id = ? AND f.source != 'none'",
                (arxiv_id,),
            )
        return fulltext_from_row(arxiv_id, rows[0]) if rows else None

    async def fulltext_failure(self, arxiv_id: str) -> str | None:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                "SELECT f.error FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id "
                "WHERE p.arxiv_id = ? AND f.source = 'none'",
                (arxiv_id,),
            )
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
