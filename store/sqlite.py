"""SqliteStore: the `PaperStore` port on SQLite (aiosqlite), FTS5 and WAL.

Writes go through one path: `prepare_fresh` (pure Python) -> one
transaction that loads the known copies of the batch's papers with one query
per table, lets `merge_batch` apply the upsert rules, stages the rows to
write in TEMP tables with `executemany`, and applies them with a handful of
set-based statements. Set-based matters for speed, not just style: FTS5
flushes its pending index data at every statement savepoint, so a trigger
firing once per `executemany` row would write one tiny index segment per
paper; one `INSERT ... SELECT` writes one segment per batch, and it runs
entirely inside SQLite without the GIL, which is what lets `bulk_upsert`
prepare the next batch on the other core meanwhile.

All operations share one connection and one asyncio lock, so a reader never
sees half of a write and two writers never interleave their transactions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from datetime import timezone
from urllib.parse import quote
from typing import AsyncIterable, Iterable, Sequence

import aiosqlite

from bot.errors import StoreError
from bot.models import Notes, Paper, Topic, TopicStats, UpsertReport
from bot.ports import Clock, SystemClock
from store import schema
from store.merge import BatchPlan, PaperState, merge_batch, prepare_fresh
from store.query import build_match_query
from store.rows import (
    NOTE_COLUMNS,
    PAPER_COLUMNS,
    PAPER_READ_COLUMNS,
    TOPIC_MEMBER_COLUMNS,
    from_json_list,
    note_from_row,
    note_row,
    paper_from_row,
    to_json,
)
from store.notes_tables import NotesTables
from store.errors import as_store_errors, check_location, not_a_store, raises_store_errors
from store.search import WindowedSearch
from store.serving_lock import ServingLock
from store.subscriptions import SubscriptionTables

log = logging.getLogger(__name__)

MAX_LIMIT = 1000

_PAPER_COLS = ", ".join(PAPER_COLUMNS)
_PAPER_READ_COLS = ", ".join(PAPER_READ_COLUMNS)
_PAPER_READ_COLS_P = ", ".join(f"p.{name}" for name in PAPER_READ_COLUMNS)
_NOTE_COLS = ", ".join(NOTE_COLUMNS)
_MEMBER_COLS = ", ".join(TOPIC_MEMBER_COLUMNS)
_PAPER_UPDATE = ", ".join(f"{name} = staged.{name}" for name in PAPER_COLUMNS[1:])
_NOTE_UPDATE = ", ".join(f"{name} = excluded.{name}" for name in NOTE_COLUMNS[3:])

# Staging tables live in TEMP (memory): rows are written here one by one, then
# moved into the real tables by one statement each.
_STAGING_DDL = f"""
CREATE TEMP TABLE IF NOT EXISTS staged_papers ({PAPER_COLUMNS[0]} INTEGER PRIMARY KEY, {", ".join(PAPER_COLUMNS[1:])});
CREATE TEMP TABLE IF NOT EXISTS staged_members ({_MEMBER_COLS});
CREATE TEMP TABLE IF NOT EXISTS staged_notes ({_NOTE_COLS});
"""
_STAGE_PAPER = f"INSERT INTO temp.staged_papers ({_PAPER_COLS}) VALUES ({', '.join('?' * len(PAPER_COLUMNS))})"
_STAGE_MEMBER = f"INSERT INTO temp.staged_members ({_MEMBER_COLS}) VALUES ({', '.join('?' * len(TOPIC_MEMBER_COLUMNS))})"
_STAGE_NOTE = f"INSERT INTO temp.staged_notes ({_NOTE_COLS}) VALUES ({', '.join('?' * len(NOTE_COLUMNS))})"
_APPLY_NEW_TOPICS = "INSERT OR IGNORE INTO topics (name) SELECT DISTINCT topic FROM temp.staged_members"
_INSERT_PAPER = f"INSERT INTO papers ({_PAPER_COLS}) VALUES ({', '.join('?' * len(PAPER_COLUMNS))})"
_FTS_COLS = "title, abstract, authors, search_notes, search_cjk"
# New papers have consecutive ids from the batch's first one; the update trigger indexes
# changed papers, so this is the only statement that adds rows to the index.
_INDEX_NEW_PAPERS = f"INSERT INTO papers_fts (rowid, {_FTS_COLS}) SELECT id, {_FTS_COLS} FROM papers WHERE id >= ?"
_APPLY_CHANGED_PAPERS = f"UPDATE papers SET {_PAPER_UPDATE} FROM temp.staged_papers AS staged WHERE papers.id = staged.id"
_APPLY_MEMBERS = f"INSERT INTO paper_topics ({_MEMBER_COLS}) SELECT {_MEMBER_COLS} FROM temp.staged_members"
_APPLY_NOTES = (
    f"INSERT INTO notes ({_NOTE_COLS}) SELECT {_NOTE_COLS} FROM temp.staged_notes WHERE true "
    f"ON CONFLICT (paper_id, lang, source) DO UPDATE SET {_NOTE_UPDATE}"
)
_CLEAR_STAGED_PAPERS = "DELETE FROM temp.staged_papers"
_CLEAR_STAGED_MEMBERS = "DELETE FROM temp.staged_members"
_CLEAR_STAGED_NOTES = "DELETE FROM temp.staged_notes"

_IDS_PARAM = "(SELECT value FROM json_each(?))"


def clamp_limit(limit: object, default: int = 5) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        return default
    return max(0, min(limit, MAX_LIMIT))


@raises_store_errors
class SqliteStore(SubscriptionTables, NotesTables):
    """Papers, topics, notes and their FTS5 index in one SQLite file.

    Open with `await SqliteStore.open(path)` (or `async with await SqliteStore.open(path)`);
    `":memory:"` gives a private in-memory store for tests. Lookups open it with
    `read_only=True`, which writes nothing, so they never wait for a writer's lock.
    A fault the owner can fix (full disk, busy, read-only, damaged) leaves every
    public method as a `StoreError` (`store.errors`).
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        clock: Clock,
        path: str,
        *,
        read_only: bool = False,
        serving_lock: ServingLock | None = None,
    ) -> None:
        self._conn = conn
        self._clock = clock
        self._lock = asyncio.Lock()
        self._serving_lock = serving_lock
        self.path = path
        self.read_only = read_only

    # --- lifecycle ------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        migrations: list[schema.Migration] | None = None,
        read_only: bool = False,
        create_parent: bool = True,
        serving: bool = False,
    ) -> "SqliteStore":
        """Open the store; every failure the user can fix is a `StoreError` naming the path.

        Writable (the default): create the file (and, with `create_parent`, its
        directory), migrate to the newest schema, restore the FTS settings and
        finish an interrupted bulk load's index merge.
        `read_only`: change nothing at all, not even settings: no migrations, no
        merge; the file must exist with the current schema. For lookups, which
        must work beside a bulk import, on a full disk and on a read-only file.
        `serving`: also hold `<path>.lock` until close, so a second `paperbot run`
        on the same store refuses to start (`store.serving_lock`).
        `migrations` replaces `schema.MIGRATIONS`; tests use it to exercise a future step.
        """
        path = str(path)
        with as_store_errors(path):
            if path != ":memory:":
                check_location(path, writing=not read_only, create_parent=create_parent)
            conn, found = await _connect(path, read_only, migrations)
            try:
                # Taken once the file is known to be a store, so a wrong --db leaves no lock file behind.
                serving_lock = ServingLock.acquire(path) if serving and path != ":memory:" else None
            except BaseException:
                await _close_quietly(conn)
                raise
            store = cls(conn, clock or SystemClock(), path, read_only=read_only, serving_lock=serving_lock)
            if found.get("automerge") == 0:
                log.warning("%s: a bulk load was interrupted; merging its index segments now", path)
                try:
                    await store._finish_bulk_index()
                except BaseException:
                    # A failed merge (a full disk) must not leave the database thread
                    # running: the process would never exit.
                    await store.close()
                    raise
        return store

    async def close(self) -> None:
        async with self._lock:
            try:
                await self._conn.close()
            finally:
                if self._serving_lock is not None:
                    self._serving_lock.release()

    async def __aenter__(self) -> "SqliteStore":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- writes ---------------------------------------------------------------------

    async def upsert_papers(self, papers: Iterable[Paper]) -> UpsertReport:
        """Write one batch in one transaction (rules: `store.merge`); all or nothing."""
        batch = list(papers)
        if not batch:
            return UpsertReport()
        now = self._now()
        fresh = prepare_fresh(batch, now)
        async with self._lock:
            return await self._write(batch, fresh, now)

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
        async with self._lock:
            await schema.apply_fts_settings(self._conn, schema.FTS_BULK_SETTINGS)
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
            async for batch in _aiter(batches):
                batch = list(batch)
                if not batch:
                    continue
                now = self._now()
                fresh = prepare_fresh(batch, now)
                if writing is not None:
                    written[0] += await writing
                indexing = asyncio.Event()
                writing = asyncio.create_task(self._locked_write(batch, fresh, now, indexing))
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

    async def _locked_write(
        self, batch: list[Paper], fresh: list[PaperState], now: str, indexing: asyncio.Event
    ) -> UpsertReport:
        async with self._lock:
            return await self._write(batch, fresh, now, indexing)

    async def _write(
        self, batch: Sequence[Paper], fresh: list[PaperState], now: str, indexing: asyncio.Event | None = None
    ) -> UpsertReport:
        """One upsert transaction; `indexing` is set once the long FTS-indexing statement is under way."""
        conn = self._conn
        await conn.execute("BEGIN IMMEDIATE")
        try:
            stored = await self._load_states(batch)
            next_id = await self._scalar("SELECT coalesce(max(id), 0) + 1 FROM papers")
            plan = merge_batch(batch, fresh, stored, next_id)
            await self._write_plan(plan, now, indexing)
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        finally:
            if indexing is not None:
                indexing.set()
        log.debug("upsert: %s", plan.report)
        return plan.report

    async def _load_states(self, batch: Sequence[Paper]) -> dict[str, PaperState]:
        """The stored state of every paper of the batch the store already knows."""
        ids_json = to_json(list({paper.arxiv_id: None for paper in batch}))
        rows = await self._fetchall(f"SELECT {_PAPER_READ_COLS} FROM papers WHERE arxiv_id IN {_IDS_PARAM}", (ids_json,))
        if not rows:
            return {}
        paper_ids = to_json([row[0] for row in rows])
        topics: dict[int, dict[str, None]] = {row[0]: {} for row in rows}
        notes: dict[int, dict[tuple[str, str], Notes]] = {row[0]: {} for row in rows}
        for paper_id, topic in await self._fetchall(
            f"SELECT paper_id, topic FROM paper_topics WHERE paper_id IN {_IDS_PARAM}", (paper_ids,)
        ):
            topics[paper_id][topic] = None
        for row in await self._fetchall(f"SELECT {_NOTE_COLS} FROM notes WHERE paper_id IN {_IDS_PARAM}", (paper_ids,)):
            note = note_from_row(row)
            notes[row[0]][(note.lang, note.source)] = note
        states = {}
        for row in rows:
            paper = paper_from_row(row, (), ())
            values = (
                row[0], paper.arxiv_id, paper.version, paper.title, paper.abstract, paper.authors,
                paper.published, paper.updated, paper.categories, paper.comment, paper.journal_ref,
                paper.doi, paper.code_url, paper.text_quality, paper.added_at,
            )  # fmt: skip
            states[paper.arxiv_id] = PaperState(values, topics[row[0]], notes[row[0]], is_new=False)
        return states

    async def _write_plan(self, plan: BatchPlan, now: str, indexing: asyncio.Event | None) -> None:
        """Apply what merge_batch decided. FTS5 flushes pending index data at every statement
        savepoint, so everything touching the index is one statement per batch."""
        conn = self._conn
        changed_rows, member_rows, note_rows = [], [], []
        for state in plan.changed:
            if state.row_dirty:
                changed_rows.append(state.paper_row())
            member_rows.extend((state.id, topic, now, state.published, state.arxiv_id) for topic in state.new_topics)
            note_rows.extend(note_row(state.id, state.notes[key]) for key in state.dirty_notes)
        for state in plan.new:
            member_rows.extend((state.id, topic, now, state.published, state.arxiv_id) for topic in state.topics)
            note_rows.extend(note_row(state.id, note) for note in state.notes.values())
        if plan.new:
            # Plain inserts without triggers: no statement savepoint, no index flush per row.
            await conn.executemany(_INSERT_PAPER, [state.paper_row() for state in plan.new])
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
        if plan.new:
            # The long statement (tokenizing every new paper); it runs without the GIL.
            await conn.execute(_INDEX_NEW_PAPERS, (plan.new[0].id,))
        if member_rows:
            await conn.execute(_APPLY_NEW_TOPICS)
            await conn.execute(_APPLY_MEMBERS)
            await conn.execute(_CLEAR_STAGED_MEMBERS)
        if note_rows:
            await conn.execute(_APPLY_NOTES)
            await conn.execute(_CLEAR_STAGED_NOTES)

    async def upsert_topics(self, topics: Iterable[Topic]) -> None:
        rows = [(topic.name, topic.title or "", topic.query, to_json(list(topic.categories))) for topic in topics]
        if not rows:
            return
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany(
                    "INSERT INTO topics (name, title, query, categories) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET title = excluded.title, query = excluded.query, "
                    "categories = excluded.categories",
                    rows,
                )
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    async def set_meta(self, key: str, value: str) -> None:
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- reads ----------------------------------------------------------------------

    async def get(self, arxiv_id: str) -> Paper | None:
        if not isinstance(arxiv_id, str):
            return None
        async with self._lock:
            rows = await self._fetchall(f"SELECT {_PAPER_READ_COLS} FROM papers WHERE arxiv_id = ?", (arxiv_id,))
            papers = await self._papers_from_rows(rows)
        return papers[0] if papers else None

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Newest first (`published`, then `arxiv_id`, both descending), read off an index."""
        limit = clamp_limit(limit)
        if not limit:
            return []
        if topic is None:
            sql = f"SELECT {_PAPER_READ_COLS} FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT ?"
            params: tuple = (limit,)
        else:
            sql = (
                f"SELECT {_PAPER_READ_COLS_P} FROM paper_topics AS t JOIN papers AS p ON p.id = t.paper_id "
                "WHERE t.topic = ? ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?"
            )
            params = (topic, limit)
        async with self._lock:
            return await self._papers_from_rows(await self._fetchall(sql, params))

    async def search(self, query: str, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Ranked search (plan: `store.search`); any string is safe, no usable terms -> []."""
        match = build_match_query(query) if isinstance(query, str) else None
        limit = clamp_limit(limit)
        if match is None or not limit or (topic is not None and not isinstance(topic, str)):
            return []
        async with self._lock:
            try:
                ids = await WindowedSearch(self._conn, match, topic).ranked_ids(limit)
            except sqlite3.OperationalError as error:
                # build_match_query quotes everything, so this is a bug, not bad input:
                # log it loudly, but the user still just gets no results.
                if not str(error).startswith("fts5:"):
                    raise
                log.error("FTS query %r from %r failed: %s", match, query[:200], error)
                return []
            return await self._papers_by_ids(ids)

    async def topics(self) -> list[TopicStats]:
        sql = (
            "SELECT name, title, query, categories, paper_count, "
            "(SELECT max(published) FROM paper_topics WHERE topic = topics.name) "
            "FROM topics ORDER BY name"
        )
        async with self._lock:
            rows = await self._fetchall(sql, ())
        return [
            TopicStats(Topic(name, title, query, from_json_list(categories)), count, newest or None)
            for name, title, query, categories, count, newest in rows
        ]

    async def topic_names(self) -> list[str]:
        async with self._lock:
            rows = await self._fetchall("SELECT name FROM topics ORDER BY name", ())
        return [name for (name,) in rows]

    async def paper_count(self) -> int:
        async with self._lock:
            return await self._scalar("SELECT count(*) FROM papers")

    async def get_meta(self, key: str) -> str | None:
        async with self._lock:
            rows = await self._fetchall("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # --- maintenance ----------------------------------------------------------------

    async def _finish_bulk_index(self, written: int | None = None) -> None:
        """Restore normal FTS merging and merge what a bulk load left unmerged.

        `written`: papers the load wrote (None: unknown). A load that wrote a
        quarter of the store or more gets a full `optimize` (one pass, one
        segment, the fastest index to search); a small one an incremental
        merge that leaves the big old segment alone.
        """
        async with self._lock:
            conn = self._conn
            await schema.apply_fts_settings(conn)
            papers = await self._scalar("SELECT count(*) FROM papers")
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
        async with self._lock:
            await self._conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)")

    async def optimize(self) -> None:
        """Merge the FTS index into one segment and refresh planner stats; for after a bulk load."""
        async with self._lock:
            await self._conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('optimize')")
            await self._conn.execute("PRAGMA optimize")

    # --- helpers --------------------------------------------------------------------

    def _now(self) -> str:
        return self._clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _fetchall(self, sql: str, params: tuple) -> list[tuple]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _scalar(self, sql: str, params: tuple = ()) -> int:
        rows = await self._fetchall(sql, params)
        return rows[0][0]

    async def _papers_by_ids(self, ids: list[int]) -> list[Paper]:
        if not ids:
            return []
        rows = await self._fetchall(f"SELECT {_PAPER_READ_COLS} FROM papers WHERE id IN {_IDS_PARAM}", (to_json(ids),))
        by_id = {row[0]: row for row in rows}
        return await self._papers_from_rows([by_id[i] for i in ids if i in by_id])

    async def _papers_from_rows(self, rows: list[tuple]) -> list[Paper]:
        """Papers for PAPER_READ_COLUMNS rows, in the same order, with topics and notes."""
        if not rows:
            return []
        ids_json = to_json([row[0] for row in rows])
        topics: dict[int, list[str]] = {}
        for paper_id, topic in await self._fetchall(
            f"SELECT paper_id, topic FROM paper_topics WHERE paper_id IN {_IDS_PARAM} ORDER BY paper_id, topic", (ids_json,)
        ):
            topics.setdefault(paper_id, []).append(topic)
        notes: dict[int, list[Notes]] = {}
        for row in await self._fetchall(
            f"SELECT {_NOTE_COLS} FROM notes WHERE paper_id IN {_IDS_PARAM} ORDER BY paper_id, lang, source", (ids_json,)
        ):
            notes.setdefault(row[0], []).append(note_from_row(row))
        return [paper_from_row(row, tuple(topics.get(row[0], ())), tuple(notes.get(row[0], ()))) for row in rows]


