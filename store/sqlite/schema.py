"""The database schema as a list of forward migrations, versioned by `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to version `i + 1`; at open
every missing step runs in its own transaction, together with the
`user_version` bump, so a crash leaves the database at a version it knows.
A database newer than this code is refused with `SchemaVersionError` instead
of being half-understood.

Adding a migration is one line at the end of `MIGRATIONS`: an SQL script
(several statements; triggers are fine), or an async callable taking the
aiosqlite connection for steps that need Python. Never edit a released step.

Tables (version 1):
- `papers`: one row per versionless arXiv id; `id` is the FTS rowid and grows
  with insertion order. `authors`/`categories` are JSON arrays. The derived
  `search_notes` (all notes text) and `search_cjk` (CJK bigrams) columns exist
  only so the external-content FTS table can read them.
- `papers_fts`: FTS5 external-content index over title, abstract, authors,
  search_notes, search_cjk. UPDATE and DELETE triggers on `papers` keep it in
  sync (FTS5 'delete' with the old values, then insert the new), whatever
  code changes a row. New rows are indexed by the one code path that inserts
  papers (`store.sqlite.upsert`), with one `INSERT ... SELECT` per batch: a
  per-row insert trigger measured 10-15% slower at bulk-load rates.
  `PaperTables.check_index()` runs FTS5's integrity check against `papers`.
- `topics` (with a trigger-maintained `paper_count`), `paper_topics`
  (membership with its own `added_at`, plus copies of `published`/`arxiv_id`
  so "latest in topic" is one index range), `notes` keyed (paper, lang,
  source), and `meta` (small key/value settings).

Version 2 adds subscriptions and deliveries, version 3 `note_attempts` for
machine-written notes, version 4 the commit-order `seq` of `paper_topics`
that bounds digests, and retired subscriptions, version 5 `fulltext` (papers'
full text and key figure), the notes' `basis` and subscriptions' `figures`,
version 6 channel libraries, stored ranking models and subscriptions'
`min_score`, version 7 votes and saves clicked in chat and subscriptions'
filters and followed authors. Every version's tables are here, in one place; what they are for
is told beside the code that uses them (`store.sqlite.subscriptions`,
`store.sqlite.notes`, `store.sqlite.libraries`, `store.sqlite.votes`).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Union

import aiosqlite

from bot.errors import StoreError

log = logging.getLogger(__name__)

Migration = Union[str, Callable[[aiosqlite.Connection], Awaitable[None]]]


class SchemaVersionError(StoreError):
    """The database was written by a newer paperbot than this one."""


TEXT_QUALITIES = "('clean', 'repaired', 'damaged')"

V1_PAPERS_TOPICS_NOTES_FTS = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE papers (
    id           INTEGER PRIMARY KEY,
    arxiv_id     TEXT NOT NULL UNIQUE,
    version      INTEGER NOT NULL DEFAULT 1,
    title        TEXT NOT NULL,
    abstract     TEXT NOT NULL DEFAULT '',
    authors      TEXT NOT NULL DEFAULT '[]',
    published    TEXT NOT NULL DEFAULT '',
    updated      TEXT,
    categories   TEXT NOT NULL DEFAULT '[]',
    comment      TEXT,
    journal_ref  TEXT,
    doi          TEXT,
    code_url     TEXT,
    text_quality TEXT NOT NULL CHECK (text_quality IN {TEXT_QUALITIES}),
    added_at     TEXT NOT NULL,
    search_notes TEXT NOT NULL DEFAULT '',
    search_cjk   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX papers_by_published ON papers (published, arxiv_id);

CREATE TABLE topics (
    name        TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    query       TEXT,
    categories  TEXT NOT NULL DEFAULT '[]',
    paper_count INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE paper_topics (
    paper_id  INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL REFERENCES topics (name),
    added_at  TEXT NOT NULL,
    published TEXT NOT NULL,
    arxiv_id  TEXT NOT NULL,
    PRIMARY KEY (paper_id, topic)
) WITHOUT ROWID;
CREATE INDEX paper_topics_by_added ON paper_topics (topic, added_at);
CREATE INDEX paper_topics_by_published ON paper_topics (topic, published, arxiv_id);

CREATE TABLE notes (
    paper_id     INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang         TEXT NOT NULL,
    source       TEXT NOT NULL,
    headline     TEXT,
    motivation   TEXT,
    method       TEXT,
    results      TEXT,
    takeaways    TEXT,
    origin       TEXT NOT NULL DEFAULT '',
    text_quality TEXT NOT NULL CHECK (text_quality IN {TEXT_QUALITIES}),
    created_at   TEXT,
    PRIMARY KEY (paper_id, lang, source)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE papers_fts USING fts5 (
    title, abstract, authors, search_notes, search_cjk,
    content = 'papers', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, search_notes, search_cjk)
    VALUES ('delete', old.id, old.title, old.abstract, old.authors, old.search_notes, old.search_cjk);
END;

CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors, search_notes, search_cjk ON papers
WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract OR old.authors IS NOT new.authors
  OR old.search_notes IS NOT new.search_notes OR old.search_cjk IS NOT new.search_cjk
BEGIN
    INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, search_notes, search_cjk)
    VALUES ('delete', old.id, old.title, old.abstract, old.authors, old.search_notes, old.search_cjk);
    INSERT INTO papers_fts (rowid, title, abstract, authors, search_notes, search_cjk)
    VALUES (new.id, new.title, new.abstract, new.authors, new.search_notes, new.search_cjk);
END;

CREATE TRIGGER paper_topics_follow_published AFTER UPDATE OF published ON papers
WHEN old.published IS NOT new.published
BEGIN
    UPDATE paper_topics SET published = new.published WHERE paper_id = new.id;
END;

CREATE TRIGGER topics_count_insert AFTER INSERT ON paper_topics BEGIN
    UPDATE topics SET paper_count = paper_count + 1 WHERE name = new.topic;
END;

CREATE TRIGGER topics_count_delete AFTER DELETE ON paper_topics BEGIN
    UPDATE topics SET paper_count = paper_count - 1 WHERE name = old.topic;
END;
"""

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

