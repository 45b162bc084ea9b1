"""Machine-written notes in SQLite: which papers still need them, failures, the daily budget.

Machine notes themselves live in the `notes` table beside imported ones,
keyed (paper, lang, source) with `source = 'llm'`, `origin` = the model and
`created_at`: a different key from a paper list's `source = 'paperlist'`, so
writing one can never replace a human's notes, and both are indexed for
search like any notes (they go through the same merge and write path).

What is new in schema version 3 (tables: `store.sqlite.schema`):
- `note_attempts`: one row per (paper, lang) whose last attempt failed, with
  the reason and a count. A failed paper keeps its extractive TLDR and is
  tried again on a later run, after the papers never tried; a success
  deletes the row.
- The daily budget is a counter in `meta` (`notes.spent.YYYY-MM-DD`, UTC),
  taken in a write transaction so two processes (the service and a
  `paperbot notes` backfill) cannot overspend it together.

`NotesTables` implements `bot.ports.NotesStore` over the store's `Database`.
"""

from __future__ import annotations

from bot.merge import notes_carrier
from bot.models import Notes, Paper
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import read_papers
from store.sqlite.rows import PAPER_READ_COLUMNS
from store.sqlite.upsert import prepare, write_batch

BUDGET_KEY_PREFIX = "notes.spent."

# Usable notes in the language: damaged (mojibake) notes are never shown, so they do not count.
_HAS_NOTES = (
    "EXISTS (SELECT 1 FROM notes AS n WHERE n.paper_id = p.id AND n.lang = ? AND n.text_quality != 'damaged')"
)
_PAPER_COLS_P = ", ".join(f"p.{name}" for name in PAPER_READ_COLUMNS)
_FAILED_BEFORE = "EXISTS (SELECT 1 FROM note_attempts AS a WHERE a.paper_id = p.id AND a.lang = ?)"


class NotesTables:
    """The `NotesStore` port over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def papers_needing_notes(self, lang: str, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Papers without usable notes in `lang`: never-tried ones newest first, then failed ones
        (fewest attempts, longest ago first). At most `limit`."""
        if limit <= 0:
            return []
        if topic is None:
            source, order = "papers AS p", "p.published DESC, p.arxiv_id DESC"
            params: tuple = ()
        else:
            source = "paper_topics AS t JOIN papers AS p ON p.id = t.paper_id"
            order = "t.published DESC, t.arxiv_id DESC"
            params = (topic,)
        topic_filter = "t.topic = ? AND " if topic is not None else ""
        untried = (
            f"SELECT {_PAPER_COLS_P} FROM {source} WHERE {topic_filter}NOT {_HAS_NOTES} "
            f"AND NOT {_FAILED_BEFORE} ORDER BY {order} LIMIT ?"
        )
        failed = (
            f"SELECT {_PAPER_COLS_P} FROM note_attempts AS a JOIN papers AS p ON p.id = a.paper_id "
            + ("JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = ? " if topic is not None else "")
            + f"WHERE a.lang = ? AND NOT {_HAS_NOTES} ORDER BY a.attempts, a.last_tried_at, p.arxiv_id LIMIT ?"
        )
        async with self.db.locked() as conn:
            rows = await fetchall(conn, untried, (*params, lang, lang, limit))
            if len(rows) < limit:
                rows += await fetchall(conn, failed, (*params, lang, lang, limit - len(rows)))
            return await read_papers(conn, rows)

    async def add_notes(self, arxiv_id: str, notes: Notes) -> bool:
        """Store `notes` on a known paper through the usual merge rules (kept per (lang, source),
        indexed for search) and forget its failed attempts in that language. False if the paper is unknown."""
        prepared = prepare([notes_carrier(arxiv_id, notes)], self.db.now())
        async with self.db.transaction() as conn:
            known = await fetchall(conn, "SELECT id FROM papers WHERE arxiv_id = ?", (arxiv_id,))
            if not known:
                return False
            await write_batch(conn, prepared)
            await conn.execute("DELETE FROM note_attempts WHERE paper_id = ? AND lang = ?", (known[0][0], notes.lang))
        return True

    async def record_notes_failure(self, arxiv_id: str, lang: str, error: str, at: str) -> None:
        async with self.db.locked() as conn:
            await conn.execute(
                "INSERT INTO note_attempts (paper_id, lang, attempts, last_error, last_tried_at) "
                "SELECT id, ?, 1, ?, ? FROM papers WHERE arxiv_id = ? "
                "ON CONFLICT (paper_id, lang) DO UPDATE SET attempts = attempts + 1, "
                "last_error = excluded.last_error, last_tried_at = excluded.last_tried_at",
                (lang, error[:500], at, arxiv_id),
            )

    async def notes_failures(self, lang: str) -> dict[str, tuple[int, str]]:
        """arxiv_id -> (attempts, last error) for the papers whose last attempt in `lang` failed."""
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                "SELECT p.arxiv_id, a.attempts, a.last_error FROM note_attempts AS a "
                "JOIN papers AS p ON p.id = a.paper_id WHERE a.lang = ? ORDER BY p.arxiv_id",
                (lang,),
            )
        return {arxiv_id: (attempts, error) for arxiv_id, attempts, error in rows}

    async def take_notes_budget(self, day: str, limit: int) -> bool:
        """Count one paper against `day`'s budget if fewer than `limit` were counted; False when spent.
        Counters of earlier days are dropped."""
        key = BUDGET_KEY_PREFIX + day
        async with self.db.transaction() as conn:
            spent = await fetchall(conn, "SELECT value FROM meta WHERE key = ?", (key,))
            count = int(spent[0][0]) if spent else 0
            taken = count < limit
            if taken:
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, str(count + 1)),
                )
                await conn.execute(
                    "DELETE FROM meta WHERE key >= ? AND key < ? AND key != ?",
                    (BUDGET_KEY_PREFIX, BUDGET_KEY_PREFIX + "\uffff", key),
                )
        return taken

    async def return_notes_budget(self, day: str) -> None:
        """Give back one paper of `day`'s budget (the request never reached a model)."""
        async with self.db.locked() as conn:
            await conn.execute(
                "UPDATE meta SET value = CAST(max(CAST(value AS INTEGER) - 1, 0) AS TEXT) WHERE key = ?",
                (BUDGET_KEY_PREFIX + day,),
            )

    async def notes_budget_spent(self, day: str) -> int:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, "SELECT value FROM meta WHERE key = ?", (BUDGET_KEY_PREFIX + day,))
        return int(rows[0][0]) if rows else 0
