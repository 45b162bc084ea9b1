"""`paperbot migrate --to postgresql://…`: a SQLite store copied into an empty PostgreSQL database.

Why a table-by-table copy and not a replay through the ports: what makes a
store's digests exactly-once is in rows the ports do not hand out (the
membership `seq` numbers each delivery's `until_seq` points at, the
`channel_papers` that keep a posted paper from being posted again, retired
subscriptions). So every table is copied as it is, ids and sequence numbers
kept, with `COPY`, in ONE transaction: a failed copy leaves the target empty.
Each table's row count is then compared with the source's; any difference
rolls the copy back. The source is opened read-only and never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import aiosqlite
import asyncpg

from bot.errors import StoreError
from bot.ports import Clock
from store.cjk import cjk_index_text
from store.common.rows import NOTE_COLUMNS, PAPER_COLUMNS, TOPIC_MEMBER_COLUMNS
from store.postgres.store import PostgresStore
from store.postgres.upsert import PG_PAPER_COLUMNS
from store.sqlite import SqliteStore

Row = tuple


def _paper(row: Row) -> Row:
    return (*row, cjk_index_text(row[PAPER_COLUMNS.index("title")]))


def _as_bools(*positions: int) -> Callable[[Row], Row]:
    def convert(row: Row) -> Row:
        return tuple(bool(value) if i in positions else value for i, value in enumerate(row))

    return convert


_SUBSCRIPTION_COLUMNS = (
    "id", "adapter", "workspace", "channel", "thread", "topic", "schedule", "timezone", "language", "max_papers",
    "post_empty", "webhook_env", "source", "created_at", "failing", "failing_since", "figures", "retired_at", "min_score",
    "include_query", "exclude_query", "authors",
)  # fmt: skip
_DELIVERY_COLUMNS = (
    "subscription_id", "period", "fire_time", "state", "paper_ids", "total", "message_ids", "claimed_at", "sent_at",
    "attempts", "note", "until_seq",
)  # fmt: skip


@dataclass(frozen=True)
class Table:
    """One table to copy: its columns in SQLite, its name and columns in PostgreSQL, and the row conversion."""

    name: str
    source_columns: tuple[str, ...]
    target_columns: tuple[str, ...] | None = None
    convert: Callable[[Row], Row] | None = None


# In dependency order (foreign keys).
TABLES = (
    Table("meta", ("key", "value")),
    Table("topics", ("name", "title", "query", "categories", "paper_count")),
    Table("papers", PAPER_COLUMNS, PG_PAPER_COLUMNS, _paper),
    Table("paper_topics", ("seq", *TOPIC_MEMBER_COLUMNS)),
    Table("notes", NOTE_COLUMNS),
    Table("subscriptions", _SUBSCRIPTION_COLUMNS, None, _as_bools(10, 16)),
    Table("deliveries", _DELIVERY_COLUMNS),
    Table("channel_papers", ("channel_key", "paper_id", "subscription_id", "period")),
    Table("note_attempts", ("paper_id", "lang", "attempts", "last_error", "last_tried_at")),
    Table("libraries", ("adapter", "workspace", "channel", "thread", "topics", "source", "set_by", "updated_at")),
    Table("rank_models", ("key", "fingerprint", "model", "trained_at")),
    Table(
        "votes",
        ("adapter", "workspace", "channel", "thread", "paper_id", "user", "kind", "value", "at"),
        ("adapter", "workspace", "channel", "thread", "paper_id", "user_id", "kind", "value", "at"),
    ),
    Table(
        "fulltext",
        ("paper_id", "version", "source", "body", "chars", "figure_url", "figure_caption", "error", "fetched_at"),
    ),
)
# Identity and sequence columns to move past the copied ids, so new rows do not collide.
_SEQUENCES = (
    "SELECT setval('papers_id_seq', coalesce((SELECT max(id) FROM papers), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('paper_topics', 'seq'), coalesce((SELECT max(seq) FROM paper_topics), 0) + 1, false)",
    "SELECT setval(pg_get_serial_sequence('subscriptions', 'id'), coalesce((SELECT max(id) FROM subscriptions), 0) + 1, false)",
)
BATCH_ROWS = 20_000


@dataclass(frozen=True)
class MigrationReport:
    counts: dict[str, int]
    target: str

    def summary(self) -> str:
        tables = ", ".join(f"{name} {count}" for name, count in self.counts.items() if count)
        return f"copied into {self.target} and counted again: {tables or 'nothing (an empty store)'}"


async def copy_sqlite_store(source_path: str, target_location: str, *, clock: Clock) -> MigrationReport:
    """Copy the SQLite store at `source_path` into the empty PostgreSQL database at `target_location`."""
    source = await SqliteStore.open(source_path, clock=clock, read_only=True)
    try:
        target = await PostgresStore.open(target_location, clock=clock)
        try:
            counts = await target.db.run(lambda conn: _copy(source, conn, target.path))
        finally:
            await target.close()
    finally:
        await source.close()
    return MigrationReport(counts, target.path)


async def _copy(source: SqliteStore, conn: asyncpg.Connection, shown: str) -> dict[str, int]:
    held = [name for name in ("papers", "subscriptions") if await conn.fetchval(f"SELECT count(*) FROM {name}")]
    if held:
        raise StoreError(
            f"{shown} already holds {' and '.join(held)}; migrate into an empty database (createdb a new one) "
            "so that nothing in it is overwritten or mixed",
            shown,
        )
    await conn.execute("DELETE FROM meta")
    await conn.execute("DELETE FROM topics")
    counts: dict[str, int] = {}
    async with source.db.locked() as sqlite:
        for table in TABLES:
            counts[table.name] = await _copy_table(sqlite, conn, table)
    for statement in _SEQUENCES:
        await conn.execute(statement)
    for name, expected in counts.items():
        found = await conn.fetchval(f"SELECT count(*) FROM {name}")
        if found != expected:
            raise StoreError(
                f"the copy of {name} into {shown} holds {found} rows, the source {expected}; nothing was kept", shown
            )
    return counts


async def _copy_table(sqlite: aiosqlite.Connection, conn: asyncpg.Connection, table: Table) -> int:
    """Stream one table across in batches with COPY (memory stays flat whatever its size); its row count."""
    copied = 0
    async with sqlite.execute(f"SELECT {', '.join(table.source_columns)} FROM {table.name}") as cursor:
        while rows := await cursor.fetchmany(BATCH_ROWS):
            records = [tuple(row) for row in rows]
            if table.convert is not None:
                records = [table.convert(record) for record in records]
            columns = table.target_columns or table.source_columns
            await conn.copy_records_to_table(table.name, records=records, columns=columns)
            copied += len(records)
    return copied