V3_NOTE_ATTEMPTS = """
CREATE TABLE note_attempts (
    paper_id      INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang          TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    last_error    TEXT NOT NULL,
    last_tried_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, lang)
) WITHOUT ROWID;
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


async def V4_DELIVERY_SEQUENCE(conn: aiosqlite.Connection) -> None:
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


V5_FULLTEXT = """
CREATE TABLE fulltext (
    paper_id       INTEGER PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('html', 'pdf', 'none')),
    body           BLOB,
    chars          INTEGER NOT NULL DEFAULT 0,
    figure_url     TEXT,
    figure_caption TEXT,
    error          TEXT,
    fetched_at     TEXT NOT NULL
);
ALTER TABLE notes ADD COLUMN basis TEXT;
ALTER TABLE subscriptions ADD COLUMN figures INTEGER NOT NULL DEFAULT 0;
"""

V6_LIBRARIES_RANK_MODELS = """
CREATE TABLE libraries (
    adapter    TEXT NOT NULL,
    workspace  TEXT NOT NULL DEFAULT '',
    channel    TEXT NOT NULL,
    thread     TEXT NOT NULL DEFAULT '',
    topics     TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('config', 'chat')),
    set_by     TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (adapter, workspace, channel, thread)
) WITHOUT ROWID;

CREATE TABLE rank_models (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    model       BLOB NOT NULL,
    trained_at  TEXT NOT NULL
);

ALTER TABLE subscriptions ADD COLUMN min_score REAL;
"""

V7_VOTES_FILTERS = """
CREATE TABLE votes (
    adapter   TEXT NOT NULL,
    workspace TEXT NOT NULL DEFAULT '',
    channel   TEXT NOT NULL,
    thread    TEXT NOT NULL DEFAULT '',
    paper_id  INTEGER NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    user      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('vote', 'save')),
    value     TEXT NOT NULL CHECK (value IN ('up', 'down', 'save')),
    at        TEXT NOT NULL,
    PRIMARY KEY (adapter, workspace, channel, thread, paper_id, user, kind)
) WITHOUT ROWID;
CREATE INDEX votes_by_channel_id ON votes (channel);

