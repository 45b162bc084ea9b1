"""SQL that both stores run as it is but for placeholders: written once, with `?`.

Why this module exists: the two stores hold the same tables, and most of
their statements and query shapes are the same text in both dialects. They
are written here once; SQLite runs them as they are, PostgreSQL after
`store.common.sql.numbered` (`?` -> `$n`). What really differs between the
engines (search, bulk loads, JSON or array parameters, PostgreSQL's leases
and `RETURNING`) stays in each engine's package. The builders return the SQL
with its parameters in placeholder order.
"""

from __future__ import annotations

from bot.models import ChannelRef
from store.common.rows import (
    CHANNEL_MATCH,
    DELIVERY_COLUMNS,
    LIBRARY_COLUMNS,
    PAPER_READ_LIST,
    PAPER_READ_LIST_P,
    SUBSCRIPTION_COLUMNS,
    channel_values,
)

# --- papers and topics --------------------------------------------------------------------

PAPER = f"SELECT {PAPER_READ_LIST} FROM papers WHERE arxiv_id = ?"
UPSERT_TOPIC = (
    "INSERT INTO topics (name, title, query, categories) VALUES (?, ?, ?, ?) "
    # A definition without a title (a [[topics]] entry without `title`) keeps the one an import gave.
    "ON CONFLICT (name) DO UPDATE SET "
    "title = CASE WHEN excluded.title <> '' THEN excluded.title ELSE topics.title END, "
    "query = excluded.query, "
    "categories = excluded.categories"
)
# Read by `store.common.rows.topic_stats`.
TOPICS = (
    "SELECT name, title, query, categories, paper_count, "
    "(SELECT max(published) FROM paper_topics WHERE topic = topics.name) "
    "FROM topics ORDER BY name"
)
TOPIC_NAMES = "SELECT name FROM topics ORDER BY name"
PAPER_COUNT = "SELECT count(*) FROM papers"


def latest(topic: str | None, limit: int) -> tuple[str, tuple]:
    """The newest papers (PAPER_READ_COLUMNS rows), of a topic or of all, read off an index."""
    if topic is None:
        return f"SELECT {PAPER_READ_LIST} FROM papers ORDER BY published DESC, arxiv_id DESC LIMIT ?", (limit,)
    sql = (
        f"SELECT {PAPER_READ_LIST_P} FROM paper_topics AS t JOIN papers AS p ON p.id = t.paper_id "
        "WHERE t.topic = ? ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?"
    )
    return sql, (topic, limit)


# --- subscriptions and deliveries ---------------------------------------------------------

ACTIVE_SUBSCRIPTIONS = f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE retired_at IS NULL"
SUBSCRIPTION = f"{ACTIVE_SUBSCRIPTIONS} AND id = ?"
SAVE_SUBSCRIPTION = (
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
    "created_at = CASE WHEN subscriptions.retired_at IS NULL THEN subscriptions.created_at ELSE excluded.created_at END, "
    "retired_at = NULL"
)
# The subscription a channel and topic name, whatever its state (the first five SAVE_SUBSCRIPTION values).
SUBSCRIPTION_BY_NAME = f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE {CHANNEL_MATCH} AND topic = ?"
ACTIVE_SUBSCRIPTION_ID = f"SELECT id FROM subscriptions WHERE {CHANNEL_MATCH} AND topic = ? AND retired_at IS NULL"
DELETE_SUBSCRIPTION = "DELETE FROM subscriptions WHERE id = ?"
RETIRE_SUBSCRIPTION = "UPDATE subscriptions SET retired_at = ? WHERE id = ?"
CLEAR_FAILURE = "UPDATE subscriptions SET failing = NULL, failing_since = NULL WHERE id = ?"
SET_FAILURE = "UPDATE subscriptions SET failing = ?, failing_since = coalesce(failing_since, ?) WHERE id = ?"
# Giving a subscription's unsent claims back: their papers first (the subscription id twice), then the claims.
RELEASE_UNSENT_PAPERS = (
    "DELETE FROM channel_papers WHERE subscription_id = ? AND period IN "
    "(SELECT period FROM deliveries WHERE subscription_id = ? AND state = 'claimed')"
)
DELETE_UNSENT = "DELETE FROM deliveries WHERE subscription_id = ? AND state = 'claimed'"

