"""CJK bigrams: how Chinese and Japanese text becomes searchable words.

FTS5's unicode61 tokenizer splits on spaces and punctuation, so a run of
Chinese characters (`自动驾驶汽车`) is one huge token and `驾驶` would never
match it. The index therefore carries an extra column in which every CJK run
is spelled as overlapping two-character words (`自动 动驾 驾驶 驶汽 汽车`),
and queries are turned into the same bigrams. Index side and query side share
this module so they can never disagree about what a CJK run is.
"""

from __future__ import annotations

# Runs of Han and kana, the scripts written without spaces: the core's one CJK table.
# Hangul is left out on purpose: Korean separates words with spaces, which the ordinary
# tokenizer already handles.
from bot.text import CJK_RUN, bigrams


def index_words(run: str) -> list[str]:
    """What the index stores for one run: its bigrams, then its last character alone.

    The trailing single character makes every character of the run the start of
    some indexed word, so a one-character query (a prefix query) finds it
    wherever it sits, including at the end of a run.
    """
    return bigrams(run) + [run[-1]]


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
