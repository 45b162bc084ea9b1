"""User text -> FTS5 MATCH expression that can never be a syntax error.

FTS5 has its own query language (`AND`, `OR`, `NOT`, `NEAR(...)`, `col:`,
`*`, `^`, parentheses), and handing user text to MATCH unquoted turns a
search for `C++` or `don't` into an error. Here every term becomes a quoted
string (FTS5 tokenizes inside the quotes with the index's own tokenizer), so
operators in user text are just words and nothing the user types is syntax.

- Terms are split on whitespace and ANDed.
- A CJK run becomes a phrase of its bigrams on the CJK column
  (`search_cjk : "自动 动驾 驾驶"`); one CJK character alone becomes a prefix
  query on that column (`search_cjk : "驾"*`).
- Control characters (NUL included) and lone surrogates are dropped, a term
  with no letter or digit is dropped, and the input is capped at
  `MAX_QUERY_CHARS` characters and `MAX_TERMS` terms (`store.common.query_text`,
  the same for both stores).
"""

from __future__ import annotations

from typing import Sequence

from bot.text import bigrams
from store.common.query_text import search_pieces

CJK_COLUMN = "search_cjk"


def quote(term: str) -> str:
    """An FTS5 string literal: double quotes around, inner double quotes doubled."""
    return '"' + term.replace('"', '""') + '"'


def cjk_term(run: str) -> str:
    """A CJK run as a query on the bigram column."""
    if len(run) == 1:
        return f"{CJK_COLUMN} : {quote(run)}*"
    return f"{CJK_COLUMN} : {quote(' '.join(bigrams(run)))}"


def match_terms(text: str) -> list[str]:
    """Every MATCH term of `text`, already quoted, at most `MAX_TERMS` (`search_pieces`)."""
    return [cjk_term(piece) if is_cjk else quote(piece) for is_cjk, piece in search_pieces(text)]


def build_match_query(text: str) -> str | None:
    """The FTS5 MATCH expression for user text, or None when it has no searchable term."""
    terms = match_terms(text)
    return all_terms_query(terms) if terms else None


def all_terms_query(terms: Sequence[str]) -> str:
    """The FTS5 MATCH expression of papers holding every one of `terms` (as `match_terms` gives them)."""
    return " AND ".join(terms)
