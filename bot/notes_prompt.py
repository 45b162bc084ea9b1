"""The contract with the language model that writes notes: what we ask, and what we accept.

Paper-list notes have five sections (headline, motivation, method, results,
takeaways); a model asked for them as JSON answers in many shapes, and some
of them are wrong in ways a reader would notice: a missing section, an empty
one, an essay where a one-line headline belongs, English where Chinese was
asked for. `parse_notes_answer` turns an answer into the five sections or
raises `InvalidNotes` with a message precise enough to send back to the
model as a correction (`correction_message`).

When the paper's full text is stored (`bot.fulltext`), the prompt carries it,
cut section by section to `[notes] max_input_tokens` (`bot.fulltext.sections`),
and the notes record it (`basis = "full_text"`); else the abstract alone
(`basis = "abstract"`). A `[notes] prompt_file` template replaces our user
prompt; the system prompt with the answer's contract stays, so the checks
below apply to every answer. `check_template` is run when the config loads.

Everything here is a pure function of its arguments, so the rules are tested
without a server.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Final

from bot.fulltext.document import FullText
from bot.fulltext.sections import estimate_tokens, fit_sections
from bot.models import NOTE_FIELDS, Paper
from bot.summarize import normalize_text
from bot.text import CJK_CHAR, IDEOGRAPH

LANGUAGE_NAMES: Final = {"zh": "Simplified Chinese", "en": "English"}

# Bounds in Latin-letter equivalents (`weighted_length`): a CJK character carries about
# as much as two Latin letters, so "在多个基准上优于基线。" (11 characters) is a
# 22-letter results section, not a 15-letter-too-short one. The 957 Chinese notes
# of the 39 real survey lists have headlines of 25-73 and sections of 44-1,444;
# these bounds leave room on both sides and reject only what is plainly not a
# note (a word, or a pasted abstract).
CJK_CHAR_WEIGHT: Final = 2
HEADLINE_CHARS: Final = (6, 200)
SECTION_CHARS: Final = (15, 2000)
ABSTRACT_CHARS: Final = 6000  # what goes into the prompt; abstracts are far shorter

# Language checks over letters only (digits, punctuation and spaces do not count).
# Chinese notes on ML papers are full of English terms (VLM, DPO, model names):
# the sample notes have 72-97% CJK letters overall, and a headline as low as 45%.
ZH_MIN_SHARE_OVERALL: Final = 0.35
ZH_MIN_SHARE_SECTION: Final = 0.2
EN_MAX_SHARE_OVERALL: Final = 0.05
EN_MAX_SHARE_SECTION: Final = 0.1

_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Reasoning models served by llama.cpp or vLLM often put their thinking in the answer itself.
_THINKING = re.compile(r"<think>.*?</think>", re.S | re.I)
_CODE_FENCE = re.compile(r"^\s*```[A-Za-z]*\s*\n?(.*?)\n?\s*```\s*$", re.S)

SECTION_GUIDE: Final = {
    "headline": "one line: the paper's contribution in a phrase a colleague would remember",
    "motivation": "the problem and why existing approaches fall short (2-4 sentences)",
    "method": "what the paper does and how (2-5 sentences)",
    "results": "what the experiments show, with numbers only if the abstract gives them (1-3 sentences)",
    "takeaways": "what a researcher should remember (1-3 short points)",
}


TEMPLATE_FIELDS: Final = ("title", "abstract", "full_text", "language")
FULL_TEXT = "full_text"
ABSTRACT = "abstract"
NO_FULL_TEXT: Final = "(The full text is not available; use the abstract.)"


class InvalidNotes(ValueError):
    """The model's answer is not usable notes; the message says what to fix."""


@dataclass(frozen=True)
class Prompt:
    """The chat messages, and what the paper's part of them was read from (`full_text` or `abstract`)."""

    messages: list[dict[str, str]]
    basis: str


def check_template(template: str) -> None:
    """Raise ValueError saying what is wrong with a `[notes] prompt_file` template."""
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
    try:
        fields = [
            (name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template) if name is not None
        ]
    except ValueError as error:
        raise ValueError(f"{error}; write {{{{ and }}}} for a literal brace") from None
    for name, spec, conversion in fields:
        if name not in TEMPLATE_FIELDS:
            shown = "{" + name + "}" if name else "{}"
            raise ValueError(
                f"unknown placeholder {shown}; the placeholders are {allowed} (write {{{{ and }}}} for a literal brace)"
            )
        if spec or conversion:
            raise ValueError(f"placeholder {{{name}}} takes no format or conversion; write it as {{{name}}}")
    used = {name for name, _, _ in fields}
    if not used & {"abstract", "full_text"}:
        raise ValueError("the template uses neither {abstract} nor {full_text}, so the model would not see the paper")


