"""Text rules every part of paperbot shares: what CJK is, what stored text looks like, and
how to split or shorten text for a chat platform without breaking it.

Why this module exists: these rules were written several times and drifted
apart (five CJK character classes with different ranges, two "shorten to a
limit" functions, and only the arXiv API importer normalised the text it
stored). Here they are written once, with no platform and no store in them.

CJK (`IDEOGRAPHS`, `KANA`, `CJK_MARKS`: one table of ranges, three uses):
- `CJK_CHAR`: one character of a script written without spaces (Han, kana,
  bopomofo, CJK punctuation, full-width forms). A line break or a cut between
  two of them splits no word; a chat client shows one two columns wide.
- `CJK_RUN`: a run of CJK letters (Han and kana, no punctuation), which the
  search index spells as overlapping bigrams (`store.cjk`).
- `IDEOGRAPH`: a Han character, for telling Chinese text from English.
Hangul is in none of them: Korean separates its words with spaces, so the
ordinary rules (and the ordinary search tokenizer) already serve it.

Normalising (`normalize`): every importer (arXiv API, snapshot, paper list)
puts a paper's one-line fields through it, so the same paper stores the same
text whichever path brought it: complete HTML entities decoded (`&amp;` ->
`&`; "R&D" and LaTeX's `&` stay), Unicode NFC, whitespace runs (hard wraps)
as one space. Control characters go next, in `bot.paper_limits`, which every
importer and the store apply to every field (`without_controls`), so that an
import report can say where they were.

Splitting (`split_text(text, limit) -> list[str]`, pieces of at most `limit`
characters) and shortening (`shorten(text, limit, ellipsis="…")`, one piece
ending in `ellipsis` when something was dropped). Every adapter has limits
(Slack: 3000 characters a section, Discord: 4096 an embed description, 1024 a
field), and TLDRs have theirs; the rule is the same everywhere: split into
several pieces rather than send an over-limit payload, and never cut a word
or a link in half.

Where a cut may fall, best first (a better kind of cut is taken when it keeps
the piece at least half full, so a paragraph break near the start does not
produce a tiny piece):

1. between paragraphs (a blank line),
2. between lines,
3. after a sentence (`.`, `!`, `?`, `…`, `;` before a space; `。！？；` anywhere),
4. between words (any whitespace), or between two characters when one of them
   is CJK — but never just before closing punctuation such as `。` or `」`,
   never just after an opening bracket such as `「`, and never inside a
   grapheme (a letter and its marks, an emoji sequence, a flag).

Never cut: inside a protected token — an angle-bracket markup (`<url|label>`,
`<@id>`, `<https://…>`), a markdown link `[label](url)`, a bare URL (which
ends where CJK text starts), or an HTML entity (`&amp;`; renderers escape
before splitting, so an entity must survive). A single token longer than the
limit is the only thing ever hard-cut, as a last resort; even then the cut
avoids splitting an entity, a backslash escape or a grapheme. Callers that
must not cut a link even then (Slack) keep URLs shorter than their limit
before splitting.

Whitespace at a cut and around the whole text is dropped; everything else is
kept in order, so joining the pieces with a space (or nothing, for CJK cuts)
gives back the words of the input.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import cached_property
from typing import Any, Iterable, Iterator

__all__ = [
    "CJK_CHAR", "CJK_RANGES", "CJK_RUN", "LazyPattern", "bigrams", "IDEOGRAPH", "IDEOGRAPHS", "KANA", "CJK_MARKS",
    "may_have_cjk",
    "normalize", "protect_entities", "without_controls", "has_controls", "is_grapheme_break",
    "split_text", "shorten", "fits",
]  # fmt: skip

# --- CJK ------------------------------------------------------------------------------------

# Han: CJK Unified Ideographs, extensions A to G, compatibility ideographs (and their supplement).
# (Changing what counts changes the search index's bigram column: stored rows would need re-indexing.)
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Hiragana and katakana, without the katakana middle dot and double hyphen (punctuation).
KANA = "\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff"
# The rest of the scripts written without spaces: radicals, ideographic description
# characters, CJK punctuation, bopomofo, kanbun, strokes, small katakana, enclosed and
# compatibility forms, vertical and full-width forms.
CJK_MARKS = (
    "\u2e80-\u2fff\u3000-\u303f\u30a0\u30fb\u3100-\u312f\u3190-\u31ff\u3200-\u33ff"
    "\ufe30-\ufe4f\uff00-\uffef"
)
CJK_RANGES = IDEOGRAPHS + KANA + CJK_MARKS
# The lowest code point of CJK_RANGES (the first radical).
_FIRST_CJK = "\u2e80"


class LazyPattern:
    """A regular expression compiled at its first use, standing in for the `re.Pattern` it becomes.

    Why: `re` compiles a class of CJK ranges character by character (~10 ms each, ~30 ms with
    re.I), and every module-level pattern is paid by every process that imports its module:
    a one-line lookup paid for the code-link and Chinese patterns it never ran."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source, self._flags = pattern, flags

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self._source, self._flags)

    def __getattr__(self, name: str) -> Any:  # match, search, sub, finditer, ... of the compiled pattern
        return getattr(self.compiled, name)


