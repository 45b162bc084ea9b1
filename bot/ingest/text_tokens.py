"""Words and stems, the way a search index sees text.

arXiv's search runs on Lucene's English analysis: lowercase, accents folded,
split on anything that is not a letter or digit, Porter-stemmed. To decide
topic membership locally (bulk snapshot imports) we must see the same words
arXiv sees, so a paper and a query term go through these same functions.
`arxiv_query` builds on them; nothing here knows about queries or papers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Letters and digits of any script; "_" counts as a separator so `au:del_maestro` reads "del maestro".
_WORD_RE = re.compile(r"[^\W_]+")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD does not decompose but people type without the stroke or ligature.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)
# The snapshot spells accents in LaTeX (`Sch\"olkopf`, `Sch{\"o}lkopf`, `\v{s}`); letter-named
# accents (\v, \c, ...) must be followed by a brace or space, or `\vec` would lose its v. The
# braces around an accented letter go with it, or they would split the word in two.
_LATEX_ACCENT_RE = re.compile(r"""\{?\\(?:["'`^~=.]|[uvHckrbdt](?=[\s{]))\s*\{?\s*\\?([A-Za-z])\s*\}?\}?""")
_LATEX_LETTER_RE = re.compile(r"\{?\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\}?")


def fold(text: str) -> str:
    """Lowercase `text` and strip accents, so Schölkopf, Sch\\"olkopf and Scholkopf agree."""
    if "\\" in text:
        text = _LATEX_ACCENT_RE.sub(r"\1", text)
        text = _LATEX_LETTER_RE.sub(r"\1", text)
    if text.isascii():  # the common case, and a cheap test: skip Unicode work entirely
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    return _COMBINING_RE.sub("", text).translate(_UNDECOMPOSED)


# For ASCII text one C-level byte translation lowercases and blanks every non-word byte,
# several times faster than a regex; this is the hot loop of a snapshot import.
_ASCII_WORD_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256)
)


def words(text: str) -> list[str]:
    """The folded words of `text`, in order: `Vision-Language $\\alpha$` -> vision, language, alpha."""
    if "\\" in text or not text.isascii():
        text = fold(text)
        if not text.isascii():
            return _WORD_RE.findall(text)
    return text.encode("ascii").translate(_ASCII_WORD_TABLE).decode("ascii").split()


# --- Porter stemmer (M. F. Porter, 1980, as in Lucene's PorterStemFilter) ------------------

_SuffixRules = tuple[tuple[str, str], ...]  # (suffix, replacement)

_STEP2: _SuffixRules = (
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
    ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
    ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
    ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
    ("logi", "log"),
)
_STEP3: _SuffixRules = (
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
)
_STEP4 = tuple(
    (suffix, "")
    for suffix in (
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
        "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize",
    )
)


def _longest_first(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # Porter applies only the longest matching suffix of a step, even when its condition fails.
    return tuple(sorted(rules, key=lambda rule: -len(rule[0])))


_STEP2, _STEP3, _STEP4 = _longest_first(_STEP2), _longest_first(_STEP3), _longest_first(_STEP4)


def _consonants(word: str) -> list[bool]:
    """Porter's consonant test per letter; iterative because `y` depends on its left neighbour."""
    flags: list[bool] = []
    for i, ch in enumerate(word):
        if ch in "aeiou":
            flags.append(False)
        elif ch == "y":
            flags.append(i == 0 or not flags[i - 1])
        else:
            flags.append(True)
    return flags


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]: how many vowel-consonant transitions the stem has."""
    flags = _consonants(stem)
    return sum(1 for i in range(1, len(flags)) if flags[i] and not flags[i - 1])


def _has_vowel(stem: str) -> bool:
    return not all(_consonants(stem))


def _ends_double_consonant(stem: str) -> bool:
    return len(stem) >= 2 and stem[-1] == stem[-2] and _consonants(stem)[-1]


def _ends_cvc(stem: str) -> bool:
    if len(stem) < 3 or stem[-1] in "wxy":
        return False
    flags = _consonants(stem)
    return flags[-3] and not flags[-2] and flags[-1]


def _replace_suffix(word: str, rules: tuple[tuple[str, str], ...], min_measure: int) -> str:
    for suffix, replacement in rules:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if suffix == "ion" and not stem.endswith(("s", "t")):
                return word
            return stem + replacement if _measure(stem) > min_measure else word
    return word


def porter_stem(word: str) -> str:
    """The Porter stem of one lowercase word; words that are not plain a-z pass through."""
    if len(word) <= 2 or not (word.isascii() and word.isalpha()):
        return word
    # Step 1a: plurals.
    if word.endswith("sses") or word.endswith("ies"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    # Step 1b: -eed, -ed, -ing, then repair what removing them broke (hopp -> hop, fil -> file).
    if word.endswith("eed"):
        if _measure(word[:-3]) > 0:
            word = word[:-1]
    else:
        for suffix in ("ed", "ing"):
            if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
                word = word[: -len(suffix)]
                if word.endswith(("at", "bl", "iz")):
                    word += "e"
                elif _ends_double_consonant(word) and word[-1] not in "lsz":
                    word = word[:-1]
                elif _measure(word) == 1 and _ends_cvc(word):
                    word += "e"
                break
    # Step 1c: happy -> happi, so it meets happiness.
    if word.endswith("y") and _has_vowel(word[:-1]):
        word = word[:-1] + "i"
    word = _replace_suffix(word, _STEP2, 0)
    word = _replace_suffix(word, _STEP3, 0)
    word = _replace_suffix(word, _STEP4, 1)
    # Step 5: a final -e, and a double l (controll -> control).
    if word.endswith("e"):
        stem = word[:-1]
        measure = _measure(stem)
        if measure > 1 or (measure == 1 and not _ends_cvc(stem)):
            word = stem
    if word.endswith("ll") and _measure(word) > 1:
        word = word[:-1]
    return word


# Stemming is the slow part of tokenizing and a corpus reuses few words, so remember
# stems; the bound keeps a million-paper import (numbers, typos, names) from growing it forever.
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_LIMIT = 400_000


def stem(word: str) -> str:
    """The stem of one folded word, cached."""
    cached = _STEM_CACHE.get(word)
    if cached is None:
        if len(_STEM_CACHE) >= _STEM_CACHE_LIMIT:
            _STEM_CACHE.clear()
        cached = _STEM_CACHE[word] = porter_stem(word)
    return cached


def stems(words_: list[str]) -> list[str]:
    """Stems of many words, in order; when all are cached this runs in C, no Python call per word.
    A text with a few new words stems just those, then reads the rest from the cache in C too."""
    try:
        return list(map(_STEM_CACHE.__getitem__, words_))
    except KeyError:
        pass
    for word in set(words_).difference(_STEM_CACHE):
        stem(word)
    try:
        return list(map(_STEM_CACHE.__getitem__, words_))
    except KeyError:  # the cache reached its limit and was emptied meanwhile
        return [stem(w) for w in words_]


def stem_set(words_: Iterable[str]) -> set[str]:
    """The distinct stems of `words_`, stemming each distinct word once."""
    distinct = set(words_)
    try:
        return set(map(_STEM_CACHE.__getitem__, distinct))
    except KeyError:
        return {stem(w) for w in distinct}
