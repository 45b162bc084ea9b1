"""bot.text: the CJK table, normalising, and the platform-neutral "fit under a limit, never cut a word or a link" rule."""

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import CJK_CHAR, CJK_RUN, IDEOGRAPH, fits, normalize, shorten, split_text


def no_space(text: str) -> str:
    return re.sub(r"\s", "", text)


# --- split_text -------------------------------------------------------------------------


def test_text_that_fits_is_one_piece_and_empty_text_is_none():
    assert split_text("  short text \n", 100) == ["short text"]
    assert split_text("", 10) == []
    assert split_text(" \n\t ", 10) == []


def test_limit_must_be_positive():
    with pytest.raises(ValueError):
        split_text("abc", 0)


def test_prefers_paragraph_then_sentence_then_word():
    para = "First paragraph is here. " * 3 + "\n\n" + "Second paragraph follows. " * 3
    pieces = split_text(para, 100)
    assert pieces[0].endswith("First paragraph is here.")
    assert pieces[1].startswith("Second paragraph")

    sentences = "One two three four. Five six seven eight nine ten eleven twelve."
    assert split_text(sentences, 36) == ["One two three four.", "Five six seven eight nine ten eleven", "twelve."]


def test_a_paragraph_break_too_early_does_not_make_a_tiny_piece():
    text = "Tiny.\n\n" + "word " * 40
    pieces = split_text(text, 100)
    assert len(pieces[0]) > 50


def test_never_cuts_a_word():
    text = " ".join(f"word{i:03d}" for i in range(500))
    pieces = split_text(text, 77)
    assert all(len(p) <= 77 for p in pieces)
    assert " ".join(pieces).split() == text.split()


@pytest.mark.parametrize(
    "link",
    [
        "<https://example.org/a?b=1&amp;c=2|a label with several words in it>",
        "[a label with several words](https://example.org/path_(x)/y)",
        "https://example.org/" + "p" * 40,
        "<https://example.org/suppressed-embed-link-in-discord-style>",
    ],
)
def test_never_cuts_a_link(link):
    text = ("lead words " * 7) + link + (" tail words" * 7)
    for limit in range(len(link), len(link) + 30):
        pieces = split_text(text, limit)
        assert all(len(p) <= limit for p in pieces)
        assert any(link in p for p in pieces), (limit, pieces)


def test_never_cuts_an_entity_even_when_hard_cutting():
    text = "&amp;" * 50
    for limit in range(5, 23):
        pieces = split_text(text, limit)
        assert all(re.fullmatch(r"(&amp;)+", p) for p in pieces), pieces
        assert "".join(pieces) == text


def test_cjk_text_without_spaces_is_cut_between_characters_not_before_closing_punctuation():
    text = "自动驾驶系统需要可靠的奖励模型。" * 40
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert "".join(pieces) == text
    assert not any(p[0] in "。，" for p in pieces)
    # sentence ends are preferred over arbitrary character boundaries
    assert all(p.endswith("。") for p in pieces)


def test_a_token_longer_than_the_limit_is_hard_cut_and_nothing_is_lost():
    word = "x" * 250
    pieces = split_text(f"before {word} after", 100)
    assert pieces[0] == "before"
    assert all(len(p) <= 100 for p in pieces)
    assert no_space("".join(pieces)) == no_space(f"before {word} after")


def test_a_hard_cut_does_not_split_an_emoji_sequence():
    family = "👨\u200d👩\u200d👧"
    text = family * 40
    for limit in range(10, 20):
        pieces = split_text(text, limit)
        assert "".join(pieces) == text
        assert not any(p.startswith("\u200d") or p.endswith("\u200d") for p in pieces)


def test_a_link_that_starts_later_moves_to_the_next_piece_whole():
    link = "<https://example.org/" + "a" * 50 + "|label>"
    text = "abc" + link  # no whitespace at all before the link
    pieces = split_text(text, 80)
    assert pieces == ["abc", link]


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=200))
def test_property_pieces_fit_and_nothing_is_lost(text, limit):
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(p == p.strip() for p in pieces)
    assert no_space("".join(pieces)) == no_space(text)


# No angle brackets: `<a b>` is markup and is deliberately kept whole across its space.
words = st.text(alphabet="abcdefghij&|.!?中文", min_size=1, max_size=12)
separators = st.sampled_from([" ", "  ", "\n", "\n\n", ". ", "\t"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(words, separators), min_size=1, max_size=80), st.integers(min_value=12, max_value=120))
def test_property_words_are_never_cut_when_they_fit(parts, limit):
    text = "".join(w + s for w, s in parts)
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert no_space("".join(pieces)) == no_space(text)
    # A word longer than the limit (12 letters and a sentence's ". ") must be cut; any other stays whole.
    if not re.search("[中文]", text) and all(len(word) <= limit for word in text.split()):
        assert " ".join(pieces).split() == text.split()


