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
from store.common import statements as sql
from store.common.batch import prepare
from store.common.composed import Part
from store.common.rows import to_json, topic_stats
from store.common.rules import clamp_limit, each
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.search import query_terms, ranked_sql, tsquery_sql
from store.postgres.upsert import papers_by_ids, read_papers, write_batch

_UPSERT_TOPIC = numbered(sql.UPSERT_TOPIC)


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


class PaperTables(Part[Database]):
    """Papers, topics, notes and meta over the store's `Database`."""

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
        async for papers in each(batches):
            batch = list(papers)
            if batch:
                total += await self.upsert_papers(batch)
        return total

    async def upsert_topics(self, topics: Iterable[Topic]) -> None:
        rows = [(topic.name, topic.title or "", topic.query, to_json(list(topic.categories))) for topic in topics]
        if not rows:
            return

        await self.db.run(lambda conn: conn.executemany(_UPSERT_TOPIC, rows))

    async def set_meta(self, key: str, value: str) -> None:
        await self.db.run(lambda conn: conn.execute(numbered(sql.SET_META), key, value))

    # --- reads ----------------------------------------------------------------------

    async def get(self, arxiv_id: str) -> Paper | None:
        if not storable(arxiv_id):
            return None

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(conn, await fetch(conn, numbered(sql.PAPER), arxiv_id))

        papers = await self.db.run(read, write=False)
        return papers[0] if papers else None

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Newest first (`published`, then `arxiv_id`, both descending), read off an index."""
        limit = clamp_limit(limit)
        if not limit or (topic is not None and not storable(topic)):
            return []
        query, params = sql.latest(topic, limit)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            return await read_papers(conn, await fetch(conn, numbered(query), *params))

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
        ranked = ranked_sql(tsquery, "$1", source)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            ids = [row[0] for row in await fetch(conn, ranked, *values)]
            return await papers_by_ids(conn, ids)

        return await self.db.run(read, write=False)

    async def topics(self) -> list[TopicStats]:
        return topic_stats(await self.db.run(lambda conn: fetch(conn, sql.TOPICS), write=False))

    async def topic_names(self) -> list[str]:
        rows = await self.db.run(lambda conn: fetch(conn, sql.TOPIC_NAMES), write=False)
        return [name for (name,) in rows]

    async def paper_count(self) -> int:
        return int(await self.db.run(lambda conn: conn.fetchval(sql.PAPER_COUNT), write=False))

    async def get_meta(self, key: str) -> str | None:
        value: str | None = await self.db.run(lambda conn: conn.fetchval(numbered(sql.META_VALUE), key), write=False)
        return value
