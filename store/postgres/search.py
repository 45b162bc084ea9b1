"""User text -> a PostgreSQL `tsquery` built only from parameters, so it can never be a syntax error.

Why this module exists: `to_tsquery` has its own syntax (`&`, `|`, `!`, `<->`,
`:*`, quotes) and fails on malformed input, so user text never reaches it as
syntax. Text is cut into terms exactly as for SQLite (`store.sqlite.query`,
`store.common.query_text`: control characters dropped, whitespace splits, CJK
runs apart, at most `MAX_TERMS`), and each term becomes one bound parameter of
a function that reads it as plain words:

- a Latin piece: `phraseto_tsquery('paperbot_english', $n)`: stemmed, its words in order
  (`near-term`, `C++` and `don't` are just words);
- a CJK run: `phraseto_tsquery('simple', $n)` over its two-character words
  (`bot.text.bigrams`, the rule the index was built with, `store.cjk`);
- one CJK character: a prefix query on it, quoted by `quote_literal`.

Terms are ANDed (`&&`). The configuration keeps stop words (`store.postgres.schema`),
so every word the user typed must match, as with SQLite.

Ranking (`ranked_sql`): `ts_rank` reads each match's whole tsvector, so ranking
every match of a common word costs seconds at a million papers. As the SQLite
store does (`store.sqlite.search`), the newest `RANKED_POOL` matches are ranked:
the GIN index finds the matches, the newest are kept by id, and only those are
scored. A query with fewer matches than the pool is ranked over all of them,
exactly. The pool is chosen with the words of each phrase ANDed (an exact GIN
lookup, no reading of positions), and only the pool is checked for the phrase.
"""

from __future__ import annotations

from bot.text import bigrams
from store.common.query_text import search_pieces

ENGLISH = "phraseto_tsquery('paperbot_english'::regconfig, ${})"
CJK_WORDS = "phraseto_tsquery('simple'::regconfig, ${})"
CJK_PREFIX = "to_tsquery('simple'::regconfig, quote_literal(${}) || ':*')"
# Weights for D, C, B, A: title 10, authors 2, the rest 1, as SQLite's bm25 weights.
RANK_WEIGHTS = "'{0.1, 0.1, 0.2, 1.0}'"
RANKED_POOL = 2_000


def query_terms(text: object) -> list[tuple[str, str]]:
    """(SQL template, parameter) for every term of `text`, at most MAX_TERMS."""
    return [_cjk(piece) if is_cjk else (ENGLISH, piece) for is_cjk, piece in search_pieces(text)]


def _cjk(word: str) -> tuple[str, str]:
    return (CJK_PREFIX, word) if len(word) == 1 else (CJK_WORDS, " ".join(bigrams(word)))


def tsquery_sql(terms: list[tuple[str, str]], first_param: int = 1) -> tuple[str, list[str]]:
    """The SQL expression of the ANDed terms, numbering parameters from `first_param`, and their values."""
    parts = [template.format(first_param + i) for i, (template, _) in enumerate(terms)]
    return "(" + " && ".join(parts) + ")", [value for _, value in terms]


def ranked_sql(tsquery: str, limit_param: str, source: str = "papers AS p", where: str = "true") -> str:
    """Row ids of the best matches of `tsquery` (SQL from `tsquery_sql`) among the newest `RANKED_POOL`
    in `source` (aliased `p`) meeting `where`, best first, at most `limit_param` (a `$n`)."""
    pool_query = tsquery.replace("phraseto_tsquery", "plainto_tsquery")
    return (
        f"SELECT p.id FROM papers AS p JOIN (SELECT p.id FROM {source} WHERE p.search @@ {pool_query} AND {where} "
        f"ORDER BY p.id DESC LIMIT {RANKED_POOL}) AS pool ON pool.id = p.id, (SELECT {tsquery} AS query) AS q "
        f"WHERE p.search @@ q.query ORDER BY ts_rank({RANK_WEIGHTS}, p.search, q.query) DESC, p.id DESC LIMIT {limit_param}"
    )
