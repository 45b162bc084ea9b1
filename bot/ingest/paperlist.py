"""Paper-list markdown files -> papers with notes, imported as one transaction per file.

Research groups keep their reading as markdown lists (see "The paper-list
markdown format" in DESIGN.md):

    # Paper List of Terms(reward model+vlm)
    - [25/05] **DriveRX: A Vision-Language Reasoning Model for ...**
    [[Paper](http://arxiv.org/pdf/2505.20665v1)] [[Code/Page]()] [[TLDR/Notes](#driverx--...)]
    # TLDR/Notes
    ## driverx--...
    ### Abstract
    ...
    ### 🌟 论文解读 | DriveRX：...
    ### 📌 / 🚀 / 📈 / 💬 ...

`parse_paperlist` turns a file's bytes into a topic and papers and refuses,
with the file name and line, anything that is not such a list or is cut
short; it is pure, so the importer parses the whole file before it touches
the store. `import_paperlist` then writes the papers with a single
`upsert_papers` call, the store's one transaction.

Mojibake (UTF-8 read as cp1252 and saved again) is repaired line by line
before parsing (`bot.textfix`); each paper and each set of notes carries the
quality of its own lines, so one damaged paper does not taint the others and
the store can keep a clean copy over a worse one. A title and an abstract are
then normalised as every importer's are (`bot.text.normalize`: entities, NFC,
one line), so a paper stores the same text whether a list, the snapshot or
the arXiv API brought it; notes keep their lines and characters as written.

Topic names: the heading's terms (or `--topic`) made into a slug: NFKC,
lowercase, every run of characters that are not letters or digits becomes one
`-`, no `-` at either end (`reward model+vlm` -> `reward-model-vlm`). The
generator's other headings have no terms: `# Paper List from BIB File: x.bib`
takes the BIB file's name, unless that is a temporary one (`tmpxv1owcwg.bib`),
and then, like a bare `# Paper List`, the list's own file name; the import
report says where the name came from (`topic_source`).

A list with no items but its `# TLDR/Notes` part is what the generator writes
when the survey found nothing: it imports as 0 papers and changes nothing. A
heading alone is a cut file and is refused.

paperbot's own marks (`paperbot export --format md`, `bot.export.markdown`) are
HTML comments, so the list renders as the generator's would: a line under an
item keeps what the list format cannot say, the text quality of the paper and
of its notes, who wrote the notes and where they came from (`<!-- paperbot:
quality=repaired notes-quality=damaged notes-source=llm notes-origin=gpt-4o-mini -->`), and
the last line says the list is complete (`<!-- paperbot: end of list, 12
papers -->`), so a last paper with fewer notes sections than the others is not
taken for a cut file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from urllib.parse import unquote

from bot.arxiv_ids import id_month, parse_arxiv_id
from bot.errors import IngestError
from bot.ingest.files import read_import_file
from bot.models import Notes, Paper, TextQuality, Topic, UpsertReport
from bot.paper_limits import MAX_VERSION, limit_paper
from bot.ports import PaperStore
from bot.summarize import _strip_trailing as strip_url_punctuation
from bot.text import IDEOGRAPH, normalize
from bot.textfix import NotTextError, decode_text, repair_lines, worst

SOURCE = "paperlist"
MAX_WARNINGS = 50

_TERMS_HEADING = re.compile(r"^#\s*Paper\s+List\s+of\s+Terms\s*\((?P<terms>.*)\)\s*$", re.I)
# The generator's other headings: a list made from a BibTeX file, and one with no terms at all.
_BIB_HEADING = re.compile(r"^#\s*Paper\s+List\s+from\s+BIB\s+File\s*:\s*(?P<bib>.*?)\s*$", re.I)
_BARE_HEADING = re.compile(r"^#\s*Paper\s+List\s*$", re.I)
# Python's tempfile names (`tmpxv1owcwg.bib`): the generator copies an upload there, so the
# name says nothing about the list and the list's own file name is the better topic.
_TEMP_NAME = re.compile(r"^tmp[a-z0-9_]{8}$")
_NOTES_HEADING = re.compile(r"^#\s*TLDR", re.I)
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(?P<rest>.*)$")
_MONTH = re.compile(r"^\[(?P<yy>\d{2})/(?P<mm>\d{1,2})\]\s*")
# The URL runs to the first `)]`, so balanced parentheses (`#strategic-(de)construction`) and a
# stray `.)`/`,)` the generator copied from the PDF after a URL stay inside it, to be trimmed
# like any URL found in prose (`bot.summarize`).
_LINK = re.compile(r"\[\[(?P<label>[^\[\]]*)\]\((?P<url>[^\s\[\]]*?)\)\]")

# Notes sections are known by their leading emoji, whatever language the heading is in.
NOTE_EMOJI = {
    "🌟": "headline",
    "📌": "motivation",
    "🚀": "method",
    "📈": "results",
    "💬": "takeaways",
}
_ABSTRACT = "abstract"
_LINK_WORDS = {"paper": {"paper", "pdf", "arxiv"}, "code": {"code", "page", "project"}, "tldr": {"tldr", "notes"}}
_PART_ORDER = (_ABSTRACT, *NOTE_EMOJI.values())
_LINK_LABELS = {"paper": "[[Paper]]", "code": "[[Code/Page]]", "tldr": "[[TLDR/Notes]]"}
_VARIATION_SELECTOR = "\ufe0f"
_MARK = re.compile(r"^\s*<!--\s*paperbot:\s*(?P<body>.*?)\s*-->\s*$")
_END_MARK = re.compile(r"^end of list, (?P<count>\d+) papers?$")
_MARK_QUALITIES = {quality.value: quality for quality in TextQuality}


# Where a list's topic name came from, as the import message says it.
TOPIC_FROM_TERMS = "the heading's terms"
TOPIC_FROM_OPTION = "--topic"
TOPIC_FROM_BIB = "the BIB file name in the heading"
TOPIC_FROM_FILE = "the list's file name (its heading names no terms)"


class PaperListError(IngestError):
    """A paper-list file that cannot be imported; nothing was written."""


@dataclass(frozen=True)
class ParsedPaperList:
    """Everything one paper-list file says, ready for `PaperStore.upsert_papers`."""

    topic: Topic
    papers: list[Paper]
    warnings: list[str] = field(default_factory=list)
    topic_source: str = TOPIC_FROM_TERMS


@dataclass(frozen=True)
class PaperListImport:
    """What importing one file did: the store's counts plus what the file held."""

    filename: str
    topic: Topic
    papers: int
    stored: UpsertReport
    repaired: int = 0
    damaged: int = 0
    warnings: tuple[str, ...] = ()
    topic_source: str = TOPIC_FROM_TERMS

    @property
    def summary(self) -> str:
        if not self.papers:
            return f"{self.filename}: 0 papers: the list is empty, nothing imported"
        text = (
            f"{self.filename}: {self.papers} papers on {self.topic.name}: "
            f"{self.stored.counts()}"
        )
        if self.repaired or self.damaged:
            text += f" ({self.repaired} repaired from mojibake, {self.damaged} damaged)"
        return text

    @property
    def topic_note(self) -> str | None:
        """Where the topic name came from, when the user may not expect it; else None."""
        if self.topic_source in (TOPIC_FROM_TERMS, TOPIC_FROM_OPTION):
            return None
        return f"topic {self.topic.name} is named after {self.topic_source}; pass --topic NAME to choose another"


