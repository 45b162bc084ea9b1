"""The arXiv metadata snapshot (JSON lines, one paper a line) -> the store, in bulk.

Why this module exists: the arXiv API is polite-rate-limited and only answers
topic queries, but `/paper search` should cover all of arXiv. The public
metadata snapshot (`arxiv-metadata-oai-snapshot.json`, ~2.5 million lines,
several GB) gives exactly that in one file, so it needs an importer that:

- streams: the file is read line by line (gzip recognised by its magic bytes
  or a `.gz` suffix) and written in batches of `BATCH_SIZE` papers, one store
  transaction each, so memory stays flat whatever the file size;
- never lets one bad line sink a multi-GB import: a malformed line (and any
  other failure on one line: a version too large to store, a lone `\ud800`
  escape that cannot be written as UTF-8, an error nobody foresaw) is skipped
  and counted by reason, with the first `SAMPLE_LINES` line numbers of each
  reason (not all of them: that list would grow with the file). Only a file
  that is not a snapshot at all (binary, unreadable, or its first
  `PROBE_LINES` lines all malformed) is refused, with `IngestError`, before
  anything is written;
- decides topic membership locally: a snapshot has no topics, so each paper
  is tested against every configured topic's arXiv query and categories
  (`bot.ingest.arxiv_query`), and lands in the topics the API would have put
  it in. Papers that match no topic are stored anyway: search covers them.

Mapping (snapshot field -> `Paper`):
`id` -> versionless `arxiv_id` (new style `0704.0001`, old style
`hep-th/9901001`, `math.GT/0309136`; a `v2` suffix is accepted); `version` is
the highest `vN` in `versions` (or in the id); `published` is v1's `created`
date as `YYYY-MM-DD` (without versions: the month the id encodes, `YYYY-MM`);
`updated` is the latest version's `created` as ISO 8601 UTC, else
`update_date`; `title`, `abstract`, `comments`, `journal-ref` have their hard
line wraps and indentation collapsed to single spaces; `authors` come from
`authors_parsed` (`[last, first, suffix]` -> "First Last Suffix") or else the
`authors` string split on commas and " and "; LaTeX accents in names become
Unicode (`Bal\\'azs` -> Balázs), as the arXiv API spells them; `categories`
split on whitespace; `code_url` is the best code link in the abstract or the
comments (`bot.summarize.find_code_url`, on the unwrapped text so a URL cut by
a line wrap is found whole); non-ASCII text is checked for mojibake
(`bot.textfix`) and the paper marked with its quality; finally the paper is
brought within `bot.paper_limits` (control characters removed, oversized
fields cut), and the report lists such papers by change and line.

Interruptions (Ctrl-C, a crash, a full disk): every batch is its own
transaction, so the store holds the batches committed before the interruption
and nothing of the one in flight. Re-running the same import is safe and
idempotent: papers already stored come back `unchanged`, so an interrupted
import is resumed simply by running it again.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import json
import os
import re
import time
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import AsyncGenerator, AsyncIterable, AsyncIterator, BinaryIO, Callable, Iterable, Iterator, Protocol, Sequence

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import IngestError
from bot.ingest.arxiv_query import PaperTokens, TopicMatcher, compile_topic
from bot.ingest.latex import latex_accents
from bot.ingest.snapshot_worker import WORKER_MIN_BYTES, worker_batches
from bot.models import Paper, TextQuality, Topic, UpsertReport
from bot.paper_limits import MAX_VERSION, limit_paper
from bot.progress import MB, Progress, track
from bot.summarize import find_code_url
from bot.text import normalize
from bot.textfix import repair_text, worst

BATCH_SIZE = 5_000
SAMPLE_LINES = 20  # line numbers kept per skip reason: enough to find them, bounded
PROBE_LINES = 100  # this many malformed lines and no paper: not a snapshot
_SNIFF_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
SNAPSHOT_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")

# Skip reasons, as the summary prints them.
NOT_JSON = "not JSON"
NOT_UTF8 = "not UTF-8"
NOT_OBJECT = "not a JSON object"
MISSING_ID = "missing id"
INVALID_ID = "invalid id"
MISSING_TITLE = "missing title"
INVALID_VERSION = "invalid version"
LONE_SURROGATE = "invalid Unicode (a lone surrogate escape)"
TRUNCATED = "truncated last line"
TRUNCATED_FILE = "file ends early (truncated compressed data)"


class SnapshotError(IngestError):
    """A file that is not an arXiv metadata snapshot (or cannot be read); nothing was written."""


class MalformedLine(ValueError):
    """One snapshot line that cannot become a paper; `reason` is a short, countable phrase."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the report -------------------------------------------------------------------------


