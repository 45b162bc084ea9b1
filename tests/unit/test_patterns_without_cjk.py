"""Text without CJK takes patterns without the CJK class, and they find what the full ones find.

Why: compiling a CJK character class costs a process 1-1.5 ms, and a lookup of English abstracts
paid it for nothing (issue 18). `bot.text.may_have_cjk` tells such text apart without the class;
these properties hold the shortcut to the full patterns' answers.
"""

from hypothesis import given
from hypothesis import strategies as st

from bot.summarize import _LATIN_SENTENCE_END, _SENTENCE_END, split_sentences
from bot.text import _LATIN_PROTECTED, _PROTECTED, CJK_CHAR, CJK_RANGES, CJK_RUN, may_have_cjk, shorten
from store.sqlite.query import build_match_query

# Below the first CJK code point: Latin, Greek, maths, arrows, the typographic quotes and `…`.
BELOW_CJK = st.characters(max_codepoint=0x2E7F, exclude_categories=("Cs",))
# Text shaped like what the patterns look for: sentence ends, quotes, URLs, markup, entities.
PIECES = st.sampled_from([
    ". ", "! ", "? ", "… ", "”) ", "' ", "\n", " https://x.org/a_b?c=1 ", "<@U1>", "[label](http://a.b/(c)) ",
    "&amp;", "&#x1F600;", "e.g. ", "Fig. 3", "v1.2 ", "α-β ", "→ ", "We propose X. ",
])
LATIN_TEXT = st.lists(st.one_of(PIECES, st.text(BELOW_CJK, max_size=12)), max_size=12).map("".join)


def spans(pattern, text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


@given(LATIN_TEXT)
def test_text_below_the_cjk_ranges_has_no_cjk_and_the_latin_patterns_find_the_same(text):
    assert not may_have_cjk(text)
    assert CJK_CHAR.search(text) is None and CJK_RUN.search(text) is None
    assert spans(_LATIN_SENTENCE_END, text) == spans(_SENTENCE_END, text)
    assert spans(_LATIN_PROTECTED, text) == spans(_PROTECTED, text)


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_every_text_with_a_cjk_character_may_have_cjk(text):
    if CJK_CHAR.search(text) is not None:
        assert may_have_cjk(text)


def test_the_first_cjk_code_point_is_the_lowest_of_the_ranges():
    assert min(CJK_RANGES.replace("-", "")) == "\u2e80"
    assert may_have_cjk("\u2e80") and not may_have_cjk("\u2e7f") and not may_have_cjk("")


def test_chinese_text_still_takes_the_full_patterns():
    sentences = split_sentences("我们提出一种方法。它很好！Then English. Done")
    assert sentences == ["我们提出一种方法。", "它很好！", "Then English.", "Done"]
    assert shorten("见 https://x.org/a。然后继续写很多很多中文内容", 20).startswith("见 https://x.org/a")
    query = build_match_query("自动驾驶 model")
    assert '"自动 动驾 驾驶"' in query and '"model"' in query
