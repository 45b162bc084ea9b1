"""Replies as a terminal shows them: control characters made harmless, lines wrapped, titles in bold.

Why this exists: the console prints `reply.text`, which holds what users typed
and what papers say. A title or a query carrying ESC, CSI or OSC sequences
would recolour, retitle or scramble the user's terminal, so every control
character except the line break (and the tab, a space) becomes `?` before anything is printed. On a
terminal, long lines are wrapped at word boundaries to its width (display
columns: a CJK character takes two, and Chinese breaks between characters,
never before closing punctuation), continuation lines hang under the text of
a numbered or bulleted line, and titles and headings are bold. Anywhere else
(a pipe, a file) the text stays plain and unwrapped, so it greps as it is.

`bot.text` cuts text to character limits for chat payloads, preferring
sentence ends; a terminal needs display columns and greedy filling, hence
this separate, smaller rule.
"""

from __future__ import annotations

import re
import unicodedata
from functools import singledispatch

from bot.models import NoticeReply, PaperDetailReply, PaperListReply, Reply

BOLD, PLAIN = "\x1b[1m", "\x1b[0m"
REPLACEMENT = "?"
MIN_TEXT_COLUMNS = 20  # narrower than this after the indent, lines do not hang (they would be a column of words)

# C0 controls but the line break, DEL, and C1 controls: ESC starts CSI/OSC sequences, 0x9b is a one-byte CSI.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_MARKER = re.compile(r"( *)((?:\d+\.|[-*•·]) )?")
# A word, or one wide character with the closing punctuation that must stay with it.
_TOKEN = re.compile(
    r"\s+|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+[。，、；：！？）」』》】]*|\S[。，、；：！？）」』》】]*"
)


def harmless(text: str) -> str:
    """`text` with tabs as spaces and every other control character but `\\n` replaced: nothing in it can drive the terminal."""
    return _CONTROL.sub(REPLACEMENT, text.replace("\t", " "))


def columns(text: str) -> int:
    """Display width: wide (CJK) characters take two columns, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap_line(line: str, width: int) -> list[str]:
    """One line as lines of at most `width` columns (a longer word, such as a URL, keeps its own line)."""
    if columns(line) <= width:
        return [line]
    lead = _MARKER.match(line)
    prefix = lead.group(0) if lead else ""
    hang = " " * columns(prefix) if width - columns(prefix) >= MIN_TEXT_COLUMNS else ""
    lines: list[str] = []
    current, used, spaced = prefix, columns(prefix), False
    has_text = False
    for token in _TOKEN.findall(line[len(prefix):]):
        if token.isspace():
            spaced = True
            continue
        gap = " " if spaced and has_text else ""
        size = columns(gap + token)
        if has_text and used + size > width:
            lines.append(current)
            current, used, gap = hang, len(hang), ""
            size = columns(token)
        current += gap + token
        used += size
        spaced, has_text = False, True
    lines.append(current)
    return lines


@singledispatch
def emphasised(reply: object) -> set[str]:
    """The lines of a reply's text that are titles or headings."""
    return set()


@emphasised.register
def _(reply: PaperListReply) -> set[str]:
    return {reply.header, *(card.title for card in reply.cards)}


@emphasised.register
def _(reply: PaperDetailReply) -> set[str]:
    return {reply.card.title, "Abstract", *(section.heading for section in reply.sections)}


@emphasised.register
def _(reply: NoticeReply) -> set[str]:
    return {reply.title} if reply.title else set()


def render(reply: Reply, *, width: int | None = None, bold: bool = False) -> str:
    """The reply's text, harmless; wrapped to `width` columns when given; titles bold when asked."""
    titles = {harmless(title) for title in emphasised(reply) if title} if bold else set()
    out: list[str] = []
    for line in harmless(reply.text).split("\n"):
        pieces = wrap_line(line, width) if width else [line]
        lead = _MARKER.match(line)
        if lead and line[lead.end():] in titles:  # the indent, number or bullet stays plain
            starts = [lead.end()] + [len(piece) - len(piece.lstrip(" ")) for piece in pieces[1:]]
            pieces = [piece[:start] + BOLD + piece[start:] + PLAIN for piece, start in zip(pieces, starts, strict=True)]
        out.extend(pieces)
    return "\n".join(out)