CJK_CHAR = LazyPattern(f"[{CJK_RANGES}]")
CJK_RUN = LazyPattern(f"[{IDEOGRAPHS}{KANA}]+")
IDEOGRAPH = LazyPattern(f"[{IDEOGRAPHS}]")


def may_have_cjk(text: str) -> bool:
    """False when no character of `text` is in CJK_RANGES, told without compiling their class
    (about 1.5 ms a process, paid by every lookup whose abstracts are Latin, Greek or maths)."""
    return bool(text) and max(text) >= _FIRST_CJK


def bigrams(run: str) -> list[str]:
    """Overlapping two-character words of one CJK run, how search and ranking read Chinese:
    自动驾驶 -> 自动 动驾 驾驶 (a one-character run has none)."""
    return [run[i : i + 2] for i in range(len(run) - 1)]

# --- normalising ----------------------------------------------------------------------------

# Only complete entities with their semicolon are decoded, so LaTeX's `&` and "R&D" stay as
# written. (arXiv's metadata sometimes escapes entities twice: `&amp;amp;` arrives as `&amp;`.)
_ENTITY_TO_DECODE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# C0 controls other than tab and line feed, and DEL: nothing a paper's text should carry.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def normalize(text: str | None) -> str:
    """One line of a paper's text as paperbot stores it (see the module docstring)."""
    if not text:
        return ""
    if "&" in text:
        import html  # and its table of entities: importers decode them, a lookup never does

        text = _ENTITY_TO_DECODE.sub(lambda match: html.unescape(match.group(0)), text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # Equal to " ".join(text.split()), several times faster for the usual text, whose
    # only odd whitespace is its line wraps: printable ASCII has no other whitespace.
    line = text.replace("\n", " ").strip()
    if "  " in line or not (line.isascii() and line.isprintable()):
        return " ".join(line.split())
    return line


def protect_entities(text: str) -> str:
    """`text` with each `&` that starts an entity written `&amp;`, so that `normalize` gives `text` back:
    what a writer of files paperbot imports (a paper list, BibTeX) does to stored text."""
    return _ENTITY_TO_DECODE.sub(lambda match: "&amp;" + match.group(0)[1:], text) if "&" in text else text


def has_controls(text: str) -> bool:
    """Whether `text` holds a control character `without_controls` removes (a line feed or tab is none)."""
    # Three times faster than a regex search for the usual ASCII abstract.
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _CONTROL_BYTES)) != len(raw)
    return _CONTROL.search(text) is not None


def without_controls(text: str) -> str:
    """`text` without C0 control characters (other than tab and line feed) and DEL."""
    return _CONTROL.sub("", text) if has_controls(text) else text


# --- graphemes ------------------------------------------------------------------------------


