"""Channel libraries, ranking candidates and stored ranking models in SQLite.

Why this part exists: ranking by a group's taste (`bot.ranking`) needs a few
reads no other part has: the papers a library is made of, a random sample of
the whole store (the negatives), whole-store candidates for a model's terms,
and somewhere to keep trained models across restarts. Schema version 5
(`store.sqlite.schema`) adds:

- `libraries`: one row per channel (adapter, workspace, channel, thread): the
  topics whose papers make its library, set from the config file or in chat.
- `rank_models`: one trained model per key (bytes from `RankModel.to_bytes`)
  with the fingerprint it was trained for, so a restart reuses it.

The sample draws random row ids between the smallest and largest `papers.id`
and reads those rows by primary key, so it costs the same at a thousand
papers and at a million (no `ORDER BY random()` over the table). Ids are
dense (papers are never deleted), and the few a gap swallows are drawn again.

`LibraryTables` implements `bot.ports.LibraryStore` over the store's `Database`
(the SQL both stores share: `store.common.statements`; the sampling: `store.common.rules`).
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import replace
from typing import Sequence

import aiosqlite

from bot.models import ChannelRef, Library, Paper
from bot.text import CJK_RUN
from store.common import statements as sql
from store.common.composed import Part
from store.common.query_text import clean_query_text, has_word_chars
from store.common.rows import channel_values, library_from_row, library_values
from store.common.rules import CANDIDATE_OVERFETCH, OVERDRAW, draw_ids
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import papers_by_ids
from store.sqlite.query import cjk_term, quote
from store.sqlite.search import WindowedSearch
from store.sqlite.upsert import IDS_PARAM

# The newest `limit` papers of any of some topics, each once: ids and papers select the same set.
_NEWEST_MEMBERS = (
    f"SELECT {{columns}} FROM paper_topics WHERE topic IN {IDS_PARAM} "
    "GROUP BY paper_id ORDER BY max(published) DESC, max(arxiv_id) DESC LIMIT ?"
)


def any_term_query(terms: Sequence[str]) -> str | None:
    """An FTS5 MATCH expression for papers holding any of `terms` (words, two-word phrases or CJK
    words), each quoted so nothing in a term is syntax; None when no term is searchable."""
    parts: list[str] = []
    for term in terms:
        text = clean_query_text(term).strip()
        if not text or not has_word_chars(text):
            continue
        if CJK_RUN.fullmatch(text):
            parts.append(cjk_term(text))
        else:
            parts.append(quote(" ".join(text.split())))
    return " OR ".join(dict.fromkeys(parts)) or None


class LibraryTables(Part[Database]):
    """The `LibraryStore` port over the store's `Database`."""

    # --- libraries ------------------------------------------------------------------------

    async def library(self, channel: ChannelRef) -> Library | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.LIBRARY, channel_values(channel))
        return library_from_row(rows[0]) if rows else None

    async def libraries(self) -> list[Library]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.LIBRARIES)
        return [library_from_row(row) for row in rows]

    async def save_library(self, library: Library) -> Library:
        saved = replace(library, topics=tuple(library.topics), updated_at=library.updated_at or self.db.now())
        async with self.db.transaction() as conn:
            await conn.execute(sql.SAVE_LIBRARY, library_values(saved))
        return saved

    async def remove_library(self, channel: ChannelRef) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(sql.REMOVE_LIBRARY, channel_values(channel))
            return cursor.rowcount > 0

    # --- the papers a library is made of --------------------------------------------------

    async def topic_paper_ids(self, topics: Sequence[str], limit: int) -> list[str]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, _NEWEST_MEMBERS.format(columns="arxiv_id"), (json.dumps(list(topics)), max(limit, 0)))
        return sorted(arxiv_id for (arxiv_id,) in rows)

    async def topic_papers(self, topics: Sequence[str], limit: int) -> list[Paper]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, _NEWEST_MEMBERS.format(columns="paper_id"), (json.dumps(list(topics)), max(limit, 0)))
            return await papers_by_ids(conn, [paper_id for (paper_id,) in rows])

    async def papers_by_arxiv_ids(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn, f"SELECT id, arxiv_id FROM papers WHERE arxiv_id IN {IDS_PARAM}", (json.dumps(list(arxiv_ids)),)
            )
            by_arxiv_id = {arxiv_id: row_id for row_id, arxiv_id in rows}
            return await papers_by_ids(conn, [by_arxiv_id[a] for a in dict.fromkeys(arxiv_ids) if a in by_arxiv_id])

    async def sample_papers(self, size: int, seed: int) -> list[Paper]:
        async with self.db.locked() as conn:
            ((low, high),) = await fetchall(conn, sql.PAPER_ID_RANGE)
            if size <= 0 or high < low:
                return []
            if high - low + 1 <= size * OVERDRAW:
                ids = [row_id for (row_id,) in await fetchall(conn, sql.ALL_PAPER_IDS)]
                return await papers_by_ids(conn, ids[:size] if len(ids) <= size else random.Random(seed).sample(ids, size))
            ids = await _draw_ids(conn, random.Random(seed), low, high, size)
            return await papers_by_ids(conn, ids)

    async def store_version(self) -> tuple[int, int]:
        async with self.db.locked() as conn:
            ((papers, memberships),) = await fetchall(conn, sql.STORE_VERSION)
        return int(papers), int(memberships)

    # --- whole-store candidates -----------------------------------------------------------

    async def candidates(
        self, terms: Sequence[str], limit: int, *, topic: str | None = None, since: str | None = None,
        not_shown_in: str | None = None, exclude: Sequence[str] = (),
    ) -> list[Paper]:  # fmt: skip
        if limit <= 0:
            return []
        match = any_term_query(terms)
        filters, filter_params = sql.candidate_filters(since, not_shown_in)
        where = f"p.arxiv_id NOT IN {IDS_PARAM}{filters}"
        params = (json.dumps(list(exclude)), *filter_params)
        async with self.db.locked() as conn:
            ranked: list[int] = []
            if match is not None:
                try:
                    wanted = (limit + len(exclude)) * CANDIDATE_OVERFETCH
                    ranked = await WindowedSearch(conn, match, topic).ranked_ids(wanted)
                except sqlite3.OperationalError as error:  # any_term_query quotes every term: a bug, not input
                    if not str(error).startswith("fts5:"):
                        raise
            rows = await fetchall(
                conn, f"SELECT p.id FROM papers AS p WHERE p.id IN {IDS_PARAM} AND {where}", (json.dumps(ranked), *params)
            )
            kept = {row_id for (row_id,) in rows}
            found = [row_id for row_id in ranked if row_id in kept][:limit]
            if len(found) < limit:
                # Few papers share the terms (a small store, a narrow library): the newest others fill up.
                others = (where + f" AND p.id NOT IN {IDS_PARAM}", (*params, json.dumps(found)))
                found += await _newest(conn, *others, topic, limit - len(found))
            return await papers_by_ids(conn, found)

    # --- stored models --------------------------------------------------------------------

    async def load_model(self, key: str) -> tuple[str, bytes] | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.LOAD_MODEL, (key,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    async def save_model(self, key: str, fingerprint: str, data: bytes) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(sql.SAVE_MODEL, (key, fingerprint, data, self.db.now()))


async def _newest(conn: aiosqlite.Connection, where: str, params: tuple, topic: str | None, limit: int) -> list[int]:
    """Row ids of the newest papers (in `topic`) meeting `where` (on `p`), at most `limit`."""
    if topic is None:
        sql = f"SELECT p.id FROM papers AS p WHERE {where} ORDER BY p.published DESC, p.arxiv_id DESC LIMIT ?"
        return [row_id for (row_id,) in await fetchall(conn, sql, (*params, limit))]
    sql = (
        f"SELECT p.id FROM paper_topics AS t JOIN papers AS p ON p.id = t.paper_id WHERE t.topic = ? AND {where} "
        "ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?"
    )
    return [row_id for (row_id,) in await fetchall(conn, sql, (topic, *params, limit))]


async def _draw_ids(conn: aiosqlite.Connection, rng: random.Random, low: int, high: int, size: int) -> list[int]:
    """`size` distinct existing row ids drawn uniformly from [low, high] (the caller holds the lock)."""

    async def existing(draws: list[int]) -> set[int]:
        rows = await fetchall(conn, f"SELECT id FROM papers WHERE id IN {IDS_PARAM}", (json.dumps(draws),))
        return {row_id for (row_id,) in rows}

    return await draw_ids(rng, low, high, size, existing)
