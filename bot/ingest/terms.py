"""The seed tool's `terms` shorthand for a topic: a few phrases every paper must mention.

Why this exists: the survey tool our paper lists come from is fed terms
(`["reward model", "vlm"]`) and writes `# Paper List of Terms(reward model+vlm)`.
Its users write topics that way, in `[[topics]]` (`terms = [...]`) and in
`/paper subscribe terms = ["reward model", "vlm"] mon 09:00`; both mean the
arXiv query

    (ti:"reward model" AND ti:"vlm") OR (abs:"reward model" AND abs:"vlm")

(every term in the title, or every term in the abstract), and the topic is
named and titled as the list importer names that list's topic
(`reward-model-vlm`, "reward model+vlm"), so an imported list and the
subscription that keeps it growing are one topic.
"""

from __future__ import annotations

import json
import re
from typing import Sequence

from bot.errors import UserError
from bot.models import Topic
from bot.ports import PaperStore

MAX_TERMS = 8
MAX_TERM_CHARS = 100
EXAMPLE = 'terms = ["reward model", "vlm"]'
_STRAIGHT_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
_LEAD = re.compile(r"^\s*terms(?=[\s=:\[]|$)\s*(?P<equals>[=:]?)\s*", re.I)


def check_terms(terms: Sequence[str]) -> list[str]:
    """The terms, stripped; a UserError (a ValueError to pydantic too) naming the fix for unusable ones."""
    from bot.ingest.paperlist import topic_slug  # the paper-list reader (and ftfy) only when terms are used

    cleaned = [" ".join(str(term).split()) for term in terms]
    if not cleaned or not all(cleaned):
        raise TermsError(f"terms must be a list of words or phrases, like {EXAMPLE}")
    if len(cleaned) > MAX_TERMS:
        raise TermsError(f"at most {MAX_TERMS} terms (got {len(cleaned)}): every paper must mention all of them")
    for term in cleaned:
        if '"' in term or len(term) > MAX_TERM_CHARS:
            raise TermsError(f"term {term[:40]!r} must be at most {MAX_TERM_CHARS} characters without double quotes")
    if not topic_slug("+".join(cleaned)):
        raise TermsError("the terms have no letters or digits to name a topic by")
    return cleaned


class TermsError(UserError, ValueError):
    """Unusable terms; a ValueError too, so the config's validator reports it with its key."""


def terms_query(terms: Sequence[str]) -> str:
    """`(ti:"a" AND ti:"b") OR (abs:"a" AND abs:"b")` for the terms."""
    from bot.ingest.arxiv_query import parse_query  # the grammar only where terms are read: a CLI lookup imports EXAMPLE

    cleaned = check_terms(terms)
    query = " OR ".join("(" + " AND ".join(f'{field}:"{term}"' for term in cleaned) + ")" for field in ("ti", "abs"))
    parse_query(query)  # a term arXiv would misread is refused here, not at the first fetch
    return query


def terms_topic(terms: Sequence[str], name: str | None = None, title: str | None = None) -> Topic:
    """The topic the terms mean: named and titled as a paper list of these terms is (see the module docstring)."""
    from bot.ingest.paperlist import topic_slug

    cleaned = check_terms(terms)
    joined = "+".join(cleaned)
    return Topic(name=name or topic_slug(joined), title=title or joined, query=terms_query(cleaned))


def read_terms(text: str) -> tuple[list[str], str] | None:
    """`terms = ["a", "b"] rest...` -> (["a", "b"], "rest..."); None when the text does not start with `terms`.

    The list is JSON's (single and typographic quotes are accepted too, as people type them)."""
    text = text.translate(_STRAIGHT_QUOTES)
    lead = _LEAD.match(text)
    if lead is None or not text[lead.end() :].startswith("["):
        if lead is not None and lead.group("equals"):
            raise TermsError(f"write the terms as a list in brackets, like {EXAMPLE}")
        return None  # a topic's name, even one named "terms"
    start = lead.end()
    close = text.find("]", start)
    if close < 0:
        raise TermsError(f"the list of terms is not closed with ]; write it like {EXAMPLE}")
    listed = text[start : close + 1]
    try:
        terms = json.loads(listed)
    except ValueError:
        try:
            terms = json.loads(re.sub(r"'([^']*)'", lambda m: json.dumps(m.group(1)), listed))
        except ValueError:
            raise TermsError(f"cannot read the terms {listed[:60]}; write them like {EXAMPLE}") from None
    if not isinstance(terms, list) or not all(isinstance(term, str) for term in terms):
        raise TermsError(f"terms must be a list of quoted words or phrases, like {EXAMPLE}")
    return check_terms(terms), text[close + 1 :].strip()


async def adopt_terms(store: PaperStore, terms: Sequence[str]) -> Topic:
    """The topic the terms mean, registered in the store, or given its query if a paper list already made it;
    a UserError naming the fix when a topic of that name follows another query."""
    wanted = terms_topic(terms)
    for stats in await store.topics():
        known = stats.topic
        if known.name != wanted.name:
            continue
        if known.query == wanted.query:
            return known
        if known.query:
            raise UserError(
                f"Topic {known.name} already follows another arXiv query ({known.query}).",
                f"Subscribe to it by name (/paper subscribe {known.name}), or pick other terms.",
            )
        wanted = Topic(known.name, known.title or wanted.title, wanted.query, known.categories)
    await store.upsert_topics([wanted])
    return wanted
