"""The terms a ranker sees in a paper, the way search sees its words.

Search matches English by Porter stem and Chinese by overlapping two-character
words (store/cjk.py); a ranker that learns a group's taste must cut text the
same way, or a library read in Chinese notes and a candidate read in English
would share no terms. English words come from `bot.ingest.text_tokens` (the
folding and Porter stemmer the snapshot importer uses, so stems agree with
arXiv's and the index's); stop words are scikit-learn's English list; each
pair of neighbouring stems is a term too, because a field is often named by
two words ("reward model", "world model"). The title counts twice: it is the
author's own summary of what the paper is about.

`surface_words` maps each English term back to the words it was first written
as, so an explanation can say "driving" and not the stem "drive".
"""

from __future__ import annotations

import string
from functools import lru_cache
from itertools import filterfalse

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.ingest.text_tokens import stems, words
from bot.models import NOTE_FIELDS, Paper
from bot.text import CJK_RUN, bigrams  # the runs and words search uses too (store/cjk.py)

TITLE_WEIGHT = 2
TERM_CACHE_PAPERS = 8192


def cjk_bigrams(run: str) -> list[str]:
    """Search's two-character words of one CJK run; a lone character stands for itself."""
    return bigrams(run) or [run]


def _stop_stems() -> frozenset[str]:
    # Filtering after stemming catches every inflection ("proposed", "proposes") with one set.
    extra = {"et", "al", "paper", "propose", "approach", "method", "use", "show"}
    return frozenset(stems(sorted(ENGLISH_STOP_WORDS | extra)))


_STOP_STEMS = _stop_stems()
_DROPPED = _STOP_STEMS | set(string.ascii_lowercase) | set(string.digits)


def _content_stems(english: list[str]) -> list[str]:
    """The stems of `english` without stop words, lone letters and numbers, in order.

    Two C-level filters, not a comprehension: this is the hot loop of cutting a paper.
    """
    return list(filterfalse(str.isdigit, filterfalse(_DROPPED.__contains__, stems(english))))


def _split(text: str) -> tuple[list[str], list[str]]:
    """The folded English words and the CJK bigrams of `text`."""
    found = words(text)
    if text.isascii():
        return found, []
    english: list[str] = []
    cjk: list[str] = []
    for word in found:
        if word.isascii():
            english.append(word)
            continue
        # A non-ASCII word may mix scripts ("grpo算法"): CJK runs become bigrams, the rest stays a word.
        english.extend(CJK_RUN.sub(" ", word).split())
        for run in CJK_RUN.findall(word):
            cjk.extend(cjk_bigrams(run))
    return english, cjk


def _with_pairs(stemmed: list[str]) -> list[str]:
    return stemmed + list(map(" ".join, zip(stemmed, stemmed[1:], strict=False)))


def notes_text(paper: Paper) -> str:
    """Every notes field of every language and source, one per line."""
    return "\n".join(
        value for notes in paper.notes for name in NOTE_FIELDS if (value := getattr(notes, name))
    )


# A retrain reads the same store papers again; the bound keeps the cache to a few MB.
@lru_cache(maxsize=1024)
def paper_terms(paper: Paper) -> tuple[str, ...]:
    """The terms of a paper (title twice, abstract, notes), with repeats: the analyzer of the vectorizer."""
    terms: list[str] = []
    for text, weight in ((paper.title, TITLE_WEIGHT), (paper.abstract, 1), (notes_text(paper), 1)):
        if text:
            english, cjk = _split(text)
            terms += (_with_pairs(_content_stems(english)) + cjk) * weight
    return tuple(terms)


# A digest's candidates are scored by every channel's model: counting a paper's terms
# once serves them all. Papers are frozen dataclasses, so they can be cache keys. The
# bound holds the store sample every model trains on (2,000 papers), the digests being
# prepared and the answers of the day: about 6 KB a paper, so ~50 MB when full.
@lru_cache(maxsize=TERM_CACHE_PAPERS)
def term_counts(paper: Paper) -> tuple[np.ndarray, np.ndarray]:
    """A paper's distinct terms as sorted int64 hashes, and how often each occurs (see bot.rank.vectors)."""
    terms = paper_terms(paper)
    hashes = np.fromiter(map(hash, terms), dtype=np.int64, count=len(terms))
    distinct, counts = np.unique(hashes, return_counts=True)
    return distinct, counts.astype(np.int32)


def surface_words(paper: Paper) -> dict[str, str]:
    """Each English term of `paper` mapped to the words it was first written as ("reward model")."""
    shown: dict[str, str] = {}
    for text in (paper.title, paper.abstract, notes_text(paper)):
        english = _split(text)[0]
        pairs = [(s, w) for s, w in zip(stems(english), english, strict=False) if s not in _DROPPED and not s.isdigit()]
        for (term, word), (next_term, next_word) in zip(pairs, pairs[1:] + [("", "")], strict=False):
            shown.setdefault(term, word)
            if next_term:
                shown.setdefault(f"{term} {next_term}", f"{word} {next_word}")
    return shown
