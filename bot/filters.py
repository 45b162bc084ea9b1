"""A subscription's own filters: include / exclude queries and followed authors.

Why this exists: the most requested thing after relevance is "never show me
surveys" and "always show me what these people write". A subscription may
set, in the config file or in chat:

- `include` / `exclude`: arXiv query syntax, evaluated locally by
  `bot.ingest.arxiv_query` (e.g. `exclude = 'ti:survey OR abs:"medical"'`).
  A paper that `include` does not match, or that `exclude` matches, is
  dropped: never shown, never counted in "and N more".
- `authors`: followed authors. Their papers always make the digest (when the
  filters keep them), pinned first with "by an author you follow". Names match
  whatever way arXiv spells them: accents and LaTeX accents are folded
  (`Bal\\'azs`, `Balázs` and `Balazs` are one name), an initial matches a
  given name (`C. Balázs` is `Csaba Balázs`), "Last, First" is "First Last".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from bot.errors import QuerySyntaxError, UserError
from bot.ingest.arxiv_query import topic_matches
from bot.ingest.latex import decode_latex
from bot.ingest.text_tokens import fold, words
from bot.models import Paper, Subscription, Topic

MAX_AUTHORS = 50
MAX_QUERY = 1000
FOLLOWED_WHY = "by an author you follow"
_SEPARATORS = re.compile(r"\s*;\s*")


def name_words(name: str) -> list[str]:
    """A name's folded words, given names first ("Balázs, Csaba" -> ["csaba", "balazs"])."""
    text = decode_latex(name)
    if "," in text:
        last, _, given = text.partition(",")
        text = f"{given} {last}"
    return words(fold(text))


def same_author(followed: str, author: str) -> bool:
    """Whether `author` (as a paper spells it) is the `followed` name: same surname, and given names
    that agree where both have one (an initial agrees with any name it starts)."""
    return _same_name(name_words(followed), name_words(author))


def _same_name(want: list[str], have: list[str]) -> bool:
    if not want or not have or want[-1] != have[-1]:
        return False
    return all(a == b or ((len(a) == 1 or len(b) == 1) and a[0] == b[0]) for a, b in zip(want[:-1], have[:-1], strict=False))


def read_authors(text: str) -> tuple[str, ...]:
    """Followed authors from chat's `--authors "A; B"` (semicolons: a name may hold a comma)."""
    names = tuple(dict.fromkeys(name.strip() for name in _SEPARATORS.split(text) if name.strip()))
    return check_authors(names)


def check_authors(names: Sequence[str]) -> tuple[str, ...]:
    if len(names) > MAX_AUTHORS:
        raise UserError(f"Follow at most {MAX_AUTHORS} authors per subscription (got {len(names)}).", "Keep the few that matter.")
    for name in names:
        if not name_words(name):
            raise UserError(
                f"'{name[:60]}' is not a name.", 'Give names separated by semicolons, e.g. --authors "Csaba Balázs; Y. LeCun".'
            )
    return tuple(names)


def check_query(text: str | None, key: str) -> str | None:
    """A filter query, checked now (a bad one never reaches a digest); None or "" means no filter."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > MAX_QUERY:
        raise UserError(f"The {key} query is {len(text)} characters long; the limit is {MAX_QUERY}.", "Keep it to a few terms.")
    try:
        topic_matches(_as_topic(key, text), Paper("0000.00000", ""))
    except QuerySyntaxError as error:
        raise UserError(
            f"The {key} query does not read: {error}", f"Use arXiv query syntax, e.g. --{key} 'ti:survey OR abs:\"medical\"'."
        ) from None
    return text


def _as_topic(key: str, query: str) -> Topic:
    return Topic(f"({key} filter)", query=query)


@dataclass(frozen=True)
class DigestFilter:
    """A subscription's filters, ready to apply to its candidates."""

    include: str | None = None
    exclude: str | None = None
    authors: tuple[str, ...] = ()

    @classmethod
    def of(cls, subscription: Subscription) -> DigestFilter:
        return cls(subscription.include, subscription.exclude, subscription.authors)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude or self.authors)

    def keeps(self, paper: Paper) -> bool:
        if self.include is not None and not topic_matches(_as_topic("include", self.include), paper):
            return False
        return self.exclude is None or not topic_matches(_as_topic("exclude", self.exclude), paper)

    @functools.cached_property
    def _followed_words(self) -> list[list[str]]:
        return [name_words(followed) for followed in self.authors]

    def followed_author(self, paper: Paper) -> str | None:
        """The first followed author who wrote `paper`, as the subscription names them; None if none did.
        (`same_author` for each pair; each name is cut into words once, not once per pair.)"""
        if not self.authors:
            return None
        written_by = [name_words(author) for author in paper.authors]
        for followed, want in zip(self.authors, self._followed_words, strict=True):
            if any(_same_name(want, have) for have in written_by):
                return followed
        return None

    def apply(self, papers: Iterable[Paper]) -> tuple[list[Paper], list[tuple[Paper, str]]]:
        """(the papers the filters keep, and of those the ones by followed authors with the name), in order."""
        kept = [paper for paper in papers if self.keeps(paper)]
        pinned = [(paper, name) for paper in kept if (name := self.followed_author(paper)) is not None]
        return kept, pinned

    def lines(self) -> list[str]:
        """What `/paper filters` shows."""
        return [
            f"Include: {self.include}" if self.include else "Include: every paper of the topic",
            f"Exclude: {self.exclude}" if self.exclude else "Exclude: nothing",
            f"Followed authors: {'; '.join(self.authors)}" if self.authors else "Followed authors: none",
        ]
