"""Split or shorten text to fit a chat platform's size limits without breaking it.

Every adapter has limits (Slack: 3000 characters a section, Discord: 4096 an
embed description, 1024 a field) and the design rule is the same everywhere:
split into several pieces rather than send an over-limit payload, and never
cut a word or a link in half. This module is that rule, once, with no
platform in it, so the Slack and Discord renderers cannot drift apart.

API (stable; both renderers depend on it):

- `split_text(text, limit) -> list[str]`: pieces of at most `limit` characters.
- `shorten(text, limit, ellipsis="…") -> str`: one piece, ending in `ellipsis`
  when something was dropped.
- `fits(text, limit) -> bool`: tiny helper for readability at call sites.

Where a cut may fall, best first (a better kind of cut is taken when it keeps
the piece at least half full, so a paragraph break near the start does not
produce a tiny piece):

1. between paragraphs (a blank line),
2. between lines,
3. after a sentence (`.`, `!`, `?`, `…`, `;` before a space; `。！？；` anywhere),
4. between words (any whitespace), or between two characters when one of them
   is CJK (Chinese/Japanese/Korean is written without spaces) — but never just
   before closing punctuation such as `。` or `」`.

Never cut: inside a protected token — an angle-bracket markup (`<url|label>`,
`<@id>`, `<https://…>`), a markdown link `[label](url)`, a bare URL, or an HTML
entity (`&amp;`; renderers escape before splitting, so an entity must survive).
A single token longer than the limit is the only thing ever hard-cut, as a
last resort; even then the cut avoids splitting an entity, a backslash escape,
or an emoji's joiner/variation selector. Callers that must not cut a link even
then (Slack) keep URLs shorter than their limit before splitting.

Whitespace at a cut and around the whole text is dropped; everything else is
kept in order, so joining the pieces with a space (or nothing, for CJK cuts)
gives back the words of the input.
"""

from __future__ import annotations

import bisect
import re
import unicodedata

__all__ = ["split_text", "shorten", "fits"]

# A piece may end at a preferred break only if that keeps it at least this full;
# otherwise a later, lesser break is better than a run of tiny pieces.
MIN_FILL = 0.5

_PROTECTED = re.compile(
    # Markup only: Slack <url|label>, <@U1>, <!here>; Discord <@1>, <#1>, <:emoji:1>, <t:1:R>, <https://…>.
    # A bare `<` in prose ("<5% ... >90%") is not markup and must stay splittable.
    r"<(?:[@#!:]|t:|(?:https?|mailto|ftp):)[^<>\n]*>"
    r"|\[[^\[\]\n]*\]\((?:[^()\s]|\([^()\s]*\))*\)"  # markdown [label](url), one level of parens in the url
    r"|(?:https?|ftp)://[^\s<>]+"  # a bare URL
    r"|&(?:[A-Za-z][A-Za-z0-9]{1,7}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});"  # an HTML entity
)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{0,7}|#[xX]?[0-9A-Fa-f]{0,7});?")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_LINE = re.compile(r"\n")
_SENTENCE_SPACED = re.compile(r"[.!?…;](?=\s)")
_SENTENCE_CJK = re.compile(r"[。！？；]")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(
    "[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]"
)
# Punctuation that belongs to the character before it: a piece must not start with it.
_CLOSING = set("。，、；：！？）」』》】〕〉”’・…,.;:!?)]}")
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}


def fits(text: str, limit: int) -> bool:
    return len(text) <= limit


class _Breaks:
    """Every allowed cut position of one text, by kind; computed once per text."""

    def __init__(self, text: str) -> None:
        self.text = text
        spans = [(m.start(), m.end()) for m in _PROTECTED.finditer(text)]
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

    def _cjk_positions(self):
        text = self.text
        for m in _CJK.finditer(text):
            for i in (m.start(), m.end()):
                if 0 < i < len(text) and not text[i - 1].isspace() and not text[i].isspace():
                    if text[i] not in _CLOSING and text[i] not in _JOINERS and text[i - 1] != "\u200d":
                        yield i

    def protected_span_at(self, i: int) -> tuple[int, int] | None:
        """The protected token that position `i` would cut through, if any."""
        k = bisect.bisect_right(self._span_starts, i - 1) - 1
        if k >= 0:
            start, end = self._spans[k]
            if start < i < end:
                return start, end
        return None

    def _allowed(self, positions) -> list[int]:
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

    def hard_cut(self, start: int, limit: int) -> int:
        """A cut inside an over-long token, as gentle as the token allows."""
        text = self.text
        cut = start + limit
        span = self.protected_span_at(cut)
        if span and span[0] > start:
            return span[0]  # the token fits in the next piece on its own or gets cut there
        return _soft_hard_cut(text, start, cut)


def _soft_hard_cut(text: str, start: int, cut: int) -> int:
    """Move a forced cut back a little so it splits no entity, escape or emoji sequence."""
    lowest = start + 1
    for m in _ENTITY.finditer(text, max(lowest, cut - 10), min(len(text), cut + 10)):
        if m.start() < cut < m.end() and m.start() >= lowest:
            cut = m.start()
            break
    steps = 0
    while cut > lowest and steps < 8 and (
        text[cut - 1] == "\\"
        or text[cut] in _JOINERS
        or text[cut - 1] == "\u200d"
        or unicodedata.combining(text[cut])
    ):
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
            cut = breaks.hard_cut(start, limit)
        piece = text[start:cut].rstrip()
        if piece:
            pieces.append(piece)
        start = _skip_space(text, cut)
    if start < len(text):
        pieces.append(text[start:])
    return pieces


_TRAILING = " \t\n\r,;:，；：、-–—"


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` if it fits, else its longest start that ends at a word boundary, plus `ellipsis`.

    Never ends inside a protected token (URL, link markup, entity) unless the
    text starts with one token longer than the limit; then that token is cut.
    """
    if len(text) <= limit:
        return text
    budget = limit - len(ellipsis)
    if budget < 1:
        raise ValueError("limit must leave room for the ellipsis and one character")
    text = text.strip()
    if len(text) <= limit:
        return text
    breaks = _Breaks(text)
    cut = None
    for positions in breaks.levels[::-1][:1]:  # any boundary will do: keep as much as fits
        k = bisect.bisect_right(positions, budget) - 1
        if k >= 0:
            cut = positions[k]
    if cut is None:
        cut = breaks.hard_cut(0, budget)
    kept = text[:cut].rstrip(_TRAILING) or text[:cut]
    return kept + ellipsis
