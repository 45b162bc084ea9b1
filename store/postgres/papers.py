"""PaperTables: the `PaperStore` port on PostgreSQL (papers, topics, notes, meta) with a tsvector index.

Writes go through `store.postgres.upsert` (rules: `bot.merge`), one
transaction per batch; `bulk_upsert` is the same per batch, so a snapshot
import loads with `COPY`. Reads: `get`, `latest` (off an index), `search`
(`store.postgres.search`: a GIN-indexed `@@`, the newest matches ranked by
`ts_rank` with the title weighted up), `topics` (counts kept by the write path), meta values.
"""

from __future__ import annotations

from typing import AsyncIterable, Iterable

import asyncpg

from bot.models import Paper, Topic, TopicStats, UpsertReport
from store.postgres.database import Database, fetch
from store.postgres.search import query_terms, ranked_sql, tsquery_sql
from store.postgres.upsert import PAPER_READ_COLS, papers_by_ids, read_papers, write_batch
from store.sqlite.papers import _aiter, clamp_limit
from store.sqlite.rows import from_json_list, to_json
from store.sqlite.upsert import prepare

PAPER_READ_COLS_P = ", ".join(f"p.{name.strip()}" for name in PAPER_READ_COLS.split(","))


def storable(text: object) -> bool:
    """Whether PostgreSQL can hold this string (no NUL, no lone surrogate): a lookup by one that
    is not finds nothing, as it could never have been stored, instead of failing."""
    if not isinstance(text, str):
        return False
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PaperTables:
    """Papers, topics, notes and meta over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- writes ---------------------------------------------------------------------

    async def upsert_papers(self, papers: Iterable[Paper]) -> UpsertReport:
        batch = list(papers)
        if not batch:
            return UpsertReport()
        prepared = prepare(batch, self.db.now())
        return await self.db.run(lambda conn: write_batch(conn, prepared))

    async def bulk_upsert(self, batches: Iterable[Iterable[Paper]] | AsyncIterable[Iterable[Paper]]) -> UpsertReport:
        """One transaction per batch (new papers by COPY); the batches before a failing one stay written."""
        total = UpsertReport()
        async for papers in _aiter(batches):
            batch = list(papers)
            if batch:
                total += await self.upsert_papers(batch)
        return total

    async def upsert_topics(self, topics: Iterable[Topic]) -> None:
        rows = [(topic.name, topic.title or "", topic.query, to_json(list(topic.categories))) for topic in topics]
        if not rows:
            return

        async def write(conn: asyncpg.Connection) -> None:
            await conn.executemany(
                "INSERT INTO topics (name, title, query, categories) VALUES ($1, $2, $3, $4) "
                # A definition without a title (a [[topics]] entry without `title`) keeps the one an import gave.
                "ON CONFLICT (name) DO UPDATE SET title = CASE WHEN excluded.title <> '' THEN excluded.title "
                "ELSE topics.title END, query = excluded.query, categories = excluded.categories",
                rows,
            )

        await self.db.run(write)

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value
            )
        )

    # --- reads ----------------------------------------------------------------------

    async def get(self, arxiv_id: str) -> Paper | None:
        if not storable(arxiv_id):
            return None

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(
                conn, await fetch(conn, f"SELECT {PAPER_READ_COLS} FROM papers WHERE arxiv_id = $1", arxiv_id)
            )

        papers = await self.db.run(read, write=False)
        return papers[0] if papers else None

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Newest first (`published`, then `arxiv_id`, both descending), read off an index."""
        limit = clamp_limit(limit)
        if not limit or (topic is not None and not storable(topic)):
            return []
        if topic is None:
            sql = f"SELECT {PAPER_READ_COLS} FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT $1"
            params: tuple = (limit,)
        else:
            sql = (
                f"SELECT {PAPER_READ_COLS_P} FROM paper_topics AS t JOIN papers AS p ON p.id = t.paper_id "
                "WHERE t.topic = $1 ORDER BY t.published DESC, t.arxiv_id DESC LIMIT $2"
            )
            params = (topic, limit)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(conn, await fetch(conn, sql, *params))

        return await self.db.run(read, write=False)

    async def search(self, query: str, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Ranked search (`store.postgres.search`); any string is safe, no usable terms -> []."""
        terms = query_terms(query)
        limit = clamp_limit(limit)
        if not terms or not limit or (topic is not None and not storable(topic)):
            return []
        tsquery, params = tsquery_sql(terms, first_param=2)
        values: list[object] = [limit, *params]
        source = "papers AS p"
        if topic is not None:
            values.append(topic)
            source += f" JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = ${len(values)}"
        sql = ranked_sql(tsquery, "$1", source)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            ids = [row[0] for row in await fetch(conn, sql, *values)]
            return await papers_by_ids(conn, ids)

        return await self.db.run(read, write=False)

    async def topics(self) -> list[TopicStats]:
        sql = (
            "SELECT name, title, query, categories, paper_count, "
            "(SELECT max(published) FROM paper_topics WHERE topic = topics.name) "
            "FROM topics ORDER BY name"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql), write=False)
        return [
            TopicStats(Topic(name, title, query, from_json_list(categories)), count, newest or None)
            for name, title, query, categories, count, newest in rows
        ]

    async def topic_names(self) -> list[str]:
        rows = await self.db.run(lambda conn: fetch(conn, "SELECT name FROM topics ORDER BY name"), write=False)
        return [name for (name,) in rows]

    async def paper_count(self) -> int:
        return int(await self.db.run(lambda conn: conn.fetchval("SELECT count(*) FROM papers"), write=False))

    async def get_meta(self, key: str) -> str | None:
        value: str | None = await self.db.run(
            lambda conn: conn.fetchval("SELECT value FROM meta WHERE key = $1", key), write=False
        )
        return value
