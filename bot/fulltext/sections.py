"""The section-aware budget: a paper's full text cut to fit a prompt, the parts that matter kept.

Why this module exists: a paper is 8,000-30,000 tokens and a notes prompt has
`[notes] max_input_tokens`. Cutting at the end would keep the introduction
and lose the results; notes need the contribution (introduction), how it
works (method), what it showed (experiments) and what it claims
(conclusion). So each section is given a kind by its heading, each kind a
share of the budget, and a kind that needs less than its share hands the
rest to the others. Related work and anything unrecognised only get what is
left. Within a kind, sections share in proportion to their length; each is
cut at a word boundary with "…". Sections keep their document order.

Tokens are estimated, not counted (no tokenizer for every model): about four
characters per token for Latin text and one per CJK character, which errs
long for English, so a prompt stays within the budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Sequence

from bot.fulltext.document import Section
from bot.text import CJK_CHAR, shorten

CHARS_PER_TOKEN: Final = 4
MIN_SECTION_TOKENS: Final = 24  # a section cut below this says nothing; it is left out instead
OMITTED: Final = "…"

# Shares of the budget by kind, in order of need; "abstract" is taken whole first.
SHARES: Final = {"introduction": 0.2, "method": 0.3, "experiments": 0.3, "conclusion": 0.2}
_KINDS: Final = (
    ("abstract", re.compile(r"\babstract\b", re.I)),
    ("related", re.compile(r"related work|prior work|literature|background|preliminar", re.I)),
    ("introduction", re.compile(r"introduction|overview|motivation", re.I)),
    ("conclusion", re.compile(r"conclu|discussion|limitation|future work|summary|broader impact", re.I)),
    ("experiments", re.compile(r"experiment|evaluat|result|benchmark|empirical|ablation|analys|study|comparison", re.I)),
    (
        "method",
        re.compile(
            r"method|approach|model|framework|architecture|algorithm|design|system|training|formulation|proposed|pipeline|learning",
            re.I,
        ),
    ),
)
_NUMBER: Final = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[IVX]+\.|[A-Z]\.)\s*")


def estimate_tokens(text: str) -> int:
    cjk = len(CJK_CHAR.findall(text)) if not text.isascii() else 0
    return cjk + math.ceil((len(text) - cjk) / CHARS_PER_TOKEN)


def heading_kind(heading: str) -> str | None:
    """The kind a heading names ("3 Experimental Setup" -> experiments), None if it names none."""
    text = _NUMBER.sub("", heading)
    for kind, pattern in _KINDS:
        if pattern.search(text):
            return kind
    return None


def section_kinds(sections: Sequence[Section]) -> list[str]:
    """Each section's kind: its own heading's, else its parent's; an unnamed top-level section is
    method before the first experiments section and experiments after it (papers put their
    own approach first), and "other" before the introduction."""
    kinds: list[str] = []
    parent = "other"
    seen_intro = seen_experiments = False
    for section in sections:
        kind = heading_kind(section.heading)
        if section.level > 1 and kind is None:
            kind = parent
        elif kind is None:
            kind = "experiments" if seen_experiments else "method" if seen_intro else "other"
        if section.level == 1:
            parent = kind
        seen_intro = seen_intro or kind == "introduction"
        seen_experiments = seen_experiments or kind == "experiments"
        kinds.append(kind)
    return kinds


@dataclass(frozen=True)
class Budgeted:
    """The cut text, and how much of the paper it kept."""

    text: str
    tokens: int
    kept_sections: int
    total_sections: int
    cut: bool


def allot(needs: dict[str, int], budget: int) -> dict[str, int]:
    """Tokens per kind: the abstract whole (as far as it goes), then the shares, a kind's unneeded share
    going to the others, then related work and the rest from what is left."""
    given = {kind: 0 for kind in needs}
    left = budget
    if "abstract" in needs:
        given["abstract"] = min(needs["abstract"], left)
        left -= given["abstract"]
    open_kinds = {kind for kind in SHARES if needs.get(kind)}
    while open_kinds and left > 0:
        weight = sum(SHARES[kind] for kind in open_kinds)
        shares = {kind: int(left * SHARES[kind] / weight) for kind in open_kinds}
        satisfied = {kind for kind in open_kinds if needs[kind] - given[kind] <= shares[kind]}
        if not satisfied:
            for kind in open_kinds:
                given[kind] += shares[kind]
            left -= sum(shares.values())
            break
        for kind in satisfied:
            left -= needs[kind] - given[kind]
            given[kind] = needs[kind]
        open_kinds -= satisfied
    for kind in needs:
        if kind not in SHARES and kind != "abstract" and left > 0:
            extra = min(needs[kind], left)
            given[kind] += extra
            left -= extra
    return given


def render(section: Section, body: str) -> str:
    return f"## {section.heading}\n{body}" if section.heading else body


def fit_sections(sections: Sequence[Section], budget: int, *, skip_abstract: bool = False) -> Budgeted:
    """The sections as prompt text within `budget` tokens (see the module docstring).

    `skip_abstract`: leave the paper's own Abstract section out (the prompt gives the abstract already)."""
    chosen = [(s, k) for s, k in zip(sections, section_kinds(sections), strict=True) if not (skip_abstract and k == "abstract")]
    costs = [estimate_tokens(render(s, s.body)) for s, _ in chosen]
    needs: dict[str, int] = {}
    for (_, kind), cost in zip(chosen, costs, strict=True):
        needs[kind] = needs.get(kind, 0) + cost
    given = allot(needs, max(0, budget - len(chosen)))  # a token for each blank line between sections
    parts: list[str] = []
    used = kept = 0
    cut = False
    for (section, kind), cost in zip(chosen, costs, strict=True):
        room = given[kind] * cost // needs[kind] if needs[kind] else 0
        if room >= cost:
            text = render(section, section.body)
        elif room >= MIN_SECTION_TOKENS:
            head = estimate_tokens(render(section, ""))
            share = (room - head - 1) / max(1, cost - head)
            text = render(section, shorten(section.body, max(1, int(len(section.body) * share)), OMITTED))
            cut = True
        else:
            cut = cut or cost > 0
            continue
        parts.append(text)
        used += estimate_tokens(text)
        kept += 1
    return Budgeted("\n\n".join(parts), used, kept, len(chosen), cut)
