"""The SQLite write path of `upsert_papers`: rows in, set-based SQL out.

What to keep is decided by the core (`bot.merge`); this module only encodes
and writes. One batch goes:

1. `store.common.batch.prepare` (pure Python, before the transaction): each copy admitted by
   the rules and, for the first copy of each paper, its `papers` row. Most of
   a write's Python work, and it needs no database, so `bulk_upsert` runs it
   for the next batch while SQLite indexes the current one.
2. `write_batch` (inside the caller's transaction): load the stored copies of
   the batch's papers with one query per table, let `bot.merge.decide_batch`
   decide, stage the rows to write in TEMP tables with `executemany`, and
   apply them with a handful of set-based statements.

Set-based matters for speed, not just style: FTS5 flushes its pending index
data at every statement savepoint, so a trigger firing once per `executemany`
row would write one tiny index segment per paper; one `INSERT ... SELECT`
writes one segment per batch, and it runs entirely inside SQLite without the
GIL, which is what lets `bulk_upsert` prepare the next batch on the other core
meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Sequence

import aiosqlite

from bot.merge import decide_batch
from bot.models import Paper, UpsertReport
from store.common.batch import PreparedBatch, batch_rows
from store.common.rows import (
    NOTE_COLUMNS,
    NOTE_LIST,
    PAPER_COLUMNS,
    PAPER_READ_LIST,
    TOPIC_MEMBER_COLUMNS,
    papers_from_rows,
    to_json,
)
from store.sqlite.database import fetchall, scalar

log = logging.getLogger(__name__)

_PAPER_COLS = ", ".join(PAPER_COLUMNS)
_MEMBER_COLS = ", ".join(TOPIC_MEMBER_COLUMNS)
_PAPER_UPDATE = ", ".join(f"{name} = staged.{name}" for name in PAPER_COLUMNS[1:])
_NOTE_UPDATE = ", ".join(f"{name} = excluded.{name}" for name in NOTE_COLUMNS[3:])
IDS_PARAM = "(SELECT value FROM json_each(?))"

# Staging tables live in TEMP (memory): rows are written here one by one, then
# moved into the real tables by one statement each. Created at every writable open.
STAGING_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS staged_papers ({PAPER_COLUMNS[0]} INTEGER PRIMARY KEY, {", ".join(PAPER_COLUMNS[1:])});
CREATE TEMP TABLE IF NOT EXISTS staged_members ({_MEMBER_COLS});
CREATE TEMP TABLE IF NOT EXISTS staged_notes ({NOTE_LIST});
"""
_STAGE_PAPER = f"INSERT INTO temp.staged_papers ({_PAPER_COLS}) VALUES ({', '.join('?' * len(PAPER_COLUMNS))})"
_STAGE_MEMBER = f"INSERT INTO temp.staged_members ({_MEMBER_COLS}) VALUES ({', '.join('?' * len(TOPIC_MEMBER_COLUMNS))})"
_STAGE_NOTE = f"INSERT INTO temp.staged_notes ({NOTE_LIST}) VALUES ({', '.join('?' * len(NOTE_COLUMNS))})"
_APPLY_NEW_TOPICS = "INSERT OR IGNORE INTO topics (name) SELECT DISTINCT topic FROM temp.staged_members"
_INSERT_PAPER = f"INSERT INTO papers ({_PAPER_COLS}) VALUES ({', '.join('?' * len(PAPER_COLUMNS))})"
_FTS_COLS = "title, abstract, authors, search_notes, search_cjk"
# New papers have consecutive ids from the batch's first one; the update trigger indexes
# changed papers, so this is the only statement that adds rows to the index.
_INDEX_NEW_PAPERS = f"INSERT INTO papers_fts (rowid, {_FTS_COLS}) SELECT id, {_FTS_COLS} FROM papers WHERE id >= ?"
_APPLY_CHANGED_PAPERS = f"UPDATE papers SET {_PAPER_UPDATE} FROM temp.staged_papers AS staged WHERE papers.id = staged.id"
_APPLY_MEMBERS = f"INSERT INTO paper_topics ({_MEMBER_COLS}) SELECT {_MEMBER_COLS} FROM temp.staged_members"
_APPLY_NOTES = (
    f"INSERT INTO notes ({NOTE_LIST}) SELECT {NOTE_LIST} FROM temp.staged_notes WHERE true "
    f"ON CONFLICT (paper_id, lang, source) DO UPDATE SET {_NOTE_UPDATE}"
)
_CLEAR_STAGED_PAPERS = "DELETE FROM temp.staged_papers"
_CLEAR_STAGED_MEMBERS = "DELETE FROM temp.staged_members"
_CLEAR_STAGED_NOTES = "DELETE FROM temp.staged_notes"