@dataclass
class SkippedLines:
    """How many lines were skipped for one reason, and the first few line numbers (1-based)."""

    count: int = 0
    sample: list[int] = field(default_factory=list)

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE_LINES:
            self.sample.append(line)

    def describe(self) -> str:
        shown = ", ".join(str(n) for n in self.sample)
        more = f", ... ({self.count - len(self.sample):,} more)" if self.count > len(self.sample) else ""
        return f"line{'s' if self.count > 1 else ''} {shown}{more}"


@dataclass(frozen=True)
class SnapshotImport:
    """What importing one snapshot file did.

    `lines` counts every line read (blank ones included), `papers` the lines
    that became papers (`new + updated + unchanged`), `skipped` the malformed
    lines by reason, `cut` the papers kept but brought within
    `bot.paper_limits` (control characters removed, a field cut), by change.
    `topic_matches` is how many papers of the file belong to each topic
    (already stored memberships included; the store only adds the missing
    ones). `elapsed` is the wall time of the whole import in seconds.
    """

    filename: str
    lines: int
    papers: int
    stored: UpsertReport
    skipped: dict[str, SkippedLines]
    topic_matches: dict[str, int]
    elapsed: float
    blank_lines: int = 0
    cut: dict[str, SkippedLines] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(s.count for s in self.skipped.values())

    @property
    def rate(self) -> float:
        """Papers per second over the whole import."""
        return self.papers / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def summary(self) -> str:
        return (
            f"{self.filename}: {self.papers:,} papers from {self.lines:,} lines: "
            f"{self.stored.counts()}, {self.skipped_count:,} skipped "
            f"({self.elapsed:.1f} s, {self.rate:,.0f} papers/s)"
        )

    def details(self) -> list[str]:
        """One line per topic with matches and per skip reason, for under the summary."""
        lines = [f"topic {name}: {count:,} paper{'' if count == 1 else 's'}" for name, count in self.topic_matches.items()]
        for reason, skipped in sorted(self.skipped.items(), key=lambda item: -item[1].count):
            lines.append(f"skipped {skipped.count:,} ({reason}): {skipped.describe()}")
        for change, cut in sorted(self.cut.items(), key=lambda item: -item[1].count):
            lines.append(f"kept {cut.count:,} with {change}: {cut.describe()}")
        return lines


@dataclass
class SnapshotProgress:
    """Running counters of one import; `on_batch` callbacks see it after every batch."""

    lines: int = 0
    papers: int = 0
    blank_lines: int = 0
    bytes_read: int = 0
    skipped: dict[str, SkippedLines] = field(default_factory=dict)
    topic_matches: dict[str, int] = field(default_factory=dict)
    cut: dict[str, SkippedLines] = field(default_factory=dict)  # papers kept, but brought within limits

    def skip(self, reason: str, line: int) -> None:
        _count(self.skipped, reason, line)

    def note_cut(self, change: str, line: int) -> None:
        _count(self.cut, change, line)

    @property
    def skipped_count(self) -> int:
        return sum(s.count for s in self.skipped.values())


def _count(lines_by_reason: dict[str, SkippedLines], reason: str, line: int) -> None:
    entry = lines_by_reason.get(reason)
    if entry is None:
        entry = lines_by_reason[reason] = SkippedLines()
    entry.add(line)


# --- the importer -------------------------------------------------------------------------


class BulkPaperStore(Protocol):
    """The store's pipelined bulk path (`PaperStore.bulk_upsert`); see `PaperStore` for the rules."""

    async def bulk_upsert(
        self, batches: Iterable[Iterable[Paper]] | AsyncIterable[Iterable[Paper]]
    ) -> UpsertReport: ...


