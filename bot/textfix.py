"""Bytes to trustworthy text: decoding, mojibake repair and text-quality marks.

Paper lists (and other hand-kept files) arrive as UTF-8 that someone decoded
as cp1252 or latin-1 and saved again as UTF-8 (`è®ºæ–‡` for `论文`), and
sometimes the bytes cp1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) were
dropped or turned into U+FFFD on the way. ftfy undoes the double encoding;
whatever it cannot undo is marked `damaged`, so nobody shows that text as if
it were fine. Every importer can use this module; it knows nothing of paper
lists, files or the store, and every function is pure.

Quality of a piece of text, decided line by line (a round trip never spans a
line break; a longer text is as good as its worst line):
- `clean`: nothing to fix;
- `repaired`: the line was mojibake and came back whole (ftfy's fix, or its
  cp1252 bytes decoded as UTF-8) with no sign of damage left;
- `damaged`: after repair it still holds U+FFFD (a lost byte), C1 control
  characters, broken UTF-8 in its cp1252 bytes, or what ftfy's badness
  heuristic calls mojibake.
Once any line of a text shows the round trip, the whole text went through
it: lines ftfy leaves alone because they are too short to judge (`åž‹` for
`型`) are then checked by their bytes as well.
"""

from __future__ import annotations

import codecs
import re
from typing import Iterable, Sequence

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-windows-1252 codec)
from ftfy import badness

from bot.models import TextQuality

# Only the encoding is fixed. ftfy's defaults would also turn fullwidth `：`
# into `:`, uncurl quotes, unescape HTML and NFC-normalise: that rewrites
# clean Chinese notes, and a clean text must come back byte for byte.
REPAIR_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)