def topic_slug(text: str) -> str:
    """The topic name users type for `text`: see the module docstring for the rule."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+|_+", "-", folded).strip("-")


# --- the importer -------------------------------------------------------------------------


async def import_paperlist(
    store: PaperStore, path: Path, topic: str | None = None
) -> PaperListImport:
    """Import one paper-list file: parse it all, then write it in one store transaction.

    Raises `IngestError` (naming the file, and the line where it helps) for a
    file that cannot be read or parsed; the store is not touched then.
    """
    name = str(path)
    data = _read_bytes(path)
    parsed = parse_paperlist(data, name, topic)
    report = UpsertReport()
    # An empty list (the survey found nothing) is not an error, and leaves the store as it was.
    if parsed.papers:
        known_topics = {stats.topic.name for stats in await store.topics()}
        report = await store.upsert_papers(parsed.papers)
        # Only a topic the store does not know yet is registered: re-registering a
        # configured one would replace its arXiv query with the list's nothing.
        if parsed.topic.name not in known_topics:
            await store.upsert_topics([parsed.topic])
    return PaperListImport(
        filename=name,
        topic=parsed.topic,
        papers=len(parsed.papers),
        stored=report,
        repaired=sum(p.text_quality is TextQuality.REPAIRED for p in parsed.papers),
        damaged=sum(p.text_quality is TextQuality.DAMAGED for p in parsed.papers),
        warnings=tuple(parsed.warnings),
        topic_source=parsed.topic_source,
    )


def _read_bytes(path: Path) -> bytes:
    return read_import_file(path, "paper-list file", PaperListError)


# --- the parser ---------------------------------------------------------------------------


@dataclass
class _Line:
    number: int  # 1-based, as editors show it
    text: str
    quality: TextQuality


@dataclass
class _Item:
    """One `- [yy/mm] **Title**` entry with its link line(s)."""

    lines: list[_Line]
    month: tuple[int, int] | None
    marks: dict[str, str] = field(default_factory=dict)  # from a `<!-- paperbot: key=value ... -->` line

    @property
    def number(self) -> int:
        return self.lines[0].number


@dataclass
class _Part:
    """One `### ...` block of a notes section: its heading and body lines."""

    heading: _Line
    heading_text: str
    body: list[_Line] = field(default_factory=list)


@dataclass
class _Section:
    """One `## anchor` block: the abstract and notes of one paper."""

    anchor: str
    heading: _Line
    parts: dict[str, _Part] = field(default_factory=dict)


@dataclass
class _Document:
    terms: str | None = None
    terms_line: int | None = None
    list_heading: bool = False  # `# Paper List` in any of its forms
    bib_name: str | None = None  # the BibTeX file a `# Paper List from BIB File: x.bib` names
    notes_heading: bool = False
    end_count: int | None = None  # the papers a `<!-- paperbot: end of list, N papers -->` line counts
    items: list[_Item] = field(default_factory=list)
    sections: dict[str, _Section] = field(default_factory=dict)
    section_order: list[str] = field(default_factory=list)


class _Parser:
    """Reads one file's lines into items and sections; collects warnings on the way."""

    def __init__(self, lines: list[_Line], filename: str) -> None:
        self.lines = lines
        self.filename = filename
        self.warnings: list[str] = []
        self.doc = _Document()

    def error(self, message: str, line: int | None = None, hint: str | None = None) -> PaperListError:
        return PaperListError(self.filename, message, line, hint)

    def warn(self, message: str, line: int | None = None) -> None:
        where = f"{self.filename}:{line}" if line is not None else self.filename
        self.warnings.append(f"{where}: {message}")

    # The file is two parts: the list (heading and items), then the notes
    # (`# TLDR/Notes` and one `## anchor` section per paper). Without a
    # `# TLDR/Notes` heading, the notes start at the first `##`.
    def parse(self) -> _Document:
        has_notes_heading = any(_NOTES_HEADING.match(line.text) for line in self.lines)
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            heading = _HEADING.match(line.text)
            level = len(heading.group("hashes")) if heading else 0
            if level == 1:
                terms = _TERMS_HEADING.match(line.text)
                bib = _BIB_HEADING.match(line.text)
                if terms and self.doc.terms is None and not self.doc.list_heading:
                    self.doc.terms = terms.group("terms").strip()
                    self.doc.terms_line = line.number
                    self.doc.list_heading = True
                elif (bib or _BARE_HEADING.match(line.text)) and not self.doc.list_heading:
                    self.doc.bib_name = bib.group("bib") if bib else None
                    self.doc.list_heading = True
                elif _NOTES_HEADING.match(line.text):
                    self.doc.notes_heading = True
                    return self._parse_notes(index + 1)
                else:
                    self.warn(f"ignored heading {_quoted(line.text.strip())}", line.number)
                index += 1
            elif level == 2 and not has_notes_heading:
                return self._parse_notes(index)
            elif level:
                index += 1  # a heading grouping the items (`## 2025`)
            elif _BULLET.match(line.text):
                index = self._parse_item(index)
            elif _MARK.match(line.text):
                self._read_mark(line)
                index += 1
            else:
                if line.text.strip():
                    self.warn("ignored a line that is not part of a list item", line.number)
                index += 1
        return self.doc

    def _parse_item(self, start: int) -> int:
        """Read the item at `start` and its continuation lines; return the next index."""
        first = self.lines[start]
        rest = _BULLET.match(first.text).group("rest")  # type: ignore[union-attr]
        month_match = _MONTH.match(rest)
        end = start + 1
        while end < len(self.lines) and not _ends_item(self.lines[end].text):
            end += 1
        lines = [first, *self.lines[start + 1 : end]]
        marks: dict[str, str] = {}
        for line in [line for line in lines[1:] if _MARK.match(line.text)]:
            marks.update(self._read_mark(line, item=True))
            lines.remove(line)
        if month_match is None and "[[paper](" not in _joined(lines).lower():
            self.warn("ignored a list line that is not a `- [yy/mm] **Title**` item", first.number)
            return end
        month = None
        if month_match:
            month = (int(month_match.group("yy")), int(month_match.group("mm")))
        self.doc.items.append(_Item(lines=lines, month=month, marks=marks))
        return end

    def _read_mark(self, line: _Line, *, item: bool = False) -> dict[str, str]:
        """An item's `key=value` marks (values percent-encoded), or the end-of-list count."""
        body = _MARK.match(line.text).group("body")  # type: ignore[union-attr]
        end = _END_MARK.match(body)
        if end is not None and not item:
            self.doc.end_count = int(end.group("count"))
            return {}
        pairs = [word.partition("=") for word in body.split()]
        if not item or not pairs or not all(key and sep for key, sep, _ in pairs):
            self.warn(f"ignored a paperbot mark it does not know: {_quoted(body)}", line.number)
            return {}
        return {key: unquote(value) for key, _, value in pairs}

    def _parse_notes(self, start: int) -> _Document:
        section: _Section | None = None
        part: _Part | None = None
        for line in self.lines[start:]:
            if _MARK.match(line.text):
                self._read_mark(line)
                continue
            heading = _HEADING.match(line.text)
            level = len(heading.group("hashes")) if heading else 0
            if level == 2:
                anchor = heading.group("text")  # type: ignore[union-attr]
                part = None
                if anchor in self.doc.sections:
                    self.warn(f"a second '## {_clip(anchor)}' section: the first one is used", line.number)
                    section = None
                    continue
                section = _Section(anchor=anchor, heading=line)
                self.doc.sections[anchor] = section
                self.doc.section_order.append(anchor)
            elif level == 3 and section is not None:
                part = self._start_part(section, line, heading.group("text"))  # type: ignore[union-attr]
            elif level in (1, 2, 3):
                part = None
                self.warn(f"ignored heading {_quoted(line.text.strip())} outside a paper's notes", line.number)
            elif part is not None:
                part.body.append(line)
            elif line.text.strip() and section is not None:
                self.warn(f"ignored text before the first '###' of '## {_clip(section.anchor)}'", line.number)
        return self.doc

    def _start_part(self, section: _Section, line: _Line, text: str) -> _Part:
        """The part this heading starts; an ignored one still collects (and hides) its lines."""
        part = _Part(heading=line, heading_text=text)
        key = _part_key(text)
        if key is None:
            self.warn(f"ignored notes heading {_quoted(text)}: not Abstract and no known emoji", line.number)
        elif key in section.parts:
            self.warn(f"a second {_quoted(text)} in '## {_clip(section.anchor)}': the first one is used", line.number)
        else:
            section.parts[key] = part
        return part