async def import_snapshot(
    store: object,
    path: Path | str,
    topics: Iterable[Topic] = (),
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    on_batch: Callable[[SnapshotProgress], None] | None = None,
    parse_in_worker: bool | None = None,
) -> SnapshotImport:
    """Import one snapshot file (`.jsonl` or gzipped) into `store`, batch by batch.

    `topics` are the configured topics; those with a query or categories
    decide membership (see `matching_topics`). `store` is a `PaperStore`;
    its `bulk_upsert` is used when it has one (it overlaps parsing a batch
    with indexing the previous one), else one `upsert_papers` per batch.
    Progress goes to `progress` (default: `bot.progress.track`, in MB of the file read: compressed
    bytes for gzip).
    Parsing runs in a worker process for files of `WORKER_MIN_BYTES` or more
    (`parse_in_worker` forces the choice): see `bot.ingest.snapshot_worker`.

    Raises `SnapshotError` (an `IngestError`) for a file that cannot be read
    or is not a snapshot; then nothing was written.
    """
    started = time.perf_counter()
    name = str(path)
    topics = list(topics)
    counters = SnapshotProgress()
    with open_snapshot(path) as source:
        size = source.size
        if parse_in_worker is None:
            parse_in_worker = (size or 0) >= WORKER_MIN_BYTES
        if parse_in_worker:
            batches = worker_batches(path, topics, batch_size, counters, read=read_batches, error=SnapshotError)
        else:
            batches = _batches(source, name, topics, batch_size, counters)
        with contextlib.ExitStack() as stack:
            if progress is None:
                progress = stack.enter_context(track(f"import {Path(name).name}", total=size, unit=MB))
            stack.enter_context(collector_skips_older_objects())
            reporting = _reporting(batches, counters, progress, on_batch)
            # Closed at once on an error or Ctrl-C, so a worker process never outlives its import.
            async with contextlib.aclosing(batches), contextlib.aclosing(reporting):
                report = await _write_batches(store, reporting)
    return SnapshotImport(
        filename=name,
        lines=counters.lines,
        papers=counters.papers,
        stored=report,
        skipped=counters.skipped,
        topic_matches=counters.topic_matches,
        elapsed=time.perf_counter() - started,
        blank_lines=counters.blank_lines,
        cut=counters.cut,
    )


@contextlib.contextmanager
def collector_skips_older_objects() -> Iterator[None]:
    """Python's garbage collector leaves alone, until the block ends, the objects that exist when it starts.

    An import keeps thousands of papers alive from batch to batch, so the collector runs a full
    pass every few batches, and each would walk everything else the process holds (its modules,
    a running bot's state), none of it the import's garbage: measured, it cut the full passes'
    time by three quarters (from ~3% of a 200,000-line import).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def _write_batches(store: object, batches: AsyncIterator[list[Paper]]) -> UpsertReport:
    bulk = getattr(store, "bulk_upsert", None)
    if bulk is not None:
        return await bulk(batches)
    report = UpsertReport()
    async for batch in batches:
        report += await store.upsert_papers(batch)  # type: ignore[attr-defined]
    return report


async def _batches(
    source: "SnapshotSource", name: str, topics: Sequence[Topic], batch_size: int, counters: SnapshotProgress
) -> AsyncGenerator[list[Paper], None]:
    # Async so the store's bulk path pulls batch k+1 (parsing it here, on this
    # core) while SQLite indexes batch k in its own thread.
    for batch in _read(source, name, topics, batch_size, counters):
        yield batch


def read_batches(path: str, topics: Sequence[Topic], batch_size: int, counters: SnapshotProgress) -> Iterator[list[Paper]]:
    """The file's papers in batches of `batch_size`; what `bot.ingest.snapshot_worker` runs in its process."""
    with open_snapshot(path) as source:
        yield from _read(source, path, topics, batch_size, counters)


def _read(
    source: "SnapshotSource", name: str, topics: Sequence[Topic], batch_size: int, counters: SnapshotProgress
) -> Iterator[list[Paper]]:
    batch: list[Paper] = []
    for paper in SnapshotReader(source, name, topics, counters):
        batch.append(paper)
        if len(batch) >= batch_size:
            counters.bytes_read = source.position()
            yield batch
            batch = []
    if batch:
        yield batch


