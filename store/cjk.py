"""CJK bigrams: how Chinese and Japanese text becomes searchable words.

FTS5's unicode61 tokenizer splits on spaces and punctuation, so a run of
Chinese characters (`自动驾驶汽车`) is one huge token and `驾驶` would never
match it. The index therefore carries an extra column in which every CJK run
is spelled as overlapping two-character words (`自动 动驾 驾驶 驶汽 汽车`),
and queries are turned into the same bigrams. Index side and query side share
this module so they can never disagree about what a CJK run is.
"""

from __future__ import annotations

import re

# Han ideographs (URO, extensions A-F, compatibility) and kana: scripts written
# without spaces. Hangul is left out on purpose: Korean separates words with
# spaces, which the ordinary tokenizer already handles.
CJK_CHARS = (
    "\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff"  # hiragana, katakana (not the ・ and ゠ punctuation)
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U0003134f"  # extensions B-G
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def run_bigrams(run: str) -> list[str]:
    """Overlapping two-character words of one CJK run: 自动驾驶 -> 自动 动驾 驾驶."""
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_words(run: str) -> list[str]:
    """What the index stores for one run: its bigrams, then its last character alone.

    The trailing single character makes every character of the run the start of
    some indexed word, so a one-character query (a prefix query) finds it
    wherever it sits, including at the end of a run.
    """
    return run_bigrams(run) + [run[-1]]


def cjk_index_text(*texts: str | None) -> str:
    """The CJK column's text for a paper: the index words of every CJK run, one run a line."""
    lines = []
    for text in texts:
        # Most papers are plain ASCII; str.isascii() is O(1), the regex scan is not.
        if not text or text.isascii():
            continue
        for run in CJK_RUN.findall(text):
            lines.append(" ".join(index_words(run)))
    return "\n".join(lines)
