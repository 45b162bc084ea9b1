"""One batch of papers made ready to write, the same way for every store.

Why it is apart from the engines: what to keep is decided by the core
(`bot.merge`), and how a paper becomes rows is the same for SQLite and
PostgreSQL (`store.common.rows`); only how the rows are written differs
(`store.sqlite.upsert`, `store.postgres.upsert`). Pure Python, no database:
`bulk_upsert` prepares the next batch while the store writes the current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from bot.merge import BatchOutcome, admit, note_key
from bot.models import Paper
from store.common.rows import note_row, paper_row_tail


@dataclass(frozen=True)
class PreparedBatch:
    """One batch ready for `write_batch`: the admitted copies in order, each paper's first copy,
    and that copy's `papers` row without id (the row written when the paper is new).

    Rows are kept apart from the papers: a tuple of strings and numbers is soon left alone by
    Python's garbage collector, a (paper, row) pair would not be, and thousands of them living
    through every batch make full collections run over everything the process holds."""

    papers: list[Paper]
    firsts: dict[str, Paper]
    first_rows: dict[str, tuple]
    now: str


def prepare(papers: Sequence[Paper], now: str) -> PreparedBatch:
    admitted = [admit(paper) for paper in papers]
    firsts: dict[str, Paper] = {}
    first_rows: dict[str, tuple] = {}
    for paper in admitted:
        if paper.arxiv_id not in firsts:
            firsts[paper.arxiv_id] = paper
            first_rows[paper.arxiv_id] = paper_row_tail(paper, now)
    return PreparedBatch(admitted, firsts, first_rows, now)


@dataclass
class BatchRows:
    """The rows one batch's outcome writes, made the same way for both stores: `papers` rows of
    new and of changed papers (`paper_row` makes one from the row id, the paper and its SQLite row
    tail), topic memberships, and notes rows of new papers and changed notes of known ones."""

    new: list[tuple] = field(default_factory=list)
    changed: list[tuple] = field(default_factory=list)
    members: list[tuple] = field(default_factory=list)
    new_notes: list[tuple] = field(default_factory=list)
    changed_notes: list[tuple] = field(default_factory=list)


def batch_rows(
    batch: PreparedBatch,
    outcome: BatchOutcome,
    new_ids: Iterable[int],
    row_ids: Mapping[str, int],
    paper_row: Callable[[int, Paper, tuple], tuple],
) -> BatchRows:
    """The rows for `outcome`: new papers get `new_ids` in order, known ones keep `row_ids`."""
    rows = BatchRows()
    now = batch.now
    for row_id, paper in zip(new_ids, outcome.new, strict=True):
        key = paper.arxiv_id
        tail = batch.first_rows[key] if paper is batch.firsts[key] else paper_row_tail(paper, now)
        rows.new.append(paper_row(row_id, paper, tail))
        rows.members.extend((row_id, topic, now, paper.published, paper.arxiv_id) for topic in paper.topics)
        rows.new_notes.extend(note_row(row_id, note) for note in paper.notes)
    for merged in outcome.changed:
        paper, row_id = merged.paper, row_ids[merged.paper.arxiv_id]
        if merged.fields_changed or merged.changed_notes:  # notes text is part of the row's search columns
            rows.changed.append(paper_row(row_id, paper, paper_row_tail(paper, paper.added_at)))
        rows.members.extend((row_id, topic, now, paper.published, paper.arxiv_id) for topic in merged.new_topics)
        rows.changed_notes.extend(note_row(row_id, note) for note in paper.notes if note_key(note) in merged.changed_notes)
    return rows