ALTER TABLE subscriptions ADD COLUMN include_query TEXT;
ALTER TABLE subscriptions ADD COLUMN exclude_query TEXT;
ALTER TABLE subscriptions ADD COLUMN authors TEXT NOT NULL DEFAULT '[]';
"""

MIGRATIONS: list[Migration] = [
    V1_PAPERS_TOPICS_NOTES_FTS,
    V2_SUBSCRIPTIONS_DELIVERIES,
    V3_NOTE_ATTEMPTS,
    V4_DELIVERY_SEQUENCE,
    V5_FULLTEXT,
    V6_LIBRARIES_RANK_MODELS,
    V7_VOTES_FILTERS,
]

# Per-connection settings, applied at every open (only page_size and journal_mode are
# stored in the file). page_size must come first: it only takes effect on a new file,
# before WAL; 16 KiB pages hold ~10 papers each and cut write time by ~15% against 4 KiB.
CONNECTION_PRAGMAS = (
    "PRAGMA page_size = 16384",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -65536",
    "PRAGMA mmap_size = 1073741824",
)
# A read-only connection (lookups) sets nothing stored in the file, and refuses every
# write itself (query_only), whatever a code path might try.
READ_PRAGMAS = (
    "PRAGMA query_only = ON",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -65536",
    "PRAGMA mmap_size = 1073741824",
)
# Another process (an import, the bot) may hold the write lock for one batch: wait for
# it this long, then give up with "the store is busy" (`store.errors`). Read at every open.
BUSY_TIMEOUT_MS = 10_000

# FTS5 settings stored in the index itself (papers_fts_config); tuning rather than
# schema, so they are checked at every open and an SQLite that lacks one only costs speed.
# hashsize: FTS5 writes a new index segment whenever its pending terms pass this size
# (default 1 MB); a 5,000-paper batch holds ~10 MB of terms, and flushing it as one
# segment instead of ten roughly halves indexing time. automerge/crisismerge are the
# FTS5 defaults, restored here in case a bulk load was interrupted.
FTS_SETTINGS = {"hashsize": 64 * 1024 * 1024, "automerge": 4, "crisismerge": 16}
# During bulk_upsert: no merging while loading (merging segments as they arrive costs
# ~25% of load time); one optimize or merge pass at the end does it once.
FTS_BULK_SETTINGS = {"automerge": 0, "crisismerge": 1000}


async def apply_fts_settings(conn: aiosqlite.Connection, settings: dict[str, int] = FTS_SETTINGS) -> dict[str, int]:
    """Store `settings` in the FTS config where they differ; return the values found before."""
    async with conn.execute("SELECT k, v FROM papers_fts_config") as cursor:
        stored = {key: value for key, value in await cursor.fetchall()}
    for key, value in settings.items():
        if stored.get(key) == value:
            continue
        try:
            await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES (?, ?)", (key, value))
        except aiosqlite.OperationalError as error:
            log.warning("FTS5 option %s=%s not applied (%s); indexing will be slower", key, value, error)
    return stored


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        (version,) = await cursor.fetchone() or (0,)
    return int(version)


async def migrate(conn: aiosqlite.Connection, migrations: list[Migration] | None = None, *, path: str = "the database") -> int:
    """Bring the database to the newest known version; return that version."""
    steps = MIGRATIONS if migrations is None else migrations
    current = await schema_version(conn)
    if current > len(steps):
        refuse_newer(current, len(steps), path)
    for version in range(current + 1, len(steps) + 1):
        await _apply(conn, steps[version - 1], version)
        log.debug("store schema migrated to version %d", version)
    return len(steps)


def refuse_newer(current: int, newest: int, path: str) -> None:
    raise SchemaVersionError(
        f"{path} has database schema version {current}, newer than this paperbot knows "
        f"(up to {newest}); upgrade paperbot or use another database file",
        path,
    )


async def _apply(conn: aiosqlite.Connection, step: Migration, version: int) -> None:
    try:
        if isinstance(step, str):
            # executescript() commits any open transaction first, so the transaction
            # lives inside the script itself; on error it is still open and rolled back.
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{step}\n;\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        else:
            await conn.execute("BEGIN IMMEDIATE")
            await step(conn)
            await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
