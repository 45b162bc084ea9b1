"""Subscriptions and digest deliveries in SQLite: the durable half of exactly-once.

Three tables (schema version 2):
- `subscriptions`: one row per (adapter, workspace, channel, thread, topic).
- `deliveries`: one row per (subscription, period), the claim of that period;
  its state goes claimed -> sent, or is written as empty/skipped directly.
- `channel_papers`: one row per (channel, paper) ever claimed for a digest
  there. It is written in the SAME transaction as the claim, so no other
  digest (another topic, same channel) can take the same paper, and a restart
  can neither post a paper twice nor lose one. Releasing a claim deletes both.

`SubscriptionTables` is mixed into `SqliteStore` and uses its connection and
lock; it implements `bot.ports.SubscriptionStore`.
"""

from __future__ import annotations

import contextlib
import json
from typing import AsyncIterator

from bot.models import ChannelRef, Delivery, DeliveryKey, Paper, Subscription

V2_SUBSCRIPTIONS_DELIVERIES = """
CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY,
    adapter       TEXT NOT NULL,
    workspace     TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    thread        TEXT NOT NULL DEFAULT '',
    topic         TEXT NOT NULL,
    schedule      TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    language      TEXT NOT NULL,
    max_papers    INTEGER NOT NULL,
    post_empty    INTEGER NOT NULL,
    webhook_env   TEXT,
    source        TEXT NOT NULL CHECK (source IN ('config', 'chat')),
    created_at    TEXT NOT NULL,
    failing       TEXT,
    failing_since TEXT,
    UNIQUE (adapter, workspace, channel, thread, topic)
);

CREATE TABLE deliveries (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    period          TEXT NOT NULL,
    fire_time       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('claimed', 'sent', 'empty', 'skipped')),
    paper_ids       TEXT NOT NULL DEFAULT '[]',
    total           INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT NOT NULL DEFAULT '[]',
    claimed_at      TEXT NOT NULL,
    sent_at         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    note            TEXT,
    PRIMARY KEY (subscription_id, period)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_fire_time ON deliveries (subscription_id, fire_time);
CREATE INDEX deliveries_pending ON deliveries (state) WHERE state = 'claimed';

CREATE TABLE channel_papers (
    channel_key     TEXT NOT NULL,
    paper_id        INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL,
    period          TEXT NOT NULL,
    PRIMARY KEY (channel_key, paper_id)
) WITHOUT ROWID;
CREATE INDEX channel_papers_by_delivery ON channel_papers (subscription_id, period);
"""

_SUBSCRIPTION_COLUMNS = (
    "id, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers, "
    "post_empty, webhook_env, source, created_at, failing, failing_since"
)
_DELIVERY_COLUMNS = (
    "subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note"
)
# Delivery states that close a period for the content window: a skipped period does not,
# so its papers go into the next digest.
_WINDOW_STATES = "('claimed', 'sent', 'empty')"


def _subscription(row: tuple) -> Subscription:
    (id_, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers,
     post_empty, webhook_env, source, created_at, failing, failing_since) = row
    return Subscription(
        id=id_,
        channel=ChannelRef(adapter, channel, workspace or None, thread or None),
        topic=topic,
        when=schedule,
        timezone=timezone,
        language=language,
        max_papers=max_papers,
        post_empty=bool(post_empty),
        webhook_env=webhook_env,
        source=source,
        created_at=created_at,
        failing=failing,
        failing_since=failing_since,
    )


def _delivery(row: tuple) -> Delivery:
    (subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note) = row
    return Delivery(
        subscription_id, period, fire_time, state, tuple(json.loads(paper_ids)), total,
        tuple(json.loads(message_ids)), claimed_at, sent_at, attempts, note,
    )


