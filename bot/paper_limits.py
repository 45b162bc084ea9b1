"""What a paper may carry into the store: no control characters, no field of absurd size.

Why this module exists: every ingest path (paper lists, the arXiv snapshot, the
arXiv API) hands the store text that paperbot did not write. A NUL byte from
snapshot JSON was stored and shown; an 11 MB title rendered as ~2,800 Discord
messages. The rules live here, once: the store applies `limit_paper` to every
paper it is given (`bot.merge`), so no path can get around them, and the
importers apply it first as well, so that their reports can say which line or
item was cut.

The rules:
- C0 control characters other than tab and line feed (NUL, ESC, CR, ...) and
  DEL are removed from every text field (`bot.text.without_controls`);
- a field longer than its cap (`FIELD_CHARS`, `NOTES_SECTION_CHARS`) is cut at a
  word boundary and ends in "…"; a list (authors, categories) keeps its first
  `MAX_AUTHORS` / `MAX_CATEGORIES` entries.
The caps are far above any real paper (the longest arXiv titles are ~300
characters, abstracts are limited to 1,920), so only broken or hostile input is
ever cut. Each change is reported as a short phrase without numbers
("title cut to 1,000 characters"), so reports can count them by kind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.models import NOTE_FIELDS, Notes, Paper
from bot.text import has_controls, shorten, without_controls

FIELD_CHARS = {
    "title": 1_000,
    "abstract": 10_000,
    "comment": 2_000,
    "journal_ref": 1_000,
    "doi": 200,
    "code_url": 2_000,
}
AUTHOR_CHARS = 300
MAX_AUTHORS = 1_000  # the largest collaborations (ATLAS, CMS) sign ~3,000: the first 1,000 are kept
CATEGORY_CHARS = 40
MAX_CATEGORIES = 50
NOTES_SECTION_CHARS = 5_000  # the 39 real survey lists have sections of at most 878 characters
# arXiv's most revised papers have a few dozen versions; the store keeps versions as SQLite integers.
MAX_VERSION = 9_999

_CAPS = tuple(FIELD_CHARS[name] for name in ("title", "abstract", "comment", "journal_ref", "doi", "code_url"))
def limit_paper(paper: Paper) -> tuple[Paper, list[str]]:
    """`paper` within the rules, and what had to change (empty when nothing did)."""
    if _surely_within(paper):
        return paper, []
    changes: list[str] = []
    values: dict[str, Any] = {}  # field name -> its limited value, for dataclasses.replace
    for name, cap in FIELD_CHARS.items():
        value = getattr(paper, name)
        if value:
            limited = _limited(value, cap, _label(name), changes)
            if limited is not value:
                values[name] = limited
    authors = _limited_list(paper.authors, MAX_AUTHORS, AUTHOR_CHARS, "author", changes)
    if authors is not paper.authors:
        values["authors"] = authors
    categories = _limited_list(paper.categories, MAX_CATEGORIES, CATEGORY_CHARS, "category", changes)
    if categories is not paper.categories:
        values["categories"] = categories
    notes = tuple(_limited_notes(note, changes) for note in paper.notes)
    if any(new is not old for new, old in zip(notes, paper.notes, strict=True)):
        values["notes"] = notes
    return (replace(paper, **values) if values else paper), changes


def _surely_within(paper: Paper) -> bool:
    """True for the usual paper, in a few C-speed passes (a snapshot has millions); False: look closer."""
    texts = (paper.title, paper.abstract, paper.comment, paper.journal_ref, paper.doi, paper.code_url)
    for value, cap in zip(texts, _CAPS, strict=True):
        if value and len(value) > cap:
            return False
    for items, most, cap in ((paper.authors, MAX_AUTHORS, AUTHOR_CHARS), (paper.categories, MAX_CATEGORIES, CATEGORY_CHARS)):
        if items and (len(items) > most or max(map(len, items)) > cap):
            return False
    return not paper.notes and not has_controls("".join(filter(None, (*texts, *paper.authors, *paper.categories))))


def _label(name: str) -> str:
    return name.replace("_", " ")


def _limited(text: str, cap: int, label: str, changes: list[str]) -> str:
    """`text` cleaned and capped; the same object when nothing changed."""
    cleaned = without_controls(text)
    if cleaned is not text:
        changes.append(f"control characters removed from {label}")
    if len(cleaned) > cap:
        changes.append(f"{label} cut to {cap:,} characters")
        # Only the start can be kept: looking for a word boundary in 11 MB would be wasted work.
        cleaned = shorten(cleaned[: 2 * cap], cap)
    return cleaned


def _limited_list(
    items: tuple[str, ...], most: int, cap: int, label: str, changes: list[str]
) -> tuple[str, ...]:
    kept = items[:most]
    if len(items) > most:
        changes.append(f"only the first {most:,} {label} entries kept")
    seen = len(changes)
    limited = tuple(_limited(item, cap, f"an {label}" if label[0] in "aeiou" else f"a {label}", changes) for item in kept)
    # One report per kind of change, however many names needed it.
    changes[seen:] = list(dict.fromkeys(changes[seen:]))
    if kept is items and all(new is old for new, old in zip(limited, items, strict=True)):
        return items
    return tuple(item for item in limited if item)


def _limited_notes(note: Notes, changes: list[str]) -> Notes:
    values: dict[str, Any] = {}
    for name in NOTE_FIELDS:
        value = getattr(note, name)
        if value:
            limited = _limited(value, NOTES_SECTION_CHARS, f"the notes' {name}", changes)
            if limited is not value:
                values[name] = limited
    return replace(note, **values) if values else note
