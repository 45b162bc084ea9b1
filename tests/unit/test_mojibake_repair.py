"""Mojibake repair and text-quality marks (bot/textfix.py), on the damage real files show."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import TextQuality
from bot.textfix import NotTextError, decode_text, repair_line, repair_lines, repair_text, text_quality, worst

CLEAN, REPAIRED, DAMAGED = TextQuality.CLEAN, TextQuality.REPAIRED, TextQuality.DAMAGED
# cp1252 leaves these bytes undefined: a round trip through it drops them or makes them U+FFFD.
UNDEFINED_IN_CP1252 = b"\x81\x8d\x8f\x90\x9d"


def cp1252_round_trip(text: str, errors: str = "strict") -> str:
    """What the files we get went through: UTF-8 bytes read as cp1252, then saved again."""
    return text.encode("utf-8").decode("cp1252", errors=errors)


def sloppy_round_trip(text: str) -> str:
    """The same without loss: undefined bytes become C1 controls (what Python's latin-1 does for all)."""
    return text.encode("utf-8").decode("sloppy-windows-1252")


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII, nothing to see.",
        "### 🌟 论文解读 | DenseDPO：为视频扩散模型带来细粒度时序偏好优化",
        "fullwidth ：，（）！ and “curly” ‘quotes’ — dashes… stay",
        "ligatures ﬁ ﬂ and fullwidth ＡＢＣ stay",
        "café, naïve, Ærøskøbing",
        "e\u0301 decomposed stays decomposed",
    ],
)
def test_clean_text_comes_back_byte_for_byte(text):
    assert repair_text(text) == (text, CLEAN)


def test_cp1252_mojibake_is_repaired_exactly():
    original = "### 🌟 论文解读 | DenseDPO：为视频扩散模型带来细粒度时序偏好优化"
    damaged = sloppy_round_trip(original)
    assert damaged.startswith("### ðŸŒŸ è®ºæ–‡")
    assert repair_text(damaged) == (original, REPAIRED)


def test_latin1_mojibake_is_repaired_exactly():
    original = "奖励模型 “reward model” — 自动驾驶"
    assert repair_text(original.encode("utf-8").decode("latin-1")) == (original, REPAIRED)


def test_english_with_curly_quotes_is_repaired():
    original = "VLM ‘judges’ are used everywhere — rarely tested."
    damaged = cp1252_round_trip(original)
    assert "â€˜" in damaged
    assert repair_text(damaged) == (original, REPAIRED)


def test_lost_bytes_are_damaged_and_marked_where_they_were():
    original = "让视觉语言模型助手适配个性化情境认知"  # 配 is E9 85 8D: its 0x8D is lost
    for errors in ("ignore", "replace"):
        fixed, quality = repair_line(cp1252_round_trip(original, errors))
        assert quality is DAMAGED, errors
        assert fixed == original.replace("配", "\ufffd"), errors


def test_ftfy_leftovers_are_not_called_repaired():
    # ftfy alone turns this into '...适é…个...' and calls it fine; the byte check knows better.
    line = cp1252_round_trip("### 🌟 论文解读 | 让视觉语言模型助手适配个性化情境认知", "ignore")
    fixed, quality = repair_line(line)
    assert quality is DAMAGED
    assert "é" not in fixed and "\ufffd" in fixed


def test_replacement_character_alone_is_damage():
    assert repair_text("a lost \ufffd character") == ("a lost \ufffd character", DAMAGED)


def test_quality_of_a_text_is_its_worst_line():
    good = "clean line"
    fixed = sloppy_round_trip("修复")
    lost = cp1252_round_trip("适配", "ignore")
    assert text_quality(f"{good}\n{fixed}") is REPAIRED
    assert text_quality(f"{good}\n{fixed}\n{lost}") is DAMAGED
    assert repair_text(f"{good}\n{fixed}")[0] == "clean line\n修复"


def test_worst():
    assert worst([]) is CLEAN
    assert worst([CLEAN, REPAIRED]) is REPAIRED
    assert worst([REPAIRED, DAMAGED, CLEAN]) is DAMAGED


# Text of the kind paper lists hold: ASCII, CJK, fullwidth punctuation, emoji headings.
list_text = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ 0189.,:;-|#*()[]") + list("论文解读自动驾驶奖励模型视觉语言配") + list("：，（）。“”") + ["🌟", "📌", "💡"]
    ),
    max_size=60,
)


# A line ftfy repairs on its own, so the text around it is known to have made the round trip.
CONTEXT = "### 🌟 论文解读 | 自动驾驶"


@given(list_text)
def test_any_list_text_is_clean_and_its_round_trip_repairs_to_it(text):
    assert repair_text(text) == (text, CLEAN)
    original = f"{CONTEXT}\n{text}"
    assert repair_text(sloppy_round_trip(original)) == (original, REPAIRED)


@given(list_text, st.sampled_from(["ignore", "replace"]))
def test_a_lossy_round_trip_is_damaged_exactly_when_bytes_were_lost(text, errors):
    original = f"{CONTEXT}\n{text}"
    fixed, quality = repair_text(cp1252_round_trip(original, errors))
    if any(byte in UNDEFINED_IN_CP1252 for byte in text.encode("utf-8")):
        assert quality is DAMAGED
    else:
        assert (fixed, quality) == (original, REPAIRED)


def test_short_lines_ftfy_leaves_alone_are_repaired_in_a_mojibake_text():
    original = f"{CONTEXT}\n型\n实验结果"
    damaged = sloppy_round_trip(original)
    assert "åž‹" in damaged and repair_line("åž‹") == ("åž‹", CLEAN)  # alone, it could be anything
    assert repair_lines(damaged.split("\n")) == [(CONTEXT, REPAIRED), ("型", REPAIRED), ("实验结果", REPAIRED)]


def test_text_typed_after_the_round_trip_is_left_alone():
    # `café` in cp1252 bytes is not UTF-8 at all: someone typed it into the mojibake file later.
    damaged = sloppy_round_trip(CONTEXT) + "\ncafé au lait"
    assert repair_lines(damaged.split("\n")) == [(CONTEXT, REPAIRED), ("café au lait", CLEAN)]


# --- decode_text ------------------------------------------------------------------------


def test_decode_utf8_with_bom_and_crlf():
    assert decode_text("\ufeff# 标题\r\nline\rlast".encode("utf-8")) == "# 标题\nline\nlast"


def test_decode_legacy_cp1252_file():
    assert decode_text("café — “ok”\n".encode("cp1252")) == "café — “ok”\n"


def test_decode_utf8_with_a_few_bad_bytes_marks_them():
    data = ("自动驾驶 " * 50).encode("utf-8") + b"\xff" + "奖励".encode("utf-8")
    text = decode_text(data)
    assert text.endswith("\ufffd奖励") and text_quality(text) is DAMAGED


@pytest.mark.parametrize(
    ("data", "reason", "line"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL", 3),
        (b"ok\nok\n" + bytes(range(1, 9)) * 20, "control characters", 3),
        (b"\x81\x8d\x8f\x90\x9d\xff\xfe" * 10, "neither UTF-8 nor cp1252", 1),
        ("line\n自动驾驶".encode("utf-8")[:-1], "truncated", 2),
    ],
)
def test_decode_refuses_what_is_not_text(data, reason, line):
    with pytest.raises(NotTextError) as caught:
        decode_text(data)
    assert reason in caught.value.reason
    assert caught.value.line == line


@given(st.binary(max_size=300))
def test_decode_either_returns_text_or_raises_not_text(data):
    try:
        text = decode_text(data)
    except NotTextError:
        return
    assert "\r" not in text and "\x00" not in text