def _clip(text: str, limit: int = 100) -> str:
    """Text short enough for a message: a cut-off file can hold a line of any length."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(text: str) -> str:
    return repr(_clip(text))


def _ends_item(text: str) -> bool:
    return not text.strip() or bool(_BULLET.match(text)) or bool(_HEADING.match(text))


def _joined(lines: list[_Line]) -> str:
    return " ".join(line.text.strip() for line in lines)


def _part_key(heading_text: str) -> str | None:
    """`abstract`, a notes field name (from the leading emoji), or None."""
    text = heading_text.strip()
    if text.lower() == _ABSTRACT:
        return _ABSTRACT
    for emoji, name in NOTE_EMOJI.items():
        if text.startswith(emoji):
            return name
    return None


def _strip_emoji(heading_text: str) -> str:
    return heading_text.strip()[1:].lstrip(_VARIATION_SELECTOR).strip()


def parse_paperlist(data: bytes, filename: str, topic: str | None = None) -> ParsedPaperList:
    """Parse a paper-list file's bytes into its topic, papers and warnings.

    `topic` overrides the topic name taken from the heading (the heading text
    stays the title). Raises `PaperListError` naming `filename` (and the line
    where it helps) for binary or undecodable data, a file that is not in the
    paper-list format, an item without an arXiv paper link, a TLDR/Notes link
    with no matching section, and a file cut short.
    """
    lines, warnings = _decode_lines(data, filename)
    parser = _Parser(lines, filename)
    parser.warnings.extend(warnings)
    doc = parser.parse()
    resolved_topic, topic_source = _resolve_topic(doc, parser, topic)
    _check_not_cut_short(doc, parser)
    papers = _dedupe([_paper(item, doc, parser, resolved_topic) for item in doc.items], parser)
    _warn_unused_sections(doc, parser)
    return ParsedPaperList(
        topic=resolved_topic,
        papers=papers,
        warnings=_capped(parser.warnings, filename),
        topic_source=topic_source,
    )


def _capped(warnings: list[str], filename: str) -> list[str]:
    # A long file full of stray lines would otherwise bury the one warning that matters.
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    return [*warnings[:MAX_WARNINGS], f"{filename}: ... and {len(warnings) - MAX_WARNINGS} more warnings"]


def _decode_lines(data: bytes, filename: str) -> tuple[list[_Line], list[str]]:
    try:
        text = decode_text(data)
    except NotTextError as err:
        raise PaperListError(filename, err.reason, err.line) from None
    repaired = repair_lines(text.split("\n"))
    lines = [_Line(number, fixed, quality) for number, (fixed, quality) in enumerate(repaired, start=1)]
    warnings = []
    repaired_count = sum(line.quality is TextQuality.REPAIRED for line in lines)
    damaged = [line.number for line in lines if line.quality is TextQuality.DAMAGED]
    if repaired_count:
        warnings.append(f"{filename}: repaired mojibake on {repaired_count} lines")
    if damaged:
        warnings.append(
            f"{filename}: {len(damaged)} lines are still damaged after repair "
            f"(first: line {damaged[0]}); their papers are marked damaged"
        )
    return lines, warnings


def _resolve_topic(doc: _Document, parser: _Parser, override: str | None) -> tuple[Topic, str]:
    """The list's topic and where its name came from (see `TOPIC_FROM_*`)."""
    if not doc.list_heading and not doc.items:
        raise parser.error(
            "is not a paper list: no '# Paper List of Terms(...)' heading "
            "and no '- [yy/mm] **Title**' items"
        )
    if not doc.items and not doc.notes_heading:
        # A list the survey found nothing for still ends with `# TLDR/Notes`; without it, the file was cut.
        raise parser.error(
            "has no '- [yy/mm] **Title**' items and no '# TLDR/Notes' part: it looks truncated, nothing to import"
        )
    if override is not None:
        name = topic_slug(override)
        if not name:
            raise parser.error(f"topic {_quoted(override)} has no letters or digits to name it by")
        return Topic(name=name, title=doc.terms or override.strip()), TOPIC_FROM_OPTION
    if doc.terms is not None:
        name = topic_slug(doc.terms)
        if not name:
            raise parser.error(
                f"the heading's terms {_quoted(doc.terms)} give no topic name",
                doc.terms_line,
                hint="Pass --topic NAME.",
            )
        return Topic(name=name, title=doc.terms), TOPIC_FROM_TERMS
    if not doc.list_heading:
        raise parser.error(
            "has no '# Paper List of Terms(...)' heading to take the topic from",
            hint="Pass --topic NAME.",
        )
    bib_stem = PurePath(doc.bib_name).stem if doc.bib_name else ""
    if bib_stem and not _TEMP_NAME.match(bib_stem) and topic_slug(bib_stem):
        return Topic(name=topic_slug(bib_stem), title=bib_stem), TOPIC_FROM_BIB
    file_stem = PurePath(parser.filename).stem
    if not topic_slug(file_stem):
        raise parser.error(
            "names no terms, and its file name gives no topic name", hint="Pass --topic NAME."
        )
    return Topic(name=topic_slug(file_stem), title=file_stem), TOPIC_FROM_FILE