def is_grapheme_break(text: str, i: int) -> bool:
    """Whether a cut before `text[i]` keeps every grapheme whole.

    An approximation of UAX #29 good enough for cutting: never before a mark,
    a joiner or a variation selector, never after a zero-width joiner, never
    inside a flag (a pair of regional indicators) or a Hangul syllable built
    from conjoining jamo.
    """
    char, before = text[i], text[i - 1]
    if before == "\u200d" or _extends_grapheme(char):
        return False
    if _is_regional_indicator(char) and _is_regional_indicator(before):
        run = 0
        while i - run - 1 >= 0 and _is_regional_indicator(text[i - run - 1]):
            run += 1
        return run % 2 == 0
    if "\u1160" <= char <= "\u11ff" and ("\u1100" <= before <= "\u11ff" or "\uac00" <= before <= "\ud7a3"):
        return False
    return True


def _extends_grapheme(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char == "\u200d"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


# --- splitting and shortening ---------------------------------------------------------------

# A piece may end at a preferred break only if that keeps it at least this full;
# otherwise a later, lesser break is better than a run of tiny pieces.
MIN_FILL = 0.5


def _protected(url_stops: str) -> str:
    """Tokens a cut must not go through; a bare URL ends before whitespace, `<`, `>` and `url_stops`."""
    return (
        # Markup only: Slack <url|label>, <@U1>, <!here>; Discord <@1>, <#1>, <:emoji:1>, <t:1:R>, <https://…>.
        # A bare `<` in prose ("<5% ... >90%") is not markup and must stay splittable.
        r"<(?:[@#!:]|t:|(?:https?|mailto|ftp):)[^<>\n]*>"
        r"|\[[^\[\]\n]*\]\((?:[^()\s]|\([^()\s]*\))*\)"  # markdown [label](url), one level of parens in the url
        rf"|(?:https?|ftp)://[^\s<>{url_stops}]+"
        r"|&(?:[A-Za-z][A-Za-z0-9]{1,7}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});"  # an HTML entity
    )


_PROTECTED = LazyPattern(_protected(CJK_RANGES))  # Chinese text may follow a URL without a space
# The same for text without CJK (`may_have_cjk`), where no URL can end at a CJK character: a
# lookup of English abstracts is spared compiling the CJK class.
_LATIN_PROTECTED = re.compile(_protected(""))
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{0,7}|#[xX]?[0-9A-Fa-f]{0,7});?")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE = re.compile(r"\n")
_SENTENCE_SPACED = re.compile(r"[.!?…;](?=\s)")
_SENTENCE_CJK = re.compile(r"[。！？；]")
_SPACE = re.compile(r"\s+")
# Punctuation that belongs to the character before it: a piece must not start with it.
_CLOSING = set("。，、；：！？）」』》】〕〉”’・…,.;:!?)]}")
# Punctuation that belongs to the character after it: a piece must not end with it.
_OPENING = set("（【「『《“‘(")


def fits(text: str, limit: int) -> bool:
    return len(text) <= limit


class _Breaks:
    """Every allowed cut position of one text, by kind; computed once per text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._has_cjk = may_have_cjk(text)
        protected = _PROTECTED if self._has_cjk else _LATIN_PROTECTED
        spans = [(m.start(), m.end()) for m in protected.finditer(text)]
        self._span_starts = [s for s, _ in spans]
        self._spans = spans
        paragraph = self._allowed(m.start() for m in _PARAGRAPH.finditer(text))
        line = self._allowed(m.start() for m in _LINE.finditer(text))
        sentence = self._allowed(
            sorted(
                [m.end() for m in _SENTENCE_SPACED.finditer(text)]
                + [m.end() for m in _SENTENCE_CJK.finditer(text)]
            )
        )
        fine = sorted(
            set(self._allowed(m.start() for m in _SPACE.finditer(text)))
            | set(self._allowed(self._cjk_positions()))
        )
        # Preferred kinds first; the last kind is taken whenever it exists.
        self.levels = [paragraph, line, sentence, fine]

    def _cjk_positions(self) -> Iterator[int]:
        text = self.text
        if not self._has_cjk:
            return
        for m in CJK_CHAR.finditer(text):
            for i in (m.start(), m.end()):
                if 0 < i < len(text) and not text[i - 1].isspace() and not text[i].isspace():
                    if text[i] not in _CLOSING and text[i - 1] not in _OPENING and is_grapheme_break(text, i):
                        yield i

    def protected_span_at(self, i: int) -> tuple[int, int] | None:
        """The protected token that position `i` would cut through, if any."""
        k = bisect.bisect_right(self._span_starts, i - 1) - 1
        if k >= 0:
            start, end = self._spans[k]
            if start < i < end:
                return start, end
        return None

    def _allowed(self, positions: Iterable[int]) -> list[int]:
        return [i for i in positions if 0 < i < len(self.text) and self.protected_span_at(i) is None]

    def best_cut(self, start: int, limit: int) -> int | None:
        """The best cut for a piece beginning at `start`, or None if only a hard cut will do."""
        end = start + limit
        fallback = None
        for level, positions in enumerate(self.levels):
            k = bisect.bisect_right(positions, end) - 1
            if k < 0 or positions[k] <= start:
                continue
            cut = positions[k]
            if level == len(self.levels) - 1 or cut - start >= limit * MIN_FILL:
                return cut
            fallback = max(fallback or 0, cut)
        return fallback

    def hard_cut(self, start: int, limit: int, lowest: int) -> int:
        """A cut inside an over-long token, as gentle as the token allows, and not before `lowest`."""
        text = self.text
        cut = start + limit
        span = self.protected_span_at(cut)
        if span and span[0] > start:
            return span[0]  # the token fits in the next piece on its own or gets cut there
        return _soft_hard_cut(text, cut, lowest)


# How far a forced cut may move back to keep a grapheme whole (the longest emoji sequences
# are about a dozen code points); past that, the cut falls where it must.
_MAX_CUT_SHIFT = 16


def _soft_hard_cut(text: str, cut: int, lowest: int) -> int:
    """Move a forced cut back a little so it splits no entity, escape or grapheme."""
    for m in _ENTITY.finditer(text, max(lowest, cut - 10), min(len(text), cut + 10)):
        if m.start() < cut < m.end() and m.start() >= lowest:
            cut = m.start()
            break
    steps = 0
    while cut > lowest and steps < _MAX_CUT_SHIFT and (text[cut - 1] == "\\" or not is_grapheme_break(text, cut)):
        cut -= 1
        steps += 1
    return cut


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters at the best boundaries.

    Returns [] for empty or whitespace-only text, and `[text.strip()]` when it fits.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    breaks = _Breaks(text)
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        cut = breaks.best_cut(start, limit)
        if cut is None:
            cut = breaks.hard_cut(start, limit, lowest=start + 1)
        piece = text[start:cut].rstrip()
        if piece:
            pieces.append(piece)
        start = _skip_space(text, cut)
    if start < len(text):
        pieces.append(text[start:])
    return pieces


# Left out before the ellipsis: a dangling comma, dash or opening bracket.
_TRAILING = " \t\n\r,;:，；：、-–—([{（【「『《“‘"


def shorten(text: str, limit: int, ellipsis: str = "…", *, strip: bool = True) -> str:
    """`text` if it fits, else its longest start that ends at a word boundary, plus `ellipsis`.

    Never ends inside a protected token (URL, link markup, entity) unless the
    text starts with one token longer than the limit; then that token is cut,
    at a grapheme boundary. With `strip`, whitespace around `text` is dropped
    first (and a text that then fits comes back whole); without it, a text
    longer than `limit` always comes back shortened, ending in `ellipsis`.
    """
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget < 1:
        raise ValueError("limit must leave room for the ellipsis and one character")
    if strip:
        text = text.strip()
        if len(text) <= limit:
            return text
    breaks = _Breaks(text)
    words = breaks.levels[-1]  # any boundary will do: keep as much as fits
    k = bisect.bisect_right(words, budget) - 1
    cut = words[k] if k >= 0 else breaks.hard_cut(0, budget, lowest=0)
    head = text[:cut].rstrip()
    return (head.rstrip(_TRAILING) or head) + ellipsis