async def _reporting(
    batches: AsyncIterator[list[Paper]],
    counters: SnapshotProgress,
    progress: Progress,
    on_batch: Callable[[SnapshotProgress], None] | None,
) -> AsyncGenerator[list[Paper], None]:
    """The batches as they come, telling the progress bar and `on_batch` after each."""
    reported = 0
    async for batch in batches:
        reported = _report(progress, on_batch, counters, reported)
        yield batch
    _report(progress, on_batch, counters, reported)


def _report(
    progress: Progress, on_batch: Callable[[SnapshotProgress], None] | None, counters: SnapshotProgress, reported: int
) -> int:
    position = counters.bytes_read
    progress.advance(position - reported)
    skipped = counters.skipped_count
    progress.note(f"{counters.papers:,} papers" + (f", {skipped:,} skipped" if skipped else ""))
    if on_batch is not None:
        on_batch(counters)
    return position


# --- reading the file ---------------------------------------------------------------------


class SnapshotSource:
    """An open snapshot file: its lines as bytes, and how far into the file on disk we are."""

    def __init__(self, name: str, raw: BinaryIO, stream: BinaryIO, size: int | None) -> None:
        self.name = name
        self.raw = raw
        self.stream = stream
        self.size = size

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for gzip)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.close()

    def __enter__(self) -> "SnapshotSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_snapshot(path: Path | str) -> SnapshotSource:
    """Open `path` for streaming, gunzipping when it is gzip (by magic bytes or `.gz`).

    Raises `SnapshotError` for a file that cannot be opened, a broken gzip
    stream, or binary content.
    """
    name = str(path)
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise SnapshotError(name, f"cannot read the file: {error.strerror or error}") from None
    try:
        size = os.fstat(raw.fileno()).st_size
        compressed = raw.peek(2)[:2] == _GZIP_MAGIC or name.endswith(".gz")
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
        head = _peek(stream, name)
    except BaseException:
        raw.close()
        raise
    source = SnapshotSource(name, raw, stream, size)
    if b"\x00" in head:
        source.close()
        raise SnapshotError(
            name, "is a binary file, not JSON lines", hint="Expected the arXiv metadata snapshot, one JSON object a line."
        )
    return source


def _peek(stream: BinaryIO, name: str) -> bytes:
    try:
        return stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
    except (OSError, EOFError, zlib.error) as error:
        raise SnapshotError(name, f"cannot be decompressed: {error}") from None


def looks_like_snapshot(path: Path | str) -> bool:
    """True for files the snapshot importer should take: by suffix, else by content.

    Content: gzip data, or text whose first non-blank character is `{`
    (markdown paper lists never start that way).
    """
    name = str(path).lower()
    if name.endswith(SNAPSHOT_SUFFIXES):
        return True
    if name.endswith((".md", ".markdown")):
        return False
    try:
        with open(path, "rb") as file:
            head = file.read(4096)
    except OSError:
        return False  # let the paper-list importer report it
    return head[:2] == _GZIP_MAGIC or head.lstrip()[:1] == b"{"


