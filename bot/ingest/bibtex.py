"""BibTeX files (Zotero, Google Scholar, arXiv's "Export citation") -> papers, one transaction per file.

People keep their reading in a reference manager and export it as BibTeX.
`parse_bibtex` reads a file's bytes with bibtexparser (2.x) into entries,
refusing a malformed file with its name and the line of the broken entry; it
is pure, so nothing is written before the whole file has been read.
`import_bibtex` then decides each entry's paper and writes them all with one
`upsert_papers` call, the store's one transaction.

Per entry:
- arXiv id: `eprint` (when `archivePrefix` is arXiv or absent), an arxiv.org
  `url`, a `10.48550/arXiv.…` `doi`, or `arXiv:…` in `note`, `journal` or
  `howpublished` (Google Scholar writes `journal={arXiv preprint
  arXiv:2505.20665}`); the highest version any of them names.
- title and abstract: LaTeX decoded (`bot.ingest.latex`), mojibake repaired
  (`bot.textfix`), normalised like every importer's (`bot.text.normalize`);
- authors in order, `Last, First` and `First von Last` alike (bibtexparser's
  name splitting), shown `First von Last Jr`; `and others` is dropped;
- `published`: the month a new-style id encodes (its first version's, which
  `published` means; an entry's date is of the version it saved), else `year`
  and `month` (`may`, `5`, `May`) as `YYYY-MM`, else the year;
- a DOI that is not arXiv's own is the paper's `doi`; an `@article`'s journal
  (other than "arXiv preprint") is its `journal_ref`; `primaryClass` its category.

Entries with an id import from their own fields, and are refreshed from the
arXiv API (`id_list`) when a lookup is given and arXiv answers; entries
without one are looked up by title (`bot.ingest.title_match`), one polite
request each, and reported as unmatched when no title is close enough.
Offline (no lookup, `--offline`, or arXiv unreachable) everything with an id
still imports, and the report says what was not asked.

Skipped, with the reason in the report: an entry with neither an id nor a
title, a second entry with the same key, an entry naming a field twice. Two
entries of the same paper are imported once (a warning names both keys).

Topic: `--topic NAME`, else the file's name (`refs.bib` -> `refs`); a topic
the store does not know yet is registered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import bibtexparser
from bibtexparser import model as bib
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names

from bot.arxiv_ids import ArxivId, id_month, parse_arxiv_id
from bot.errors import IngestError, RemoteError
from bot.ingest.files import read_import_file
from bot.ingest.latex import decode_latex
from bot.ingest.paperlist import topic_slug
from bot.ingest.title_match import best_match
from bot.models import Paper, TextQuality, Topic, UpsertReport
from bot.paper_limits import MAX_VERSION, limit_paper
from bot.ports import ArxivLookup, PaperStore
from bot.progress import track
from bot.summarize import find_code_url
from bot.textfix import NotTextError, decode_text, repair_text, worst

log = logging.getLogger(__name__)

BIB_SUFFIXES = (".bib", ".bibtex")
_SNIFF_BYTES = 4096
_ENTRY_START = re.compile(rb"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)
_ARXIV_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/)?10\.48550/arxiv\.(?P<id>.+)$", re.I)
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\s+preprint)?\s*:?\s*(?:abs/)?(?P<id>[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?|\d{4}\.\d{4,5}(?:v\d+)?)", re.I
)
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/(?P<id>[^\s}?#]+?)(?:\.pdf)?(?=[\s}?#]|$)", re.I)
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/", re.I)
_JOURNAL_IS_ARXIV = re.compile(r"^\s*(?:arxiv|corr)\b", re.I)
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}  # fmt: skip
_ID_FIELDS = ("note", "journal", "howpublished", "booktitle", "annote")


class BibtexError(IngestError):
    """A BibTeX file that cannot be imported; nothing was written."""


@dataclass(frozen=True)
class BibEntry:
    """What one entry says about its paper, decoded; `paper()` makes it the paper to store."""

    key: str
    line: int
    kind: str
    arxiv_id: str | None
    version: int
    title: str
    authors: tuple[str, ...] = ()
    published: str = ""
    abstract: str = ""
    doi: str | None = None
    journal_ref: str | None = None
    categories: tuple[str, ...] = ()
    text_quality: TextQuality = TextQuality.CLEAN

    def paper(self, topic: str, arxiv_id: str | None = None) -> Paper:
        chosen = arxiv_id or self.arxiv_id or ""
        return Paper(
            arxiv_id=chosen,
            version=self.version if chosen == self.arxiv_id else 1,
            title=self.title,
            abstract=self.abstract,
            authors=self.authors,
            published=id_month(chosen) or self.published,
            categories=self.categories,
            doi=self.doi,
            journal_ref=self.journal_ref,
            code_url=find_code_url(self.abstract),
            text_quality=self.text_quality,
            topics=(topic,),
        )


@dataclass(frozen=True)
class ParsedBibtex:
    entries: list[BibEntry]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BibtexImport:
    """What importing one BibTeX file did, for the CLI's summary."""

    filename: str
    topic: Topic
    topic_from_file: bool
    entries: int
    papers: int = 0
    stored: UpsertReport = UpsertReport()
    refreshed: int = 0  # papers whose metadata came from the arXiv API
    found_by_title: tuple[tuple[str, str], ...] = ()  # (key, arXiv id)
    unmatched: tuple[str, ...] = ()  # keys of entries without an id that no arXiv title matched (or were not looked up)
    skipped: tuple[tuple[str, str], ...] = ()  # (key, reason)
    offline: str | None = None  # why arXiv was not (fully) asked
    warnings: tuple[str, ...] = ()

    def summary_lines(self) -> list[str]:
        head = (
            f"{self.filename}: {self.entries} entries on topic {self.topic.name}: {self.papers} imported "
            f"({self.stored.counts()}), "
            f"{len(self.unmatched)} unmatched, {len(self.skipped)} skipped"
        )
        lines = [head]
        if self.refreshed:
            lines.append(f"  {self.refreshed} refreshed from the arXiv API")
        if self.offline:
            lines.append(f"  not asked arXiv: {self.offline}; entries with an arXiv id were imported from their own fields")
        for key, arxiv_id in self.found_by_title:
            lines.append(f"  found by title: {key} -> {arxiv_id}")
        if self.unmatched:
            why = "titles not looked up" if self.offline else "no close title on arXiv"
            lines.append(f"  unmatched (no arXiv id; {why}): {', '.join(self.unmatched)}")
        for key, reason in self.skipped:
            lines.append(f"  skipped {key}: {reason}")
        return lines

    @property
    def topic_note(self) -> str | None:
        if not self.topic_from_file:
            return None
        return f"topic {self.topic.name} is named after the file; pass --topic NAME to choose another"


