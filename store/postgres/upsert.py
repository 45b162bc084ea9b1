"""The PostgreSQL write path of `upsert_papers`: the same decisions as SQLite, written with COPY.

What to keep is decided by the core (`bot.merge.decide_batch`); the rows are
encoded by the same code as SQLite's (`store.common.rows`, `store.common.batch`),
so both stores hold the same values for the same copies. One batch, inside the
caller's transaction:

1. Take `PAPERS_WRITE_LOCK` (a transaction advisory lock): writers of papers
   take turns, as SQLite's single writer does, so two replicas or an import
   beside the bot never race on a new paper, and `paper_topics.seq` is handed
   out in commit order (what digest windows rely on).
2. Load the stored copies of the batch's papers (three queries), decide.
3. New papers, their memberships and notes go in with `COPY` (binary, the
   fastest way into PostgreSQL; a snapshot import is mostly new papers);
   changed papers and notes with one pipelined statement each.
"""

from __future__ import annotations

from typing import Sequence

import asyncpg

from bot.merge import decide_batch
from bot.models import Paper, UpsertReport
from store.cjk import cjk_index_text
from store.common.batch import PreparedBatch, batch_rows
from store.common.rows import NOTE_COLUMNS, NOTE_LIST, PAPER_COLUMNS, PAPER_READ_LIST, TOPIC_MEMBER_COLUMNS, papers_from_rows
from store.postgres.database import fetch
from store.postgres.schema import PAPERS_WRITE_LOCK

# SQLite's columns plus the title's CJK words, which PostgreSQL weights like the title.
PG_PAPER_COLUMNS = (*PAPER_COLUMNS, "search_cjk_title")
_PAPER_UPDATE = ", ".join(f"{name} = ${i}" for i, name in enumerate(PG_PAPER_COLUMNS[1:], start=2))
_UPDATE_PAPER = f"UPDATE papers SET {_PAPER_UPDATE} WHERE id = $1"
_NOTE_UPDATE = ", ".join(f"{name} = excluded.{name}" for name in NOTE_COLUMNS[3:])
_UPSERT_NOTE = (
    f"INSERT INTO notes ({NOTE_LIST}) VALUES ({', '.join(f'${i}' for i in range(1, len(NOTE_COLUMNS) + 1))}) "
    f"ON CONFLICT (paper_id, lang, source) DO UPDATE SET {_NOTE_UPDATE}"
)
_NEW_TOPICS = "INSERT INTO topics (name) SELECT DISTINCT name FROM unnest($1::text[]) AS name ON CONFLICT DO NOTHING"
_COUNT_MEMBERS = (
    "UPDATE topics SET paper_count = topics.paper_count + added.n "
    "FROM (SELECT name, count(*) AS n FROM unnest($1::text[]) AS name GROUP BY name) AS added WHERE topics.name = added.name"
)


def pg_row(row_id: int, paper: Paper, tail: tuple) -> tuple:
    """The `papers` row (PG_PAPER_COLUMNS) from SQLite's row tail."""
    return (row_id, *tail, cjk_index_text(paper.title))


async def write_batch(conn: asyncpg.Connection, batch: PreparedBatch) -> UpsertReport:
    """Write one prepared batch inside the caller's transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", PAPERS_WRITE_LOCK)
    known, row_ids = await load_known(conn, batch.papers)
    outcome = decide_batch(batch.papers, known)
    new_ids: list[int] = []
    if outcome.new:
        new_ids = await conn.fetchval(
            "SELECT array_agg(nextval('papers_id_seq')) FROM generate_series(1, $1)", len(outcome.new)
        )
    rows = batch_rows(batch, outcome, new_ids, row_ids, pg_row)
    new_rows, changed_rows, member_rows = rows.new, rows.changed, rows.members
    new_note_rows, changed_note_rows = rows.new_notes, rows.changed_notes

    if new_rows:
        await conn.copy_records_to_table("papers", records=new_rows, columns=PG_PAPER_COLUMNS)
    if changed_rows:
        await conn.executemany(_UPDATE_PAPER, changed_rows)
    if member_rows:
        topics = [row[1] for row in member_rows]
        await conn.execute(_NEW_TOPICS, topics)
        await conn.copy_records_to_table("paper_topics", records=member_rows, columns=TOPIC_MEMBER_COLUMNS)
        await conn.execute(_COUNT_MEMBERS, topics)
    if new_note_rows:
        await conn.copy_records_to_table("notes", records=new_note_rows, columns=NOTE_COLUMNS)
    if changed_note_rows:
        await conn.executemany(_UPSERT_NOTE, changed_note_rows)
    return outcome.report


async def load_known(conn: asyncpg.Connection, papers: Sequence[Paper]) -> tuple[dict[str, Paper], dict[str, int]]:
    """The stored copy (with topics and notes) of every paper of the batch the store holds, and its row id."""
    arxiv_ids = list({paper.arxiv_id: None for paper in papers})
    rows = await fetch(conn, f"SELECT {PAPER_READ_LIST} FROM papers WHERE arxiv_id = ANY($1::text[])", arxiv_ids)
    if not rows:
        return {}, {}
    known = await read_papers(conn, rows)
    return {paper.arxiv_id: paper for paper in known}, {row[1]: row[0] for row in rows}


async def read_papers(conn: asyncpg.Connection, rows: list[tuple]) -> list[Paper]:
    """Papers for PAPER_READ_COLUMNS rows, in the same order, with their topics and notes."""
    if not rows:
        return []
    row_ids = [row[0] for row in rows]
    topic_rows = await fetch(
        conn, "SELECT paper_id, topic FROM paper_topics WHERE paper_id = ANY($1::bigint[]) ORDER BY paper_id, topic", row_ids
    )
    note_rows = await fetch(
        conn, f"SELECT {NOTE_LIST} FROM notes WHERE paper_id = ANY($1::bigint[]) ORDER BY paper_id, lang, source", row_ids
    )
    return papers_from_rows(rows, topic_rows, note_rows)


async def papers_by_ids(conn: asyncpg.Connection, ids: list[int]) -> list[Paper]:
    """The papers with these row ids, in this order, with topics and notes."""
    if not ids:
        return []
    rows = await fetch(conn, f"SELECT {PAPER_READ_LIST} FROM papers WHERE id = ANY($1::bigint[])", ids)
    by_id = {row[0]: row for row in rows}
    return await read_papers(conn, [by_id[i] for i in ids if i in by_id])
