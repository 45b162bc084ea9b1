"""PaperTables: the `PaperStore` port on SQLite (papers, topics, notes, meta) with FTS5.

Writes: `upsert_papers` writes one batch in one transaction through
`store.sqlite.upsert` (rules: `bot.merge`); `bulk_upsert` pipelines many
batches, preparing the next while SQLite indexes the current one, with FTS5
merging deferred to the end of the load. Reads: `get`, `latest` (off an
index), `search` (plan: `store.sqlite.search`), `topics`, meta values.
`read_papers` and `papers_by_ids` turn paper rows into `Paper`s with their
topics and notes; the other parts use them too.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import AsyncIterable, Iterable

import aiosqlite

from bot.models import Paper, Topic, TopicStats, UpsertReport
from store.common import statements as sql
from store.common.batch import PreparedBatch, prepare
from store.common.composed import Part
from store.common.rows import NOTE_LIST, PAPER_READ_LIST, papers_from_rows, to_json, topic_stats
from store.common.rules import clamp_limit, each
from store.sqlite import schema
from store.sqlite.database import Database, fetchall, scalar
from store.sqlite.query import all_terms_query, match_terms
from store.sqlite.search import WindowedSearch
from store.sqlite.upsert import IDS_PARAM, STAGING_DDL, write_batch

log = logging.getLogger(__name__)



class PaperTables(Part[Database]):
    """Papers, topics, notes, meta and their FTS5 index, over the store's `Database`."""

    async def prepare_for_writing(self) -> None:
        """At a writable open: the FTS settings and staging tables, and the index merge an
        interrupted bulk load left undone."""
        async with self.db.locked() as conn:
            found = await schema.apply_fts_settings(conn)
            await conn.executescript(STAGING_DDL)
        if found.get("automerge") == 0:
            log.warning("%s: a bulk load was interrupted; merging its index segments now", self.db.path)
            await self._finish_bulk_index()

    # --- writes ---------------------------------------------------------------------

    async def upsert_papers(self, papers: Iterable[Paper]) -> UpsertReport:
        """Write one batch in one transaction (rules: `bot.merge`); all or nothing."""
        batch = list(papers)
        if not batch:
            return UpsertReport()
        prepared = prepare(batch, self.db.now())
        async with self.db.transaction() as conn:
            return await write_batch(conn, prepared)

    async def bulk_upsert(
        self, batches: Iterable[Iterable[Paper]] | AsyncIterable[Iterable[Paper]]
    ) -> UpsertReport:
        """Write many batches (e.g. 5,000 papers each), one transaction per batch.

        Same rules and results as calling `upsert_papers` once per batch, and
        the path the snapshot importer and the benchmark use. Two things make
        it faster:

        - Pipelining: while SQLite indexes batch k (in its own thread, without
          the GIL), this coroutine reads and prepares batch k+1.
        - Deferred merging: FTS5 normally merges index segments as they are
          written; here merging is off during the load and done once at the
          end (`optimize` when the load wrote at least a quarter of the store,
          an incremental merge otherwise). Searches during the load are correct
          but slower. An interrupted load is finished at the next open.

        If a batch fails, the batches before it stay written and the error propagates.
        """
        async with self.db.locked() as conn:
            await schema.apply_fts_settings(conn, schema.FTS_BULK_SETTINGS)
        written = [UpsertReport()]
        try:
            await self._pipelined_upsert(batches, written)
        finally:
            await self._finish_bulk_index(written[0].new + written[0].updated)
        return written[0]

    async def _pipelined_upsert(
        self, batches: Iterable[Iterable[Paper]] | AsyncIterable[Iterable[Paper]], written: list[UpsertReport]
    ) -> None:
        """Write batch after batch, preparing the next while one is indexed; totals go to written[0]."""
        writing: asyncio.Task[UpsertReport] | None = None
        try:
            async for papers in each(batches):
                batch = list(papers)
                if not batch:
                    continue
                prepared = prepare(batch, self.db.now())
                if writing is not None:
                    written[0] += await writing
                indexing = asyncio.Event()
                writing = asyncio.create_task(self._write(prepared, indexing))
                # Resume once the task has handed its long INSERT to the database
                # thread (or finished early): from then on both cores are busy.
                waiter = asyncio.create_task(indexing.wait())
                await asyncio.wait({writing, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            if writing is not None:
                written[0] += await writing
                writing = None
        finally:
            if writing is not None:
                # An error while preparing: let the batch in flight finish before propagating.
                done = (await asyncio.gather(writing, return_exceptions=True))[0]
                if isinstance(done, UpsertReport):
                    written[0] += done

    async def _write(self, prepared: PreparedBatch, indexing: asyncio.Event) -> UpsertReport:
        """One batch's transaction; `indexing` is set once its long FTS statement is under way."""
        async with self.db.transaction() as conn:
            return await write_batch(conn, prepared, indexing)

    async def upsert_topics(self, topics: Iterable[Topic]) -> None:
        rows = [(topic.name, topic.title or "", topic.query, to_json(list(topic.categories))) for topic in topics]
        if not rows:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(sql.UPSERT_TOPIC, rows)

    async def set_meta(self, key: str, value: str) -> None:
        async with self.db.locked() as conn:
            await conn.execute(sql.SET_META, (key, value))

    # --- reads ----------------------------------------------------------------------

    async def get(self, arxiv_id: str) -> Paper | None:
        if not isinstance(arxiv_id, str):
            return None
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.PAPER, (arxiv_id,))
            papers = await read_papers(conn, rows)
        return papers[0] if papers else None

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Newest first (`published`, then `arxiv_id`, both descending), read off an index."""
        limit = clamp_limit(limit)
        if not limit:
            return []
        async with self.db.locked() as conn:
            return await read_papers(conn, await fetchall(conn, *sql.latest(topic, limit)))

    async def search(self, query: str, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Ranked search (plan: `store.sqlite.search`); any string is safe, no usable terms -> []."""
        terms = match_terms(query)
        limit = clamp_limit(limit)
        if not terms or not limit or (topic is not None and not isinstance(topic, str)):
            return []
        match = all_terms_query(terms)
        async with self.db.locked() as conn:
            try:
                ids = await WindowedSearch(conn, match, topic, anded_terms=terms).ranked_ids(limit)
            except sqlite3.OperationalError as error:
                # match_terms quotes every term, so this is a bug, not bad input:
                # log it loudly, but the user still just gets no results.
                if not str(error).startswith("fts5:"):
                    raise
                log.error("FTS query %r from %r failed: %s", match, query[:200], error)
                return []
            return await papers_by_ids(conn, ids)

    async def topics(self) -> list[TopicStats]:
        async with self.db.locked() as conn:
            return topic_stats(await fetchall(conn, sql.TOPICS))

    async def topic_names(self) -> list[str]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.TOPIC_NAMES)
        return [name for (name,) in rows]

    async def paper_count(self) -> int:
        async with self.db.locked() as conn:
            return int(await scalar(conn, sql.PAPER_COUNT))

    async def get_meta(self, key: str) -> str | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.META_VALUE, (key,))
        return rows[0][0] if rows else None

    # --- maintenance ----------------------------------------------------------------

    async def _finish_bulk_index(self, written: int | None = None) -> None:
        """Restore normal FTS merging and merge what a bulk load left unmerged.

        `written`: papers the load wrote (None: unknown). A load that wrote a
        quarter of the store or more gets a full `optimize` (one pass, one
        segment, the fastest index to search); a small one an incremental
        merge that leaves the big old segment alone.
        """
        async with self.db.locked() as conn:
            await schema.apply_fts_settings(conn)
            papers = await scalar(conn, sql.PAPER_COUNT)
            if written is None or written * 4 >= papers:
                await conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('optimize')")
            else:
                while True:
                    before = conn.total_changes
                    await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('merge', 1000)")
                    if conn.total_changes - before < 2:
                        break

    async def check_index(self) -> None:
        """Raise if the FTS index disagrees with the papers table (FTS5 integrity-check)."""
        async with self.db.locked() as conn:
            await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)")

    async def optimize(self) -> None:
        """Merge the FTS index into one segment and refresh planner stats; for after a bulk load."""
        async with self.db.locked() as conn:
            await conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('optimize')")
            await conn.execute("PRAGMA optimize")


