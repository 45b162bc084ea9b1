"""Subscriptions and digest deliveries in PostgreSQL: the durable half of exactly-once, across replicas.

The tables and their meaning are SQLite's (`store.sqlite.subscriptions`):
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
from store.postgres.database import Database, fetch
from store.postgres.upsert import papers_by_ids
from store.sqlite.subscriptions import _DELIVERY_COLUMNS, _SUBSCRIPTION_COLUMNS, _WINDOW_STATES, _delivery, _subscription

# How long a claim stays its replica's own: longer than any send (Discord's retries included).
LEASE = timedelta(minutes=10)
_CHANNEL = "adapter = $1 AND workspace = $2 AND channel = $3 AND thread = $4"


def _channel_values(channel: ChannelRef) -> tuple[str, str, str, str]:
    return (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "")


class SubscriptionTables:
    """The `SubscriptionStore` port over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- subscriptions ------------------------------------------------------------------

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]:
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE retired_at IS NULL"
        params: tuple = ()
        if channel is not None:
            sql += f" AND {_CHANNEL}"
            params = _channel_values(channel)
        rows = await self.db.run(lambda conn: fetch(conn, sql + " ORDER BY id", *params), write=False)
        return [_subscription(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1 AND retired_at IS NULL"
        rows = await self.db.run(lambda conn: fetch(conn, sql, subscription_id), write=False)
        return _subscription(rows[0]) if rows else None

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        channel = subscription.channel
        values = (
            *_channel_values(channel), subscription.topic,
            subscription.when, subscription.timezone, subscription.language, subscription.max_papers,
            bool(subscription.post_empty), subscription.webhook_env, subscription.source,
            subscription.created_at or self.db.now(), subscription.failing, subscription.failing_since,
            bool(subscription.figures), subscription.min_score,
            subscription.include, subscription.exclude, json.dumps(list(subscription.authors), ensure_ascii=False),
        )  # fmt: skip
        sql = (
            "INSERT INTO subscriptions (adapter, workspace, channel, thread, topic, schedule, timezone, language, "
            "max_papers, post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score, "
            "include_query, exclude_query, authors) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) "
            "ON CONFLICT (adapter, workspace, channel, thread, topic) DO UPDATE SET "
            "schedule = excluded.schedule, timezone = excluded.timezone, language = excluded.language, "
            "max_papers = excluded.max_papers, post_empty = excluded.post_empty, "
            "webhook_env = excluded.webhook_env, source = excluded.source, "
            "failing = excluded.failing, failing_since = excluded.failing_since, figures = excluded.figures, "
            "min_score = excluded.min_score, include_query = excluded.include_query, "
            "exclude_query = excluded.exclude_query, authors = excluded.authors, "
            # A retired subscription comes back with its history; it is active from now on.
            "created_at = CASE WHEN subscriptions.retired_at IS NULL THEN subscriptions.created_at ELSE excluded.created_at END, "
            f"retired_at = NULL RETURNING {_SUBSCRIPTION_COLUMNS}"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, *values))
        return _subscription(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        async def remove(conn: asyncpg.Connection) -> bool:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is not None:
                await conn.execute("DELETE FROM subscriptions WHERE id = $1", subscription_id)
            return subscription_id is not None

        return await self.db.run(remove)

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        async def retire(conn: asyncpg.Connection) -> bool:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is not None:
                await conn.execute("UPDATE subscriptions SET retired_at = $1 WHERE id = $2", at, subscription_id)
            return subscription_id is not None

        return await self.db.run(retire)

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        if error is None:
            await self.db.run(
                lambda conn: conn.execute(
                    "UPDATE subscriptions SET failing = NULL, failing_since = NULL WHERE id = $1", subscription_id
                )
            )
            return
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE subscriptions SET failing = $1, failing_since = coalesce(failing_since, $2) WHERE id = $3",
                error,
                at,
                subscription_id,
            )
        )

    # --- digest contents ----------------------------------------------------------------

    async def membership_sequence(self) -> int:
        return int(await self.db.run(lambda conn: conn.fetchval("SELECT coalesce(max(seq), 0) FROM paper_topics"), write=False))

    async def digest_candidates(
        self,
        topic: str,
        channel_key: str,
        since: str | None,
        until: str | None,
        limit: int,
        *,
        after_seq: int = 0,
        upto_seq: int | None = None,
    ) -> tuple[list[Paper], int]:
        where = "FROM paper_topics AS t WHERE t.topic = $1 AND t.seq > $2"
        params: list[object] = [topic, after_seq]
        for condition, value in (("t.seq <=", upto_seq), ("t.added_at >", since), ("t.added_at <=", until)):
            if value is not None:
                params.append(value)
                where += f" AND {condition} ${len(params)}"
        params.append(channel_key)
        where += (
            f" AND NOT EXISTS (SELECT 1 FROM channel_papers AS c WHERE c.channel_key = ${len(params)} "
            "AND c.paper_id = t.paper_id)"
        )
        page = f"SELECT t.paper_id {where} ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ${len(params) + 1}"

        async def read(conn: asyncpg.Connection) -> tuple[list[Paper], int]:
            total = await conn.fetchval(f"SELECT count(*) {where}", *params)
            rows = await fetch(conn, page, *params, max(limit, 0))
            return await papers_by_ids(conn, [row[0] for row in rows]), int(total)

        return await self.db.run(read, write=False)

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self,
        key: DeliveryKey,
        fire_time: str,
        channel_key: str,
        paper_ids: tuple[str, ...],
        total: int,
        state: str = "claimed",
        until_seq: int | None = None,
    ) -> bool:
        now = self.db.clock.now()
        lease_until = iso(now + LEASE)

        async def claim(conn: asyncpg.Connection) -> bool:
            inserted = await conn.fetchval(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}, owner, lease_until) "
                "VALUES ($1, $2, $3, $4, $5, $6, '[]', $7, NULL, 0, NULL, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING 1",
                key.subscription_id,
                key.period,
                fire_time,
                state,
                json.dumps(list(paper_ids)),
                total,
                iso(now),
                until_seq,
                self.db.owner,
                lease_until,
            )
            if inserted is None:
                return False
            if paper_ids:
                await conn.execute(
                    "INSERT INTO channel_papers (channel_key, paper_id, subscription_id, period) "
                    "SELECT $1, id, $2, $3 FROM papers WHERE arxiv_id = ANY($4::text[])",
                    channel_key,
                    key.subscription_id,
                    key.period,
                    list(paper_ids),
                )
            return True

        return await self.db.run(claim)

    async def record_delivery(self, key: DeliveryKey, message_ids: tuple[str, ...], at: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET state = 'sent', message_ids = $1, sent_at = $2 WHERE subscription_id = $3 AND period = $4",
                json.dumps(list(message_ids)),
                at,
                key.subscription_id,
                key.period,
            )
        )

    async def release_delivery(self, key: DeliveryKey) -> None:
        async def release(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "DELETE FROM channel_papers WHERE subscription_id = $1 AND period = $2", key.subscription_id, key.period
            )
            await conn.execute(
                "DELETE FROM deliveries WHERE subscription_id = $1 AND period = $2", key.subscription_id, key.period
            )

        await self.db.run(release)

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) "
                "VALUES ($1, $2, $3, 'skipped', '[]', 0, '[]', $4, NULL, 0, $5, NULL) ON CONFLICT DO NOTHING",
                subscription_id,
                period,
                fire_time,
                self.db.now(),
                note,
            )
        )

    async def note_delivery_attempt(self, key: DeliveryKey) -> None:
        """Count a (re)send; the replica making it takes the claim over with a fresh lease."""
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, owner = $1, lease_until = $2 "
                "WHERE subscription_id = $3 AND period = $4",
                self.db.owner,
                iso(self.db.clock.now() + LEASE),
                key.subscription_id,
                key.period,
            )
        )

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = $1 AND period = $2"
        rows = await self.db.run(lambda conn: fetch(conn, sql, subscription_id, period), write=False)
        return _delivery(rows[0]) if rows else None

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = $1 AND state IN {_WINDOW_STATES}"
        params: tuple = (subscription_id,)
        if before is not None:
            sql += " AND fire_time < $2"
            params += (before,)
        rows = await self.db.run(lambda conn: fetch(conn, sql + " ORDER BY fire_time DESC LIMIT 1", *params), write=False)
        return _delivery(rows[0]) if rows else None

    async def pending_deliveries(self) -> list[Delivery]:
        """Unrecorded claims this replica owns, or whose owner's lease ran out (it crashed or hangs)."""
        sql = (
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'claimed' "
            "AND (owner IS NULL OR owner = $1 OR lease_until IS NULL OR lease_until < $2) ORDER BY fire_time"
        )
        rows = await self.db.run(lambda conn: fetch(conn, sql, self.db.owner, self.db.now()), write=False)
        return [_delivery(row) for row in rows]

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = $1 ORDER BY fire_time"
        rows = await self.db.run(lambda conn: fetch(conn, sql, subscription_id), write=False)
        return [_delivery(row) for row in rows]


async def _release_unsent(conn: asyncpg.Connection, channel: ChannelRef, topic: str) -> int | None:
    """Inside a transaction: the active subscription's id, after giving the papers of its unsent claims back."""
    subscription_id = await conn.fetchval(
        f"SELECT id FROM subscriptions WHERE {_CHANNEL} AND topic = $5 AND retired_at IS NULL FOR UPDATE",
        *_channel_values(channel),
        topic,
    )
    if subscription_id is None:
        return None
    await conn.execute(
        "DELETE FROM channel_papers WHERE subscription_id = $1 AND period IN "
        "(SELECT period FROM deliveries WHERE subscription_id = $1 AND state = 'claimed')",
        subscription_id,
    )
    await conn.execute("DELETE FROM deliveries WHERE subscription_id = $1 AND state = 'claimed'", subscription_id)
    return int(subscription_id)
