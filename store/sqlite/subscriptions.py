"""Subscriptions and digest deliveries in SQLite: the durable half of exactly-once.

Three tables (schema version 2):
- `subscriptions`: one row per (adapter, workspace, channel, thread, topic).
- `deliveries`: one row per (subscription, period), the claim of that period;
  its state goes claimed -> sent, or is written as empty/skipped directly.
- `channel_papers`: one row per (channel, paper) ever claimed for a digest
  there. It is written in the SAME transaction as the claim, so no other
  digest (another topic, same channel) can take the same paper, and a restart
  can neither post a paper twice nor lose one. Releasing a claim deletes both.

Version 4 (`V4_DELIVERY_SEQUENCE`) bounds digests by commit order, not by the
clock: `paper_topics.seq` numbers topic memberships as they are committed
(writers are serialized, so a reader that sees `seq = n` has seen every
membership up to n), and each delivery records the `until_seq` it read up
to. The next digest starts after it. A paper stamped with the same second as
a digest, or stamped before a digest but committed after it (a long import in
another process), still lands in exactly one digest. A new version of a known
paper adds no membership and so, as before, is not news. Version 4 also keeps
subscriptions removed from the config as `retired_at` rows, with their
delivery history, so re-adding one continues where it stopped.

The tables are created by `store.sqlite.schema` (versions 2 and 4); the SQL
both stores share is in `store.common.statements`. `SubscriptionTables`
implements `bot.ports.SubscriptionStore` over the store's `Database`.
"""

from __future__ import annotations

import json

import aiosqlite

from bot.models import ChannelRef, Delivery, DeliveryKey, Paper, Subscription
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import DELIVERY_COLUMNS, channel_values, delivery_from_row, subscription_from_row, subscription_values
from store.sqlite.database import Database, fetchall, scalar
from store.sqlite.papers import papers_by_ids


class SubscriptionTables(Part[Database]):
    """The `SubscriptionStore` port over the store's `Database`."""

    # --- subscriptions ------------------------------------------------------------------

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, *sql.active_subscriptions(channel))
        return [subscription_from_row(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.SUBSCRIPTION, (subscription_id,))
        return subscription_from_row(rows[0]) if rows else None

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        values = subscription_values(subscription, self.db.now())
        async with self.db.transaction() as conn:
            await conn.execute(sql.SAVE_SUBSCRIPTION, values)
            rows = await fetchall(conn, sql.SUBSCRIPTION_BY_NAME, values[:5])
        return subscription_from_row(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        """Delete the subscription and its delivery history (a chat unsubscribe)."""
        async with self.db.transaction() as conn:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is None:
                return False
            await conn.execute(sql.DELETE_SUBSCRIPTION, (subscription_id,))
        return True

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        """Stop the subscription but keep its row and delivery history (gone from the config file):
        saving it again revives it, and its next digest starts where the last one stopped."""
        async with self.db.transaction() as conn:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is None:
                return False
            await conn.execute(sql.RETIRE_SUBSCRIPTION, (at, subscription_id))
        return True

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        async with self.db.transaction() as conn:
            if error is None:
                await conn.execute(sql.CLEAR_FAILURE, (subscription_id,))
            else:
                await conn.execute(sql.SET_FAILURE, (error, at, subscription_id))

    # --- digest contents ----------------------------------------------------------------

    async def membership_sequence(self) -> int:
        """The newest committed topic membership's `seq`: a digest reading now covers up to here."""
        async with self.db.locked() as conn:
            return int(await scalar(conn, sql.MEMBERSHIP_SEQUENCE))

    async def digest_candidates(
        self, topic: str, channel_key: str, since: str | None, until: str | None, limit: int,
        *, after_seq: int = 0, upto_seq: int | None = None,
    ) -> tuple[list[Paper], int]:
        where, params = sql.digest_window(topic, channel_key, since, until, after_seq=after_seq, upto_seq=upto_seq)
        async with self.db.locked() as conn:
            total = await scalar(conn, f"SELECT count(*) {where}", params)
            rows = await fetchall(conn, sql.newest_in_window(where), params + (max(limit, 0),))
            papers = await papers_by_ids(conn, [row[0] for row in rows])
        return papers, total

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int,
        state: str = "claimed", until_seq: int | None = None,
    ) -> bool:
        async with self.db.transaction() as conn:
            inserted = await conn.execute(
                f"INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, NULL, 0, NULL, ?) "
                "ON CONFLICT DO NOTHING",
                (key.subscription_id, key.period, fire_time, state, json.dumps(list(paper_ids)), total, self.db.now(), until_seq),
            )
            if inserted.rowcount == 0:
                return False
            if paper_ids:
                await conn.execute(
                    "INSERT INTO channel_papers (channel_key, paper_id, subscription_id, period) "
                    "SELECT ?, id, ?, ? FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(?))",
                    (channel_key, key.subscription_id, key.period, json.dumps(list(paper_ids))),
                )
        return True

    async def record_delivery(self, key: DeliveryKey, message_ids: tuple[str, ...], at: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(sql.RECORD_DELIVERY, (json.dumps(list(message_ids)), at, key.subscription_id, key.period))

    async def release_delivery(self, key: DeliveryKey) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(sql.RELEASE_DELIVERY_PAPERS, (key.subscription_id, key.period))
            await conn.execute(sql.DELETE_DELIVERY, (key.subscription_id, key.period))

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(sql.RECORD_SKIPPED, (subscription_id, period, fire_time, self.db.now(), note))

    async def note_delivery_attempt(self, key: DeliveryKey) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE subscription_id = ? AND period = ?",
                (key.subscription_id, key.period),
            )

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.DELIVERY, (subscription_id, period))
        return delivery_from_row(rows[0]) if rows else None

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, *sql.last_delivery(subscription_id, before))
        return delivery_from_row(rows[0]) if rows else None

    async def pending_deliveries(self) -> list[Delivery]:
        async with self.db.locked() as conn:
            rows = await fetchall(conn, f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'claimed' ORDER BY fire_time")
        return [delivery_from_row(row) for row in rows]

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        """Every delivery row of a subscription, oldest first (status pages and tests)."""
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql.DELIVERIES, (subscription_id,))
        return [delivery_from_row(row) for row in rows]


async def _release_unsent(conn: aiosqlite.Connection, channel: ChannelRef, topic: str) -> int | None:
    """Inside a write transaction: the active subscription's id, after giving the papers of its
    claims that were never sent back to the channel's pool (and dropping those claims)."""
    rows = await fetchall(conn, sql.ACTIVE_SUBSCRIPTION_ID, (*channel_values(channel), topic))
    if not rows:
        return None
    subscription_id = rows[0][0]
    await conn.execute(sql.RELEASE_UNSENT_PAPERS, (subscription_id, subscription_id))
    await conn.execute(sql.DELETE_UNSENT, (subscription_id,))
    return subscription_id