def _check_not_cut_short(doc: _Document, parser: _Parser) -> None:
    """Refuse a file that ends where a complete list could not end.

    A list ends with its last paper's notes (or, without notes, its last
    item's links). If that last piece lacks what every other one of its kind
    has (its `### Abstract`, a 📈 section, the TLDR/Notes link, ...), the file
    was cut. A cut inside the very last line cannot be told from a file saved
    without a final line break: that is only a warning.
    """
    last = _last_non_blank(parser.lines)
    if last is None:
        return
    if doc.end_count is not None:
        if doc.end_count == len(doc.items):
            return  # paperbot wrote it whole and says so
        parser.warn(f"the end-of-list mark counts {doc.end_count} papers, the list has {len(doc.items)}", last.number)
    if _is_empty_heading(last.text):
        raise parser.error(
            f"the file ends right after the heading {_quoted(last.text.strip())}: it is truncated", last.number
        )
    ends_mid_line = bool(parser.lines[-1].text)
    if doc.section_order:
        final = doc.sections[doc.section_order[-1]]
        others = [set(doc.sections[anchor].parts) for anchor in doc.section_order[:-1]]
        expected = set.intersection(*others) if others else {_ABSTRACT}
        missing = [key for key in _PART_ORDER if key in expected - set(final.parts)]
        if missing:
            raise parser.error(
                f"the notes for '## {_clip(final.anchor)}' stop before their {', '.join(missing)} "
                "section (every other paper has one): the file is truncated",
                last.number,
            )
    elif doc.items and doc.items[-1].lines[-1] is last and ends_mid_line:
        final_links = set(_item_links(doc.items[-1])[0])
        others = [set(_item_links(item)[0]) for item in doc.items[:-1]]
        expected = set.intersection(*others) if others else {"paper", "code", "tldr"}
        missing = [kind for kind in _LINK_LABELS if kind in expected - final_links]
        if missing:
            raise parser.error(
                f"the last item stops before its {', '.join(_LINK_LABELS[k] for k in missing)} "
                "link: the file is truncated",
                last.number,
            )
    if ends_mid_line:
        parser.warn("the file does not end with a line break; check its last paper is complete", last.number)


