"""Papers as BibTeX: what reference managers and LaTeX take, and what `bot.ingest.bibtex` reads back.

Why this exists: the group's reading list goes into papers people write. Each
paper is an `@misc` (an `@article` when it has a journal reference) with
arXiv's own fields (`eprint`, `archivePrefix = {arXiv}`, `primaryClass`), a
versioned abs `url`, and a `doi` (the paper's own, else arXiv's
`10.48550/arXiv.<id>`). Keys are `lastname2025firstword` (ASCII, the first
author's last name, the year, the title's first word that is not an article),
with `a`, `b`, ... on clashes, given in the order the papers come, so the
same papers always get the same keys. Text goes through
`bot.ingest.latex.escape_latex`, titles inside a second pair of braces so
styles keep their capitals; authors are `Last, First` (braced whole when a
name holds a comma, the word "and" or a LaTeX special), in order.
"""

from __future__ import annotations

import re
import unicodedata

from bot.ingest.latex import escape_latex
from bot.models import Paper

ARXIV_DOI = "10.48550/arXiv.{id}"
_MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SKIPPED_TITLE_WORDS = frozenset({"a", "an", "the"})
_AND = re.compile(r"\band\b", re.I)


def write_bibtex(papers: list[Paper]) -> str:
    """One entry per paper, in the order given, separated by blank lines."""
    keys: set[str] = set()
    return "\n".join(_entry(paper, _key(paper, keys)) for paper in papers)


def ascii_word(text: str) -> str:
    """Lowercase ASCII letters and digits of `text`, accents dropped: `Schölkopf` -> `scholkopf`."""
    folded = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", folded.encode("ascii", "ignore").decode().lower())


def _key(paper: Paper, taken: set[str]) -> str:
    last = ascii_word(paper.authors[0].split()[-1]) if paper.authors and paper.authors[0].split() else ""
    words = [ascii_word(word) for word in paper.title.split()]
    first_word = next((w for w in words if w and w not in _SKIPPED_TITLE_WORDS), "")
    base = f"{last or 'anon'}{paper.published[:4] or 'nd'}{first_word or 'paper'}"
    key, number = base, 0
    while key in taken:
        number += 1
        key = base + _suffix(number)
    taken.add(key)
    return key


def _suffix(number: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa: the suffixes BibTeX keys take on clashes."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _entry(paper: Paper, key: str) -> str:
    kind = "article" if paper.journal_ref else "misc"
    fields: list[tuple[str, str]] = [
        ("title", "{" + escape_latex(paper.title) + "}"),
        ("author", " and ".join(_person(name) for name in paper.authors)),
    ]
    if paper.journal_ref:
        fields.append(("journal", escape_latex(paper.journal_ref)))
    year, month = paper.published[:4], paper.published[5:7]
    if year:
        fields.append(("year", year))
    fields += [
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
    ]
    if paper.categories:
        fields.append(("primaryClass", paper.categories[0]))
    fields += [
        ("url", f"https://arxiv.org/abs/{paper.arxiv_id}v{paper.version}"),
        ("doi", escape_latex(paper.doi or ARXIV_DOI.format(id=paper.arxiv_id))),
    ]
    if paper.abstract:
        fields.append(("abstract", escape_latex(paper.abstract)))
    lines = [f"@{kind}{{{key},"]
    for name, value in fields:
        lines.append(f"  {name} = {{{value}}},")
        if name == "year" and month.isdigit() and 1 <= int(month) <= 12:
            lines.append(f"  month = {_MONTH_MACROS[int(month) - 1]},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _person(name: str) -> str:
    """`Ada King Lovelace` -> `Lovelace, Ada King`; a name BibTeX would split wrongly (a comma, the word
    "and", a LaTeX special) is braced whole."""
    escaped = escape_latex(name)
    if "," in name or _AND.search(name) or escaped != name:
        return "{" + escaped + "}"
    words = escaped.split()
    return f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else escaped
