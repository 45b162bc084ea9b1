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

The tables are created by `store.sqlite.schema` (versions 2 and 4);
`SubscriptionTables` implements `bot.ports.SubscriptionStore` over the store's `Database`.
"""

from __future__ import annotations

import json

import aiosqlite

from bot.models import ChannelRef, Delivery, DeliveryKey, Paper, Subscription
from store.sqlite.database import Database, fetchall, scalar
from store.sqlite.papers import papers_by_ids

_SUBSCRIPTION_COLUMNS = (
    "id, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers, "
    "post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score, "
    "include_query, exclude_query, authors"
)
_DELIVERY_COLUMNS = (
    "subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note, until_seq"
)
# Delivery states that close a period for the content window: a skipped period does not,
# so its papers go into the next digest.
_WINDOW_STATES = "('claimed', 'sent', 'empty')"


def _subscription(row: tuple) -> Subscription:
    (id_, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers,
     post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score,
     include_query, exclude_query, authors) = row
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
        figures=bool(figures),
        min_score=min_score,
        include=include_query,
        exclude=exclude_query,
        authors=tuple(json.loads(authors or "[]")),
    )


def _delivery(row: tuple) -> Delivery:
    (subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note, until_seq) = (
        row
    )
    return Delivery(
        subscription_id, period, fire_time, state, tuple(json.loads(paper_ids)), total,
        tuple(json.loads(message_ids)), claimed_at, sent_at, attempts, note, until_seq,
    )


class SubscriptionTables:
    """The `SubscriptionStore` port over the store's `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- subscriptions ------------------------------------------------------------------

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]:
        sql = f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE retired_at IS NULL"
        params: tuple = ()
        if channel is not None:
            sql += " AND adapter = ? AND workspace = ? AND channel = ? AND thread = ?"
            params = (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "")
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql + " ORDER BY id", params)
        return [_subscription(row) for row in rows]

    async def get_subscription(self, subscription_id: int) -> Subscription | None:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn, f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ? AND retired_at IS NULL", (subscription_id,)
            )
        return _subscription(rows[0]) if rows else None

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        channel = subscription.channel
        values = (
            channel.adapter, channel.workspace or "", channel.channel, channel.thread or "", subscription.topic,
            subscription.when, subscription.timezone, subscription.language, subscription.max_papers,
            int(subscription.post_empty), subscription.webhook_env, subscription.source,
            subscription.created_at or self.db.now(), subscription.failing, subscription.failing_since,
            int(subscription.figures), subscription.min_score,
            subscription.include, subscription.exclude, json.dumps(list(subscription.authors), ensure_ascii=False),
        )
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO subscriptions (adapter, workspace, channel, thread, topic, schedule, timezone, language, "
                "max_papers, post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score, "
                "include_query, exclude_query, authors) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (adapter, workspace, channel, thread, topic) DO UPDATE SET "
                "schedule = excluded.schedule, timezone = excluded.timezone, language = excluded.language, "
                "max_papers = excluded.max_papers, post_empty = excluded.post_empty, "
                "webhook_env = excluded.webhook_env, source = excluded.source, "
                "failing = excluded.failing, failing_since = excluded.failing_since, figures = excluded.figures, "
                "min_score = excluded.min_score, include_query = excluded.include_query, "
                "exclude_query = excluded.exclude_query, authors = excluded.authors, "
                # A retired subscription comes back with its history; it is active from now on.
                "created_at = CASE WHEN retired_at IS NULL THEN created_at ELSE excluded.created_at END, "
                "retired_at = NULL",
                values,
            )
            rows = await fetchall(
                conn, f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions "
                "WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ?",
                values[:5],
            )
        return _subscription(rows[0])

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        """Delete the subscription and its delivery history (a chat unsubscribe)."""
        async with self.db.transaction() as conn:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is None:
                return False
            await conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
        return True

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        """Stop the subscription but keep its row and delivery history (gone from the config file):
        saving it again revives it, and its next digest starts where the last one stopped."""
        async with self.db.transaction() as conn:
            subscription_id = await _release_unsent(conn, channel, topic)
            if subscription_id is None:
                return False
            await conn.execute("UPDATE subscriptions SET retired_at = ? WHERE id = ?", (at, subscription_id))
        return True

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        async with self.db.transaction() as conn:
            if error is None:
                await conn.execute(
                    "UPDATE subscriptions SET failing = NULL, failing_since = NULL WHERE id = ?", (subscription_id,)
                )
            else:
                await conn.execute(
                    "UPDATE subscriptions SET failing = ?, failing_since = coalesce(failing_since, ?) WHERE id = ?",
                    (error, at, subscription_id),
                )

    # --- digest contents ----------------------------------------------------------------

    async def membership_sequence(self) -> int:
        """The newest committed topic membership's `seq`: a digest reading now covers up to here."""
        async with self.db.locked() as conn:
            return int(await scalar(conn, "SELECT coalesce(max(seq), 0) FROM paper_topics"))

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
        async with self.db.locked() as conn:
            total = await scalar(conn, f"SELECT count(*) {where}", params)
            rows = await fetchall(
                conn, f"SELECT t.paper_id {where} ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?", params + (max(limit, 0),)
            )
            papers = await papers_by_ids(conn, [row[0] for row in rows])
        return papers, total

    # --- deliveries -----------------------------------------------------------------------

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int,
        state: str = "claimed", until_seq: int | None = None,
    ) -> bool:
        async with self.db.transaction() as conn:
            inserted = await conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, NULL, 0, NULL, ?) "
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
            await conn.execute(
                "UPDATE deliveries SET state = 'sent', message_ids = ?, sent_at = ? WHERE subscription_id = ? AND period = ?",
                (json.dumps(list(message_ids)), at, key.subscription_id, key.period),
            )

    async def release_delivery(self, key: DeliveryKey) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM channel_papers WHERE subscription_id = ? AND period = ?", (key.subscription_id, key.period)
            )
            await conn.execute(
                "DELETE FROM deliveries WHERE subscription_id = ? AND period = ?", (key.subscription_id, key.period)
            )

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, 'skipped', '[]', 0, '[]', ?, NULL, 0, ?, NULL) "
                "ON CONFLICT DO NOTHING",
                (subscription_id, period, fire_time, self.db.now(), note),
            )

    async def note_delivery_attempt(self, key: DeliveryKey) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE subscription_id = ? AND period = ?",
                (key.subscription_id, key.period),
            )

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn, f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND period = ?",
                (subscription_id, period),
            )
        return _delivery(rows[0]) if rows else None

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND state IN {_WINDOW_STATES}"
        params: tuple = (subscription_id,)
        if before is not None:
            sql += " AND fire_time < ?"
            params += (before,)
        async with self.db.locked() as conn:
            rows = await fetchall(conn, sql + " ORDER BY fire_time DESC LIMIT 1", params)
        return _delivery(rows[0]) if rows else None

    async def pending_deliveries(self) -> list[Delivery]:
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn, f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'claimed' ORDER BY fire_time", ()
            )
        return [_delivery(row) for row in rows]

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        """Every delivery row of a subscription, oldest first (status pages and tests)."""
        async with self.db.locked() as conn:
            rows = await fetchall(
                conn,
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? ORDER BY fire_time",
                (subscription_id,),
            )
        return [_delivery(row) for row in rows]


async def _release_unsent(conn: aiosqlite.Connection, channel: ChannelRef, topic: str) -> int | None:
    """Inside a write transaction: the active subscription's id, after giving the papers of its
    claims that were never sent back to the channel's pool (and dropping those claims)."""
    rows = await fetchall(
        conn, "SELECT id FROM subscriptions WHERE adapter = ? AND workspace = ? AND channel = ? AND thread = ? AND topic = ? "
        "AND retired_at IS NULL",
        (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "", topic),
    )
    if not rows:
        return None
    subscription_id = rows[0][0]
    await conn.execute(
        "DELETE FROM channel_papers WHERE subscription_id = ? AND period IN "
        "(SELECT period FROM deliveries WHERE subscription_id = ? AND state = 'claimed')",
        (subscription_id, subscription_id),
    )
    await conn.execute("DELETE FROM deliveries WHERE subscription_id = ? AND state = 'claimed'", (subscription_id,))
    return subscription_id
