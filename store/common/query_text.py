"""User search text made safe for either engine: what is dropped, and how much is read.

Why this module exists: both stores cut a search into terms the same way
(SQLite into quoted FTS5 terms, `store.sqlite.query`; PostgreSQL into bound
tsquery parameters, `store.postgres.search`), so the same text finds the same
papers. The cleaning, the cut into pieces and the caps they share are here; each
engine only writes a piece in its own syntax.
"""

from __future__ import annotations

import itertools
import unicodedata
from typing import Iterator

from bot.text import CJK_RUN, may_have_cjk

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32

# Cc: control characters (NUL, ESC, ...); Cs: lone surrogates, which cannot be
# encoded to UTF-8 and would fail in either driver before the search saw them.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})


def clean_query_text(text: str) -> str:
    """The user text with control characters and lone surrogates removed, capped in length."""
    text = text[: MAX_QUERY_CHARS * 2]  # bound the work below before the exact cap
    if text.isascii() and text.isprintable():
        return text[:MAX_QUERY_CHARS]
    kept = [ch for ch in text if unicodedata.category(ch) not in _DROPPED_CATEGORIES]
    return "".join(kept)[:MAX_QUERY_CHARS]


def has_word_chars(text: str) -> bool:
    """Whether a search can find a token in `text` (a letter or digit somewhere)."""
    return any(ch.isalnum() for ch in text)


def search_pieces(text: object) -> list[tuple[bool, str]]:
    """(is a CJK run, piece) for each searchable piece of user text, at most `MAX_TERMS`: every
    whitespace-free chunk cut into its CJK runs and the word-bearing pieces between them."""
    if not isinstance(text, str):
        return []
    return list(itertools.islice(_pieces(clean_query_text(text)), MAX_TERMS))


def _pieces(text: str) -> Iterator[tuple[bool, str]]:
    for chunk in text.split():
        position = 0
        if may_have_cjk(chunk):  # else no run to find: a search in English is spared compiling the class
            for run in CJK_RUN.finditer(chunk):
                yield from _plain(chunk[position : run.start()])
                yield True, run.group()
                position = run.end()
        yield from _plain(chunk[position:])


def _plain(piece: str) -> Iterator[tuple[bool, str]]:
    if piece and has_word_chars(piece):
        yield False, piece