def looks_like_bibtex(path: Path) -> bool:
    """A `.bib` file, or one whose first entry-like line is `@type{` (a BibTeX export saved as .txt)."""
    if path.name.lower().endswith(BIB_SUFFIXES):
        return True
    if path.name.lower().endswith(".md") or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    first = next((line for line in head.splitlines() if line.strip() and not line.lstrip().startswith(b"%")), b"")
    return bool(_ENTRY_START.match(first))


# --- the importer -----------------------------------------------------------------------------


async def import_bibtex(
    store: PaperStore,
    path: Path,
    topic: str | None = None,
    arxiv: ArxivLookup | None = None,
    *,
    offline: str | None = None,
) -> BibtexImport:
    """Import one BibTeX file (see the module docstring). `arxiv` None or `offline` (the reason): from the
    file alone. Raises `BibtexError` for a file that cannot be read or parsed; the store is untouched then."""
    name = str(path)
    parsed = parse_bibtex(read_import_file(path, "BibTeX file", BibtexError), name)
    resolved = _topic(topic, path)
    lookup = arxiv if offline is None else None
    if arxiv is None and offline is None:
        offline = "no arXiv lookup here"
    with_ids = [entry for entry in parsed.entries if entry.arxiv_id]
    without = [entry for entry in parsed.entries if not entry.arxiv_id]
    warnings = list(parsed.warnings)

    fresh: dict[str, Paper] = {}
    if lookup is not None and with_ids:
        try:
            found = await lookup.papers_by_id([entry.arxiv_id for entry in with_ids if entry.arxiv_id], resolved.name)
        except RemoteError as error:
            offline, lookup = f"arXiv could not be asked ({error.message})", None
        else:
            fresh = {paper.arxiv_id: paper for paper in found.papers}
            by_id = {entry.arxiv_id: entry.key for entry in with_ids}
            warnings += [f"{name}: {by_id[i]}: arXiv does not know {i}; imported from the entry" for i in found.unknown]
            warnings += [f"{name}: {by_id[i]}: {why}; imported from the entry" for i, why in found.refused]

    matched: list[tuple[BibEntry, Paper]] = []
    unmatched: list[str] = []
    skipped = list(parsed.skipped)
    if lookup is not None and without:
        offline = await _find_by_title(lookup, without, resolved.name, matched, unmatched)
    elif without:
        unmatched = [entry.key for entry in without]

    papers: dict[str, Paper] = {}
    owners: dict[str, str] = {}
    for entry in with_ids:
        assert entry.arxiv_id is not None
        if not entry.title and entry.arxiv_id not in fresh:
            skipped.append((entry.key, f"no title, and arXiv was not asked for {entry.arxiv_id}"))
            continue
        _add(papers, owners, entry.key, fresh.get(entry.arxiv_id) or entry.paper(resolved.name), warnings, name)
    for entry, paper in matched:
        _add(papers, owners, entry.key, paper, warnings, name)

    written = [_limited(paper, owners[paper.arxiv_id], warnings, name) for paper in papers.values()]
    report = None
    if written:
        known_topics = set(await store.topic_names())
        report = await store.upsert_papers(written)
        if resolved.name not in known_topics:
            await store.upsert_topics([resolved])
    return BibtexImport(
        filename=name,
        topic=resolved,
        topic_from_file=topic is None,
        entries=len(parsed.entries) + len(parsed.skipped),
        papers=len(written),
        stored=report or UpsertReport(),
        refreshed=sum(1 for paper in written if paper.arxiv_id in fresh) + len(matched),
        found_by_title=tuple((entry.key, paper.arxiv_id) for entry, paper in matched),
        unmatched=tuple(unmatched),
        skipped=tuple(skipped),
        offline=offline,
        warnings=tuple(warnings),
    )


