"""Subscriptions and digest deliveries in PostgreSQL: the durable half of exactly-once, across replicas.

The tables and their meaning are SQLite's (`store.sqlite.subscriptions`), and
so is the SQL written once in `store.common.statements`:
a delivery row is the claim of one (subscription, period), written in the same
transaction as its `channel_papers` rows; `paper_topics.seq` bounds digest
windows by commit order. What several replicas add:

- A claim is made by `INSERT ... ON CONFLICT DO NOTHING` on the period's
  primary key, so when two replicas' sweeps fire together exactly one wins.
- Each claim carries its `owner` (this store object's id: host, pid and a
  random part) and `lease_until` (`LEASE` after the claim). `pending_deliveries`,
  what a replica reconciles, lists only claims it owns or whose lease expired:
  a live replica's claim in flight (between claim and record) is never resent
  by another one.
"""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg

from bot.models import ChannelRef, Delivery, DeliveryKey, Paper, Subscription
from bot.utc import iso
from store.common import statements as sql
from store.common.composed import Part
from store.common.rows import (
    DELIVERY_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    channel_values,
    delivery_from_row,
    subscription_from_row,
    subscription_values,
)
from store.common.sql import numbered
from store.postgres.database import Database, fetch
from store.postgres.upsert import papers_by_ids

# How long a claim stays its replica's own: longer than any send (Discord's retries included).
LEASE = timedelta(minutes=10)
_SAVE_SUBSCRIPTION = numbered(f"{sql.SAVE_SUBSCRIPTION} RETURNING {SUBSCRIPTION_COLUMNS}")
# Locks the subscription's row, so two replicas releasing its claims take turns.
_ACTIVE_SUBSCRIPTION_ID = numbered(f"{sql.ACTIVE_SUBSCRIPTION_ID} FOR UPDATE")


