"""The short reason shown beside a ranked paper: "like DriveRX · reward model, driving".

A score alone does not tell a group whether to trust it; naming the library
paper a candidate is closest to and the few terms that weighed most for it
lets a reader check the ranker at a glance. This module picks those terms
from one paper's weighted term contributions and shortens the library
paper's title; the model decides what the contributions are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHORT_TITLE_CHARS = 40
WHY_TERMS = 2
CANDIDATES_PER_TERM = 4  # how deep to look for a two-word term or a term on another subject


@dataclass(frozen=True)
class Why:
    """The library paper a ranked paper is closest to, and the terms that weighed most."""

    like_id: str
    like_title: str
    terms: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Plain text; adapters may italicise `like_title` themselves."""
        text = f"like {self.like_title}"
        return f"{text} · {', '.join(self.terms)}" if self.terms else text


def short_title(title: str) -> str:
    """A title as a name: the part before a colon when it is short ("DriveRX"), else cut at a word."""
    title = " ".join(title.split())
    head, colon, _ = title.partition(":")
    if colon and 0 < len(head) <= SHORT_TITLE_CHARS:
        return head
    if len(title) <= SHORT_TITLE_CHARS:
        return title
    cut = title[:SHORT_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def top_terms(
    indices: np.ndarray, contributions: np.ndarray, terms: Sequence[str], display: dict[str, str], count: int = WHY_TERMS
) -> tuple[str, ...]:
    """The `count` terms with the largest positive contributions, as words people read.

    A single word gives way to a two-word term among the strongest that holds
    it ("reward" -> "reward model"), and a term sharing a word with one already
    chosen is skipped, so the few terms shown say different things.
    """
    order = np.argsort(-contributions, kind="stable")[: count * CANDIDATES_PER_TERM]
    strongest = [terms[indices[k]] for k in order if contributions[k] > 0]
    chosen: list[str] = []
    used: set[str] = set()
    for term in strongest:
        if " " not in term:
            term = next((pair for pair in strongest if " " in pair and term in pair.split(" ")), term)
        words = set(term.split(" "))
        if words & used:
            continue
        chosen.append(term)
        used |= words
        if len(chosen) == count:
            break
    return tuple(display.get(term, term) for term in chosen)
