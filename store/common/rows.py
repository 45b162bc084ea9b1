"""Models <-> rows of both stores: the one place that knows column order and encodings.

Papers, notes, subscriptions, deliveries, libraries and full texts are stored
in the same columns by the SQLite and the PostgreSQL store, so one encoder and
one reader of each serve both; a value an engine stores its own way (a JSONB
array, a BOOLEAN) is handed over in a form both drivers accept.

Authors and categories are stored as compact JSON arrays so they round-trip
exactly (names may hold commas). The authors JSON is also what the FTS index
reads: the tokenizer treats brackets, quotes and commas as separators, so no
second copy of the names is needed.
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

from bot.fulltext.document import FullText, compress_sections, decompress_sections
from bot.merge import note_key, quality
from bot.models import (
    NOTE_FIELDS,
    ChannelRef,
    Delivery,
    Figure,
    Library,
    Notes,
    Paper,
    Subscription,
    TextQuality,
    Topic,
    TopicStats,
)
from store.cjk import cjk_index_text

PAPER_COLUMNS = (
    "id", "arxiv_id", "version", "title", "abstract", "authors", "published", "updated",
    "categories", "comment", "journal_ref", "doi", "code_url", "text_quality", "added_at",
    "search_notes", "search_cjk",
)  # fmt: skip
# What reading a paper back needs: everything but the derived search columns.
PAPER_READ_COLUMNS = PAPER_COLUMNS[:-2]
PAPER_READ_LIST = ", ".join(PAPER_READ_COLUMNS)
PAPER_READ_LIST_P = ", ".join(f"p.{name}" for name in PAPER_READ_COLUMNS)  # of `papers AS p`
NOTE_COLUMNS = ("paper_id", "lang", "source", *NOTE_FIELDS, "origin", "text_quality", "created_at", "basis")
NOTE_LIST = ", ".join(NOTE_COLUMNS)
TOPIC_MEMBER_COLUMNS = ("paper_id", "topic", "added_at", "published", "arxiv_id")
SUBSCRIPTION_COLUMNS = (
    "id, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers, "
    "post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score, "
    "include_query, exclude_query, authors"
)
DELIVERY_COLUMNS = (
    "subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note, until_seq"
)
LIBRARY_COLUMNS = "adapter, workspace, channel, thread, topics, source, set_by, updated_at"
# The columns naming a channel, as `channel_values` gives them (an absent workspace or thread is '').
CHANNEL_MATCH = "adapter = ? AND workspace = ? AND channel = ? AND thread = ?"

to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_from_json = json.JSONDecoder().decode
_json_string = json.encoder.encode_basestring  # the C function `to_json` itself writes a str with


def json_strings(items: Sequence[str]) -> str:
    """`to_json(items)` for authors and categories, written for every paper a load stores: the
    same text, without the encoder's set-up per call (three times faster for a paper's authors)."""
    try:
        return "[" + ",".join(map(_json_string, items)) + "]"
    except TypeError:  # an item that is not a str: the full encoder, whatever it makes of it
        return to_json(list(items))


def from_json_list(text: str | None) -> tuple[str, ...]:
    return tuple(_from_json(text)) if text else ()


def notes_search_text(notes: Sequence[Notes]) -> str:
    """All notes text of a paper as one string for the index, in a stable (lang, source) order."""
    if not notes:
        return ""
    parts = []
    for note in sorted(notes, key=note_key):
        for name in NOTE_FIELDS:
            value = getattr(note, name)
            if value:
                parts.append(value)
    return "\n".join(parts)


def paper_row_tail(paper: Paper, added_at: str | None) -> tuple:
    """The `papers` row without its id (PAPER_COLUMNS[1:]), derived search columns included;
    the costly part of a write (JSON, search text), so it is made before the transaction."""
    search_notes = notes_search_text(paper.notes)
    return (
        paper.arxiv_id, paper.version, paper.title, paper.abstract, json_strings(paper.authors),
        paper.published, paper.updated, json_strings(paper.categories), paper.comment, paper.journal_ref,
        paper.doi, paper.code_url, paper.text_quality.value, added_at, search_notes,
        cjk_index_text(paper.title, paper.abstract, search_notes),
    )  # fmt: skip


def note_row(paper_id: int, note: Notes) -> tuple:
    return (
        paper_id, note.lang, note.source, note.headline, note.motivation, note.method,
        note.results, note.takeaways, note.origin, quality(note.text_quality).value, note.created_at, note.basis,
    )  # fmt: skip


def note_from_row(row: tuple) -> Notes:
    """A NOTE_COLUMNS row (paper_id first) -> Notes."""
    _, lang, source, headline, motivation, method, results, takeaways, origin, text_quality, created_at, basis = row
    return Notes(
        lang=lang, headline=headline, motivation=motivation, method=method, results=results,
        takeaways=takeaways, source=source, origin=origin, text_quality=TextQuality(text_quality),
        created_at=created_at, basis=basis,
    )  # fmt: skip


def paper_from_row(row: tuple, topics: tuple[str, ...], notes: tuple[Notes, ...]) -> Paper:
    """A PAPER_READ_COLUMNS row -> Paper."""
    (_, arxiv_id, version, title, abstract, authors, published, updated, categories,
     comment, journal_ref, doi, code_url, text_quality, added_at) = row  # fmt: skip
    return Paper(
        arxiv_id=arxiv_id, title=title, version=version, abstract=abstract,
        authors=from_json_list(authors), published=published, updated=updated,
        categories=from_json_list(categories), comment=comment, journal_ref=journal_ref,
        doi=doi, code_url=code_url, text_quality=TextQuality(text_quality), topics=topics,
        notes=notes, added_at=added_at,
    )  # fmt: skip


def papers_from_rows(rows: Sequence[tuple], topic_rows: Iterable[tuple], note_rows: Iterable[tuple]) -> list[Paper]:
    """Papers for PAPER_READ_COLUMNS rows, in their order, given their (paper_id, topic) rows and
    NOTE_COLUMNS rows (each in the order the paper should list them)."""
    topics: dict[int, list[str]] = {}
    for paper_id, topic in topic_rows:
        topics.setdefault(paper_id, []).append(topic)
    notes: dict[int, list[Notes]] = {}
    for row in note_rows:
        notes.setdefault(row[0], []).append(note_from_row(row))
    return [paper_from_row(row, tuple(topics.get(row[0], ())), tuple(notes.get(row[0], ()))) for row in rows]


def topic_stats(rows: Sequence[Sequence]) -> list[TopicStats]:
    """`store.common.statements.TOPICS` rows -> TopicStats."""
    return [
        TopicStats(Topic(name, title, query, from_json_list(categories)), count, newest or None)
        for name, title, query, categories, count, newest in rows
    ]


def channel_values(channel: ChannelRef) -> tuple[str, str, str, str]:
    """The (adapter, workspace, channel, thread) columns of a channel, in `CHANNEL_MATCH`'s order."""
    return (channel.adapter, channel.workspace or "", channel.channel, channel.thread or "")


