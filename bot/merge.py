"""The upsert rules: what a store keeps when a paper it knows arrives again.

Why this module exists: every store (SQLite now, PostgreSQL next) must keep
the same paper from the same copies, so the rules are decided here, over
`Paper` and `Notes` values, with no SQL and no row encoding. A store loads
the copies it holds of a batch's papers, asks `decide_batch` what to keep,
and writes the outcome its own way. The rules (see `PaperStore.upsert_papers`):

- Text (title, abstract, authors) follows the better copy: higher text
  quality first (clean > repaired > damaged), then higher version; an exact
  tie goes to the incoming copy. So a damaged copy never overwrites a clean
  one, a clean v2 replaces a repaired v1, and mostly the result does not
  depend on the order copies arrive in. An empty incoming field never erases a
  known one; if a kept field came from a worse copy the mark is the worse quality.
- Metadata (version, updated, categories, comment, journal_ref, doi) follows
  the higher version; at equal version the incoming non-empty values win.
- `code_url`: a missing one is filled in; a known one is replaced only by a
  newer version that brings its own.
- Known limit: the version compared is the paper's newest, not the version
  the kept text (or code_url) came from, so a newer worse copy (or one without
  a code_url) arriving between two others can keep the older of them
  (tests/unit/test_merge_rules.py, the two xfail tests).
- `published` keeps the more precise date (`2025-06-03` beats `2025-06`).
- Topics are a union.
- Notes are kept per (lang, source); an empty Notes is ignored and a copy of
  lower quality never replaces a better one (equal quality: incoming wins).
- Nothing changed -> the paper counts as `unchanged` and nothing is written.
- Every incoming copy is first brought within `bot.paper_limits` (control
  characters removed, oversized fields cut) by `admit`, whichever importer
  sent it; a copy that needed it is logged as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from bot.models import Notes, Paper, TextQuality, UpsertReport
from bot.paper_limits import limit_paper

NoteKey = tuple[str, str]

log = logging.getLogger(__name__)


def date_precision(date: str | None) -> int:
    """0 for no date, 1 for `YYYY`, 2 for `YYYY-MM`, 3 for `YYYY-MM-DD`."""
    return date.count("-") + 1 if date else 0


def quality(value: TextQuality | str) -> TextQuality:
    """A TextQuality from the enum or its string value; anything else is a ValueError."""
    return value if type(value) is TextQuality else TextQuality(value)


def note_key(note: Notes) -> NoteKey:
    return (note.lang, note.source)


def admit(paper: Paper) -> Paper:
    """The copy as a store takes it in: within `bot.paper_limits` (a warning says what was cut),
    authors and categories as tuples, its quality as the enum, each topic once, and its notes
    merged per (lang, source) by the rules. Returns `paper` itself when it already was so."""
    limited, changes = limit_paper(paper)
    if changes:
        log.warning("%s: %s", paper.arxiv_id, "; ".join(changes))
    text_quality = quality(limited.text_quality)
    authors, categories = tuple(limited.authors), tuple(limited.categories)
    topics = tuple(dict.fromkeys(topic for topic in limited.topics if topic))
    notes = merge_notes((), limited.notes)[0] if limited.notes else ()
    published = limited.published or ""
    if (
        text_quality is limited.text_quality and authors == limited.authors and categories == limited.categories
        and topics == limited.topics and notes == limited.notes and published == limited.published
    ):  # fmt: skip
        return limited
    return replace(
        limited, text_quality=text_quality, authors=authors, categories=categories, topics=topics, notes=notes,
        published=published,
    )  # fmt: skip


def notes_carrier(arxiv_id: str, notes: Notes) -> Paper:
    """A copy that carries nothing but `notes`: version 0, damaged, no text and no date, so the
    rules keep every field of the known paper and take in only the notes (machine notes use it)."""
    return Paper(arxiv_id=arxiv_id, title="", version=0, text_quality=TextQuality.DAMAGED, notes=(notes,))


def merge_notes(known: Sequence[Notes], incoming: Iterable[Notes]) -> tuple[tuple[Notes, ...], frozenset[NoteKey]]:
    """The notes to keep, and the (lang, source) keys whose notes the incoming ones replaced or added."""
    kept = {note_key(note): note for note in known}
    changed: set[NoteKey] = set()
    for note in incoming:
        if note.is_empty():
            continue
        note_quality = quality(note.text_quality)
        if note_quality is not note.text_quality:
            note = replace(note, text_quality=note_quality)
        key = note_key(note)
        held = kept.get(key)
        # The same notes from another file (a copy of a list) or run are not news: the first origin stays.
        if held is not None and (
            note_quality.rank < held.text_quality.rank or replace(note, origin=held.origin, created_at=held.created_at) == held
        ):
            continue
        kept[key] = note
        changed.add(key)
    return tuple(kept.values()), frozenset(changed)


@dataclass(frozen=True)
class Merged:
    """A known paper after one or more incoming copies: the paper to keep, and what changed.

    `fields_changed`: a field of the paper itself (text, metadata, dates, quality);
    topics and notes are reported apart, because stores keep them in tables of their own.
    """

    paper: Paper
    fields_changed: bool = False
    new_topics: tuple[str, ...] = ()
    changed_notes: frozenset[NoteKey] = frozenset()

    @property
    def changed(self) -> bool:
        return self.fields_changed or bool(self.new_topics) or bool(self.changed_notes)

    def then(self, later: "Merged") -> "Merged":
        """This outcome followed by `later` (a merge into `self.paper`): everything either changed."""
        return Merged(
            later.paper,
            self.fields_changed or later.fields_changed,
            self.new_topics + later.new_topics,
            self.changed_notes | later.changed_notes,
        )


def merge(known: Paper, incoming: Paper) -> Merged:
    """Apply the rules to one admitted incoming copy of a known paper."""
    title, abstract, authors, text_quality = known.title, known.abstract, known.authors, known.text_quality
    incoming_quality = quality(incoming.text_quality)
    if (incoming_quality.rank, incoming.version) >= (known.text_quality.rank, known.version):
        kept_from_worse = False
        if incoming.title:
            title = incoming.title
        elif known.title:
            kept_from_worse = True
        if incoming.abstract:
            abstract = incoming.abstract
        elif known.abstract:
            kept_from_worse = True
        if incoming.authors:
            authors = tuple(incoming.authors)
        elif known.authors:
            kept_from_worse = True
        kept_from_worse &= known.text_quality.rank < incoming_quality.rank
        text_quality = known.text_quality if kept_from_worse else incoming_quality

    code_url = known.code_url
    if incoming.code_url and (not known.code_url or incoming.version > known.version):
        code_url = incoming.code_url
    version, updated, comment, journal_ref, doi, categories = (
        known.version, known.updated, known.comment, known.journal_ref, known.doi, known.categories
    )  # fmt: skip
    if incoming.version >= known.version:
        version = incoming.version
        updated = incoming.updated or updated
        comment = incoming.comment or comment
        journal_ref = incoming.journal_ref or journal_ref
        doi = incoming.doi or doi
        categories = tuple(incoming.categories) or categories
    published = incoming.published if date_precision(incoming.published) > date_precision(known.published) else known.published

    fields = (
        title,
        abstract,
        authors,
        text_quality,
        code_url,
        version,
        updated,
        comment,
        journal_ref,
        doi,
        categories,
        published,
    )
    fields_changed = fields != (
        known.title, known.abstract, known.authors, known.text_quality, known.code_url, known.version, known.updated,
        known.comment, known.journal_ref, known.doi, known.categories, known.published,
    )  # fmt: skip
    new_topics = tuple(topic for topic in dict.fromkeys(incoming.topics) if topic and topic not in known.topics)
    notes, changed_notes = merge_notes(known.notes, incoming.notes) if incoming.notes else (known.notes, frozenset())
    if not (fields_changed or new_topics or changed_notes):
        return Merged(known)
    paper = replace(
        known, title=title, abstract=abstract, authors=authors, text_quality=text_quality, code_url=code_url,
        version=version, updated=updated, comment=comment, journal_ref=journal_ref, doi=doi, categories=categories,
        published=published, topics=known.topics + new_topics, notes=notes,
    )  # fmt: skip
    return Merged(paper, fields_changed, new_topics, changed_notes)


@dataclass
class BatchOutcome:
    """What one upsert call keeps: `new` papers (each merged with its later copies in the batch),
    the known papers that `changed` (everything their copies changed), and the report."""

    new: list[Paper] = field(default_factory=list)
    changed: list[Merged] = field(default_factory=list)
    report: UpsertReport = field(default_factory=UpsertReport)


def decide_batch(incoming: Sequence[Paper], known: Mapping[str, Paper]) -> BatchOutcome:
    """The outcome of one upsert call; `incoming` are admitted copies in the caller's order,
    `known` the store's copy (with topics and notes) of each of their papers it holds."""
    new: dict[str, Paper] = {}
    merged: dict[str, Merged] = {}
    updated = unchanged = 0
    for paper in incoming:
        key = paper.arxiv_id
        if key in new:
            outcome = merge(new[key], paper)
            new[key] = outcome.paper
        elif key in merged:
            outcome = merge(merged[key].paper, paper)
            merged[key] = merged[key].then(outcome)
        elif key in known:
            outcome = merged[key] = merge(known[key], paper)
        else:
            new[key] = paper
            continue
        if outcome.changed:
            updated += 1
        else:
            unchanged += 1
    return BatchOutcome(
        new=list(new.values()),
        changed=[outcome for outcome in merged.values() if outcome.changed],
        report=UpsertReport(len(new), updated, unchanged, tuple(new)),
    )
