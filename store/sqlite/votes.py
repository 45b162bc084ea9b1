"""Votes and saves clicked in chat, in SQLite (the `VoteStore` port).

Why this part exists: the buttons under paper cards (issue 14) record who
clicked what where, and the ranker and the reading list read it back. Schema
version 7 (`store.sqlite.schema`) adds `votes`: one row per (channel, paper,
user, kind), `kind` being `vote` (value `up` or `down`: one per user, so a
switch replaces it) or `save`. The primary key makes a repeated click an
update of the same row, so a double click (or a retried request) records
once. Rows go with their paper (ON DELETE CASCADE).

`votes_version` is a counter in `meta`, bumped in the same transaction as
every change (undo too, which a max(rowid) would not see), so the ranker
knows when to look at a channel's votes again.
"""

from __future__ import annotations

import json

from bot.models import ChannelRef
from bot.votes import SavedPaper, VoteAction, VoteChange
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import CHANNEL_MATCH, channel_values
from store.sqlite.database import Database, fetchall
from store.sqlite.papers import papers_by_ids


class VoteTables(Part[Database]):
    """The `VoteStore` port over the store's `Database`."""

    async def record_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> VoteChange | None:
        where = channel_values(channel)
        async with self.db.transaction() as conn:
            rows = await fetchall(conn, "SELECT id FROM papers WHERE arxiv_id = ?", (arxiv_id,))
            if not rows:
                return None
            paper_id = rows[0][0]
            before = await fetchall(
                conn,
                f"SELECT v.value FROM votes AS v WHERE {sql.VOTES_CHANNEL_MATCH} "
                "AND v.paper_id = ? AND v.user = ? AND v.kind = ?",
                (*where, paper_id, user, action.kind),
            )
            change = VoteChange(action, VoteAction(before[0][0]) if before else None)
            if change.changed:
                await conn.execute(
                    "INSERT INTO votes (adapter, workspace, channel, thread, paper_id, user, kind, value, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (adapter, workspace, channel, thread, paper_id, user, kind) "
                    "DO UPDATE SET value = excluded.value, at = excluded.at",
                    (*where, paper_id, user, action.kind, action.value, self.db.now()),
                )
                await conn.execute(sql.BUMP_VOTES_VERSION, (sql.VOTES_VERSION_KEY,))
            return change

    async def remove_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"DELETE FROM votes WHERE {CHANNEL_MATCH}"
                " AND paper_id = (SELECT id FROM papers WHERE arxiv_id = ?) AND user = ? AND kind = ? AND value = ?",
                (*channel_values(channel), arxiv_id, user, action.kind, action.value),
            )
            if cursor.rowcount == 0:
                return False
            await conn.execute(sql.BUMP_VOTES_VERSION, (sql.VOTES_VERSION_KEY,))
            return True

    async def channel_votes(self, channel: ChannelRef) -> list[tuple[str, str, str]]:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                "SELECT p.arxiv_id, v.user, v.value FROM votes AS v JOIN papers AS p ON p.id = v.paper_id "
                f"WHERE {sql.VOTES_CHANNEL_MATCH} ORDER BY p.arxiv_id, v.user, v.kind",
                channel_values(channel),
            )
        return [(str(a), str(u), str(v)) for a, u, v in rows]

    async def saved(self, channel: ChannelRef | str, limit: int) -> list[SavedPaper]:
        where, params = sql.saved_by(channel)
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                f"SELECT v.paper_id, json_group_array(v.user), max(v.at) FROM "
                f"(SELECT * FROM votes AS v WHERE v.kind = 'save' AND {where} ORDER BY v.at, v.user) AS v "
                "GROUP BY v.paper_id ORDER BY max(v.at) DESC, v.paper_id DESC LIMIT ?",
                (*params, max(limit, 0)),
            )
            papers = await papers_by_ids(conn, [row[0] for row in rows])
        # Every row's paper exists (votes go with their paper), and papers_by_ids keeps the order.
        return [
            SavedPaper(paper, tuple(dict.fromkeys(json.loads(users))), str(at))
            for paper, (_, users, at) in zip(papers, rows, strict=False)
        ]

    async def votes_version(self) -> int:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.META_VALUE, (sql.VOTES_VERSION_KEY,))
        return int(rows[0][0]) if rows else 0