MEMBERSHIP_SEQUENCE = "SELECT coalesce(max(seq), 0) FROM paper_topics"
# Delivery states that close a period for the content window: a skipped period does not,
# so its papers go into the next digest.
_WINDOW_STATES = "('claimed', 'sent', 'empty')"
RECORD_SKIPPED = (
    f"INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, 'skipped', '[]', 0, '[]', ?, NULL, 0, ?, NULL) "
    "ON CONFLICT DO NOTHING"
)
RECORD_DELIVERY = "UPDATE deliveries SET state = 'sent', message_ids = ?, sent_at = ? WHERE subscription_id = ? AND period = ?"
RELEASE_DELIVERY_PAPERS = "DELETE FROM channel_papers WHERE subscription_id = ? AND period = ?"
DELETE_DELIVERY = "DELETE FROM deliveries WHERE subscription_id = ? AND period = ?"
DELIVERY = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND period = ?"
DELIVERIES = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? ORDER BY fire_time"


def active_subscriptions(channel: ChannelRef | None) -> tuple[str, tuple]:
    """Every active subscription, or a channel's, in id order."""
    if channel is None:
        return f"{ACTIVE_SUBSCRIPTIONS} ORDER BY id", ()
    return f"{ACTIVE_SUBSCRIPTIONS} AND {CHANNEL_MATCH} ORDER BY id", channel_values(channel)


def last_delivery(subscription_id: int, before: str | None) -> tuple[str, tuple]:
    """The newest delivery that closed a window (fired before `before`, when given)."""
    sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = ? AND state IN {_WINDOW_STATES}"
    params: tuple = (subscription_id,)
    if before is not None:
        sql += " AND fire_time < ?"
        params += (before,)
    return sql + " ORDER BY fire_time DESC LIMIT 1", params


def digest_window(
    topic: str, channel_key: str, since: str | None, until: str | None, *, after_seq: int, upto_seq: int | None
) -> tuple[str, tuple]:
    """`FROM ... WHERE ...` of a topic's memberships in a digest window that the channel was never sent."""
    where = "FROM paper_topics AS t WHERE t.topic = ? AND t.seq > ?"
    params: tuple = (topic, after_seq)
    for condition, value in (("t.seq <= ?", upto_seq), ("t.added_at > ?", since), ("t.added_at <= ?", until)):
        if value is not None:
            where += f" AND {condition}"
            params += (value,)
    where += " AND NOT EXISTS (SELECT 1 FROM channel_papers AS c WHERE c.channel_key = ? AND c.paper_id = t.paper_id)"
    return where, params + (channel_key,)


def newest_in_window(where: str) -> str:
    """The page of `digest_window` papers a digest shows, newest first; its last parameter is the limit."""
    return f"SELECT t.paper_id {where} ORDER BY t.published DESC, t.arxiv_id DESC LIMIT ?"


# --- full text ----------------------------------------------------------------------------

# Parameters: `store.common.rows.fulltext_values` (or `failure_values`). Never replaces a newer version's row.
SAVE_FULLTEXT = (
    "INSERT INTO fulltext (paper_id, version, source, body, chars, figure_url, figure_caption, error, fetched_at) "
    "SELECT id, ?, ?, ?, ?, ?, ?, ?, ? FROM papers WHERE arxiv_id = ? "
    "ON CONFLICT (paper_id) DO UPDATE SET version = excluded.version, source = excluded.source, body = excluded.body, "
    "chars = excluded.chars, figure_url = excluded.figure_url, figure_caption = excluded.figure_caption, "
    "error = excluded.error, fetched_at = excluded.fetched_at WHERE excluded.version >= fulltext.version"
)
# Read by `store.common.rows.fulltext_from_row`.
FULLTEXT = (
    "SELECT f.version, f.source, f.body, f.figure_url, f.figure_caption, f.fetched_at FROM fulltext AS f "
    "JOIN papers AS p ON p.id = f.paper_id WHERE p.arxiv_id = ? AND f.source != 'none'"
)
FULLTEXT_FAILURE = (
    "SELECT f.error FROM fulltext AS f JOIN papers AS p ON p.id = f.paper_id WHERE p.arxiv_id = ? AND f.source = 'none'"
)


