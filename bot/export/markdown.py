"""Papers as a paper-list markdown file: the format `bot.ingest.paperlist` imports, written back.

Why this exists: a group's reading has to leave paperbot in the form it came
in, so the survey tool's users can keep working with it. The file is the
generator's layout (`# Paper List of Terms(...)`, one `- [yy/mm] **Title**`
item with its `[[Paper]] [[Code/Page]] [[TLDR/Notes]]` links per paper, then
`# TLDR/Notes` with each paper's abstract and its five notes sections under
headings in the notes' language), plus paperbot's marks: HTML comments the
importer reads and a renderer hides (an item's text quality, its notes'
quality, language, author and origin when the format cannot say them, and an
end-of-list line). So importing an exported list gives back every paper (to
the month: the format has no day), its notes and its quality marks.

One set of notes per paper fits the format: the notes `/paper show` would
show (the configured language first, human before machine). The JSON export
carries the rest. Papers come newest first, and the same papers always give
the same bytes.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.ingest.paperlist import NOTE_EMOJI, SOURCE, topic_slug
from bot.models import NOTE_FIELDS, Notes, Paper, TextQuality, Topic
from bot.presenter import shown_notes
from bot.text import IDEOGRAPH, protect_entities

NOTES_HEADING = "# TLDR/Notes"
# The survey tool's headings (Chinese), and the English ones of the project's example list.
_HEADINGS = {
    "zh": {"headline": "论文解读", "motivation": "背景痛点/本文动机", "method": "核心方法（介绍本文的几个创新点）",
           "results": "实验结果", "takeaways": "可借鉴之处"},
    "en": {"headline": "Paper notes", "motivation": "Motivation", "method": "Method (the main ideas)",
           "results": "Results", "takeaways": "Takeaways"},
}  # fmt: skip
_EMOJI = {field: emoji for emoji, field in NOTE_EMOJI.items()}
_ANCHOR_JUNK = re.compile(r"[^\w]|_")


def heading_terms(topic: Topic | None) -> str | None:
    """What goes in `# Paper List of Terms(...)`: the title when it names the topic back, else the name."""
    if topic is None:
        return None
    title = topic.title.strip()
    return title if title and ")" not in title and topic_slug(title) == topic.name else topic.name


def write_markdown(papers: list[Paper], topic: Topic | None = None, lang: str = "en") -> str:
    """The paper list for `papers`, in the order given (see the module docstring)."""
    terms = heading_terms(topic)
    lines = [f"# Paper List of Terms({terms})" if terms else "# Paper List"]
    sections: list[str] = []
    anchors: set[str] = set()
    for paper in papers:
        notes = shown_notes(paper, lang)
        anchor = _anchor(paper, anchors) if paper.abstract or notes else ""
        month = f"[{paper.published[2:4]}/{paper.published[5:7]}] " if len(paper.published) >= 7 else ""
        lines.append(f"- {month}**{protect_entities(paper.title)}**  ")
        code = paper.code_url or ""
        lines.append(
            f"[[Paper](http://arxiv.org/pdf/{paper.arxiv_id}v{paper.version})] [[Code/Page]({code})] "
            f"[[TLDR/Notes]({'#' + anchor if anchor else ''})]"
        )
        mark = _item_mark(paper, notes)
        if mark:
            lines.append(mark)
        lines.append("")
        if anchor:
            sections += _section(anchor, paper, notes)
    end = f"<!-- paperbot: end of list, {len(papers)} paper{'s' if len(papers) != 1 else ''} -->"
    lines += ["", "", NOTES_HEADING, *sections, end, ""]
    return "\n".join(lines)


def _anchor(paper: Paper, taken: set[str]) -> str:
    """The generator's anchor (each character that is not a letter or digit a `-`), unique in the file."""
    anchor = _ANCHOR_JUNK.sub("-", paper.title.lower()).strip("-") or _ANCHOR_JUNK.sub("-", paper.arxiv_id)
    if anchor in taken:
        anchor = f"{anchor}-{_ANCHOR_JUNK.sub('-', paper.arxiv_id)}"
    taken.add(anchor)
    return anchor


def _item_mark(paper: Paper, notes: Notes | None) -> str:
    marks: list[tuple[str, str]] = []
    if paper.text_quality is not TextQuality.CLEAN:
        marks.append(("quality", paper.text_quality.value))
    if notes is not None:
        if notes.text_quality is not TextQuality.CLEAN:
            marks.append(("notes-quality", notes.text_quality.value))
        if notes.lang != _detected_lang(notes):
            marks.append(("notes-lang", notes.lang))
        if notes.source != SOURCE:
            marks.append(("notes-source", notes.source))
        if notes.origin:  # where they came from, not the exported file: importing it back changes nothing
            marks.append(("notes-origin", notes.origin))
    if not marks:
        return ""
    return "<!-- paperbot: " + " ".join(f"{key}={quote(value, safe='')}" for key, value in marks) + " -->"


def _detected_lang(notes: Notes) -> str:
    """The language the importer would read the notes as (it looks for Chinese characters)."""
    text = " ".join(value for value in notes.as_dict().values() if value)
    return "zh" if IDEOGRAPH.search(text) else "en"


def _section(anchor: str, paper: Paper, notes: Notes | None) -> list[str]:
    lines = [f"## {anchor}", "### Abstract", protect_entities(paper.abstract)]
    if notes is None:
        return lines
    headings = _HEADINGS["zh" if notes.lang == "zh" else "en"]
    for field in NOTE_FIELDS:
        value = getattr(notes, field)
        heading = f"### {_EMOJI[field]} {headings[field]}"
        if field == "headline":
            # The headline lives in its heading, after a bar; without one, the emoji alone says "none".
            lines.append(f"{heading} | {' '.join(value.split())}" if value else f"### {_EMOJI[field]}")
        else:
            lines.append(heading)
            lines += [line.rstrip() for line in value.strip("\n").split("\n")] if value else []
    return lines
