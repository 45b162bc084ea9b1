"""Ranked full-text search that stays fast when a query matches a large part of the store.

Why not plain `ORDER BY bm25(...) LIMIT n`: SQLite must score every match
before it can pick the best `n`, and scoring costs a docsize lookup and a
position-list walk per row. A word found in 10% of a million papers is
100,000 scores, about 300 ms on a small machine.

The plan: rank the newest slice of the index that holds about `RANKED_POOL`
matches. Rowids follow insertion order, and FTS5 applies a `rowid > ?`
constraint by seeking inside its doclists, so both counting and ranking cost
grow with the matches inside the slice, not with the index.

0. If one of the query's terms has fewer than `RANKED_POOL` matches in the whole
   index, so has the query: rank everything now, exactly like plain bm25. Counting
   a term's matches stops at `RANKED_POOL` (a doclist walk of at most that many
   rows, ~40 us), where the probes below intersect every term's doclist in a
   slice; a multi-word query with one rare word is the common selective case.
1. Count the matches among the newest `PROBE_ROWS` rows (counting skips
   bm25, so it is ~10x cheaper per match than ranking).
2. Fewer than `RANKED_POOL`: if the count, scaled to the whole index,
   predicts fewer than `RANKED_POOL` matches in all, rank everything now
   (a selective query: one probe, then plain bm25). Otherwise widen the slice
   by the factor the count suggests (at least 2x, at most 16x) and count
   again, until the slice holds `RANKED_POOL` matches or covers the whole index.
3. Rank with bm25 (title weighted 10, authors 2, the rest 1) inside the slice
   scaled down to hold about `RANKED_POOL` matches; if that gave fewer than
   `limit` rows, rank the whole counted slice.

So rare and selective queries (fewer than `RANKED_POOL` matches in total) are
ranked over the whole index exactly like plain bm25; a common word is ranked
among its newest ~`RANKED_POOL` matches, which for a research-paper bot is
also the more useful answer. The worst case is a query with many matches that
are nearly all old: the probes find few or none in recent rows and a later
step ranks everything, which is plain bm25's cost (never worse, never wrong).
bm25's IDF still counts every match of each phrase once per query (FTS5 does
this in C, ~20 ns per match); that pass is most of a selective multi-word
query's time at 1M papers, in the store and in the plain-sqlite3 floor alike
(`reward model alignment`: 414 matches, ~3 ms to find them, ~7 ms for the IDF
of `model`, which is in 40% of papers). So a selective query cannot be ranked
exactly like plain bm25 in less than plain bm25's time: any use of `bm25()`
repeats that pass, and the per-phrase term frequencies a scorer outside FTS5
would need are only reachable through FTS5's C API (`highlight()` re-tokenizes
every match: slower than the pass itself). The plan's own cost on top is step 0.
"""

from __future__ import annotations

import logging
from typing import Sequence

import aiosqlite

from store.sqlite.database import scalar

log = logging.getLogger(__name__)

RANK_EXPRESSION = "bm25(papers_fts, 10.0, 1.0, 2.0, 1.0, 1.0)"
PROBE_ROWS = 20_000
RANKED_POOL = 2_000
MAX_GROWTH = 16


class WindowedSearch:
    """Runs the counting and ranking queries of the plan above for one MATCH expression."""

    def __init__(
        self, conn: aiosqlite.Connection, match: str, topic: str | None, anded_terms: Sequence[str] = ()
    ) -> None:
        self.conn = conn
        self.match = match
        # When `match` is these terms ANDed (`store.sqlite.query.match_terms`): a rare one bounds the query (step 0).
        self.anded_terms = anded_terms
        self.topic = topic
        if topic is None:
            self._source = "papers_fts"
            self._filter_params: tuple = ()
        else:
            # CROSS JOIN keeps the FTS table as the outer loop, so the rowid range
            # still drives the scan and membership is one primary-key probe a match.
            self._source = (
                "papers_fts CROSS JOIN paper_topics AS member ON member.paper_id = papers_fts.rowid AND member.topic = ?"
            )
            self._filter_params = (topic,)

    async def ranked_ids(self, limit: int) -> list[int]:
        newest = await self._newest_id()
        if newest is None:
            return []
        if len(self.anded_terms) > 1 and await self._has_a_rare_term():
            return await self._rank(None, limit)
        span = PROBE_ROWS
        while True:
            if span >= newest:
                return await self._rank(None, limit)
            count = await self._count(newest - span)
            if count >= RANKED_POOL:
                break
            if 0 < count and count * newest / span <= RANKED_POOL:
                # The sample says the whole index holds fewer than RANKED_POOL matches:
                # rank them all now instead of counting ever wider slices first.
                return await self._rank(None, limit)
            growth = MAX_GROWTH if count == 0 else min(MAX_GROWTH, RANKED_POOL * 1.25 / count)
            span = int(span * max(2.0, growth))
        window = max(1, int(span * RANKED_POOL / count))
        ids = await self._rank(newest - window, limit)
        if len(ids) < limit:
            ids = await self._rank(newest - span, limit)
        return ids

    async def _newest_id(self) -> int | None:
        newest: int | None = await scalar(self.conn, "SELECT max(id) FROM papers")
        return newest

    async def _has_a_rare_term(self) -> bool:
        """Whether a term has fewer than RANKED_POOL matches in the whole index (topic or not: a bound)."""
        sql = "SELECT count(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)"
        for term in self.anded_terms:
            if await scalar(self.conn, sql, (term, RANKED_POOL)) < RANKED_POOL:
                return True
        return False

    async def _count(self, above: int) -> int:
        sql = f"SELECT count(*) FROM {self._source} WHERE papers_fts MATCH ? AND papers_fts.rowid > ?"
        return int(await scalar(self.conn, sql, (*self._filter_params, self.match, above)))

    async def _rank(self, above: int | None, limit: int) -> list[int]:
        where = "papers_fts MATCH ?"
        params: tuple = (*self._filter_params, self.match)
        if above is not None:
            where += " AND papers_fts.rowid > ?"
            params += (above,)
        sql = f"SELECT papers_fts.rowid FROM {self._source} WHERE {where} ORDER BY {RANK_EXPRESSION} LIMIT ?"
        async with self.conn.execute(sql, (*params, limit)) as cursor:
            return [row[0] for row in await cursor.fetchall()]