class SubscriptionTables(Part[Database]):
    """The `SubscriptionStore` port over the store's `Database`."""

    # --- subscriptions ------------------------------------------------------------------

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]:
        query, params = sql.active_subscriptions(channel)
        rows = await self.db.run(lambda conn: fetch(conn, numbered(query), *params), write=False)
        return [subscription_from_row(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.SUBSCRIPTION), subscription_id), write=False)
        return subscription_from_row(rows[0]) if rows else None

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        values = subscription_values(subscription, self.db.now())
        rows = await self.db.run(lambda conn: fetch(conn, _SAVE_SUBSCRIPTION, *values))
        return subscription_from_row(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        async def remove(conn: asyncpg.Connection) -> bool:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is not None:
                await conn.execute(numbered(sql.DELETE_SUBSCRIPTION), subscription_id)
            return subscription_id is not None

        return await self.db.run(remove)

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        async def retire(conn: asyncpg.Connection) -> bool:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is not None:
                await conn.execute(numbered(sql.RETIRE_SUBSCRIPTION), at, subscription_id)
            return subscription_id is not None

        return await self.db.run(retire)

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        if error is None:
            await self.db.run(lambda conn: conn.execute(numbered(sql.CLEAR_FAILURE), subscription_id))
        else:
            await self.db.run(lambda conn: conn.execute(numbered(sql.SET_FAILURE), error, at, subscription_id))

    # --- digest contents ----------------------------------------------------------------

    async def membership_sequence(self) -> int:
        return int(await self.db.run(lambda conn: conn.fetchval(sql.MEMBERSHIP_SEQUENCE), write=False))

    async def digest_candidates(
        self, topic: str, channel_key: str, since: str | None, until: str | None, limit: int,
        *, after_seq: int = 0, upto_seq: int | None = None,
    ) -> tuple[list[Paper], int]:  # fmt: skip
        where, params = sql.digest_window(topic, channel_key, since, until, after_seq=after_seq, upto_seq=upto_seq)
        count, page = numbered(f"SELECT count(*) {where}"), numbered(sql.newest_in_window(where))

        async def read(conn: asyncpg.Connection) -> tuple[list[Paper], int]:
            total = await conn.fetchval(count, *params)
            rows = await fetch(conn, page, *params, max(limit, 0))
            return await papers_by_ids(conn, [row[0] for row in rows]), int(total)

        return await self.db.run(read, write=False)

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int,
        state: str = "claimed", until_seq: int | None = None,
    ) -> bool:  # fmt: skip
        now = self.db.clock.now()
        lease_until = iso(now + LEASE)

        async def claim(conn: asyncpg.Connection) -> bool:
            inserted = await conn.fetchval(
                f"INSERT INTO deliveries ({DELIVERY_COLUMNS}, owner, lease_until) "
                "VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, NULL, 0, NULL, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING 1",
                key.subscription_id, key.period, fire_time, state, json.dumps(list(paper_ids)), total, iso(now),
                until_seq, self.db.owner, lease_until,
            )  # fmt: skip
            if inserted is None:
                return False
            if paper_ids:
                await conn.execute(
                    "INSERT INTO channel_papers (channel_key, paper_id, subscription_id, period) "
                    "SELECT $1, id, $2, $3 FROM papers WHERE arxiv_id = ANY($4::text[])",
                    channel_key, key.subscription_id, key.period, list(paper_ids),
                )  # fmt: skip
            return True

        return await self.db.run(claim)

    async def record_delivery(self, key: DeliveryKey, message_ids: tuple[str, ...], at: str) -> None:
        values = (json.dumps(list(message_ids)), at, key.subscription_id, key.period)
        await self.db.run(lambda conn: conn.execute(numbered(sql.RECORD_DELIVERY), *values))

    async def release_delivery(self, key: DeliveryKey) -> None:
        async def release(conn: asyncpg.Connection) -> None:
            await conn.execute(numbered(sql.RELEASE_DELIVERY_PAPERS), key.subscription_id, key.period)
            await conn.execute(numbered(sql.DELETE_DELIVERY), key.subscription_id, key.period)

        await self.db.run(release)

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None:
        values = (subscription_id, period, fire_time, self.db.now(), note)
        await self.db.run(lambda conn: conn.execute(numbered(sql.RECORD_SKIPPED), *values))

    async def note_delivery_attempt(self, key: DeliveryKey) -> None:
        """Count a (re)send; the replica making it takes the claim over with a fresh lease."""
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, owner = $1, lease_until = $2 "
                "WHERE subscription_id = $3 AND period = $4",
                self.db.owner, iso(self.db.clock.now() + LEASE), key.subscription_id, key.period,
            )  # fmt: skip
        )

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.DELIVERY), subscription_id, period), write=False)
        return delivery_from_row(rows[0]) if rows else None

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        query, params = sql.last_delivery(subscription_id, before)
        rows = await self.db.run(lambda conn: fetch(conn, numbered(query), *params), write=False)
        return delivery_from_row(rows[0]) if rows else None

    async def pending_deliveries(self) -> list[Delivery]:
        """Unrecorded claims this replica owns, or whose owner's lease ran out (it crashed or hangs)."""
        query = (
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'claimed' "
            "AND (owner IS NULL OR owner = $1 OR lease_until IS NULL OR lease_until < $2) ORDER BY fire_time"
        )
        rows = await self.db.run(lambda conn: fetch(conn, query, self.db.owner, self.db.now()), write=False)
        return [delivery_from_row(row) for row in rows]

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        rows = await self.db.run(lambda conn: fetch(conn, numbered(sql.DELIVERIES), subscription_id), write=False)
        return [delivery_from_row(row) for row in rows]


async def _release_unsent(conn: asyncpg.Connection, channel: ChannelRef, topic: str) -> int | None:
    """Inside a transaction: the active subscription's id, after giving the papers of its unsent claims back."""
    subscription_id = await conn.fetchval(_ACTIVE_SUBSCRIPTION_ID, *channel_values(channel), topic)
    if subscription_id is None:
        return None
    await conn.execute(numbered(sql.RELEASE_UNSENT_PAPERS), subscription_id, subscription_id)
    await conn.execute(numbered(sql.DELETE_UNSENT), subscription_id)
    return int(subscription_id)