async def _find_by_title(
    lookup: ArxivLookup, entries: list[BibEntry], topic: str, matched: list[tuple[BibEntry, Paper]], unmatched: list[str]
) -> str | None:
    """Look each entry up by title (one request each, spaced by the lookup); the reason if arXiv stopped answering."""
    with track("title lookups", total=len(entries), unit="entries", log=log) as progress:
        for index, entry in enumerate(entries):
            try:
                candidates = await lookup.search_title(entry.title)
            except RemoteError as error:
                unmatched += [e.key for e in entries[index:]]
                return f"arXiv stopped answering title lookups ({error.message})"
            paper, score = best_match(entry.title, candidates)
            if paper is None:
                log.info("%s: no arXiv title close enough to %r (best %.2f)", entry.key, entry.title, score)
                unmatched.append(entry.key)
            else:
                matched.append((entry, replace(paper, topics=(topic,))))
            progress.advance()
    return None


def _add(papers: dict[str, Paper], owners: dict[str, str], key: str, paper: Paper, warnings: list[str], name: str) -> None:
    if paper.arxiv_id in papers:
        warnings.append(f"{name}: {key} is the same paper as {owners[paper.arxiv_id]} ({paper.arxiv_id}): imported once")
        return
    papers[paper.arxiv_id] = paper
    owners[paper.arxiv_id] = key


def _limited(paper: Paper, key: str, warnings: list[str], name: str) -> Paper:
    limited, changes = limit_paper(paper)
    warnings += [f"{name}: {key}: {change}" for change in changes]
    return limited


def _topic(topic: str | None, path: Path) -> Topic:
    if topic is not None:
        name = topic_slug(topic)
        if not name:
            raise BibtexError(str(path), f"topic {topic!r} has no letters or digits to name it by")
        return Topic(name=name, title=topic.strip())
    name = topic_slug(path.stem)
    if not name:
        raise BibtexError(str(path), "the file name gives no topic name", hint="Pass --topic NAME.")
    return Topic(name=name, title=path.stem)


# --- the parser -------------------------------------------------------------------------------


def parse_bibtex(data: bytes, filename: str) -> ParsedBibtex:
    """A BibTeX file's bytes as decoded entries; `BibtexError` naming the file and line for a malformed one."""
    try:
        text = decode_text(data)
    except NotTextError as error:
        raise BibtexError(filename, error.reason, error.line) from None
    library = _parse(text)
    skipped: list[tuple[str, str]] = []
    for block in library.failed_blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, bib.DuplicateBlockKeyBlock):
            skipped.append((block.key, f"a second entry with this key (line {line}): the first one is used"))
        elif isinstance(block, bib.DuplicateFieldKeyBlock):
            key = getattr(block.ignore_error_block, "key", "?")
            skipped.append((key, f"names a field twice: {', '.join(sorted(block.duplicate_keys))} (line {line})"))
        else:
            raise BibtexError(filename, f"malformed BibTeX: {_first_line(block)}", line, _why(block))
    if not library.entries and not skipped:
        raise BibtexError(filename, "has no BibTeX entries (@article{...}, @misc{...})", hint="Is it the right file?")
    entries: list[BibEntry] = []
    warnings: list[str] = []
    for raw in library.entries:
        entry, problem = _entry(raw)
        if entry is None:
            skipped.append((raw.key, problem))
        else:
            entries.append(entry)
            if problem:
                warnings.append(f"{filename}:{entry.line}: {entry.key}: {problem}")
    return ParsedBibtex(entries, skipped, warnings)


def _parse(text: str) -> bibtexparser.Library:
    # bibtexparser logs each failed block as a warning with the raw text; the error we raise says it once.
    parser_log = logging.getLogger("bibtexparser")
    level = parser_log.level
    parser_log.setLevel(logging.ERROR)
    try:
        return bibtexparser.parse_string(text)
    finally:
        parser_log.setLevel(level)