def _is_empty_heading(text: str) -> bool:
    """A `##` or `###` heading that needs lines under it (a 🌟 heading can carry its own text)."""
    heading = _HEADING.match(text)
    if not heading or len(heading.group("hashes")) < 2:
        return False
    if len(heading.group("hashes")) == 3 and _part_key(heading.group("text")) == "headline":
        return not _strip_emoji(heading.group("text"))
    return True


def _last_non_blank(lines: list[_Line]) -> _Line | None:
    for line in reversed(lines):
        if line.text.strip():
            return line
    return None


def _paper(item: _Item, doc: _Document, parser: _Parser, topic: Topic) -> Paper:
    """One list item (and its notes section) as a Paper."""
    text = _joined(item.lines)
    # An incomplete item that is also the end of the file is most likely a cut-off file.
    is_last = _last_non_blank(parser.lines) is item.lines[-1]
    truncated_hint = "The file ends here: it looks truncated." if is_last else None
    links, unknown_labels = _item_links(item)
    for label in unknown_labels:
        parser.warn(f"ignored link [[{label}]]: not Paper, Code/Page or TLDR/Notes", item.number)
    title_part, bracket, after_title = text.partition("[[")
    leftover = _LINK.sub("", bracket + after_title)
    if "[[" in leftover or "](" in leftover:
        raise parser.error("a link in this item is not closed", item.lines[-1].number, truncated_hint)
    if leftover.strip():
        parser.warn(f"ignored text among the item's links: {_quoted(leftover.strip())}", item.number)
    title = _title(title_part, item, parser, truncated_hint)
    paper_url = links.get("paper")
    try:
        parsed_id = parse_arxiv_id(strip_url_punctuation(paper_url)) if paper_url else None
    except ValueError:  # a version of thousands of digits: more than int() reads
        parsed_id = None
    if parsed_id is None:
        found = f" (found {_quoted(paper_url)})" if paper_url else ""
        raise parser.error(
            f"item {_quoted(title)} has no [[Paper](arxiv.org/pdf/...)] link with an arXiv id{found}",
            item.number,
            None if links else truncated_hint,
        )
    if (parsed_id.version or 1) > MAX_VERSION:
        raise parser.error(
            f"item {_quoted(title)}: version {_clip(str(parsed_id.version), 20)} in its [[Paper]] link "
            f"is not an arXiv version (at most {MAX_VERSION:,})",
            item.number,
        )
    section = _section_for(links.get("tldr"), item, doc, parser)
    notes, notes_lines = _notes(section, parser, item) if section else (None, [])
    abstract_lines = section.parts[_ABSTRACT].body if section and _ABSTRACT in section.parts else []
    quality = worst([*(line.quality for line in [*item.lines, *abstract_lines, *notes_lines]), _marked(item, "quality", parser)])
    paper = Paper(
        arxiv_id=parsed_id.arxiv_id,
        version=parsed_id.version or 1,
        title=title,
        abstract=_paragraph(abstract_lines),
        published=_published(item, parsed_id.arxiv_id, parser),
        code_url=_code_url(links.get("code"), item, parser),
        text_quality=quality,
        topics=(topic.name,),
        notes=(notes,) if notes else (),
    )
    paper, changes = limit_paper(paper)
    for change in changes:
        parser.warn(change, item.number)
    return paper