REPLACEMENT_CHAR = "\ufffd"
_C1_CONTROLS = re.compile("[\u0080-\u009f]")
# C0 controls that plain text does not contain (it has tabs, line ends, form feeds, ESC).
_BINARY_CONTROLS = re.compile("[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
# A UTF-8 file with a few bad bytes is damaged text; one where many are bad is not UTF-8.
_MAX_INVALID_UTF8_SHARE = 0.01


def worst(qualities: Iterable[TextQuality]) -> TextQuality:
    """The lowest quality among `qualities` (clean when there are none)."""
    return min(qualities, key=lambda q: q.rank, default=TextQuality.CLEAN)


def looks_damaged(text: str) -> bool:
    """True when `text` still shows damage: U+FFFD, C1 controls or mojibake patterns."""
    return (
        REPLACEMENT_CHAR in text
        or _C1_CONTROLS.search(text) is not None
        or badness.is_bad(text)
    )


def repair_line(line: str) -> tuple[str, TextQuality]:
    """Undo mojibake in one line of text on its own; return the best text and its quality.

    Prefer `repair_lines` for a whole file: it also catches short lines that
    ftfy, cautious without context, leaves alone.
    """
    if line.isascii():
        return line, TextQuality.CLEAN
    fixed = ftfy.fix_text(line, REPAIR_CONFIG)
    if fixed == line and not looks_damaged(line):
        return line, TextQuality.CLEAN
    # ftfy found a round trip here. When the whole line made it, its bytes can be
    # decoded exactly, and that also shows what ftfy cannot: a character whose
    # byte was lost (ftfy may leave `é…` where `配` was, and call it fine).
    undone = _undo_cp1252_round_trip(line)
    if undone is not None and not looks_damaged(undone.replace(REPLACEMENT_CHAR, "")):
        damaged = REPLACEMENT_CHAR in undone
        return undone, TextQuality.DAMAGED if damaged else TextQuality.REPAIRED
    if looks_damaged(fixed):
        return fixed, TextQuality.DAMAGED
    return fixed, TextQuality.REPAIRED


def repair_lines(lines: Sequence[str]) -> list[tuple[str, TextQuality]]:
    """Undo mojibake in the lines of one text (a file); each line gets its own quality.

    Once any line shows the round trip, the whole text went through it, so a
    line ftfy left alone but whose bytes are UTF-8 (`åž‹` for `型`) is
    repaired too, and one whose bytes are broken UTF-8 is marked damaged.
    """
    results = [repair_line(line) for line in lines]
    if all(quality is TextQuality.CLEAN for _, quality in results):
        return results
    return [
        _repair_in_mojibake_text(line) if quality is TextQuality.CLEAN else (fixed, quality)
        for line, (fixed, quality) in zip(lines, results, strict=True)
    ]


def repair_text(text: str) -> tuple[str, TextQuality]:
    """Undo mojibake in `text` (any number of lines); quality is that of its worst line."""
    repaired = repair_lines(text.split("\n"))
    return "\n".join(line for line, _ in repaired), worst(q for _, q in repaired)


def text_quality(text: str) -> TextQuality:
    """The quality `repair_text` would give `text`, without keeping the repair."""
    return repair_text(text)[1]


def _repair_in_mojibake_text(line: str) -> tuple[str, TextQuality]:
    undone = _undo_cp1252_round_trip(line)
    if undone is None or looks_damaged(undone.replace(REPLACEMENT_CHAR, "")):
        return line, TextQuality.CLEAN
    if REPLACEMENT_CHAR not in undone:
        return undone, TextQuality.REPAIRED
    # Broken UTF-8 is damage only if some of it is UTF-8 at all: `café` alone
    # was typed after the round trip (or by a cp1252 editor), not mangled by it.
    has_utf8 = any(ord(c) > 0x7F and c != REPLACEMENT_CHAR for c in undone)
    has_utf8 = has_utf8 or _PARTIAL_UTF8.search(_encode_mojibake(line) or b"") is not None
    return (undone, TextQuality.DAMAGED) if has_utf8 else (line, TextQuality.CLEAN)


_PARTIAL_UTF8 = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")


def _encode_mojibake(line: str) -> bytes | None:
    """The bytes a cp1252-decoded line came from, lost bytes left out; None if not cp1252."""
    try:
        # U+FFFD marks a byte lost in the round trip; leaving it out makes the
        # broken sequence decode to one U+FFFD, as a dropped byte would.
        return b"".join(part.encode("sloppy-windows-1252") for part in line.split(REPLACEMENT_CHAR))
    except UnicodeEncodeError:
        return None


def _undo_cp1252_round_trip(line: str) -> str | None:
    """The line's original text if all of it is UTF-8 that was decoded as cp1252.

    Bytes lost on the way come back as U+FFFD. None when the line holds
    characters cp1252 cannot have produced (it was not, or not only, mojibake).
    """
    raw = _encode_mojibake(line)
    if raw is None:
        return None
    decoded = raw.decode("utf-8", errors="replace")
    return None if decoded.isascii() else decoded


# --- bytes to text ----------------------------------------------------------------------


class NotTextError(ValueError):
    """The bytes are not text this module can read; `line` is 1-based where known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def decode_text(data: bytes) -> str:
    """Decode a text file's bytes: UTF-8 (BOM allowed), else cp1252; `\\n` line ends.

    Raises `NotTextError` for binary data (NUL bytes, many control
    characters), bytes that are neither UTF-8 nor cp1252, and UTF-8 cut off
    in the middle of a character (a truncated file). A UTF-8 file with a few
    invalid bytes decodes with U+FFFD in their place, which marks those lines
    damaged. Mojibake is not repaired here: see `repair_text`.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise NotTextError("contains NUL bytes: not a text file", _line_of(data, nul))
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.end == len(data) and err.reason == "unexpected end of data":
            raise NotTextError(
                "ends in the middle of a UTF-8 character: the file is truncated",
                _line_of(data, err.start),
            ) from None
        text = _decode_not_utf8(data, err)
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls and controls > _MAX_CONTROL_SHARE * len(text):
        first = _BINARY_CONTROLS.search(text)
        assert first is not None
        raise NotTextError(
            "contains control characters: not a text file", text.count("\n", 0, first.start()) + 1
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_not_utf8(data: bytes, err: UnicodeDecodeError) -> str:
    lossy = data.decode("utf-8", errors="replace")
    invalid = lossy.count(REPLACEMENT_CHAR) - data.count(REPLACEMENT_CHAR.encode("utf-8"))
    has_multibyte = any(ord(c) > 0x7F and c != REPLACEMENT_CHAR for c in lossy)
    if has_multibyte and invalid <= _MAX_INVALID_UTF8_SHARE * len(lossy):
        return lossy
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise NotTextError(
            "is neither UTF-8 nor cp1252 text", _line_of(data, err.start)
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