async def _connect(
    path: str, read_only: bool, migrations: list[schema.Migration] | None
) -> tuple[aiosqlite.Connection, dict[str, int]]:
    """A ready connection and the FTS options found at open; closed again if any step fails."""
    if read_only:
        conn = await _connect_read_only(path)
    else:
        conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        if read_only:
            await _check_readable_schema(conn, path, migrations)
            return conn, {}
        return conn, await _prepare_for_writing(conn, path, migrations)
    except BaseException:
        await _close_quietly(conn)
        raise


async def _prepare_for_writing(
    conn: aiosqlite.Connection, path: str, migrations: list[schema.Migration] | None
) -> dict[str, int]:
    """Settings, migrations, FTS options, staging tables; returns the FTS options found before."""
    for pragma in schema.CONNECTION_PRAGMAS:
        await conn.execute(pragma)
    await conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
    await schema.migrate(conn, migrations, path=path)
    found = await schema.apply_fts_settings(conn)
    await conn.executescript(_STAGING_DDL)
    return found


async def _connect_read_only(path: str) -> aiosqlite.Connection:
    """A connection that cannot write (SQLite's `mode=ro` plus `query_only`).

    WAL readers need a `-shm` index; with no bot or import running it does not
    exist, and in a read-only directory or on a full disk it cannot be made.
    When, besides, no commit waits in the `-wal`, the file alone is the whole
    store: it is then read as immutable.
    """
    if path == ":memory:":
        raise StoreError("an in-memory store cannot be opened read-only", path)
    wal = f"{path}-wal"
    wal_has_commits = os.path.exists(wal) and os.path.getsize(wal) > 0
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        return await _connect_for_reading(uri)
    except sqlite3.OperationalError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        cannot_make_shm = code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL)
        if not cannot_make_shm or wal_has_commits:
            raise
        log.debug("%s: read-only open failed (%s); reading the file as immutable", path, error)
    return await _connect_for_reading(uri + "&immutable=1")


