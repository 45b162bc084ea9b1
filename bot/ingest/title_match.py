"""Finding a paper on arXiv by its title: the `ti:` query to send, and which answer to accept.

Why this exists: BibTeX entries exported from Google Scholar or a library
often carry no arXiv id, only a title, and titles drift between copies
(hyphens, capitals, a dropped subtitle word, `Toward`/`Towards`). So the
lookup asks arXiv for papers whose titles hold the entry's distinctive words
(`ti:word AND ti:word ...`, one request per entry) and accepts the candidate
whose title is most like the entry's, if it is at least `MATCH_THRESHOLD`
alike (difflib's ratio on the titles folded to lowercase words); below it the
entry is reported as unmatched rather than linked to the wrong paper.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Iterable

from bot.models import Paper

MATCH_THRESHOLD = 0.9
MAX_QUERY_WORDS = 12  # arXiv's query length is bounded; a dozen distinctive words find any title
_STOPWORDS = frozenset("a an and are as at by for from in into is of on or the to via with without".split())
_WORD = re.compile(r"[^\W_]+")


def title_key(title: str) -> str:
    """The title as lowercase words without accents or punctuation: what two copies of a title share."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_WORD.findall(folded))


def title_query(title: str) -> str:
    """`ti:word AND ti:word ...` for the title's distinctive words, or "" when it has none."""
    words = [w for w in dict.fromkeys(title_key(title).split()) if len(w) > 2 and w not in _STOPWORDS]
    return " AND ".join(f"ti:{word}" for word in words[:MAX_QUERY_WORDS])


def title_similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, title_key(a), title_key(b), autojunk=False).ratio()


def best_match(title: str, candidates: Iterable[Paper], threshold: float = MATCH_THRESHOLD) -> tuple[Paper | None, float]:
    """The candidate whose title is most like `title` and its score; (None, best score) below the threshold."""
    best: Paper | None = None
    best_score = 0.0
    for paper in candidates:
        score = title_similarity(title, paper.title)
        if score > best_score:
            best, best_score = paper, score
    return (best, best_score) if best_score >= threshold else (None, best_score)