class SnapshotReader:
    """Iterates the papers of a snapshot, counting lines, skips and topic matches as it goes.

    The iterator holds one line at a time: nothing of the file is kept.
    """

    def __init__(
        self, source: SnapshotSource, name: str, topics: Iterable[Topic], counters: SnapshotProgress | None = None
    ) -> None:
        self.source = source
        self.name = name
        self.matchers = compile_topics(topics)
        self.counters = counters if counters is not None else SnapshotProgress()
        for matcher in self.matchers:
            self.counters.topic_matches.setdefault(matcher.name, 0)

    def __iter__(self) -> Iterator[Paper]:
        counters = self.counters
        matchers = self.matchers
        source = self.source
        number = 0
        good = 0
        try:
            for number, line in enumerate(source.stream, 1):
                try:
                    paper = paper_from_record(_decode_line(line, line.endswith(b"\n")), matchers)
                    if _SURROGATE_ESCAPE.search(line) and not _encodable(paper):
                        raise MalformedLine(LONE_SURROGATE)
                    paper, changes = limit_paper(paper)
                except Exception as error:  # noqa: BLE001 - one line must never sink the import
                    reason = _skip_reason(error)
                    if reason == _BLANK:
                        counters.blank_lines += 1
                    else:
                        counters.skip(reason, number)
                        if not good and counters.skipped_count >= PROBE_LINES:
                            raise self._not_a_snapshot(number) from None
                    continue
                for change in changes:
                    counters.note_cut(change, number)
                good += 1
                if paper.topics:
                    for topic in paper.topics:
                        counters.topic_matches[topic] += 1
                counters.papers = good
                counters.lines = number
                yield paper
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            # A cut-off download: keep what arrived, say where the file broke.
            counters.skip(TRUNCATED_FILE, number + 1)
            if not good:
                raise SnapshotError(self.name, f"cannot be decompressed: {error}", line=number + 1) from None
        except OSError as error:
            raise SnapshotError(self.name, f"read failed: {error.strerror or error}", line=number + 1) from None
        counters.lines = number
        counters.papers = good
        counters.bytes_read = source.size or source.position()
        if not good:
            if counters.skipped_count:
                raise self._not_a_snapshot(number)
            raise SnapshotError(self.name, "holds no papers: the file is empty")

    def _not_a_snapshot(self, line: int) -> SnapshotError:
        reasons = ", ".join(f"{count.count} {reason}" for reason, count in self.counters.skipped.items())
        return SnapshotError(
            self.name,
            f"is not an arXiv metadata snapshot: no paper in its first {line} lines ({reasons})",
            hint="Expected one JSON object a line with id, title, abstract, authors, categories, versions.",
        )


_BLANK = "blank"
_decode_json = json.JSONDecoder().decode
# A lone surrogate (`"\ud800"`) decodes from JSON but cannot be stored as UTF-8; only
# such an escape can put one in the text, so only lines with one are checked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _skip_reason(error: Exception) -> str:
    return error.reason if isinstance(error, MalformedLine) else f"unexpected error ({type(error).__name__})"


def _encodable(paper: Paper) -> bool:
    """Whether every text of `paper` is valid Unicode (no lone surrogate)."""
    texts = [paper.title, paper.abstract, paper.comment, paper.journal_ref, paper.doi, paper.code_url, paper.updated]
    try:
        for text in (*texts, *paper.authors, *paper.categories):
            if text:
                text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _decode_line(line: bytes, complete: bool) -> object:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedLine(NOT_UTF8 if complete else TRUNCATED) from None
    try:
        return _decode_json(text)
    except ValueError:
        if not text.strip():
            raise MalformedLine(_BLANK) from None
        raise MalformedLine(NOT_JSON if complete else TRUNCATED) from None
    except RecursionError:  # absurdly nested JSON: json gives up before Python does
        raise MalformedLine(NOT_JSON) from None


def compile_topics(topics: Iterable[Topic]) -> list[TopicMatcher]:
    """The topics that can claim snapshot papers (a query or categories), compiled once."""
    return [compile_topic(t) for t in topics if t.query is not None or t.categories]


# --- one record -> one paper ----------------------------------------------------------------


def paper_from_record(record: object, matchers: Sequence[TopicMatcher] = ()) -> Paper:
    """Map one decoded snapshot line to a `Paper` (rules: the module docstring).

    Raises `MalformedLine` when the record is not a paper: not an object, no
    valid id, no title, or a field of the wrong type.
    """
    if type(record) is not dict:
        raise MalformedLine(NOT_OBJECT)
    arxiv_id, id_version = _parse_id(record.get("id"))
    raw_title = record.get("title")
    if raw_title is None:
        raise MalformedLine(MISSING_TITLE)
    title = _text(raw_title, "title")
    if not title:
        raise MalformedLine(MISSING_TITLE)
    raw_abstract = record.get("abstract") or ""
    abstract = _text(raw_abstract, "abstract")
    comment = _optional_text(record.get("comments"), "comments")
    quality = TextQuality.CLEAN
    if not (raw_title.isascii() and raw_abstract.isascii()):
        title, abstract, quality = _repaired(title, abstract)
    authors, authors_quality = _authors(record)
    version, published, updated = _versions(record.get("versions"), record.get("update_date"))
    paper = Paper(
        arxiv_id=arxiv_id,
        title=title,
        version=max(version, id_version),
        abstract=abstract,
        authors=authors,
        published=published or _month_from_id(arxiv_id),
        updated=updated,
        categories=_categories(record.get("categories")),
        comment=comment,
        journal_ref=_optional_text(record.get("journal-ref"), "journal-ref"),
        doi=_optional_text(record.get("doi"), "doi"),
        code_url=_code_url(raw_abstract, record.get("comments")),
        text_quality=quality if authors_quality is TextQuality.CLEAN else worst((quality, authors_quality)),
    )
    if matchers:
        tokens = PaperTokens(paper)
        names = tuple(m.name for m in matchers if m.matches(tokens))
        if names:
            paper = replace(paper, topics=names)
    return paper