async def _connect_for_reading(uri: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
    try:
        for pragma in schema.READ_PRAGMAS:
            await conn.execute(pragma)
        await conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
        await conn.execute("SELECT count(*) FROM sqlite_master")  # opens the file (and its WAL) now
    except BaseException:
        await _close_quietly(conn)
        raise
    return conn


async def _check_readable_schema(conn: aiosqlite.Connection, path: str, migrations: list[schema.Migration] | None) -> None:
    """A read-only store must be at this paperbot's schema: it cannot be migrated here."""
    current = await schema.schema_version(conn)
    newest = len(schema.MIGRATIONS if migrations is None else migrations)
    if current > newest:
        schema.refuse_newer(current, newest, path)
    if current == 0:
        raise not_a_store(path, "an empty or foreign SQLite file")
    if current < newest:
        raise StoreError(
            f"the store {path} has schema version {current}, older than this paperbot's {newest}; "
            "run `paperbot run` or `paperbot import FILE` once to upgrade it, then look up again",
            path,
        )


async def _close_quietly(conn: aiosqlite.Connection) -> None:
    """Close on an error path: stop the database thread; the error being raised matters more."""
    try:
        await conn.close()
    except Exception as error:
        log.debug("closing the store after a failure failed too: %s", error)


async def _aiter(batches: Iterable | AsyncIterable):
    if hasattr(batches, "__aiter__"):
        async for batch in batches:
            yield batch
    else:
        for batch in batches:
            yield batch
