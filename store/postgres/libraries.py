"""Channel libraries, ranking candidates and stored ranking models in PostgreSQL.

The same part as SQLite's (`store.sqlite.libraries`, where why it exists is
told; shared SQL in `store.common.statements`): `libraries` and `rank_models`
tables (schema version 2 here), the papers a library is made of, a seeded
random sample that reads rows by id (never the whole table), and whole-store
candidates for a model's terms, ranked by the same tsvector search as
`/paper search` with the terms ORed.
Paper ids come from a sequence that a rolled-back batch leaves gaps in, so
the sample draws again for ids that turn out missing.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Sequence

import asyncpg

from bot.models import ChannelRef, Library, Paper
from bot.text import CJK_RUN, bigrams
from store.common import statements as sql
from store.common.composed import Part
from store.common.query_text import clean_query_text, has_word_chars
from store.common.rows import channel_values, library_from_row, library_values
from store.common.rules import OVERDRAW, draw_ids
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.search import CJK_PREFIX, CJK_WORDS, ENGLISH, ranked_sql
from store.postgres.upsert import papers_by_ids

_NEWEST_MEMBERS = (
    "SELECT {columns} FROM paper_topics WHERE topic = ANY($1::text[]) "
    "GROUP BY paper_id ORDER BY max(published) DESC, max(arxiv_id) DESC LIMIT $2"
)


def any_term_tsquery(terms: Sequence[str], first_param: int) -> tuple[str, list[str]] | None:
    """A tsquery for papers holding any of `terms` (words, phrases, CJK words), each term a bound
    parameter read as plain words; None when no term is searchable."""
    parts: dict[tuple[str, str], None] = {}
    for term in terms:
        text = clean_query_text(term).strip() if isinstance(term, str) else ""
        if not text or not has_word_chars(text):
            continue
        if CJK_RUN.fullmatch(text):
            parts[(CJK_PREFIX, text) if len(text) == 1 else (CJK_WORDS, " ".join(bigrams(text)))] = None
        else:
            parts[(ENGLISH, " ".join(text.split()))] = None
    if not parts:
        return None
    ored = " || ".join(template.format(first_param + i) for i, (template, _) in enumerate(parts))
    return f"({ored})", [value for _, value in parts]


class LibraryTables(Part[Database]):
    """The `LibraryStore` port over the store's `Database`."""

    # --- libraries ------------------------------------------------------------------------

    async def library(self, channel: ChannelRef) -> Library | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.LIBRARY), *channel_values(channel)), write=False)
        return library_from_row(rows[0]) if rows else None

    async def libraries(self) -> list[Library]:
        return [library_from_row(row) for row in await self.db.run(lambda conn: fetch(conn, sql.LIBRARIES), write=False)]

    async def save_library(self, library: Library) -> Library:
        saved = replace(library, topics=tuple(library.topics), updated_at=library.updated_at or self.db.now())
        await self.db.run(lambda conn: conn.execute(numbered(sql.SAVE_LIBRARY), *library_values(saved)))
        return saved

    async def remove_library(self, channel: ChannelRef) -> bool:
        query = numbered(f"{sql.REMOVE_LIBRARY} RETURNING 1")
        return bool(await self.db.run(lambda conn: fetch(conn, query, *channel_values(channel))))

    # --- the papers a library is made of --------------------------------------------------

    async def topic_paper_ids(self, topics: Sequence[str], limit: int) -> list[str]:
        query = _NEWEST_MEMBERS.format(columns="max(arxiv_id)")
        rows = await self.db.run(lambda conn: fetch(conn, query, list(topics), max(limit, 0)), write=False)
        return sorted(arxiv_id for (arxiv_id,) in rows)

    async def topic_papers(self, topics: Sequence[str], limit: int) -> list[Paper]:
        query = _NEWEST_MEMBERS.format(columns="paper_id")

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            rows = await fetch(conn, query, list(topics), max(limit, 0))
            return await papers_by_ids(conn, [paper_id for (paper_id,) in rows])

        return await self.db.run(read, write=False)

    async def papers_by_arxiv_ids(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        async def read(conn: asyncpg.Connection) -> list[Paper]:
            rows = await fetch(conn, "SELECT id, arxiv_id FROM papers WHERE arxiv_id = ANY($1::text[])", list(arxiv_ids))
            by_arxiv_id = {arxiv_id: row_id for row_id, arxiv_id in rows}
            return await papers_by_ids(conn, [by_arxiv_id[a] for a in dict.fromkeys(arxiv_ids) if a in by_arxiv_id])

        return await self.db.run(read, write=False)

    async def sample_papers(self, size: int, seed: int) -> list[Paper]:
        async def read(conn: asyncpg.Connection) -> list[Paper]:
            low, high = await conn.fetchrow(sql.PAPER_ID_RANGE)
            if size <= 0 or high < low:
                return []
            if high - low + 1 <= size * OVERDRAW:
                ids = [row_id for (row_id,) in await fetch(conn, sql.ALL_PAPER_IDS)]
                return await papers_by_ids(conn, ids[:size] if len(ids) <= size else random.Random(seed).sample(ids, size))
            return await papers_by_ids(conn, await _draw_ids(conn, random.Random(seed), low, high, size))

        return await self.db.run(read, write=False)

    async def store_version(self) -> tuple[int, int]:
        row = await self.db.run(lambda conn: conn.fetchrow(sql.STORE_VERSION), write=False)
        return int(row[0]), int(row[1])

    # --- whole-store candidates -----------------------------------------------------------

    async def candidates(
        self, terms: Sequence[str], limit: int, *, topic: str | None = None, since: str | None = None,
        not_shown_in: str | None = None, exclude: Sequence[str] = (),
    ) -> list[Paper]:  # fmt: skip
        if limit <= 0:
            return []
        filters, filter_params = sql.candidate_filters(since, not_shown_in)
        where = numbered(f"NOT (p.arxiv_id = ANY(?::text[])){filters}")
        params: list[object] = [list(exclude), *filter_params]
        source = "papers AS p"
        if topic is not None:
            params.append(topic)
            source += f" JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = ${len(params)}"
        query = any_term_tsquery(terms, len(params) + 2)

        async def read(conn: asyncpg.Connection) -> list[Paper]:
            found: list[int] = []
            if query is not None:
                tsquery, values = query
                ranked = ranked_sql(tsquery, f"${len(params) + 1}", source, where)
                found = [row_id for (row_id,) in await fetch(conn, ranked, *params, limit, *values)]
            if len(found) < limit:
                # Few papers share the terms: the newest others fill up.
                order = "t.published DESC, t.arxiv_id DESC" if topic is not None else "p.published DESC, p.arxiv_id DESC"
                newest = (
                    f"SELECT p.id FROM {source} WHERE {where} AND NOT (p.id = ANY(${len(params) + 1}::bigint[])) "
                    f"ORDER BY {order} LIMIT ${len(params) + 2}"
                )
                found += [row_id for (row_id,) in await fetch(conn, newest, *params, found, limit - len(found))]
            return await papers_by_ids(conn, found)

        return await self.db.run(read, write=False)

    # --- stored models --------------------------------------------------------------------

    async def load_model(self, key: str) -> tuple[str, bytes] | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.LOAD_MODEL), key), write=False)
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    async def save_model(self, key: str, fingerprint: str, data: bytes) -> None:
        await self.db.run(lambda conn: conn.execute(numbered(sql.SAVE_MODEL), key, fingerprint, data, self.db.now()))


async def _draw_ids(conn: asyncpg.Connection, rng: random.Random, low: int, high: int, size: int) -> list[int]:
    async def existing(draws: list[int]) -> set[int]:
        return {row_id for (row_id,) in await fetch(conn, "SELECT id FROM papers WHERE id = ANY($1::bigint[])", draws)}

    return await draw_ids(rng, low, high, size, existing)