def _channel_from(adapter: str, workspace: str, channel: str, thread: str) -> ChannelRef:
    return ChannelRef(adapter, channel, workspace or None, thread or None)


def subscription_values(subscription: Subscription, now: str) -> tuple:
    """The `subscriptions` row without its id (SUBSCRIPTION_COLUMNS[1:]); flags as bools, which SQLite stores as 0/1."""
    return (
        *channel_values(subscription.channel), subscription.topic,
        subscription.when, subscription.timezone, subscription.language, subscription.max_papers,
        bool(subscription.post_empty), subscription.webhook_env, subscription.source,
        subscription.created_at or now, subscription.failing, subscription.failing_since,
        bool(subscription.figures), subscription.min_score,
        subscription.include, subscription.exclude, json.dumps(list(subscription.authors), ensure_ascii=False),
    )  # fmt: skip


def subscription_from_row(row: Sequence) -> Subscription:
    """A SUBSCRIPTION_COLUMNS row -> Subscription."""
    (id_, adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers,
     post_empty, webhook_env, source, created_at, failing, failing_since, figures, min_score,
     include_query, exclude_query, authors) = row  # fmt: skip
    return Subscription(
        id=id_, channel=_channel_from(adapter, workspace, channel, thread), topic=topic, when=schedule,
        timezone=timezone, language=language, max_papers=max_papers, post_empty=bool(post_empty),
        webhook_env=webhook_env, source=source, created_at=created_at, failing=failing,
        failing_since=failing_since, figures=bool(figures), min_score=min_score, include=include_query,
        exclude=exclude_query, authors=tuple(json.loads(authors or "[]")),
    )  # fmt: skip


def delivery_from_row(row: Sequence) -> Delivery:
    """A DELIVERY_COLUMNS row -> Delivery."""
    (subscription_id, period, fire_time, state, paper_ids, total, message_ids, claimed_at, sent_at, attempts, note,
     until_seq) = row  # fmt: skip
    return Delivery(
        subscription_id, period, fire_time, state, tuple(json.loads(paper_ids)), total,
        tuple(json.loads(message_ids)), claimed_at, sent_at, attempts, note, until_seq,
    )  # fmt: skip


def library_values(library: Library) -> tuple:
    """A LIBRARY_COLUMNS row."""
    return (
        *channel_values(library.channel), json.dumps(list(library.topics)), library.source, library.set_by,
        library.updated_at,
    )  # fmt: skip


def library_from_row(row: Sequence) -> Library:
    """A LIBRARY_COLUMNS row -> Library."""
    adapter, workspace, channel, thread, topics, source, set_by, updated_at = row
    return Library(_channel_from(adapter, workspace, channel, thread), tuple(json.loads(topics)), source, set_by, updated_at)


# Full text. Column order of its writes: version, source, body, chars, figure_url, figure_caption, error,
# fetched_at, arxiv_id (`store.common.statements.SAVE_FULLTEXT`).


def fulltext_values(text: FullText, now: str) -> tuple:
    """A fetched text's row, in SAVE_FULLTEXT's parameter order."""
    figure = text.figure
    return (
        text.version, text.source, compress_sections(text.sections), text.chars,
        figure.url if figure else None, figure.caption if figure else None, None, text.fetched_at or now, text.arxiv_id,
    )  # fmt: skip


def failure_values(arxiv_id: str, version: int, reason: str, at: str) -> tuple:
    """The row of a version with no usable text (`source = 'none'`), in SAVE_FULLTEXT's parameter order."""
    return (version, "none", None, 0, None, None, reason[:500], at, arxiv_id)


def fulltext_from_row(arxiv_id: str, row: Sequence) -> FullText:
    """A stored text from `store.common.statements.FULLTEXT`'s row."""
    version, source, body, figure_url, caption, fetched_at = row
    figure = Figure(figure_url, caption or "") if figure_url else None
    return FullText(arxiv_id, version, source, decompress_sections(body), figure, fetched_at)