def system_prompt(lang: str, basis: str) -> str:
    language = LANGUAGE_NAMES[lang]
    sections = "\n".join(f'- "{name}": {SECTION_GUIDE[name]}' for name in NOTE_FIELDS)
    source = "the paper's text below" if basis == FULL_TEXT else "the title and abstract"
    return (
        "You write reading notes on research papers for a research group. "
        "Answer with one JSON object and nothing else: no code fence, no commentary. "
        f"The object has exactly these five string fields, each written in {language}:\n{sections}\n"
        f"Use only what {source} says; do not invent numbers, datasets or claims. "
        "Keep technical terms, method and model names as the paper writes them."
    )


def paper_lines(paper: Paper) -> list[str]:
    """Title, authors, categories, abstract and comment: the paper's lines of every prompt."""
    abstract = normalize_text(paper.abstract)[:ABSTRACT_CHARS] or "(no abstract available)"
    lines = [f"Title: {normalize_text(paper.title)}"]
    if paper.authors:
        lines.append(f"Authors: {', '.join(paper.authors[:10])}{' et al.' if len(paper.authors) > 10 else ''}")
    if paper.categories:
        lines.append(f"arXiv categories: {', '.join(paper.categories)}")
    lines.append(f"Abstract: {abstract}")
    if paper.comment:
        lines.append(f"Comment: {normalize_text(paper.comment)[:300]}")
    return lines


def full_text_within(paper: Paper, full_text: FullText | None, budget: int) -> str:
    """The paper's sections cut to `budget` tokens (without its abstract, which the prompt has); "" when none fit."""
    if full_text is None or budget <= 0:
        return ""
    return fit_sections(full_text.sections, budget, skip_abstract=bool(paper.abstract.strip())).text


def build_prompt(
    paper: Paper, lang: str, full_text: FullText | None = None, *, max_input_tokens: int = 12000, template: str | None = None
) -> Prompt:
    """The chat messages asking for notes on `paper` in `lang` ("zh" or "en"), from its full text when given."""
    language = LANGUAGE_NAMES[lang]
    if template is not None:
        fields = {
            "title": normalize_text(paper.title),
            "abstract": normalize_text(paper.abstract)[:ABSTRACT_CHARS],
            "language": language,
        }
        fixed = estimate_tokens(system_prompt(lang, FULL_TEXT) + template.format(**fields, full_text=""))
        body = full_text_within(paper, full_text, max_input_tokens - fixed)
        basis = FULL_TEXT if body else ABSTRACT
        user = template.format(**fields, full_text=body or NO_FULL_TEXT)
        return Prompt([{"role": "system", "content": system_prompt(lang, basis)}, {"role": "user", "content": user}], basis)
    lines = paper_lines(paper)
    closing = f"Write the notes in {language} as the JSON object described."
    heading = "Full text (sections in order; long ones are cut, marked …):"
    fixed = estimate_tokens(system_prompt(lang, FULL_TEXT) + "\n".join([*lines, heading, closing]))
    body = full_text_within(paper, full_text, max_input_tokens - fixed)
    if body:
        lines += [heading, body]
    lines.append(closing)
    basis = FULL_TEXT if body else ABSTRACT
    return Prompt(
        [{"role": "system", "content": system_prompt(lang, basis)}, {"role": "user", "content": "\n".join(lines)}], basis
    )


def build_messages(paper: Paper, lang: str) -> list[dict[str, str]]:
    """The chat messages asking for notes on `paper` from its abstract alone."""
    return build_prompt(paper, lang).messages


def correction_message(error: InvalidNotes, lang: str) -> dict[str, str]:
    """The follow-up user message after an unusable answer: what was wrong, and the rules again."""
    return {
        "role": "user",
        "content": (
            f"That answer cannot be used: {error}. Answer again with only the JSON object: "
            f"the five string fields {', '.join(NOTE_FIELDS)}, each non-empty and written in "
            f"{LANGUAGE_NAMES[lang]}."
        ),
    }


