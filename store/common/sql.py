"""The one dialect step between the stores' SQL: `?` placeholders become PostgreSQL's `$1, $2, ...`.

Why this module exists: a statement whose text is the same in SQLite and
PostgreSQL but for its placeholders is written once, with `?`
(`store.common.statements`), and the PostgreSQL store numbers it (`numbered`
remembers its recent answers). A `?` inside a quoted string or identifier is
text, not a placeholder.
"""

from __future__ import annotations

import functools
import re

# A quoted string, a quoted identifier, or a placeholder.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")


# Bounded: a few statements are built per call (filters, lists of ids), the rest are fixed texts.
@functools.lru_cache(maxsize=512)
def numbered(sql: str, first: int = 1) -> str:
    """`sql` with its `?` placeholders numbered `$first`, `$first + 1`, ... in order."""
    count = first - 1

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _TOKEN.sub(number, sql)