def papers_needing_fulltext(topic: str | None, limit: int) -> tuple[str, tuple]:
    """Papers (PAPER_READ_COLUMNS rows) with no full text for their stored version, newest first."""
    params: tuple[str, ...] = ()
    if topic is None:
        source, order, topic_filter = "papers AS p", "p.published DESC, p.arxiv_id DESC", ""
    else:
        source = "paper_topics AS t JOIN papers AS p ON p.id = t.paper_id"
        order, topic_filter, params = "t.published DESC, t.arxiv_id DESC", "t.topic = ? AND ", (topic,)
    sql = (
        f"SELECT {PAPER_READ_LIST_P} FROM {source} LEFT JOIN fulltext AS f ON f.paper_id = p.id "
        f"WHERE {topic_filter}(f.paper_id IS NULL OR f.version < p.version) ORDER BY {order} LIMIT ?"
    )
    return sql, (*params, limit)


# --- notes --------------------------------------------------------------------------------

RECORD_NOTES_FAILURE = (
    "INSERT INTO note_attempts (paper_id, lang, attempts, last_error, last_tried_at) "
    "SELECT id, ?, 1, ?, ? FROM papers WHERE arxiv_id = ? "
    "ON CONFLICT (paper_id, lang) DO UPDATE SET attempts = note_attempts.attempts + 1, "
    "last_error = excluded.last_error, last_tried_at = excluded.last_tried_at"
)
NOTES_FAILURES = (
    "SELECT p.arxiv_id, a.attempts, a.last_error FROM note_attempts AS a "
    "JOIN papers AS p ON p.id = a.paper_id WHERE a.lang = ? ORDER BY p.arxiv_id"
)
FORGET_NOTES_FAILURES = "DELETE FROM note_attempts WHERE paper_id = ? AND lang = ?"
# Every notes budget counter but the day's (parameters: the prefix, the prefix + U+FFFF, the day's key).
DROP_OTHER_BUDGETS = "DELETE FROM meta WHERE key >= ? AND key < ? AND key != ?"
# Usable notes in the language: damaged (mojibake) notes are never shown, so they do not count.
_HAS_NOTES = "EXISTS (SELECT 1 FROM notes AS n WHERE n.paper_id = p.id AND n.lang = ? AND n.text_quality != 'damaged')"
_FAILED_BEFORE = "EXISTS (SELECT 1 FROM note_attempts AS a WHERE a.paper_id = p.id AND a.lang = ?)"


def papers_needing_notes(lang: str, topic: str | None) -> tuple[str, str, tuple]:
    """(never tried, failed before, parameters): two queries of PAPER_READ_COLUMNS rows, each taking
    the parameters and then its limit. Never-tried papers newest first; failed ones fewest attempts,
    longest ago first."""
    params: tuple[str, ...] = ()
    if topic is None:
        source, order, topic_filter, member = "papers AS p", "p.published DESC, p.arxiv_id DESC", "", ""
    else:
        source = "paper_topics AS t JOIN papers AS p ON p.id = t.paper_id"
        order, topic_filter, params = "t.published DESC, t.arxiv_id DESC", "t.topic = ? AND ", (topic,)
        member = "JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = ? "
    untried = (
        f"SELECT {PAPER_READ_LIST_P} FROM {source} WHERE {topic_filter}NOT {_HAS_NOTES} "
        f"AND NOT {_FAILED_BEFORE} ORDER BY {order} LIMIT ?"
    )
    failed = (
        f"SELECT {PAPER_READ_LIST_P} FROM note_attempts AS a JOIN papers AS p ON p.id = a.paper_id {member}"
        f"WHERE a.lang = ? AND NOT {_HAS_NOTES} ORDER BY a.attempts, a.last_tried_at, p.arxiv_id LIMIT ?"
    )
    return untried, failed, (*params, lang, lang)