# --- shorten ----------------------------------------------------------------------------


def test_shorten_keeps_text_that_fits():
    assert shorten("short", 5) == "short"


def test_shorten_ends_at_a_word_boundary_with_an_ellipsis():
    assert shorten("one two three four", 12) == "one two…"
    assert shorten("alpha, beta, gamma", 14) == "alpha, beta…"  # no dangling comma


def test_shorten_never_cuts_a_link_that_starts_after_the_beginning():
    text = "see <https://example.org/long/path|the project page> for more"
    assert shorten(text, 30) == "see…"


def test_shorten_cuts_cjk_between_characters():
    out = shorten("这是一个很长的中文句子没有空格" * 5, 20)
    assert len(out) == 20 and out.endswith("…")


def test_shorten_hard_cuts_a_single_huge_token():
    assert shorten("y" * 5000, 100) == "y" * 99 + "…"


def test_shorten_needs_room_for_the_ellipsis():
    with pytest.raises(ValueError):
        shorten("abcdef", 1)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=2, max_value=200))
def test_property_shorten_fits(text, limit):
    out = shorten(text, limit)
    assert len(out) <= limit
    if len(text.strip()) > limit:
        assert out.endswith("…")


def test_fits():
    assert fits("abc", 3) and not fits("abcd", 3)


# --- cuts the renderers and the TLDR share ------------------------------------------------


def test_korean_is_cut_at_its_spaces_like_any_spaced_script():
    words = ["자율주행", "자동차의", "보상", "모델"] * 20
    pieces = split_text(" ".join(words), 30)
    assert len(pieces) > 1
    assert all(set(piece.split()) <= set(words) for piece in pieces)  # no word cut in two
    kept = shorten(" ".join(words), 30).removesuffix("…").split()
    assert kept == words[: len(kept)]


@pytest.mark.parametrize("limit", range(2, 12))
def test_a_forced_cut_keeps_flags_whole(limit):
    flags = "🇨🇳🇯🇵" * 20
    body = shorten(flags, limit).removesuffix("…")
    assert flags.startswith(body) and len(body) % 2 == 0
    for piece in split_text(flags, limit):
        assert len(piece) % 2 == 0


def test_a_url_ends_where_chinese_text_starts():
    text = "代码见https://github.com/org/repo，欢迎试用" + "后文" * 50
    assert shorten(text, 40) == text[:39] + "…"
    assert split_text(text, 40)[0] == text[:40]


def test_no_piece_ends_on_an_opening_bracket():
    text = "这是一段很长的中文说明「引号里的内容」" * 10
    for limit in range(5, 30):
        assert not shorten(text, limit).removesuffix("…").endswith("「")


# --- the CJK table ----------------------------------------------------------------------------


def test_one_table_three_uses():
    assert CJK_RUN.findall("自動運転の「報酬」モデル・評価, 한국어") == ["自動運転の", "報酬", "モデル", "評価"]
    assert CJK_CHAR.match("「") and CJK_CHAR.match("，") and CJK_CHAR.match("ア") and not CJK_CHAR.match("한")
    assert IDEOGRAPH.match("𠀋") and not IDEOGRAPH.match("の") and not IDEOGRAPH.match("a")


# --- normalising -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Cafe\u0301 &amp; Re\u0301sume\u0301", "Café & Résumé"),  # NFD accents, an entity
        ("Escaping &amp;amp; twice", "Escaping &amp; twice"),  # decoded once, never twice
        ("R&D and $a & b$ and &#233;t&#xE9;", "R&D and $a & b$ and été"),  # only complete entities
        ("  a hard\n   wrapped\ttitle \n", "a hard wrapped title"),
        ("自动驾驶\n汽车", "自动驾驶 汽车"),
        ("", ""),
    ],
)
def test_normalize(raw, stored):
    assert normalize(raw) == stored
    assert normalize(stored) == stored or "&amp;" in stored


def test_normalize_leaves_control_characters_to_the_paper_limits_which_report_them():
    assert normalize("a\x00b") == "a\x00b"
    assert normalize(None) == ""


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab é\u0301\n\t&amp;#;x自"), max_size=40))
def test_normalized_text_is_one_nfc_line(text):
    out = normalize(text)
    assert "\n" not in out and out == out.strip() and "  " not in out
    assert unicodedata.is_normalized("NFC", out)
