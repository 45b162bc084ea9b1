"""Machine-written notes in PostgreSQL: which papers still need them, failures, the daily budget.

The same tables and rules as SQLite's (`store.sqlite.notes`); the budget
counter is taken with one conditional upsert, so any number of replicas and
backfills share it without overspending.
"""

from __future__ import annotations

import asyncpg

from bot.merge import notes_carrier
from bot.models import Notes, Paper
from store.postgres.database import Database, fetch
from store.postgres.papers import PAPER_READ_COLS_P
from store.postgres.upsert import read_papers, write_batch
from store.sqlite.notes import BUDGET_KEY_PREFIX
from store.sqlite.upsert import prepare

# Usable notes in the language ($1): damaged (mojibake) notes are never shown, so they do not count.
_HAS_NOTES = "EXISTS (SELECT 1 FROM notes AS n WHERE n.paper_id = p.id AND n.lang = $1 AND n.text_quality != 'damaged')"
_FAILED_BEFORE = "EXISTS (SELECT 1 FROM note_attempts AS a WHERE a.paper_id = p.id AND a.lang = $1)"
_TAKE_BUDGET = (
    "INSERT INTO meta AS m (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE "
    "SET value = (m.value::integer + 1)::text WHERE m.value::integer < $2 RETURNING value"
)


class NotesTables:
    """The `NotesStore` port over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def papers_needing_notes(self, lang: str, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Never-tried papers newest first, then failed ones (fewest attempts, longest ago first)."""
        if limit <= 0:
            return []
        if topic is None:
            source, order, topic_filter, member = "papers AS p", "p.published DESC, p.arxiv_id DESC", "", ""
        else:
            source = "paper_topics AS t JOIN papers AS p ON p.id = t.paper_id"
            order, topic_filter = "t.published DESC, t.arxiv_id DESC", "t.topic = $3 AND "
            member = "JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = $3 "
        untried = (
            f"SELECT {PAPER_READ_COLS_P} FROM {source} WHERE {topic_filter}NOT {_HAS_NOTES} "
            f"AND NOT {_FAILED_BEFORE} ORDER BY {order} LIMIT $2"
        )
        failed = (
            f"SELECT {PAPER_READ_COLS_P} FROM note_attempts AS a JOIN papers AS p ON p.id = a.paper_id {member}"
            f"WHERE a.lang = $1 AND NOT {_HAS_NOTES} ORDER BY a.attempts, a.last_tried_at, p.arxiv_id LIMIT $2"
        )
        extra = (topic,) if topic is not None else ()

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            rows = await fetch(conn, untried, lang, limit, *extra)
            if len(rows) < limit:
                rows += await fetch(conn, failed, lang, limit - len(rows), *extra)
            return await read_papers(conn, rows)

        return await self.db.run(read, write=False)

    async def add_notes(self, arxiv_id: str, notes: Notes) -> bool:
        prepared = prepare([notes_carrier(arxiv_id, notes)], self.db.now())

        async def add(conn: asyncpg.Connection) -> bool:
            paper_id = await conn.fetchval("SELECT id FROM papers WHERE arxiv_id = $1", arxiv_id)
            if paper_id is None:
                return False
            await write_batch(conn, prepared)
            await conn.execute("DELETE FROM note_attempts WHERE paper_id = $1 AND lang = $2", paper_id, notes.lang)
            return True

        return await self.db.run(add)

    async def record_notes_failure(self, arxiv_id: str, lang: str, error: str, at: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO note_attempts AS a (paper_id, lang, attempts, last_error, last_tried_at) "
                "SELECT id, $1, 1, $2, $3 FROM papers WHERE arxiv_id = $4 "
                "ON CONFLICT (paper_id, lang) DO UPDATE SET attempts = a.attempts + 1, "
                "last_error = excluded.last_error, last_tried_at = excluded.last_tried_at",
                lang,
                error[:500],
                at,
                arxiv_id,
            )
        )

    async def notes_failures(self, lang: str) -> dict[str, tuple[int, str]]:
        sql = (
            "SELECT p.arxiv_id, a.attempts, a.last_error FROM note_attempts AS a "
            "JOIN papers AS p ON p.id = a.paper_id WHERE a.lang = $1 ORDER BY p.arxiv_id"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, lang), write=False)
        return {arxiv_id: (attempts, error) for arxiv_id, attempts, error in rows}

    async def take_notes_budget(self, day: str, limit: int) -> bool:
        key = BUDGET_KEY_PREFIX + day

        async def take(conn: asyncpg.Connection) -> bool:
            if limit <= 0:
                return False
            taken = await conn.fetchval(_TAKE_BUDGET, key, limit) is not None
            if taken:
                await conn.execute(
                    "DELETE FROM meta WHERE key >= $1 AND key < $2 AND key != $3",
                    BUDGET_KEY_PREFIX,
                    BUDGET_KEY_PREFIX + "\uffff",
                    key,
                )
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
            lambda conn: conn.fetchval("SELECT value FROM meta WHERE key = $1", BUDGET_KEY_PREFIX + day), write=False
        )
        return int(value) if value else 0