# --- libraries and ranking models ---------------------------------------------------------

LIBRARY = f"SELECT {LIBRARY_COLUMNS} FROM libraries WHERE {CHANNEL_MATCH}"
LIBRARIES = f"SELECT {LIBRARY_COLUMNS} FROM libraries ORDER BY adapter, workspace, channel, thread"
SAVE_LIBRARY = (
    f"INSERT INTO libraries ({LIBRARY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (adapter, workspace, channel, thread) DO UPDATE SET topics = excluded.topics, "
    "source = excluded.source, set_by = excluded.set_by, updated_at = excluded.updated_at"
)
REMOVE_LIBRARY = f"DELETE FROM libraries WHERE {CHANNEL_MATCH}"
PAPER_ID_RANGE = "SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM papers"
ALL_PAPER_IDS = "SELECT id FROM papers ORDER BY id"
STORE_VERSION = "SELECT (SELECT coalesce(max(id), 0) FROM papers), (SELECT coalesce(max(seq), 0) FROM paper_topics)"
LOAD_MODEL = "SELECT fingerprint, model FROM rank_models WHERE key = ?"
SAVE_MODEL = (
    "INSERT INTO rank_models (key, fingerprint, model, trained_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, model = excluded.model, "
    "trained_at = excluded.trained_at"
)


def candidate_filters(since: str | None, not_shown_in: str | None) -> tuple[str, tuple]:
    """` AND ...` conditions on `papers AS p` for ranking candidates: published since (a month-only
    date, "2025-06", counts as that whole month), and never shown in a channel."""
    where = ""
    params: tuple[str, ...] = ()
    if since is not None:
        where += " AND (p.published >= ? OR (length(p.published) = 7 AND p.published >= substr(?, 1, 7)))"
        params += (since, since)
    if not_shown_in is not None:
        where += " AND NOT EXISTS (SELECT 1 FROM channel_papers AS c WHERE c.channel_key = ? AND c.paper_id = p.id)"
        params += (not_shown_in,)
    return where, params


# --- votes --------------------------------------------------------------------------------

VOTES_VERSION_KEY = "votes_version"
# Bumped in the same transaction as every change of a vote or save (the parameter: VOTES_VERSION_KEY).
BUMP_VOTES_VERSION = (
    "INSERT INTO meta (key, value) VALUES (?, '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
)
# `ChannelRef.key` in SQL, so a reading list can be named by its key as well as by its channel id.
_CHANNEL_KEY = (
    "(v.adapter || ':' || (CASE v.workspace WHEN '' THEN '-' ELSE v.workspace END) || ':' || v.channel"
    " || (CASE v.thread WHEN '' THEN '' ELSE ':' || v.thread END))"
)
VOTES_CHANNEL_MATCH = "v.adapter = ? AND v.workspace = ? AND v.channel = ? AND v.thread = ?"


def saved_by(channel: ChannelRef | str) -> tuple[str, tuple[str, ...]]:
    """The condition on `votes AS v` for a reading list: a channel, or a channel (or thread) id
    on any platform, or a `ChannelRef.key`."""
    if isinstance(channel, ChannelRef):
        return VOTES_CHANNEL_MATCH, channel_values(channel)
    return f"(v.channel = ? OR v.thread = ? OR {_CHANNEL_KEY} = ?)", (channel, channel, channel)


# --- meta -----------------------------------------------------------------------------------

META_VALUE = "SELECT value FROM meta WHERE key = ?"
SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