def _first_line(block: bib.Block) -> str:
    first = (block.raw or "").strip().split("\n", 1)[0]
    return repr(first if len(first) <= 60 else first[:59] + "…")


def _why(block: bib.Block) -> str | None:
    error = getattr(block, "error", None)
    text = " ".join(str(error).split()) if error is not None else ""
    return f"{text[:200]}." if text else "Check its braces, quotes and commas."


def _entry(raw: bib.Entry) -> tuple[BibEntry | None, str]:
    """The entry decoded, and a warning; (None, the reason) for one that cannot be a paper."""
    fields = {f.key.lower(): f.value for f in raw.fields if isinstance(f.value, str)}
    found = _arxiv_id(fields)
    title, quality = _text(fields.get("title", ""))
    if found is None and not title:
        return None, "no arXiv id and no title"
    abstract, abstract_quality = _text(fields.get("abstract", ""))
    authors, authors_quality = _authors(fields.get("author", ""))
    version = found.version or 1 if found else 1
    problem = ""
    if version > MAX_VERSION:
        problem, version = f"version {version} is not an arXiv version; using 1", 1
    doi = _doi(fields.get("doi", ""))
    journal = decode_latex(fields.get("journal", ""))
    return BibEntry(
        key=raw.key,
        line=(raw.start_line or 0) + 1,
        kind=raw.entry_type.lower(),
        arxiv_id=found.arxiv_id if found else None,
        version=version,
        title=title,
        authors=authors,
        published=_published(fields.get("year", ""), fields.get("month", "")),
        abstract=abstract,
        doi=doi,
        journal_ref=journal if raw.entry_type.lower() == "article" and journal and not _JOURNAL_IS_ARXIV.match(journal) else None,
        categories=tuple(c for c in [decode_latex(fields.get("primaryclass", ""))] if c),
        text_quality=worst((quality, abstract_quality, authors_quality)),
    ), problem


def _arxiv_id(fields: dict[str, str]) -> ArxivId | None:
    """The entry's arXiv id from any field that names one, with the highest version any of them gives."""
    candidates: list[ArxivId] = []
    prefix = fields.get("archiveprefix", fields.get("eprinttype", "arxiv")).strip("{} ").lower()
    if prefix == "arxiv" and fields.get("eprint"):
        candidates.append(parse_arxiv_id(fields["eprint"].strip("{} ")))  # type: ignore[arg-type]
    for url in re.split(r"\s+", fields.get("url", "")):
        found = _ARXIV_URL.search(url)
        if found:
            candidates.append(parse_arxiv_id(found.group("id")))  # type: ignore[arg-type]
    doi = _ARXIV_DOI.match(fields.get("doi", "").strip())
    if doi:
        candidates.append(parse_arxiv_id(doi.group("id")))  # type: ignore[arg-type]
    for name in _ID_FIELDS:
        for mention in _ARXIV_MENTION.finditer(fields.get(name, "")):
            candidates.append(parse_arxiv_id(mention.group("id")))  # type: ignore[arg-type]
    ids = [candidate for candidate in candidates if candidate is not None]
    if not ids:
        return None
    first = ids[0].arxiv_id
    versions = [c.version for c in ids if c.arxiv_id == first and c.version]
    return ArxivId(first, max(versions) if versions else None)


def _text(raw: str) -> tuple[str, TextQuality]:
    if not raw:
        return "", TextQuality.CLEAN
    decoded = decode_latex(raw)
    if decoded.isascii():
        return decoded, TextQuality.CLEAN
    return repair_text(decoded)


def _authors(raw: str) -> tuple[tuple[str, ...], TextQuality]:
    names: list[str] = []
    qualities = [TextQuality.CLEAN]
    for person in split_multiple_persons_names(raw) if raw.strip() else []:
        if person.strip().lower() == "others":
            continue
        try:
            parts = parse_single_name_into_parts(person)
            shown = " ".join([*parts.first, *parts.von, *parts.last, *parts.jr])
        except InvalidNameError:
            shown = person
        name, quality = _text(shown)
        if name:
            names.append(name)
            qualities.append(quality)
    return tuple(names), worst(qualities)


def _published(year: str, month: str) -> str:
    year = year.strip("{} ")
    if not re.fullmatch(r"\d{4}", year):
        return ""
    month = month.strip("{} ").lower()
    number = _MONTHS.get(month[:3]) if not month.isdigit() else int(month)
    return f"{year}-{number:02d}" if number and 1 <= number <= 12 else year


def _doi(raw: str) -> str | None:
    doi = _DOI_URL.sub("", raw.strip("{} "))
    return doi if doi and not _ARXIV_DOI.match(doi) else None
