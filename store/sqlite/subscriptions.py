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

_V4_PAPER_TOPICS = """
CREATE TABLE paper_topics_v4 (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    paper_id  INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL REFERENCES topics (name),
    added_at  TEXT NOT NULL,
    published TEXT NOT NULL,
    arxiv_id  TEXT NOT NULL,
    UNIQUE (paper_id, topic)
)"""
_V4_STEPS = (
    _V4_PAPER_TOPICS,
    "INSERT INTO paper_topics_v4 (paper_id, topic, added_at, published, arxiv_id) "
    "SELECT paper_id, topic, added_at, published, arxiv_id FROM paper_topics ORDER BY added_at, paper_id, topic",
    "DROP TABLE paper_topics",
    "ALTER TABLE paper_topics_v4 RENAME TO paper_topics",
    "CREATE INDEX paper_topics_by_published ON paper_topics (topic, published, arxiv_id)",
    # (topic) is (topic, seq) in a rowid table: a digest's window is one range of it.
    "CREATE INDEX paper_topics_by_topic ON paper_topics (topic)",
    # Deliveries made before version 4 closed their window at their fire time, to the second.
    "ALTER TABLE deliveries ADD COLUMN until_seq INTEGER",
    "CREATE INDEX paper_topics_v4_by_added ON paper_topics (added_at)",
    "UPDATE deliveries SET until_seq = (SELECT coalesce(max(seq), 0) FROM paper_topics WHERE added_at <= deliveries.fire_time) "
    "WHERE state IN ('claimed', 'sent', 'empty')",
    "DROP INDEX paper_topics_v4_by_added",
    "ALTER TABLE subscriptions ADD COLUMN retired_at TEXT",
)


async def V4_DELIVERY_SEQUENCE(conn) -> None:
    """paper_topics becomes a rowid table whose `seq` (AUTOINCREMENT: never reused) numbers
    memberships in commit order; existing rows are numbered in added_at order. The triggers
    that name paper_topics are dropped for the swap and re-created from their own text."""
    async with conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (tbl_name = 'paper_topics' OR sql LIKE '%paper_topics%')"
    ) as cursor:
        triggers = list(await cursor.fetchall())
    for name, _ in triggers:
        await conn.execute(f'DROP TRIGGER "{name}"')
    for step in _V4_STEPS:
        await conn.execute(step)
    for _, sql in triggers:
        await conn.execute(sql)


_SUBSCRIPTION_COLUMNS = (
    "id, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers, "
    "post_empty, webhook_env, source, created_at, failing, failing_since"
)
_DELIVERY_COLUMNS = (
    "subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note, until_seq"
)
# What to do about the SQLite failures a running bot meets; matched on SQLite's own message.
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
    (subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note, until_seq) = row
    return Delivery(
        subscription_id, period, fire_time, state, tuple(json.loads(paper_ids)), total,
        tuple(json.loads(message_ids)), claimed_at, sent_at, attempts, note, until_seq,
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
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE retired_at IS NULL"
        params: tuple = ()
        if channel is not None:
            sql += " AND adapter = ? AND workspace = ? AND channel = ? AND thread = ?"
            params = (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "")
        async with self._lock:
            rows = await self._fetchall(sql + " ORDER BY id", params)
        return [_subscription(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self._lock:
            rows = await self._fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ? AND retired_at IS NULL", (subscription_id,)
            )
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
                "failing = excluded.failing, failing_since = excluded.failing_since, "
                # A retired subscription comes back with its history; it is active from now on.
                "created_at = CASE WHEN retired_at IS NULL THEN created_at ELSE excluded.created_at END, "
                "retired_at = NULL",
                values,
            )
            rows = await self._fetchall(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions "
                "WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ?",
                values[:5],
            )
        return _subscription(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        """Delete the subscription and its delivery history (a chat unsubscribe)."""
        async with self._write_transaction():
            subscription_id = await self._release_unsent(channel, topic)
            if subscription_id is None:
                return False
            await self._conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
        return True

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        """Stop the subscription but keep its row and delivery history (gone from the config file):
        saving it again revives it, and its next digest starts where the last one stopped."""
        async with self._write_transaction():
            subscription_id = await self._release_unsent(channel, topic)
            if subscription_id is None:
                return False
            await self._conn.execute("UPDATE subscriptions SET retired_at = ? WHERE id = ?", (at, subscription_id))
        return True

    async def _release_unsent(self, channel: ChannelRef, topic: str) -> int | None:
        """Inside a write transaction: the active subscription's id, after giving the papers of its
        claims that were never sent back to the channel's pool (and dropping those claims)."""
        rows = await self._fetchall(
            "SELECT id FROM subscriptions WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ? "
            "AND retired_at IS NULL",
            (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "", topic),
        )
        if not rows:
            return None
        subscription_id = rows[0][0]
        await self._conn.execute(
            "DELETE FROM channel_papers WHERE subscription_id = ? AND period IN "
            "(SELECT period FROM deliveries WHERE subscription_id = ? AND state = 'claimed')",
            (subscription_id, subscription_id),
        )
        await self._conn.execute("DELETE FROM deliveries WHERE subscription_id = ? AND state = 'claimed'", (subscription_id,))
        return subscription_id

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

    async def membership_sequence(self) -> int:
        """The newest committed topic membership's `seq`: a digest reading now covers up to here."""
        async with self._lock:
            return (await self._fetchall("SELECT coalesce(max(seq), 0) FROM paper_topics", ()))[0][0]

    async def digest_candidates(
        self, topic: str, channel_key: str, since: str | None, until: str | None, limit: int,
        *, after_seq: int = 0, upto_seq: int | None = None,
    ) -> tuple[list[Paper], int]:
        where = "FROM paper_topics AS t WHERE t.topic = ? AND t.seq > ?"
        params: tuple = (topic, after_seq)
        for condition, value in (("t.seq <= ?", upto_seq), ("t.added_at > ?", since), ("t.added_at <= ?", until)):
            if value is not None:
                where += f" AND {condition}"
                params += (value,)
        where += " AND NOT EXISTS (SELECT 1 FROM channel_papers AS c WHERE c.channel_key = ? AND c.paper_id = t.paper_id)"
        params += (channel_key,)
        async with self._lock:
            total = (await self._fetchall(f"SELECT count(*) {where}", params))[0][0]
            rows = await self._fetchall(
                f"SELECT t.paper_id {where} ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?", params + (max(limit, 0),)
            )
            papers = await self._papers_by_ids([row[0] for row in rows])
        return papers, total

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int,
        state: str = "claimed", until_seq: int | None = None,
    ) -> bool:
        async with self._write_transaction():
            inserted = await self._conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, NULL, 0, NULL, ?) "
                "ON CONFLICT DO NOTHING",
                (key.subscription_id, key.period, fire_time, state, json.dumps(list(paper_ids)), total, self._now(), until_seq),
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
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, 'skipped', '[]', 0, '[]', ?, NULL, 0, ?, NULL) "
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