class SubscriptionTables:
    """The `SubscriptionStore` port; mixed into SqliteStore (needs `_conn`, `_lock`, `_now`, `_fetchall`)."""

    @contextlib.asynccontextmanager
    async def _write_transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")
                raise

    # --- subscriptions ------------------------------------------------------------------

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]:
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions"
        params: tuple = ()
        if channel is not None:
            sql += " WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ?"
            params = (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "")
        async with self._lock:
            rows = await self._fetchall(sql + " ORDER BY id", params)
        return [_subscription(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self._lock:
            rows = await self._fetchall(f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,))
        return _subscription(rows[0]) if rows else None

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        channel = subscription.channel
        values = (
            channel.adapter, channel.workspace or "", channel.channel, channel.thread or "", subscription.topic,
            subscription.when, subscription.timezone, subscription.language, subscription.max_papers,
            int(subscription.post_empty), subscription.webhook_env, subscription.source,
            subscription.created_at or self._now(), subscription.failing, subscription.failing_since,
        )
        async with self._write_transaction():
            await self._conn.execute(
                "INSERT INTO subscriptions (adapter, workspace, channel, thread, topic, schedule, timezone, language, "
                "max_papers, post_empty, webhook_env, source, created_at, failing, failing_since) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (adapter, workspace, channel, thread, topic) DO UPDATE SET "
                "schedule = excluded.schedule, timezone = excluded.timezone, language = excluded.language, "
                "max_papers = excluded.max_papers, post_empty = excluded.post_empty, "
                "webhook_env = excluded.webhook_env, source = excluded.source, "
                "failing = excluded.failing, failing_since = excluded.failing_since",
                values,
            )
            rows = await self._fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions "
                "WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ?",
                values[:5],
            )
        return _subscription(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        key = (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "", topic)
        async with self._write_transaction():
            rows = await self._fetchall(
                "SELECT id FROM subscriptions WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ?",
                key,
            )
            if not rows:
                return False
            subscription_id = rows[0][0]
            # Papers reserved by a claim that was never sent go back to the channel's pool.
            await self._conn.execute(
                "DELETE FROM channel_papers WHERE subscription_id = ? AND period IN "
                "(SELECT period FROM deliveries WHERE subscription_id = ? AND state = 'claimed')",
                (subscription_id, subscription_id),
            )
            await self._conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
        return True

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        async with self._write_transaction():
            if error is None:
                await self._conn.execute(
                    "UPDATE subscriptions SET failing = NULL, failing_since = NULL WHERE id = ?", (subscription_id,)
                )
            else:
                await self._conn.execute(
                    "UPDATE subscriptions SET failing = ?, failing_since = coalesce(failing_since, ?) WHERE id = ?",
                    (error, at, subscription_id),
                )

    # --- digest contents ----------------------------------------------------------------

    async def digest_candidates(
        self, topic: str, channel_key: str, since: str, until: str, limit: int
    ) -> tuple[list[Paper], int]:
        where = (
            "FROM paper_topics AS t WHERE t.topic = ? AND t.added_at > ? AND t.added_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM channel_papers AS c WHERE c.channel_key = ? AND c.paper_id = t.paper_id)"
        )
        params = (topic, since, until, channel_key)
        async with self._lock:
            total = (await self._fetchall(f"SELECT count(*) {where}", params))[0][0]
            rows = await self._fetchall(
                f"SELECT t.paper_id {where} ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?", params + (max(limit, 0),)
            )
            papers = await self._papers_by_ids([row[0] for row in rows])
        return papers, total

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int, state: str = "claimed"
    ) -> bool:
        async with self._write_transaction():
            inserted = await self._conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, NULL, 0, NULL) "
                "ON CONFLICT DO NOTHING",
                (key.subscription_id, key.period, fire_time, state, json.dumps(list(paper_ids)), total, self._now()),
            )
            if inserted.rowcount == 0:
                return False
            if paper_ids:
                await self._conn.execute(
                    "INSERT INTO channel_papers (channel_key, paper_id, subscription_id, period) "
                    "SELECT ?, id, ?, ? FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(?))",
                    (channel_key, key.subscription_id, key.period, json.dumps(list(paper_ids))),
                )
        return True

    async def record_delivery(self, key: DeliveryKey, message_ids: tuple[str, ...], at: str) -> None:
        async with self._write_transaction():
            await self._conn.execute(
                "UPDATE deliveries SET state = 'sent', message_ids = ?, sent_at = ? WHERE subscription_id = ? AND period = ?",
                (json.dumps(list(message_ids)), at, key.subscription_id, key.period),
            )

    async def release_delivery(self, key: DeliveryKey) -> None:
        async with self._write_transaction():
            await self._conn.execute(
                "DELETE FROM channel_papers WHERE subscription_id = ? AND period = ?", (key.subscription_id, key.period)
            )
            await self._conn.execute(
                "DELETE FROM deliveries WHERE subscription_id = ? AND period = ?", (key.subscription_id, key.period)
            )

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None:
        async with self._write_transaction():
            await self._conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, 'skipped', '[]', 0, '[]', ?, NULL, 0, ?) "
                "ON CONFLICT DO NOTHING",
                (subscription_id, period, fire_time, self._now(), note),
            )

    async def note_delivery_attempt(self, key: DeliveryKey) -> None:
        async with self._write_transaction():
            await self._conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE subscription_id = ? AND period = ?",
                (key.subscription_id, key.period),
            )

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None:
        async with self._lock:
            rows = await self._fetchall(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND period = ?",
                (subscription_id, period),
            )
        return _delivery(rows[0]) if rows else None

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND state IN {_WINDOW_STATES}"
        params: tuple = (subscription_id,)
        if before is not None:
            sql += " AND fire_time < ?"
            params += (before,)
        async with self._lock:
            rows = await self._fetchall(sql + " ORDER BY fire_time DESC LIMIT 1", params)
        return _delivery(rows[0]) if rows else None

    async def pending_deliveries(self) -> list[Delivery]:
        async with self._lock:
            rows = await self._fetchall(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'claimed' ORDER BY fire_time", ()
            )
        return [_delivery(row) for row in rows]

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        """Every delivery row of a subscription, oldest first (status pages and tests)."""
        async with self._lock:
            rows = await self._fetchall(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? ORDER BY fire_time", (subscription_id,)
            )
        return [_delivery(row) for row in rows]