def _item_links(item: _Item) -> tuple[dict[str, str], list[str]]:
    """The item's links by kind (the first of each kind), and the labels of unknown ones."""
    links: dict[str, str] = {}
    unknown = []
    for match in _LINK.finditer(_joined(item.lines)):
        kind = _link_kind(match.group("label"))
        if kind is None:
            unknown.append(match.group("label"))
        else:
            links.setdefault(kind, match.group("url").strip())
    return links, unknown


def _link_kind(label: str) -> str | None:
    """`paper`, `code` or `tldr` for the labels lists use (`Code/Page`, `TLDR/Notes`, ...)."""
    words = set(re.split(r"[^a-z]+", label.lower())) - {""}
    for kind, names in _LINK_WORDS.items():
        if words & names:
            return kind
    return None


def _title(title_part: str, item: _Item, parser: _Parser, truncated_hint: str | None) -> str:
    raw = _MONTH.sub("", _BULLET.match(title_part).group("rest").strip())  # type: ignore[union-attr]
    if raw.count("**") % 2:
        raise parser.error("the item's **title** is not closed", item.number, truncated_hint)
    title = normalize(raw.replace("**", ""))
    if not title:
        raise parser.error("the item has no title", item.number, truncated_hint)
    return title


def _section_for(link: str | None, item: _Item, doc: _Document, parser: _Parser) -> _Section | None:
    if not link:
        return None
    anchor = link.removeprefix("#").strip()
    if not link.startswith("#") or not anchor:
        parser.warn(f"TLDR/Notes link {_quoted(link)} is not a '#anchor' in this file: no notes", item.number)
        return None
    section = doc.sections.get(anchor)
    if section is not None:
        return section
    # The list was cut before this paper's notes if no section exists after the last one found.
    referenced = _referenced_anchors(doc)
    found_after = any(a in doc.sections for a in referenced[referenced.index(anchor) + 1 :])
    hint = None if found_after else "The notes part stops before it: the file looks truncated."
    raise parser.error(
        f"the TLDR/Notes link '#{_clip(anchor)}' has no '## {_clip(anchor)}' section", item.number, hint
    )