def _sqlite_row(row_id: int, paper: Paper, tail: tuple) -> tuple:
    return (row_id, *tail)


async def write_batch(
    conn: aiosqlite.Connection, batch: PreparedBatch, indexing: asyncio.Event | None = None
) -> UpsertReport:
    """Write one prepared batch inside the caller's transaction; `indexing` is set once the
    long FTS-indexing statement is handed to the database thread."""
    known, row_ids = await _load_known(conn, batch.papers)
    outcome = decide_batch(batch.papers, known)
    next_id = await scalar(conn, "SELECT coalesce(max(id), 0) + 1 FROM papers")
    rows = batch_rows(batch, outcome, range(next_id, next_id + len(outcome.new)), row_ids, _sqlite_row)
    new_rows, changed_rows, member_rows = rows.new, rows.changed, rows.members
    note_rows = rows.new_notes + rows.changed_notes  # one upsert statement takes both

    # FTS5 flushes pending index data at every statement savepoint, so everything
    # touching the index is one statement per batch.
    if new_rows:
        # Plain inserts without triggers: no statement savepoint, no index flush per row.
        await conn.executemany(_INSERT_PAPER, new_rows)
    if changed_rows:
        await conn.executemany(_STAGE_PAPER, changed_rows)
        await conn.execute(_APPLY_CHANGED_PAPERS)
        await conn.execute(_CLEAR_STAGED_PAPERS)
    if member_rows:
        await conn.executemany(_STAGE_MEMBER, member_rows)
    if note_rows:
        await conn.executemany(_STAGE_NOTE, note_rows)
    if indexing is not None:
        indexing.set()
    if new_rows:
        # The long statement (tokenizing every new paper); it runs without the GIL.
        await conn.execute(_INDEX_NEW_PAPERS, (next_id,))
    if member_rows:
        await conn.execute(_APPLY_NEW_TOPICS)
        await conn.execute(_APPLY_MEMBERS)
        await conn.execute(_CLEAR_STAGED_MEMBERS)
    if note_rows:
        await conn.execute(_APPLY_NOTES)
        await conn.execute(_CLEAR_STAGED_NOTES)
    log.debug("upsert: %s", outcome.report)
    return outcome.report


async def _load_known(conn: aiosqlite.Connection, papers: Sequence[Paper]) -> tuple[dict[str, Paper], dict[str, int]]:
    """The stored copy (with topics and notes) of every paper of the batch the store holds, and its row id."""
    ids_json = to_json(list({paper.arxiv_id: None for paper in papers}))
    rows = await fetchall(conn, f"SELECT {PAPER_READ_LIST} FROM papers WHERE arxiv_id IN {IDS_PARAM}", (ids_json,))
    if not rows:
        return {}, {}
    row_ids_json = to_json([row[0] for row in rows])
    topic_rows = await fetchall(conn, f"SELECT paper_id, topic FROM paper_topics WHERE paper_id IN {IDS_PARAM}", (row_ids_json,))
    note_rows = await fetchall(conn, f"SELECT {NOTE_LIST} FROM notes WHERE paper_id IN {IDS_PARAM}", (row_ids_json,))
    known = {row[1]: paper for row, paper in zip(rows, papers_from_rows(rows, topic_rows, note_rows), strict=True)}
    return known, {row[1]: row[0] for row in rows}
