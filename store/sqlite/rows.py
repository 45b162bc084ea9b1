"""Paper and Notes <-> SQLite rows: the one place that knows column order and encodings.

Authors and categories are stored as compact JSON arrays so they round-trip
exactly (names may hold commas). The authors JSON is also what the FTS index
reads: the tokenizer treats brackets, quotes and commas as separators, so no
second copy of the names is needed.
"""

from __future__ import annotations

import json
from typing import Sequence

from bot.merge import note_key, quality
from bot.models import NOTE_FIELDS, Notes, Paper, TextQuality
from store.cjk import cjk_index_text

PAPER_COLUMNS = (
    "id", "arxiv_id", "version", "title", "abstract", "authors", "published", "updated",
    "categories", "comment", "journal_ref", "doi", "code_url", "text_quality", "added_at",
    "search_notes", "search_cjk",
)  # fmt: skip
# What reading a paper back needs: everything but the derived search columns.
PAPER_READ_COLUMNS = PAPER_COLUMNS[:-2]
NOTE_COLUMNS = ("paper_id", "lang", "source", *NOTE_FIELDS, "origin", "text_quality", "created_at", "basis")
TOPIC_MEMBER_COLUMNS = ("paper_id", "topic", "added_at", "published", "arxiv_id")

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