def _wrong_type(name: str) -> MalformedLine:
    return MalformedLine(f"wrong type: {name}")


# The longest real ids (`math.GT/0309136v12`) are under 20 characters; a longer one is not an id.
_MAX_ID_CHARS = 64


def _parse_id(value: object) -> tuple[str, int]:
    if value is None:
        raise MalformedLine(MISSING_ID)
    if type(value) is not str:
        raise _wrong_type("id")
    # The common case, checked with str methods: a bare new-style id like 0704.0001 or 2506.03517.
    if (len(value) == 9 or len(value) == 10) and value[4] == "." and value.isascii():
        if value[:4].isdigit() and value[5:].isdigit():
            return value, 1
    if len(value) > _MAX_ID_CHARS:
        raise MalformedLine(INVALID_ID)
    parsed = parse_arxiv_id(value)
    if parsed is None:
        raise MalformedLine(MISSING_ID if not value.strip() else INVALID_ID)
    if parsed.version is not None and parsed.version > MAX_VERSION:
        raise MalformedLine(INVALID_VERSION)
    return parsed.arxiv_id, parsed.version or 1


def _text(value: object, name: str) -> str:
    """Snapshot text as every importer stores it (`bot.text.normalize`): `and\\n  LHC` -> `and LHC`."""
    if type(value) is not str:
        raise _wrong_type(name)
    return normalize(value)


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    return _text(value, name) or None


# The mark UTF-8 read as cp1252 (or Latin-1) leaves: a lead byte's letter (Â..ô) followed by a
# continuation byte's character (U+0080..U+00BF or a cp1252 punctuation sign), or U+FFFD where
# a byte was lost. The snapshot is UTF-8 from arXiv itself, so this is rare; clean non-ASCII
# text (Schrödinger, α, ≥) is left alone without paying for ftfy (~0.5 ms an abstract).
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|\ufffd"
)


def _repair(text: str) -> tuple[str, TextQuality]:
    """`text` through `bot.textfix.repair_text` when it may be mojibake, else as it is (clean)."""
    if text.isascii() or _MOJIBAKE_HINT.search(text) is None:
        return text, TextQuality.CLEAN
    repaired, quality = repair_text(text)
    return normalize(repaired), quality  # the repaired text may be decomposed (NFD)


def _repaired(title: str, abstract: str) -> tuple[str, str, TextQuality]:
    title, title_quality = _repair(title)
    abstract, abstract_quality = _repair(abstract)
    return title, abstract, worst((title_quality, abstract_quality))