def _referenced_anchors(doc: _Document) -> list[str]:
    anchors = []
    for item in doc.items:
        link = _item_links(item)[0].get("tldr", "")
        if link.startswith("#"):
            anchors.append(link[1:].strip())
    return anchors


def _marked(item: _Item, key: str, parser: _Parser) -> TextQuality:
    """The text quality an item's mark gives (`quality=repaired`); clean when it gives none."""
    value = item.marks.get(key)
    if value is None:
        return TextQuality.CLEAN
    if value not in _MARK_QUALITIES:
        parser.warn(f"ignored {key}={value!r}: not clean, repaired or damaged", item.number)
        return TextQuality.CLEAN
    return _MARK_QUALITIES[value]


def _notes(section: _Section, parser: _Parser, item: _Item) -> tuple[Notes | None, list[_Line]]:
    fields: dict[str, str | None] = {}
    lines: list[_Line] = []
    for key, part in section.parts.items():
        if key == _ABSTRACT:
            continue
        lines.extend([part.heading, *part.body])
        body = _markdown_body(part.body)
        fields[key] = _headline(part.heading_text, body) if key == "headline" else body
    if not any(fields.values()):
        return None, []
    text = " ".join(value for value in fields.values() if value)
    source = item.marks.get("notes-source", SOURCE)
    notes = Notes(
        lang=item.marks.get("notes-lang") or ("zh" if IDEOGRAPH.search(text) else "en"),
        source=source,
        origin=item.marks.get("notes-origin") or ("" if source != SOURCE else PurePath(parser.filename).name),
        text_quality=worst([*(line.quality for line in lines), _marked(item, "notes-quality", parser)]),
        **fields,
    )
    return notes, lines