async def papers_by_ids(conn: aiosqlite.Connection, ids: list[int]) -> list[Paper]:
    """The papers with these row ids, in this order, with topics and notes (the caller holds the lock)."""
    if not ids:
        return []
    rows = await fetchall(conn, f"SELECT {PAPER_READ_LIST} FROM papers WHERE id IN {IDS_PARAM}", (to_json(ids),))
    by_id = {row[0]: row for row in rows}
    return await read_papers(conn, [by_id[i] for i in ids if i in by_id])


async def read_papers(conn: aiosqlite.Connection, rows: list[tuple]) -> list[Paper]:
    """Papers for PAPER_READ_COLUMNS rows, in the same order, with topics and notes (the caller holds the lock)."""
    if not rows:
        return []
    ids_json = to_json([row[0] for row in rows])
    topic_rows = await fetchall(
        conn, f"SELECT paper_id, topic FROM paper_topics WHERE paper_id IN {IDS_PARAM} ORDER BY paper_id, topic", (ids_json,)
    )
    note_rows = await fetchall(
        conn, f"SELECT {NOTE_LIST} FROM notes WHERE paper_id IN {IDS_PARAM} ORDER BY paper_id, lang, source", (ids_json,)
    )
    return papers_from_rows(rows, topic_rows, note_rows)
