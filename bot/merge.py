"""The upsert rules: what the store keeps when a paper it knows arrives again.

Pure Python, no SQL, so every rule is testable and the write path only has to
stage what `merge_batch` decided. The rules (see `PaperStore.upsert_papers`):

- Text (title, abstract, authors) follows the better copy: higher text
  quality first (clean > repaired > damaged), then higher version; an exact
  tie goes to the incoming copy. So a damaged copy never overwrites a clean
  one, a clean v2 replaces a repaired v1, and the result does not depend on
  the order copies arrive in. An empty incoming field never erases a known
  one; if a kept field came from a worse copy the mark is the worse quality.
- Metadata (version, updated, categories, comment, journal_ref, doi) follows
  the higher version; at equal version the incoming non-empty values win.
- `code_url`: a missing one is filled in; a known one is replaced only by a
  newer version that brings its own.
- `published` keeps the more precise date (`2025-06-03` beats `2025-06`).
- Topics are a union; each new membership gets its own `added_at`.
- Notes are kept per (lang, source); an empty Notes is ignored and a copy of
  lower quality never replaces a better one (equal quality: incoming wins).
- Nothing changed -> the paper counts as `unchanged` and nothing is written.
- Every incoming copy is first brought within `bot.paper_limits` (control
  characters removed, oversized fields cut), whichever importer sent it; a
  copy that needed it is logged as a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Sequence

from bot.models import Notes, Paper, TextQuality, UpsertReport
from bot.paper_limits import limit_paper
from store.cjk import cjk_index_text
from store.rows import notes_search_text, quality, to_json

NoteKey = tuple[str, str]

log = logging.getLogger(__name__)


def date_precision(date: str | None) -> int:
    """0 for no date, 1 for `YYYY`, 2 for `YYYY-MM`, 3 for `YYYY-MM-DD`."""
    return date.count("-") + 1 if date else 0


def _within_limits(paper: Paper) -> Paper:
    """`paper` as `bot.paper_limits` allows it into the store; a warning says what was cut."""
    limited, changes = limit_paper(paper)
    if changes:
        log.warning("%s: %s", paper.arxiv_id, "; ".join(changes))
    return limited


class PaperState:
    """One paper as the store will hold it after this batch, plus what changed."""

    __slots__ = (
        "id", "arxiv_id", "version", "title", "abstract", "authors", "published", "updated",
        "categories", "comment", "journal_ref", "doi", "code_url", "text_quality", "added_at",
        "topics", "notes", "is_new", "row_dirty", "new_topics", "dirty_notes", "_row_tail", "incoming",
    )  # fmt: skip

    def __init__(self, values: tuple, topics: dict[str, None], notes: dict[NoteKey, Notes], *, is_new: bool) -> None:
        (self.id, self.arxiv_id, self.version, self.title, self.abstract, self.authors,
         self.published, self.updated, self.categories, self.comment, self.journal_ref,
         self.doi, self.code_url, self.text_quality, self.added_at) = values  # fmt: skip
        self.topics = topics
        self.notes = notes
        self.is_new = is_new
        self.row_dirty = False
        self.new_topics: list[str] = []
        self.dirty_notes: set[NoteKey] = set()
        self._row_tail: tuple | None = None
        self.incoming: Paper | None = None  # for a fresh state: the copy it was made from, within limits

    @classmethod
    def fresh(cls, paper: Paper, added_at: str) -> "PaperState":
        """The state of a paper the store has never seen (its id is assigned later)."""
        paper = _within_limits(paper)
        state = cls(
            (None, paper.arxiv_id, paper.version, paper.title, paper.abstract, tuple(paper.authors),
             paper.published or "", paper.updated, tuple(paper.categories), paper.comment,
             paper.journal_ref, paper.doi, paper.code_url, quality(paper.text_quality), added_at),
            {}, {}, is_new=True,
        )  # fmt: skip
        for topic in paper.topics:
            if topic and topic not in state.topics:
                state.topics[topic] = None
        for note in paper.notes:
            state._absorb_note(note)
        state.incoming = paper
        return state

    # --- merging ------------------------------------------------------------------

    def absorb(self, paper: Paper) -> bool:
        """Apply the upsert rules for one incoming copy (within limits: `incoming`); True if anything changed."""
        before = self.comparable()
        self._absorb_text(paper)
        self._absorb_metadata(paper)
        if date_precision(paper.published) > date_precision(self.published):
            self.published = paper.published
        row_changed = self.comparable() != before
        self.row_dirty |= row_changed
        topics_changed = self._absorb_topics(paper.topics)
        notes_changed = False
        for note in paper.notes:
            notes_changed |= self._absorb_note(note)
        self.row_dirty |= notes_changed  # notes text is part of the row's search columns
        if row_changed or notes_changed:
            self._row_tail = None
        return row_changed or topics_changed or notes_changed

    def comparable(self) -> tuple:
        return (
            self.version, self.title, self.abstract, self.authors, self.published, self.updated,
            self.categories, self.comment, self.journal_ref, self.doi, self.code_url, self.text_quality,
        )  # fmt: skip

    def _absorb_text(self, paper: Paper) -> None:
        incoming = quality(paper.text_quality)
        if (incoming.rank, paper.version) < (self.text_quality.rank, self.version):
            return
        kept_from_worse = False
        for name, value in (("title", paper.title), ("abstract", paper.abstract), ("authors", tuple(paper.authors))):
            if value:
                setattr(self, name, value)
            elif getattr(self, name):
                kept_from_worse |= self.text_quality.rank < incoming.rank
        self.text_quality = self.text_quality if kept_from_worse else incoming

    def _absorb_metadata(self, paper: Paper) -> None:
        newer = paper.version > self.version
        if paper.code_url and (not self.code_url or newer):
            self.code_url = paper.code_url
        if paper.version < self.version:
            return
        self.version = paper.version
        for name in ("updated", "comment", "journal_ref", "doi"):
            value = getattr(paper, name)
            if value:
                setattr(self, name, value)
        if paper.categories:
            self.categories = tuple(paper.categories)

    def _absorb_topics(self, topics: Sequence[str]) -> bool:
        changed = False
        for topic in topics:
            if topic and topic not in self.topics:
                self.topics[topic] = None
                self.new_topics.append(topic)
                changed = True
        return changed

    def _absorb_note(self, note: Notes) -> bool:
        if note.is_empty():
            return False
        note_quality = quality(note.text_quality)
        if note_quality is not note.text_quality:
            note = replace(note, text_quality=note_quality)
        key = (note.lang, note.source)
        known = self.notes.get(key)
        if known is not None and (note_quality.rank < known.text_quality.rank or note == known):
            return False
        self.notes[key] = note
        self.dirty_notes.add(key)
        return True

    # --- rows -----------------------------------------------------------------------

    def paper_row(self) -> tuple:
        """The full `papers` row (PAPER_COLUMNS order), derived search columns included."""
        return (self.id, *self.row_tail())

    def row_tail(self) -> tuple:
        """The row without its id: the costly part (JSON, search text), cached until a change."""
        if self._row_tail is None:
            search_notes = notes_search_text(self.notes)
            self._row_tail = (
                self.arxiv_id, self.version, self.title, self.abstract, to_json(self.authors),
                self.published, self.updated, to_json(self.categories), self.comment, self.journal_ref,
                self.doi, self.code_url, self.text_quality.value, self.added_at, search_notes,
                cjk_index_text(self.title, self.abstract, search_notes),
            )  # fmt: skip
        return self._row_tail


@dataclass
class BatchPlan:
    """What one upsert call will write: the states to stage and the report to return."""

    new: list[PaperState] = field(default_factory=list)
    changed: list[PaperState] = field(default_factory=list)
    report: UpsertReport = field(default_factory=UpsertReport)

    @property
    def touched(self) -> list[PaperState]:
        return self.new + self.changed


def prepare_fresh(papers: Sequence[Paper], added_at: str) -> list[PaperState]:
    """Each paper's state and row as if it were new.

    This is most of the Python work of a write, and it needs no database, so
    `bulk_upsert` runs it for the next batch while SQLite indexes the current one.
    """
    states = [PaperState.fresh(paper, added_at) for paper in papers]
    for state in states:
        state.row_tail()
    return states


def merge_batch(
    papers: Sequence[Paper],
    fresh: Sequence[PaperState],
    stored: dict[str, PaperState],
    next_id: int,
) -> BatchPlan:
    """Decide the outcome of one upsert call; `stored` holds the states of the known papers."""
    states: dict[str, PaperState] = {}
    new_ids: list[str] = []
    updated = unchanged = 0
    for paper, fresh_state in zip(papers, fresh):
        key = paper.arxiv_id
        state = states.get(key)
        if state is None:
            state = stored.get(key)
            if state is None:
                fresh_state.id = next_id
                next_id += 1
                states[key] = fresh_state
                new_ids.append(key)
                continue
            states[key] = state
        if state.absorb(fresh_state.incoming):  # type: ignore[arg-type]  # set by `fresh`
            updated += 1
        else:
            unchanged += 1
    plan = BatchPlan(report=UpsertReport(len(new_ids), updated, unchanged, tuple(new_ids)))
    for state in states.values():
        if state.is_new:
            plan.new.append(state)
        elif state.row_dirty or state.new_topics or state.dirty_notes:
            plan.changed.append(state)
    return plan