def _categories(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is str:
        return tuple(value.split())
    if type(value) is list and all(type(c) is str for c in value):
        return tuple(c for c in value if c)
    raise _wrong_type("categories")


# --- authors ----------------------------------------------------------------------------------

_AFFILIATION = re.compile(r"\s*\([^()]*\)")
_NAME_SUFFIXES = frozenset({"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"})


def _authors(record: dict) -> tuple[tuple[str, ...], TextQuality]:
    parsed = record.get("authors_parsed")
    if parsed:
        names = _names_from_parsed(parsed)
    else:
        text = record.get("authors")
        if text is None:
            return (), TextQuality.CLEAN
        if type(text) is not str:
            raise _wrong_type("authors")
        names = _names_from_string(text)
    quality = TextQuality.CLEAN
    for index, name in enumerate(names):
        if not name.isascii():
            # Only text that arrived as non-ASCII can be mojibake; LaTeX turned into
            # Unicode below is clean by construction and not worth ftfy's time.
            name, name_quality = _repair(name)
            quality = worst((quality, name_quality))
        if "\\" in name or "{" in name:
            name = latex_to_unicode(name)
        names[index] = normalize(name)
    return tuple(names), quality


def _names_from_parsed(parsed: object) -> list[str]:
    if type(parsed) is not list:
        raise _wrong_type("authors_parsed")
    names = []
    for entry in parsed:
        if type(entry) is not list:
            raise _wrong_type("authors_parsed")
        if len(entry) == 3:
            last, first, suffix = entry
        else:
            last, first, suffix = (*entry, "", "", "")[:3]
        if type(last) is not str or type(first) is not str or type(suffix) is not str:
            raise _wrong_type("authors_parsed")
        if " -" in first:
            first = first.replace(". -", ".-")  # the snapshot's parser writes C.-P. as "C. -P."
        name = f"{first} {last} {suffix}" if suffix else f"{first} {last}"
        if name[0] == " " or name[-1] == " " or "  " in name or not name.isascii():
            name = " ".join(name.split())
        if name:
            names.append(name)
    return names


def _names_from_string(text: str) -> list[str]:
    """`A. Smith, C.-P. Yuan and B. Jones (MIT)` -> ["A. Smith", "C.-P. Yuan", "B. Jones"]."""
    text = " ".join(text.split())
    while "(" in text:  # affiliations, possibly nested: (1) MIT, ((1) MIT, (2) CERN)
        stripped = _AFFILIATION.sub("", text)
        if stripped == text:
            break
        text = stripped
    names: list[str] = []
    for part in text.replace(" and ", ", ").split(","):
        part = part.strip()
        if part.startswith("and "):
            part = part[4:].strip()
        if not part:
            continue
        if part in _NAME_SUFFIXES and names:
            names[-1] = f"{names[-1]} {part}"
        else:
            names.append(part)
    return names


def latex_to_unicode(name: str) -> str:
    """LaTeX accents and special letters in a name as Unicode: `Sch{\\"o}lkopf` -> Schölkopf."""
    name = latex_accents(name)
    if "{" in name or "}" in name:
        name = name.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", name)


# --- dates and versions ----------------------------------------------------------------------

_MONTHS = {
    "Jan": "01", "Feb": "02", "Mar": "03", "Apr": "04", "May": "05", "Jun": "06",
    "Jul": "07", "Aug": "08", "Sep": "09", "Oct": "10", "Nov": "11", "Dec": "12",
}  # fmt: skip


def _versions(versions: object, update_date: object) -> tuple[int, str, str | None]:
    """(highest version, v1 date `YYYY-MM-DD` or "", latest version's time ISO or update_date)."""
    if update_date is not None and type(update_date) is not str:
        raise _wrong_type("update_date")
    if versions is None:
        return 1, "", update_date or None
    if type(versions) is not list:
        raise _wrong_type("versions")
    highest, highest_created = 0, None
    lowest, lowest_created = None, None
    for entry in versions:
        if type(entry) is not dict:
            raise _wrong_type("versions")
        label, created = entry.get("version"), entry.get("created")
        if type(label) is not str or (created is not None and type(created) is not str):
            raise _wrong_type("versions")
        number = _version_number(label[1:]) if label[:1] in ("v", "V") and label[1:].isdigit() else 0
        if number >= highest:
            highest, highest_created = number, created
        if lowest is None or number < lowest:
            lowest, lowest_created = number, created
    published = _date(lowest_created)
    updated = _timestamp(highest_created) or update_date or None
    return max(highest, 1), published, updated


def _version_number(digits: str) -> int:
    # Checked by length first: int() refuses strings of over 4,300 digits with a ValueError.
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise MalformedLine(INVALID_VERSION)
    return int(digits)


def _split_created(created: str | None) -> list[str] | None:
    """`Mon, 2 Apr 2007 19:18:42 GMT` -> [year, month, day, time], or None if it is not that."""
    if not created:
        return None
    parts = created.split()
    if len(parts) < 5:
        return None
    day, month, year, clock = parts[1], _MONTHS.get(parts[2]), parts[3], parts[4]
    if month is None or not (day.isdigit() and year.isdigit() and len(year) == 4 and len(day) <= 2):
        return None
    return [year, month, day.zfill(2), clock]


def _date(created: str | None) -> str:
    parts = _split_created(created)
    return f"{parts[0]}-{parts[1]}-{parts[2]}" if parts else ""


def _timestamp(created: str | None) -> str | None:
    parts = _split_created(created)
    if parts is None:
        return None
    clock = parts[3]
    if len(clock) != 8 or clock[2] != ":" or clock[5] != ":":
        return f"{parts[0]}-{parts[1]}-{parts[2]}"
    return f"{parts[0]}-{parts[1]}-{parts[2]}T{clock}Z"


def _month_from_id(arxiv_id: str) -> str:
    """The submission month an id encodes (`0704.0001` -> 2007-04, `hep-th/9901001` -> 1999-01)."""
    digits = arxiv_id.rpartition("/")[2][:4] if "/" in arxiv_id else arxiv_id[:4]
    if len(digits) != 4 or not digits.isdigit():
        return ""
    year = int(digits[:2])
    # Old-style ids run from 1991 to 2007; new-style ones start in 2007.
    century = 1900 if "/" in arxiv_id and year >= 91 else 2000
    return f"{century + year}-{digits[2:]}"


# --- code links -------------------------------------------------------------------------------

# Every link `find_code_url` can recognise contains, case-folded, one of: "://", "www.", or
# a known bare host (github.com, gitlab.com, bitbucket.org, codeberg.org, gitee.com,
# huggingface.co, hf.co, sites.google.com, *.github.io, *.gitlab.io), and so ".co", ".org" or
# ".io"; a bare-host link without "/" can only be a *.io page. Most abstracts have none of
# these and skip its regexes (~200 us for an abstract).
_LINK_MARKERS = ("://", "www.", ".co", ".org", ".io")
# What `re.IGNORECASE` matches to an ASCII letter although `lower()` does not give that letter.
_IGNORECASE_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
# Room left before the first link: more than `find_code_url` looks back for a cue word
# (60 characters, after `\\_`-style escapes are undone, which at most halves the length).
_LINK_CONTEXT = 200


def may_hold_link(text: str | None) -> bool:
    """False only when `find_code_url` surely finds no link in `text`."""
    if not text:
        return False
    if not text.isascii():
        folded = text.translate(_IGNORECASE_TO_ASCII).lower()
        return any(marker in folded for marker in _LINK_MARKERS)
    lowered = text.lower()
    if "/" in text:
        return "://" in text or ".co" in lowered or ".org" in lowered or ".io" in lowered or "www." in lowered
    return ".io" in lowered or "www." in lowered


def link_window(text: str) -> str:
    """The part of `text` in which `find_code_url` finds the same links, ranked the same.

    Links sit at the end of most abstracts; the regexes cost time in proportion to the
    text, so the text before the first link's word (less `_LINK_CONTEXT` characters for
    its cue) is cut, at a whitespace, where matching behaves as at the start of a text.
    Non-ASCII text is left whole: Unicode normalisation could shift the cue window.
    """
    if len(text) <= 2 * _LINK_CONTEXT or not text.isascii():
        return text
    lowered = text.lower()
    first = min((found for found in map(lowered.find, _LINK_MARKERS) if found >= 0), default=-1)
    if first < 0:
        return text
    token_start = first
    while token_start > 0 and not text[token_start - 1].isspace():
        token_start -= 1
    limit = token_start - _LINK_CONTEXT
    if limit <= 0:
        return text
    cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
    return text[cut + 1 :] if cut >= 0 else text


def _code_url(abstract: str, comment: object) -> str | None:
    # A text without a link marker is passed as None, which keeps the other's rank.
    abstract_text = link_window(abstract) if may_hold_link(abstract) else None
    comment_text = comment if type(comment) is str and may_hold_link(comment) else None
    if abstract_text is None and comment_text is None:
        return None
    return find_code_url(abstract_text, comment_text)