def _headline(heading_text: str, body: str | None) -> str | None:
    """`### 🌟 论文解读 | DenseDPO：...` -> `DenseDPO：...`.

    The text after the heading's `|`; without one, the heading's own text;
    with an empty heading, the first line under it.
    """
    text = _strip_emoji(heading_text)
    _, bar, after_bar = text.partition("|")
    if bar and after_bar.strip():
        return after_bar.strip()
    if text:
        return text
    return body.split("\n", 1)[0].strip() if body else None


def _markdown_body(lines: list[_Line]) -> str | None:
    # Trailing double spaces are markdown line breaks; the line break itself is kept.
    text = "\n".join(line.text.rstrip() for line in lines).strip("\n")
    return text.strip() or None


def _paragraph(lines: list[_Line]) -> str:
    """An abstract hard-wrapped at ~80 columns, as one paragraph (`bot.text.normalize`)."""
    return normalize("\n".join(line.text for line in lines))


def _published(item: _Item, arxiv_id: str, parser: _Parser) -> str:
    """`[25/06]` -> `2025-06`; else the month a new-style arXiv id encodes; else ``."""
    if item.month is not None:
        yy, mm = item.month
        if 1 <= mm <= 12:
            # arXiv opened in 1991, so two-digit years from 91 on are the 1990s.
            century = 1900 if yy >= 91 else 2000
            return f"{century + yy:04d}-{mm:02d}"
        parser.warn(f"month [{yy:02d}/{mm}] is not a month: using the arXiv id's", item.number)
    return id_month(arxiv_id)


def _code_url(raw: str | None, item: _Item, parser: _Parser) -> str | None:
    """`()` -> None; stray punctuation after the URL (`/).`, `),`) is dropped; only http(s) links are kept."""
    if not raw:
        return None
    url = strip_url_punctuation(raw)
    if not re.match(r"^https?://[^\s/]+", url, re.I):
        parser.warn(f"ignored code link {_quoted(raw)}: not an http(s) link", item.number)
        return None
    return url


def _dedupe(papers: list[Paper], parser: _Parser) -> list[Paper]:
    """One paper per arXiv id: the highest version listed (the first of equals)."""
    chosen: dict[str, Paper] = {}
    for paper in papers:
        previous = chosen.get(paper.arxiv_id)
        if previous is None:
            chosen[paper.arxiv_id] = paper
            continue
        parser.warn(f"{paper.arxiv_id} is listed twice: keeping v{max(previous.version, paper.version)}")
        if paper.version > previous.version:
            chosen[paper.arxiv_id] = paper
    return list(chosen.values())


def _warn_unused_sections(doc: _Document, parser: _Parser) -> None:
    referenced = set(_referenced_anchors(doc))
    for anchor in doc.section_order:
        if anchor not in referenced:
            line = doc.sections[anchor].heading.number
            parser.warn(f"no item links to '## {_clip(anchor)}': its notes are ignored", line)
