"""Votes and saves clicked in chat, in PostgreSQL (the `VoteStore` port).

The same table and rules as SQLite's (`store.sqlite.votes`, where why it
exists is told; schema version 3 here; shared SQL in `store.common.statements`):
one row per (channel, paper, user, kind), so a repeated click updates the same
row, and a `votes_version` counter in `meta` bumped in the same transaction as
every change.
"""

from __future__ import annotations

import asyncpg

from bot.models import ChannelRef
from bot.votes import SavedPaper, VoteAction, VoteChange
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import channel_values
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.upsert import papers_by_ids

_CHANNEL_MATCH = numbered(sql.VOTES_CHANNEL_MATCH)
_BUMP_VERSION = numbered(sql.BUMP_VOTES_VERSION)


class VoteTables(Part[Database]):
    """The `VoteStore` port over the store's `Database`."""

    async def record_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> VoteChange | None:
        where = channel_values(channel)

        async def record(conn: asyncpg.Connection) -> VoteChange | None:
            paper_id = await conn.fetchval("SELECT id FROM papers WHERE arxiv_id = $1", arxiv_id)
            if paper_id is None:
                return None
            before = await conn.fetchval(
                f"SELECT v.value FROM votes AS v WHERE {_CHANNEL_MATCH} AND v.paper_id = $5 AND v.user_id = $6 AND v.kind = $7",
                *where, paper_id, user, action.kind,
            )  # fmt: skip
            change = VoteChange(action, VoteAction(before) if before else None)
            if change.changed:
                await conn.execute(
                    "INSERT INTO votes (adapter, workspace, channel, thread, paper_id, user_id, kind, value, at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                    "ON CONFLICT (adapter, workspace, channel, thread, paper_id, user_id, kind) "
                    "DO UPDATE SET value = excluded.value, at = excluded.at",
                    *where, paper_id, user, action.kind, action.value, self.db.now(),
                )  # fmt: skip
                await conn.execute(_BUMP_VERSION, sql.VOTES_VERSION_KEY)
            return change

        return await self.db.run(record)

    async def remove_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> bool:
        async def remove(conn: asyncpg.Connection) -> bool:
            removed = await fetch(
                conn,
                f"DELETE FROM votes AS v WHERE {_CHANNEL_MATCH}"
                " AND v.paper_id = (SELECT id FROM papers WHERE arxiv_id = $5) AND v.user_id = $6 AND v.kind = $7 "
                "AND v.value = $8 RETURNING 1",
                *channel_values(channel), arxiv_id, user, action.kind, action.value,
            )  # fmt: skip
            if removed:
                await conn.execute(_BUMP_VERSION, sql.VOTES_VERSION_KEY)
            return bool(removed)

        return await self.db.run(remove)

    async def channel_votes(self, channel: ChannelRef) -> list[tuple[str, str, str]]:
        query = (
            f"SELECT p.arxiv_id, v.user_id, v.value FROM votes AS v JOIN papers AS p ON p.id = v.paper_id WHERE {_CHANNEL_MATCH} "
            "ORDER BY p.arxiv_id, v.user_id, v.kind"
        )
        rows = await self.db.run(lambda conn: fetch(conn, query, *channel_values(channel)), write=False)
        return [(str(a), str(u), str(v)) for a, u, v in rows]

    async def saved(self, channel: ChannelRef | str, limit: int) -> list[SavedPaper]:
        where, params = sql.saved_by(channel)
        query = numbered(
            "SELECT v.paper_id, array_agg(v.user_id ORDER BY v.at, v.user_id), max(v.at) FROM votes AS v "
            f"WHERE v.kind = 'save' AND {where} GROUP BY v.paper_id ORDER BY max(v.at) DESC, v.paper_id DESC LIMIT ?"
        )

        async def read(conn: asyncpg.Connection) -> list[SavedPaper]:
            rows = await fetch(conn, query, *params, max(limit, 0))
            papers = await papers_by_ids(conn, [row[0] for row in rows])
            return [
                SavedPaper(paper, tuple(dict.fromkeys(users)), str(at))
                for paper, (_, users, at) in zip(papers, rows, strict=True)
            ]

        return await self.db.run(read, write=False)

    async def votes_version(self) -> int:
        value = await self.db.run(lambda conn: conn.fetchval(numbered(sql.META_VALUE), sql.VOTES_VERSION_KEY), write=False)
        return int(value) if value else 0