def parse_notes_answer(content: str | None, lang: str) -> dict[str, str]:
    """The five sections from a model's answer, cleaned; raises InvalidNotes saying what is wrong.

    Accepted leniently: a JSON object wrapped in a code fence or in a sentence,
    after a reasoning model's `<think>...</think>`,
    a section given as a list of strings (joined one per line), extra keys
    (ignored). Everything else about the rules is strict.
    """
    data = json_object(content)
    missing = [name for name in NOTE_FIELDS if name not in data]
    if missing:
        raise InvalidNotes(f"missing section{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
    sections = {name: _section_text(name, data[name]) for name in NOTE_FIELDS}
    for name, text in sections.items():
        low, high = HEADLINE_CHARS if name == "headline" else SECTION_CHARS
        if not text:
            raise InvalidNotes(f"section {name!r} is empty")
        length = weighted_length(text)
        if length < low:
            raise InvalidNotes(f"section {name!r} is too short ({_describe_length(text, length)}; at least {low})")
        if length > high:
            raise InvalidNotes(f"section {name!r} is too long ({_describe_length(text, length)}; at most {high})")
    check_language(sections, lang)
    return sections


def weighted_length(text: str) -> int:
    """The length of `text` in Latin-letter equivalents: each CJK character counts `CJK_CHAR_WEIGHT` times."""
    if text.isascii():
        return len(text)
    return len(text) + (CJK_CHAR_WEIGHT - 1) * len(CJK_CHAR.findall(text))


def _describe_length(text: str, length: int) -> str:
    if length == len(text):
        return f"{length} characters"
    return f"{len(text)} characters, {length} counting a CJK character as {CJK_CHAR_WEIGHT}"


def cjk_share(text: str) -> float | None:
    """CJK letters among all CJK and Latin letters of `text`; None when it has neither."""
    cjk = len(IDEOGRAPH.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    return cjk / (cjk + latin) if cjk + latin else None


def check_language(sections: dict[str, str], lang: str) -> None:
    """Raise InvalidNotes unless the sections are written in `lang` ("zh" or "en")."""
    overall = cjk_share(" ".join(sections.values())) or 0.0
    if lang == "zh":
        if overall < ZH_MIN_SHARE_OVERALL:
            raise InvalidNotes(f"the notes are not in Chinese (only {overall:.0%} of the letters are Chinese)")
        for name, text in sections.items():
            share = cjk_share(text)
            if share is not None and share < ZH_MIN_SHARE_SECTION:
                raise InvalidNotes(f"section {name!r} is not in Chinese (only {share:.0%} of its letters are Chinese)")
    elif lang == "en":
        if overall > EN_MAX_SHARE_OVERALL:
            raise InvalidNotes(f"the notes are not in English ({overall:.0%} of the letters are Chinese or Japanese)")
        for name, text in sections.items():
            share = cjk_share(text)
            if share is None:
                raise InvalidNotes(f"section {name!r} has no words")
            if share > EN_MAX_SHARE_SECTION:
                raise InvalidNotes(f"section {name!r} is not in English ({share:.0%} of its letters are Chinese or Japanese)")
    else:
        raise ValueError(f"notes language must be 'zh' or 'en', not {lang!r}")


def json_object(content: str | None) -> dict:
    """The JSON object in a model's answer (fenced, after <think>, or inside a sentence); InvalidNotes if none."""
    if content is None or not content.strip():
        raise InvalidNotes("the answer is empty")
    text = _THINKING.sub("", content).strip()
    fenced = _CODE_FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # A sentence around the object ("Here are the notes: {...}"): take the outermost braces.
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise InvalidNotes("the answer is not JSON (no JSON object found)") from None
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError as error:
            raise InvalidNotes(
                f"the answer is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
            ) from None
    if not isinstance(data, dict):
        raise InvalidNotes(f"the answer is JSON but not an object (it is {type(data).__name__})")
    return data


def _section_text(name: str, value: object) -> str:
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        value = "\n".join(item.strip() for item in value if item.strip())
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidNotes(f"section {name!r} must be a string, not {type(value).__name__}")
    if name == "headline":
        return " ".join(value.split())  # one line, whatever the model did with it
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    return "\n".join(line for line in lines if line)
