"""The PostgreSQL schema as a list of forward migrations, versioned in `paperbot_schema`.

Why a table and not SQLite's `user_version`: PostgreSQL has no such header,
so the version lives in a one-row table. `MIGRATIONS[i]` takes a database
from version `i` to `i + 1`; at a writable open every missing step runs in
its own transaction with the version bump, under an advisory lock, so two
replicas starting together migrate once. A database newer than this code is
refused (`SchemaVersionError`) instead of being half-understood. Adding a
migration is one entry at the end; never edit a released step.

The tables mirror the SQLite store's (`store.sqlite.schema`, versions 1-5) so
the same row code and the same merge rules (`bot.merge`) serve both; what
differs is PostgreSQL's own:

- `papers.search` is a stored `tsvector`: title weight A, authors B,
  abstract and notes C, in `paperbot_english` (PostgreSQL's `english`
  configuration, Snowball stemming, minus its stop-word list); the CJK
  bigrams (`store.cjk`, spelled by the core's one rule in `bot.text`) in the
  `simple` configuration, the title's at weight A and all of them at D. A GIN
  index serves the search.
- Text keys (`arxiv_id`, topic names, `published`, meta keys) use the "C"
  collation, so orders match SQLite's byte order whatever the server's locale.
- Deliveries carry `owner` and `lease_until`: the replica that claimed a
  period, and until when its claim is its own (`store.postgres.subscriptions`).
- `paper_topics.seq` numbers memberships in commit order; writers of papers
  take one advisory lock (`PAPERS_WRITE_LOCK`) so sequence order is commit order.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable, Union

import asyncpg

from bot.errors import StoreError

log = logging.getLogger(__name__)

Migration = Union[str, Callable[[asyncpg.Connection], Awaitable[None]]]

# Advisory lock keys (pg_advisory_*): arbitrary constants, distinct from each other.
MIGRATION_LOCK = 0x70617065_0001
PAPERS_WRITE_LOCK = 0x70617065_0002


class SchemaVersionError(StoreError):
    """The database was written by a newer paperbot than this one."""


TEXT_QUALITIES = "('clean', 'repaired', 'damaged')"

V1_STORE = f"""
-- PostgreSQL's english configuration (Snowball stemming) without its stop-word list: every
-- user term counts, as with SQLite's porter tokenizer ("not driving" is two words, not one).
CREATE TEXT SEARCH DICTIONARY paperbot_english_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION paperbot_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION paperbot_english
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH paperbot_english_stem;

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE papers (
    id               BIGINT PRIMARY KEY,
    arxiv_id         TEXT COLLATE "C" NOT NULL UNIQUE,
    version          INTEGER NOT NULL DEFAULT 1,
    title            TEXT NOT NULL,
    abstract         TEXT NOT NULL DEFAULT '',
    authors          JSONB NOT NULL DEFAULT '[]',
    published        TEXT COLLATE "C" NOT NULL DEFAULT '',
    updated          TEXT,
    categories       JSONB NOT NULL DEFAULT '[]',
    comment          TEXT,
    journal_ref      TEXT,
    doi              TEXT,
    code_url         TEXT,
    text_quality     TEXT NOT NULL CHECK (text_quality IN {TEXT_QUALITIES}),
    added_at         TEXT NOT NULL,
    search_notes     TEXT NOT NULL DEFAULT '',
    search_cjk       TEXT NOT NULL DEFAULT '',
    search_cjk_title TEXT NOT NULL DEFAULT '',
    search TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('paperbot_english'::regconfig, title), 'A')
        || setweight(to_tsvector('simple'::regconfig, search_cjk_title), 'A')
        || setweight(to_tsvector('paperbot_english'::regconfig, authors::text), 'B')
        || setweight(to_tsvector('paperbot_english'::regconfig, abstract), 'C')
        || setweight(to_tsvector('paperbot_english'::regconfig, search_notes), 'C')
        || setweight(to_tsvector('simple'::regconfig, search_cjk), 'D')
    ) STORED
);
CREATE SEQUENCE papers_id_seq OWNED BY papers.id;
CREATE INDEX papers_by_published ON papers (published DESC, arxiv_id DESC);
CREATE INDEX papers_search ON papers USING GIN (search);

