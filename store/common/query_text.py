"""User search text made safe for either engine: what is dropped, and how much is read.

Why this module exists: both stores cut a search into terms the same way
(SQLite into quoted FTS5 terms, `store.sqlite.query`; PostgreSQL into bound
tsquery parameters, `store.postgres.search`), so the same text finds the same
papers. The cleaning and the caps they share are here.
"""

from __future__ import annotations

import unicodedata

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
