"""The contract with the language model that answers a question about one paper.

Why this module exists: `/paper ask` must answer from the paper, not from
the model's memory, and show the passage it rests on, so a reader can check.
The model answers JSON, `{"known": bool, "answer": str, "quote": str}`;
`known = false` is the honest "I don't know from this paper". The quote must
be the paper's own words: it is looked up in the paper's text, and when the
model paraphrased, the paper's sentence that matches it best (most of its
words) is shown instead; a quote that matches nothing is refused with a
correction, like an unusable note (`bot.notes_prompt`).

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.fulltext.document import FullText
from bot.fulltext.sections import estimate_tokens
from bot.models import Paper
from bot.notes_prompt import ABSTRACT, FULL_TEXT, InvalidNotes, Prompt, full_text_within, json_object, paper_lines
from bot.summarize import normalize_text, split_sentences

MAX_QUESTION_CHARS: Final = 500
MAX_ANSWER_CHARS: Final = 2500
MAX_QUOTE_CHARS: Final = 800
MIN_WORD_OVERLAP: Final = 0.8  # of the quote's words, for a paraphrased quote to count as that sentence
DONT_KNOW: Final = "I don't know from this paper."

SYSTEM: Final = (
    "You answer questions about one research paper for a research group, using only the paper's text below; "
    "never your own knowledge of it or of other work. Answer with one JSON object and nothing else: "
    '{"known": true, "answer": "...", "quote": "..."}. "answer" answers the question in a few sentences, in the '
    'language of the question. "quote" is the passage the answer rests on, copied word for word from the paper\'s '
    'text (one to three sentences). When the text does not say, answer {"known": false, "answer": "", "quote": ""}: '
    "do not guess."
)
_WORD = re.compile(r"\w+", re.UNICODE)
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")


class InvalidAnswer(InvalidNotes):
    """The model's answer is unusable; the message says what to fix."""


@dataclass(frozen=True)
class ParsedAnswer:
    known: bool
    answer: str = ""
    quote: str = ""


def build_ask_prompt(paper: Paper, question: str, full_text: FullText | None, *, max_input_tokens: int) -> Prompt:
    lines = paper_lines(paper)
    heading = "Full text (sections in order; long ones are cut, marked …):"
    closing = f"Question: {question}"
    fixed = estimate_tokens(SYSTEM + "\n".join([*lines, heading, closing]))
    body = full_text_within(paper, full_text, max_input_tokens - fixed)
    if body:
        lines += [heading, body]
    lines.append(closing)
    return Prompt(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}], FULL_TEXT if body else ABSTRACT
    )


def correction(error: InvalidNotes) -> dict[str, str]:
    return {
        "role": "user",
        "content": (
            f"That answer cannot be used: {error}. Answer again with only the JSON object "
            '{"known": ..., "answer": ..., "quote": ...}, the quote copied word for word from the paper\'s text, '
            'or {"known": false, "answer": "", "quote": ""} if the text does not say.'
        ),
    }


def paper_text(paper: Paper, full_text: FullText | None) -> str:
    """Everything a quote may come from: the title, the abstract and the full text."""
    parts = [normalize_text(paper.title), normalize_text(paper.abstract)]
    if full_text is not None:
        parts.append(full_text.plain())
    return "\n".join(part for part in parts if part)


def parse_ask_answer(content: str | None, source: str) -> ParsedAnswer:
    """The answer and the paper's own passage; raises InvalidAnswer saying what is wrong."""
    data = json_object(content)
    known = data.get("known")
    if known is False or (isinstance(known, str) and known.strip().lower() == "false"):
        return ParsedAnswer(False)
    answer, quote = data.get("answer"), data.get("quote")
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidAnswer('"answer" must be a non-empty string (or "known": false when the text does not say)')
    if not isinstance(quote, str) or not quote.strip():
        raise InvalidAnswer('"quote" must be the passage of the paper the answer rests on')
    answer = " ".join(answer.split())
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidAnswer(f'"answer" is too long ({len(answer)} characters; at most {MAX_ANSWER_CHARS})')
    passage = find_passage(quote, source)
    if passage is None:
        raise InvalidAnswer("the quote is not in the paper's text; copy a passage word for word")
    return ParsedAnswer(True, answer, passage)


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def find_passage(quote: str, source: str) -> str | None:
    """The paper's own words for `quote`: the quote itself when the text has it (case, spacing and
    elisions aside), else the sentence holding most of its words; None when no sentence holds enough."""
    quote = " ".join(quote.split()).strip("\"'“”‘’ ")
    if not quote:
        return None
    flat = " " + " ".join(_words(source)) + " "
    pieces = [" " + " ".join(_words(piece)) + " " for piece in _ELLIPSIS.split(quote) if _words(piece)]
    if pieces and all(piece in flat for piece in pieces):
        return quote[:MAX_QUOTE_CHARS]
    wanted = set(_words(quote))
    if not wanted:
        return None
    best, best_share = None, 0.0
    for paragraph in source.split("\n"):
        for sentence in split_sentences(paragraph):
            share = len(wanted & set(_words(sentence))) / len(wanted)
            if share > best_share:
                best, best_share = sentence, share
    return best[:MAX_QUOTE_CHARS] if best is not None and best_share >= MIN_WORD_OVERLAP else None