CREATE TABLE topics (
    name        TEXT COLLATE "C" PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    query       TEXT,
    categories  JSONB NOT NULL DEFAULT '[]',
    paper_count INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE paper_topics (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    paper_id  BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    topic     TEXT COLLATE "C" NOT NULL REFERENCES topics (name),
    added_at  TEXT NOT NULL,
    published TEXT COLLATE "C" NOT NULL,
    arxiv_id  TEXT COLLATE "C" NOT NULL,
    UNIQUE (paper_id, topic)
);
CREATE INDEX paper_topics_by_published ON paper_topics (topic, published DESC, arxiv_id DESC);
CREATE INDEX paper_topics_by_topic_seq ON paper_topics (topic, seq);

CREATE FUNCTION paper_topics_follow_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE paper_topics SET published = NEW.published WHERE paper_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER paper_topics_follow_published AFTER UPDATE OF published ON papers
FOR EACH ROW WHEN (OLD.published IS DISTINCT FROM NEW.published)
EXECUTE FUNCTION paper_topics_follow_published();

CREATE TABLE notes (
    paper_id     BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang         TEXT COLLATE "C" NOT NULL,
    source       TEXT COLLATE "C" NOT NULL,
    headline     TEXT,
    motivation   TEXT,
    method       TEXT,
    results      TEXT,
    takeaways    TEXT,
    origin       TEXT NOT NULL DEFAULT '',
    text_quality TEXT NOT NULL CHECK (text_quality IN {TEXT_QUALITIES}),
    created_at   TEXT,
    basis        TEXT,
    PRIMARY KEY (paper_id, lang, source)
);

CREATE TABLE subscriptions (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    adapter       TEXT NOT NULL,
    workspace     TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL,
    thread        TEXT NOT NULL DEFAULT '',
    topic         TEXT NOT NULL,
    schedule      TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    language      TEXT NOT NULL,
    max_papers    INTEGER NOT NULL,
    post_empty    BOOLEAN NOT NULL,
    webhook_env   TEXT,
    source        TEXT NOT NULL CHECK (source IN ('config', 'chat')),
    created_at    TEXT NOT NULL,
    failing       TEXT,
    failing_since TEXT,
    figures       BOOLEAN NOT NULL DEFAULT false,
    retired_at    TEXT,
    UNIQUE (adapter, workspace, channel, thread, topic)
);

CREATE TABLE deliveries (
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    period          TEXT NOT NULL,
    fire_time       TEXT COLLATE "C" NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('claimed', 'sent', 'empty', 'skipped')),
    paper_ids       TEXT NOT NULL DEFAULT '[]',
    total           INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT NOT NULL DEFAULT '[]',
    claimed_at      TEXT NOT NULL,
    sent_at         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    note            TEXT,
    until_seq       BIGINT,
    owner           TEXT,
    lease_until     TEXT COLLATE "C",
    PRIMARY KEY (subscription_id, period)
);
CREATE INDEX deliveries_by_fire_time ON deliveries (subscription_id, fire_time);
CREATE INDEX deliveries_pending ON deliveries (state) WHERE state = 'claimed';

CREATE TABLE channel_papers (
    channel_key     TEXT NOT NULL,
    paper_id        BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL,
    period          TEXT NOT NULL,
    PRIMARY KEY (channel_key, paper_id)
);
CREATE INDEX channel_papers_by_delivery ON channel_papers (subscription_id, period);

CREATE TABLE note_attempts (
    paper_id      BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    lang          TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    last_error    TEXT NOT NULL,
    last_tried_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, lang)
);

CREATE TABLE fulltext (
    paper_id       BIGINT PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('html', 'pdf', 'none')),
    body           BYTEA,
    chars          INTEGER NOT NULL DEFAULT 0,
    figure_url     TEXT,
    figure_caption TEXT,
    error          TEXT,
    fetched_at     TEXT NOT NULL
);
"""

# Channel libraries and trained ranking models (`store.postgres.libraries`); subscriptions' min_score.
V2_LIBRARIES_RANK_MODELS = """
CREATE TABLE libraries (
    adapter    TEXT COLLATE "C" NOT NULL,
    workspace  TEXT COLLATE "C" NOT NULL DEFAULT '',
    channel    TEXT COLLATE "C" NOT NULL,
    thread     TEXT COLLATE "C" NOT NULL DEFAULT '',
    topics     TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('config', 'chat')),
    set_by     TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (adapter, workspace, channel, thread)
);

CREATE TABLE rank_models (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    model       BYTEA NOT NULL,
    trained_at  TEXT NOT NULL
);

ALTER TABLE subscriptions ADD COLUMN min_score DOUBLE PRECISION;
"""

# Votes and saves from chat (`store.postgres.votes`; `user_id`: `user` is a reserved word here);
# subscriptions' include/exclude filters and followed authors.
V3_VOTES_FILTERS = """
CREATE TABLE votes (
    adapter   TEXT COLLATE "C" NOT NULL,
    workspace TEXT COLLATE "C" NOT NULL DEFAULT '',
    channel   TEXT COLLATE "C" NOT NULL,
    thread    TEXT COLLATE "C" NOT NULL DEFAULT '',
    paper_id  BIGINT NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    user_id   TEXT COLLATE "C" NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('vote', 'save')),
    value     TEXT NOT NULL CHECK (value IN ('up', 'down', 'save')),
    at        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (adapter, workspace, channel, thread, paper_id, user_id, kind)
);
CREATE INDEX votes_by_channel_id ON votes (channel);

ALTER TABLE subscriptions ADD COLUMN include_query TEXT;
ALTER TABLE subscriptions ADD COLUMN exclude_query TEXT;
ALTER TABLE subscriptions ADD COLUMN authors TEXT NOT NULL DEFAULT '[]';
"""

MIGRATIONS: list[Migration] = [V1_STORE, V2_LIBRARIES_RANK_MODELS, V3_VOTES_FILTERS]

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS paperbot_schema (version INTEGER NOT NULL)"


async def schema_version(conn: asyncpg.Connection) -> int:
    """The database's version; 0 for a database paperbot never wrote to."""
    exists = await conn.fetchval("SELECT to_regclass('paperbot_schema') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM paperbot_schema"))


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None, *, location: str = "the database") -> int:
    """Bring the database to the newest known version (under an advisory lock); return that version."""
    steps = MIGRATIONS if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        current = await schema_version(conn)
        if current > len(steps):
            refuse_newer(current, len(steps), location)
        for version in range(current + 1, len(steps) + 1):
            async with conn.transaction():
                step = steps[version - 1]
                if isinstance(step, str):
                    await conn.execute(step)
                else:
                    await step(conn)
                await conn.execute(VERSION_TABLE)
                await conn.execute("DELETE FROM paperbot_schema")
                await conn.execute("INSERT INTO paperbot_schema (version) VALUES ($1)", version)
            log.debug("store schema migrated to version %d", version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return len(steps)


def refuse_newer(current: int, newest: int, location: str) -> None:
    raise SchemaVersionError(
        f"{location} has database schema version {current}, newer than this paperbot knows "
        f"(up to {newest}); upgrade paperbot or use another database",
        location,
    )
