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
from store.common import statements as sql
from store.common.batch import prepare
from store.common.composed import Part
from store.common.rules import BUDGET_KEY_PREFIX
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import read_papers
from store.sqlite.upsert import write_batch


class NotesTables(Part[Database]):
    """The `NotesStore` port over the store's `Database`."""

    async def papers_needing_notes(self, lang: str, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Papers without usable notes in `lang`: never-tried ones newest first, then failed ones
        (fewest attempts, longest ago first). At most `limit`."""
        if limit <= 0:
            return []
        untried, failed, params = sql.papers_needing_notes(lang, topic)
        async with self.db.locked() as conn:
            rows = await fetchall(conn, untried, (*params, limit))
            if len(rows) < limit:
                rows += await fetchall(conn, failed, (*params, limit - len(rows)))
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
            await conn.execute(sql.FORGET_NOTES_FAILURES, (known[0][0], notes.lang))
        return True

    async def record_notes_failure(self, arxiv_id: str, lang: str, error: str, at: str) -> None:
        async with self.db.locked() as conn:
            await conn.execute(sql.RECORD_NOTES_FAILURE, (lang, error[:500], at, arxiv_id))

    async def notes_failures(self, lang: str) -> dict[str, tuple[int, str]]:
        """arxiv_id -> (attempts, last error) for the papers whose last attempt in `lang` failed."""
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.NOTES_FAILURES, (lang,))
        return {arxiv_id: (attempts, error) for arxiv_id, attempts, error in rows}

    async def take_notes_budget(self, day: str, limit: int) -> bool:
        """Count one paper against `day`'s budget if fewer than `limit` were counted; False when spent.
        Counters of earlier days are dropped."""
        key = BUDGET_KEY_PREFIX + day
        async with self.db.transaction() as conn:
            spent = await fetchall(conn, sql.META_VALUE, (key,))
            count = int(spent[0][0]) if spent else 0
            taken = count < limit
            if taken:
                await conn.execute(sql.SET_META, (key, str(count + 1)))
                await conn.execute(sql.DROP_OTHER_BUDGETS, (BUDGET_KEY_PREFIX, BUDGET_KEY_PREFIX + "\uffff", key))
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
            rows = await fetchall(conn, sql.META_VALUE, (BUDGET_KEY_PREFIX + day,))
        return int(rows[0][0]) if rows else 0
