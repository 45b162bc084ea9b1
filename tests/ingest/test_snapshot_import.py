"""arXiv metadata snapshot import (bot/ingest/snapshot.py): mapping, topics, bad lines, streaming, CLI.

`fixtures/snapshot/sample.jsonl` holds real-shaped lines (old-style ids, three
versions, LaTeX and Unicode authors, a GitHub link in a comment and one cut by
a line wrap, a mojibake title), one malformed line of each kind, a blank line
and a truncated last line. Gzipped, huge and damaged variants are made here.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import progress as progress_module
from bot.errors import IngestError
from bot.ingest import snapshot, snapshot_worker
from bot.ingest.snapshot import (
    SAMPLE_LINES,
    SnapshotProgress,
    import_snapshot,
    latex_to_unicode,
    link_window,
    looks_like_snapshot,
    may_hold_link,
    paper_from_record,
)
from bot.models import TextQuality, Topic, UpsertReport
from bot.progress import SilentProgress
from bot.summarize import find_code_url
from store.sqlite import SqliteStore
from tests.support import EXAMPLE_LIST, FIXTURES, ROOT

SAMPLE = FIXTURES / "snapshot" / "sample.jsonl"
TOPICS = [
    Topic(
        "reward-model-vlm",
        query='(abs:"reward model" OR abs:"preference") AND (abs:VLM OR abs:"vision-language")',
        categories=("cs.CV", "cs.CL", "cs.LG"),
    ),
    Topic("robotics", categories=("cs.RO",)),
    Topic("my-reading-list"),  # a paper-list topic: no rule, so it never claims snapshot papers
]
SAMPLE_IDS = {
    "0704.0001", "hep-th/9901001", "math.GT/0309136", "2506.03517",
    "2505.01234", "2401.00001", "2402.00002", "2403.00005",
}  # fmt: skip
SAMPLE_SKIPS = {
    "not JSON": [7],
    "not a JSON object": [9],
    "missing id": [10],
    "invalid id": [11],
    "missing title": [12],
    "wrong type: versions": [13],
    "truncated last line": [16],
}


@pytest.fixture
async def paper_store(paper_store):
    """The papers part of the test's store, with the config's topics in it as `paperbot` syncs them."""
    await paper_store.upsert_topics(TOPICS)
    return paper_store


async def load(paper_store, path, topics=TOPICS, **kwargs):
    return await import_snapshot(paper_store, path, topics, progress=SilentProgress(), **kwargs)


def record(**fields) -> dict:
    base = {
        "id": "2501.00001",
        "title": "A title",
        "abstract": "  An abstract.\n",
        "authors": "A. Author",
        "categories": "cs.LG",
        "versions": [{"version": "v1", "created": "Wed, 1 Jan 2025 10:00:00 GMT"}],
        "update_date": "2025-01-02",
    }
    base.update(fields)
    return base


def write_lines(path: Path, records: list, compress: bool = False) -> Path:
    data = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- mapping --------------------------------------------------------------------------------


async def test_every_field_of_the_real_example_line(paper_store):
    await load(paper_store, SAMPLE)
    paper = await paper_store.get("0704.0001")
    assert paper.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")
    assert paper.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert paper.version == 2
    assert paper.published == "2007-04-02"
    assert paper.updated == "2007-07-24T20:10:27Z"
    assert paper.categories == ("hep-ph",)
    assert paper.comment == "37 pages, 15 figures; published version"
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"
    assert paper.doi == "10.1103/PhysRevD.76.013009"
    assert paper.code_url is None
    assert paper.text_quality is TextQuality.CLEAN
    assert paper.topics == ()


async def test_old_style_ids_three_versions_and_latex_authors(paper_store):
    await load(paper_store, SAMPLE)
    branes = await paper_store.get("hep-th/9901001")
    assert branes.url == "https://arxiv.org/abs/hep-th/9901001"
    # No authors_parsed: the string is split on commas and " and ", affiliations dropped.
    assert branes.authors == ("J. Roe", "R. Doe")
    assert (branes.version, branes.published, branes.updated) == (1, "1999-01-01", "1999-01-01T10:00:00Z")
    knots = await paper_store.get("math.GT/0309136")
    assert knots.authors == ("M. Schölkopf", "A. Benítez")
    assert (knots.version, knots.published, knots.updated) == (3, "2003-09-08", "2004-12-01T16:45:10Z")
    assert knots.categories == ("math.GT", "math.AT")


async def test_version_suffix_unicode_authors_code_links_and_mojibake(paper_store):
    await load(paper_store, SAMPLE)
    suffixed = await paper_store.get("2505.01234")
    assert suffixed is not None and suffixed.version == 2
    # The link is cut by the snapshot's line wrap; found whole all the same.
    assert suffixed.code_url == "https://github.com/hopper/pref-vlm"
    assert (await paper_store.get("2506.03517")).code_url == "https://github.com/example/rm-vlm"
    robots = await paper_store.get("2401.00001")
    assert robots.authors == ("Zoë Müller", "Li Wei") and "≥ 20 cm" in robots.abstract
    assert robots.text_quality is TextQuality.CLEAN
    cafe = await paper_store.get("2403.00005")
    assert cafe.title == "Café models of coffee" and cafe.text_quality is TextQuality.REPAIRED
    erdos = await paper_store.get("2402.00002")
    assert erdos.journal_ref == "Publ. Math. Debrecen 6 (1959) 290" and erdos.doi == "10.5486/PMD.1959.6.3-4.12"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"versions": None, "id": "2310.01234"}, ("2023-10", "2025-01-02", 1)),
        ({"versions": None, "id": "astro-ph/9612001"}, ("1996-12", "2025-01-02", 1)),
        ({"versions": [], "update_date": None}, ("2025-01", None, 1)),
        (
            {"versions": [
                {"version": "v2", "created": "Sat, 5 Apr 2025 10:00:00 GMT"},
                {"version": "v1", "created": "Wed, 1 Jan 2025 10:00:00 GMT"},
            ]},
            ("2025-01-01", "2025-04-05T10:00:00Z", 2),
        ),
        ({"versions": [{"version": "v1", "created": "garbled"}]}, ("2025-01", "2025-01-02", 1)),
    ],
)  # fmt: skip
def test_dates_and_versions(fields, expected):
    paper = paper_from_record(record(**{"id": "2501.00001", **fields}))
    assert (paper.published, paper.updated, paper.version) == expected


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        ("A. Smith, C.-P. Yuan and B. Jones", ("A. Smith", "C.-P. Yuan", "B. Jones")),
        ("A. Smith, B. Jones, and C. Brown", ("A. Smith", "B. Jones", "C. Brown")),
        ("A. Smith (1), B. Jones (2) ((1) MIT, (2) CERN)", ("A. Smith", "B. Jones")),
        ("John Smith, Jr., Ann Lee", ("John Smith Jr.", "Ann Lee")),
        ("Alexander Andersen\n  and Ole Olsen", ("Alexander Andersen", "Ole Olsen")),
        ("", ()),
    ],
)
def test_authors_string_when_there_is_no_authors_parsed(authors, expected):
    assert paper_from_record(record(authors=authors)).authors == expected


def test_authors_parsed_wins_and_keeps_suffixes():
    parsed = [["King", "Martin Luther", "Jr"], ["Plato", "", ""], ["Yuan", "C. -P.", ""]]
    paper = paper_from_record(record(authors="ignored", authors_parsed=parsed))
    assert paper.authors == ("Martin Luther King Jr", "Plato", "C.-P. Yuan")


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("Bal\\'azs", "Balázs"),
        ('Sch{\\"o}lkopf', "Schölkopf"),
        ('Sch\\"{o}lkopf', "Schölkopf"),
        ("Ben\\'{\\i}tez", "Benítez"),
        ("P\\v{c}elar", "Pčelar"),
        ("Erd\\H{o}s", "Erdős"),
        ("\\AA{}ngstr\\\"om", "Ångström"),
        ("Ni\\~no", "Niño"),
        ("Bia{\\l}ynicki", "Białynicki"),
        ("{van der Berg}", "van der Berg"),
        ("Ji\\v{r}\\'i Matas", "Jiří Matas"),  # the space after an accented letter is the name's own
        ("\\'{E} cole", "É cole"),
        ("\\vec", "\\vec"),  # a macro, not the \v accent
    ],
)
def test_latex_accents_in_names_become_unicode(latex, text):
    assert latex_to_unicode(latex) == text


def test_whitespace_of_titles_and_abstracts_is_normalised():
    paper = paper_from_record(record(title="  A title\n  over two lines ", abstract="  One\nparagraph.\n\n  Two\t tabs.\n"))
    assert (paper.title, paper.abstract) == ("A title over two lines", "One paragraph. Two tabs.")


@given(st.text(alphabet=st.sampled_from("ab é\n\t\r\x0b\x1c\u2003\u00a0x"), max_size=40))
def test_whitespace_normalisation_equals_split_join(text):
    assert snapshot._text(text, "title") == " ".join(text.split())


# --- topics ---------------------------------------------------------------------------------


async def test_topics_are_decided_by_each_topics_query(paper_store):
    report = await load(paper_store, SAMPLE)
    assert report.topic_matches == {"reward-model-vlm": 2, "robotics": 1}
    rm = {p.arxiv_id for p in await paper_store.latest("reward-model-vlm", 10)}
    assert rm == {"2506.03517", "2505.01234"}
    assert [p.arxiv_id for p in await paper_store.latest("robotics", 10)] == ["2401.00001"]
    assert await paper_store.latest("my-reading-list", 10) == []
    # Papers in no topic are stored all the same: search covers the whole snapshot.
    assert (await paper_store.get("2402.00002")).topics == ()
    assert await paper_store.paper_count() == len(SAMPLE_IDS)


def test_category_filter_and_query_both_have_to_match():
    topic = [snapshot.compile_topic(TOPICS[0])]
    matching = record(abstract="A reward model for VLM agents.", categories="cs.CV")
    assert paper_from_record(matching, topic).topics == ("reward-model-vlm",)
    assert paper_from_record({**matching, "categories": "hep-th"}, topic).topics == ()
    assert paper_from_record({**matching, "abstract": "A reward model."}, topic).topics == ()


# --- the summary, bad lines and bad files -----------------------------------------------------


async def test_summary_counts_and_line_numbers(paper_store):
    report = await load(paper_store, SAMPLE)
    assert (report.lines, report.papers, report.blank_lines) == (16, len(SAMPLE_IDS), 1)
    assert (report.stored.new, report.stored.updated, report.stored.unchanged) == (len(SAMPLE_IDS), 0, 0)
    assert {reason: s.sample for reason, s in report.skipped.items()} == SAMPLE_SKIPS
    assert report.skipped_count == len(SAMPLE_SKIPS)
    assert report.summary.startswith(f"{SAMPLE}: 8 papers from 16 lines: 8 new, 0 updated, 0 unchanged, 7 skipped")
    details = report.details()
    assert "topic robotics: 1 paper" in details
    assert "skipped 1 (not JSON): line 7" in details


async def test_gzip_gives_the_same_import(paper_store, tmp_path):
    packed = tmp_path / "arxiv-metadata.jsonl.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    report = await load(paper_store, packed)
    assert (report.papers, report.stored.new, report.lines) == (len(SAMPLE_IDS), len(SAMPLE_IDS), 16)
    assert {reason: s.sample for reason, s in report.skipped.items()} == SAMPLE_SKIPS
    assert (await paper_store.get("math.GT/0309136")).version == 3


async def test_gzip_is_recognised_by_its_bytes_whatever_the_name(paper_store, tmp_path):
    disguised = tmp_path / "snapshot.jsonl"
    disguised.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert (await load(paper_store, disguised)).stored.new == len(SAMPLE_IDS)


async def test_a_cut_off_gzip_keeps_what_arrived_and_says_so(paper_store, tmp_path):
    lines = [record(id=f"2501.{i:05d}", title=f"Paper {i}", abstract=f"Text {i} " * 50) for i in range(2000)]
    full = gzip.compress("".join(json.dumps(r) + "\n" for r in lines).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full[: len(full) // 2])
    report = await load(paper_store, cut, batch_size=100)
    assert 0 < report.papers < 2000
    assert list(report.skipped) in (["file ends early (truncated compressed data)"],
                                    ["truncated last line", "file ends early (truncated compressed data)"])  # fmt: skip
    assert await paper_store.paper_count() == report.papers


async def test_reimport_changes_nothing(paper_store):
    await load(paper_store, SAMPLE)
    again = await load(paper_store, SAMPLE)
    assert (again.stored.new, again.stored.updated, again.stored.unchanged) == (0, 0, len(SAMPLE_IDS))


async def test_a_later_snapshot_with_a_new_version_updates_the_paper(paper_store, tmp_path):
    await load(paper_store, SAMPLE)
    line = json.loads(SAMPLE.read_text().splitlines()[2])
    line["versions"].append({"version": "v4", "created": "Thu, 5 May 2005 05:05:05 GMT"})
    line["title"] = "Knots in three-manifolds, revisited"
    later = write_lines(tmp_path / "later.jsonl", [line])
    report = await load(paper_store, later)
    assert (report.stored.new, report.stored.updated, report.stored.unchanged) == (0, 1, 0)
    knots = await paper_store.get("math.GT/0309136")
    assert (knots.version, knots.title, knots.updated) == (4, "Knots in three-manifolds, revisited", "2005-05-05T05:05:05Z")
    assert knots.published == "2003-09-08"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
        (b"", "holds no papers"),
        (b"\n\n\n", "holds no papers"),
        (b"# Paper List of Terms(x)\n- [25/06] **A paper**\n", "not an arXiv metadata snapshot"),
        (b"\x1f\x8b\x08\x00garbage that is not deflate data", "cannot be decompressed"),
        (json.dumps([record()]).encode() + b"\n", "not an arXiv metadata snapshot"),
    ],
    ids=["binary", "empty", "blank", "markdown", "broken-gzip", "json-array"],
)
async def test_a_file_that_is_not_a_snapshot_is_refused_and_nothing_is_written(paper_store, tmp_path, content, message):
    path = tmp_path / "arxiv.jsonl"
    path.write_bytes(content)
    with pytest.raises(IngestError) as caught:
        await load(paper_store, path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert await paper_store.paper_count() == 0


async def test_a_missing_file_is_an_ingest_error(paper_store, tmp_path):
    with pytest.raises(IngestError, match="cannot read the file"):
        await load(paper_store, tmp_path / "nope.jsonl")


async def test_a_hundred_bad_lines_before_any_paper_is_not_a_snapshot(paper_store, tmp_path):
    path = write_lines(tmp_path / "x.jsonl", ["nope"] * 100 + [record()])
    with pytest.raises(IngestError, match="no paper in its first 100 lines"):
        await load(paper_store, path)
    assert await paper_store.paper_count() == 0
    fine = write_lines(tmp_path / "y.jsonl", ["nope"] * 99 + [record()])
    assert (await load(paper_store, fine)).papers == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": 704.0001}, "wrong type: id"),
        ({"id": ""}, "missing id"),
        ({"id": "2501.00001v"}, "invalid id"),
        ({"title": "   \n  "}, "missing title"),
        ({"title": ["A", "title"]}, "wrong type: title"),
        ({"abstract": {"text": "x"}}, "wrong type: abstract"),
        ({"authors_parsed": "Smith, J."}, "wrong type: authors_parsed"),
        ({"authors_parsed": [["Smith", 1, ""]]}, "wrong type: authors_parsed"),
        ({"authors": None, "authors_parsed": None, "categories": 5}, "wrong type: categories"),
        ({"comments": 12}, "wrong type: comments"),
        ({"versions": [{"version": 1}]}, "wrong type: versions"),
        ({"update_date": 20250101}, "wrong type: update_date"),
    ],
)
def test_wrong_types_are_malformed_lines(fields, reason):
    with pytest.raises(snapshot.MalformedLine) as caught:
        paper_from_record(record(**fields))
    assert caught.value.reason == reason


# --- one bad line never sinks the import, in this process or in the worker -------------------

# Each of these lines once aborted the whole import (a rolled-back batch and a traceback).
HOSTILE_LINES = {
    "version overflowing SQLite": (
        record(versions=[{"version": "v99999999999999999999999", "created": "Wed, 1 Jan 2025 10:00:00 GMT"}]),
        "invalid version",
    ),
    # An id's version has at most 6 digits (bot.arxiv_ids): a longer one makes the whole id invalid.
    "id version overflowing SQLite": (record(id="2501.00002v99999999999999999999999"), "invalid id"),
    "version longer than int() reads": (record(versions=[{"version": "v" + "9" * 5000}]), "invalid version"),
    "lone surrogate in the title": (record(title="Lone \ud800 surrogate"), "invalid Unicode (a lone surrogate escape)"),
    "lone surrogate in a name": (record(authors="A. Author, B. \udc00 Author"), "invalid Unicode (a lone surrogate escape)"),
}


@pytest.mark.parametrize("in_worker", [False, True], ids=["here", "worker"])
@pytest.mark.parametrize("kind", sorted(HOSTILE_LINES))
async def test_a_hostile_line_is_a_skipped_line_with_its_reason(paper_store, tmp_path, kind, in_worker):
    hostile, reason = HOSTILE_LINES[kind]
    lines = [record(id="2501.00001", title="A good paper before"), {**hostile, "id": hostile["id"].replace("00001", "00002")},
             record(id="2501.00003", title="A good paper after")]  # fmt: skip
    path = write_lines(tmp_path / "hostile.jsonl", lines)
    report = await load(paper_store, path, parse_in_worker=in_worker)
    assert {reason: s.sample for reason, s in report.skipped.items()} == {reason: [2]}
    assert (report.papers, report.stored.new) == (2, 2)
    assert {p.arxiv_id for p in await paper_store.search("good paper", limit=10)} == {"2501.00001", "2501.00003"}


FAULT = """\
# Injected by the test into every Python process started with this directory on PYTHONPATH
# (so into the snapshot worker): reading the paper titled "explode" fails in a way nobody foresaw.
import bot.ingest.snapshot as snapshot

_real = snapshot.paper_from_record


def paper_from_record(record, matchers=()):
    if isinstance(record, dict) and record.get("title") == "explode":
        raise ZeroDivisionError("injected")
    return _real(record, matchers)


snapshot.paper_from_record = paper_from_record
"""


@pytest.mark.parametrize("in_worker", [False, True], ids=["here", "worker"])
async def test_any_other_failure_on_one_line_is_a_skip_with_its_reason(paper_store, tmp_path, monkeypatch, in_worker):
    if in_worker:
        faults = tmp_path / "faults"
        faults.mkdir()
        (faults / "sitecustomize.py").write_text(FAULT)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(faults), os.environ.get("PYTHONPATH")])))
    else:
        monkeypatch.setattr(snapshot, "paper_from_record", snapshot.paper_from_record)  # restored after the test
        exec(FAULT, {})
    lines = [record(id="2501.00001"), record(id="2501.00002", title="explode"), record(id="2501.00003")]
    report = await load(paper_store, write_lines(tmp_path / "s.jsonl", lines), parse_in_worker=in_worker)
    assert {reason: s.sample for reason, s in report.skipped.items()} == {"unexpected error (ZeroDivisionError)": [2]}
    assert report.stored.new == 2 and await paper_store.paper_count() == 2


@pytest.mark.slow
async def test_nul_and_control_characters_are_removed_and_huge_fields_cut(paper_store, tmp_path):
    huge = "Reward models for VLMs " * 500_000  # 11.5 MB
    lines = [
        record(id="2501.00001", title="Null\u0000 bytes\u001b[31m in a title", abstract="Tab\tand\u0007 bell"),
        record(id="2501.00002", title=huge, abstract=huge, comments=huge),
        record(id="2501.00003", title="An ordinary paper"),
    ]
    report = await load(paper_store, write_lines(tmp_path / "s.jsonl", lines))
    assert report.skipped == {} and report.stored.new == 3
    nul = await paper_store.get("2501.00001")
    assert (nul.title, nul.abstract) == ("Null bytes[31m in a title", "Tab and bell")
    big = await paper_store.get("2501.00002")
    assert len(big.title) <= 1_000 and big.title.startswith("Reward models") and big.title.endswith("Reward…")
    assert len(big.abstract) <= 10_000 and len(big.comment) <= 2_000
    assert {change: cut.sample for change, cut in report.cut.items()} == {
        "control characters removed from title": [1],
        "control characters removed from abstract": [1],
        "title cut to 1,000 characters": [2],
        "abstract cut to 10,000 characters": [2],
        "comment cut to 2,000 characters": [2],
    }
    assert "kept 1 with title cut to 1,000 characters: line 2" in report.details()


# --- streaming and interruptions -------------------------------------------------------------


class CountingStore:
    """Takes batches from the bulk path and keeps only counts, like a store that writes as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches = 0
        self.papers = 0
        self.largest = 0
        self.read_before_first_write: int | None = None

    async def bulk_upsert(self, batches) -> UpsertReport:
        async for batch in batches:
            batch = list(batch)
            self.batches += 1
            self.papers += len(batch)
            self.largest = max(self.largest, len(batch))
        return UpsertReport(new=self.papers)


@pytest.mark.slow
async def test_a_big_file_is_streamed_in_batches_and_the_skip_samples_stay_bounded(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        for i in range(50_000):
            out.write("{broken\n" if i % 10 == 9 else json.dumps(record(id=f"2502.{i:05d}")) + "\n")
    size = path.stat().st_size
    paper_store = CountingStore(path)
    seen: list[tuple[int, int]] = []

    def on_batch(progress: SnapshotProgress) -> None:
        seen.append((progress.papers, progress.bytes_read))

    report = await load(paper_store, path, batch_size=1_000, on_batch=on_batch)
    assert (report.papers, report.lines) == (45_000, 50_000)
    assert paper_store.papers == 45_000 and paper_store.largest == 1_000 and paper_store.batches == 45
    # The store had batches while most of the file was still unread: nothing waits for the end.
    assert seen[0][0] == 1_000 and seen[0][1] < size / 10
    assert [papers for papers, _ in seen] == sorted(papers for papers, _ in seen)
    broken = report.skipped["not JSON"]
    assert broken.count == 5_000 and len(broken.sample) == SAMPLE_LINES
    assert broken.sample[:3] == [10, 20, 30]
    assert "(4,980 more)" in broken.describe()


async def test_an_interrupted_import_keeps_committed_batches_and_resumes_by_running_again(paper_store, tmp_path):
    path = write_lines(tmp_path / "s.jsonl", [record(id=f"2503.{i:05d}", title=f"Paper {i}") for i in range(50)])

    class Interrupted(Exception):
        pass

    def interrupt(progress: SnapshotProgress) -> None:
        if progress.papers >= 20:
            raise Interrupted

    with pytest.raises(Interrupted):
        await load(paper_store, path, batch_size=10, on_batch=interrupt)
    committed = await paper_store.paper_count()
    assert 10 <= committed < 50 and committed % 10 == 0  # whole batches only
    resumed = await load(paper_store, path, batch_size=10)
    assert (resumed.stored.new, resumed.stored.unchanged) == (50 - committed, committed)
    assert await paper_store.paper_count() == 50


async def test_a_store_without_the_bulk_path_gets_one_upsert_per_batch(tmp_path):
    class PlainStore:
        def __init__(self) -> None:
            self.calls: list[int] = []

        async def upsert_papers(self, papers) -> UpsertReport:
            self.calls.append(len(list(papers)))
            return UpsertReport(new=self.calls[-1])

    plain = PlainStore()
    report = await load(plain, SAMPLE, batch_size=3)
    assert plain.calls == [3, 3, 2] and report.stored.new == len(SAMPLE_IDS)


# --- code links: the shortcuts must not change what find_code_url finds ----------------------

_WORDS = st.sampled_from(
    ["We", "propose", "a", "model.", "and", "the", "is", "at", "(see", ")", "\n", "  ", "\\_", "$\\alpha$",
     "Poincaré", "\u0130O", ".io", "https://", "tree/main", "repo", "x"]
)  # fmt: skip
_CUES = st.sampled_from(
    ["Code:", "code is available at", "Project page", "released at",
     "code, with all the scripts and trained weights, is at"]
)  # fmt: skip
_LINKS = st.sampled_from(
    ["https://github.com/a/b", "github.com/owner/", "x.github.io", "www.example.org/p", "HF.CO/m/n", "hf.co",
     "https://arxiv.org/abs/2501.00001", "\\url{https://gitlab.com/g/p}", "GitHub.Com/Big/Repo.",
     "https://example.com/tool", "https://github.com/wrapped/\nrepo", "https://x.org/", "www.tool.net/v2",
     "WWW.Lab.Net"]
)  # fmt: skip
_PIECES = st.one_of(_WORDS, _CUES, _LINKS, st.tuples(_CUES, _LINKS).map(" ".join))


@pytest.mark.slow
@settings(max_examples=600, deadline=None)
@given(st.integers(0, 80), st.lists(_PIECES, max_size=30).map(" ".join))
def test_link_shortcuts_agree_with_find_code_url(filler_words, text):
    """`may_hold_link` never hides a link; `link_window` never changes which link wins."""
    text = "some filler words, long ones " * filler_words + text
    found = find_code_url(text)
    if not may_hold_link(text):
        assert found is None
    assert find_code_url(link_window(text)) == found


def test_the_link_window_keeps_the_cue_in_front_of_a_late_link():
    text = "Filler text. " * 100 + "Our project page is www.example.org/paper and more."
    assert link_window(text) != text and find_code_url(link_window(text)) == "https://www.example.org/paper"


# --- the CLI ----------------------------------------------------------------------------------


CONFIG = """\
example_data = false

[fetch]
enabled = false

[[topics]]
name = "reward-model-vlm"
query = '(abs:"reward model" OR abs:"preference") AND (abs:VLM OR abs:"vision-language")'
categories = ["cs.CV", "cs.CL", "cs.LG"]
"""


def test_cli_imports_a_gzipped_snapshot_and_prints_the_summary(paperbot, config_file, tmp_path):
    config = config_file(CONFIG)
    packed = tmp_path / "arxiv-metadata.jsonl.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    db = tmp_path / "p.db"
    result = paperbot("--db", str(db), "--config", str(config), "import", str(packed), db=db)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first.startswith(f"{packed}: 8 papers from 16 lines: 8 new, 0 updated, 0 unchanged, 7 skipped")
    assert "  topic reward-model-vlm: 2 papers" in rest
    assert "  skipped 1 (truncated last line): line 16" in rest
    shown = paperbot("--db", str(db), "--config", str(config), "show", "hep-th/9901001", db=db)
    assert shown.returncode == 0 and "Branes and strings" in shown.stdout
    latest = paperbot("--db", str(db), "--config", str(config), "latest", "reward-model-vlm", db=db)
    assert "Reward models for vision-language assistants" in latest.stdout


def test_cli_refuses_a_binary_jsonl_with_exit_2_and_still_imports_markdown(paperbot, tmp_path):
    db = tmp_path / "p.db"
    binary = tmp_path / "dump.jsonl"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    example = EXAMPLE_LIST
    result = paperbot("import", str(binary), str(example), db=db)
    assert result.returncode == 2
    assert f"{binary}: is a binary file" in result.stderr
    assert f"{example}: " in result.stdout and " new," in result.stdout  # the markdown list still went in


def test_files_are_dispatched_by_name_then_content(tmp_path):
    assert looks_like_snapshot("arxiv-metadata-oai-snapshot.json")
    assert looks_like_snapshot("x.jsonl.gz") and looks_like_snapshot("X.JSONL")
    assert not looks_like_snapshot("list.md")
    gz = tmp_path / "dump.bin"
    gz.write_bytes(gzip.compress(b"{}\n"))
    lines = tmp_path / "dump.txt"
    lines.write_text('\n  {"id": "2501.00001"}\n')
    markdown = tmp_path / "list.txt"
    markdown.write_text("# Paper List of Terms(x)\n")
    assert looks_like_snapshot(gz) and looks_like_snapshot(lines)
    assert not looks_like_snapshot(markdown) and not looks_like_snapshot(tmp_path / "missing.txt")


# --- parsing in a worker process (big files) -------------------------------------------------


async def test_the_worker_process_gives_the_same_import_as_parsing_here(paper_store, tmp_path, clock):
    # The same injected clock as `store`'s, so two imports of the same file give equal papers,
    # `added_at` included, however long the imports take.
    opened = await SqliteStore.open(tmp_path / "here.db", clock=clock)
    here = opened.papers
    await here.upsert_topics(TOPICS)
    try:
        expected = await load(here, SAMPLE, parse_in_worker=False)
        report = await load(paper_store, SAMPLE, parse_in_worker=True)
        assert (report.lines, report.papers, report.blank_lines, report.stored.new) == (
            expected.lines,
            expected.papers,
            expected.blank_lines,
            expected.stored.new,
        )
        assert {r: s.sample for r, s in report.skipped.items()} == SAMPLE_SKIPS
        assert report.topic_matches == expected.topic_matches
        for arxiv_id in SAMPLE_IDS:
            assert await paper_store.get(arxiv_id) == await here.get(arxiv_id)
    finally:
        await opened.close()


async def test_the_worker_refuses_a_non_snapshot_before_anything_is_written(paper_store, tmp_path):
    path = write_lines(tmp_path / "x.jsonl", ["nope"] * 100 + [record()])
    with pytest.raises(IngestError, match="no paper in its first 100 lines") as caught:
        await load(paper_store, path, parse_in_worker=True)
    assert str(path) in str(caught.value)
    assert await paper_store.paper_count() == 0


async def test_the_worker_streams_batches_and_keeps_a_cut_off_gzip(paper_store, tmp_path):
    lines = [record(id=f"2501.{i:05d}", title=f"Paper {i}", abstract=f"Text {i} " * 50) for i in range(3000)]
    full = gzip.compress("".join(json.dumps(r) + "\n" for r in lines).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full[: len(full) // 2])
    seen: list[int] = []
    report = await load(paper_store, cut, batch_size=200, parse_in_worker=True, on_batch=lambda p: seen.append(p.papers))
    assert 0 < report.papers < 3000 and await paper_store.paper_count() == report.papers
    assert "file ends early (truncated compressed data)" in report.skipped
    assert seen[0] == 200 and seen == sorted(seen)


async def test_an_interrupted_worker_import_stops_the_worker_and_resumes(paper_store, tmp_path):
    path = write_lines(tmp_path / "s.jsonl", [record(id=f"2503.{i:05d}", title=f"Paper {i}") for i in range(500)])

    def interrupt(progress: SnapshotProgress) -> None:
        if progress.papers >= 100:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await load(paper_store, path, batch_size=50, on_batch=interrupt, parse_in_worker=True)
    import multiprocessing

    assert not [p for p in multiprocessing.active_children() if p.name == "snapshot-parser"]
    resumed = await load(paper_store, path, batch_size=50, parse_in_worker=True)
    assert resumed.papers == 500 and await paper_store.paper_count() == 500


# --- progress, Ctrl-C and killed imports (real subprocesses) ---------------------------------


async def test_progress_is_the_compressed_file_read_in_mb(paper_store, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0)  # a log line per batch, not per 10 s
    caplog.set_level(logging.INFO, logger="paperbot.progress")
    # Hex digests: text gzip halves, so compressed and unpacked sizes differ clearly in MB.
    lines = [record(id=f"2501.{i:05d}", abstract=hashlib.sha512(str(i).encode()).hexdigest() * 8) for i in range(1_500)]
    path = write_lines(tmp_path / "s.jsonl.gz", lines, compress=True)
    unpacked_mb = len(gzip.decompress(path.read_bytes())) / 2**20
    await import_snapshot(paper_store, path, TOPICS, batch_size=500)
    size = f"{path.stat().st_size / 2**20:,.1f}"
    assert size != f"{unpacked_mb:,.1f}"  # so the figures below can only be the compressed bytes
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) >= 3 and all(" MB, " in m and " MB/s" in m for m in messages)
    assert messages[-1].startswith(f"import s.jsonl.gz: {size}/{size} MB, ") and messages[-1].endswith("(1,500 papers)")


def start_paperbot(*args: str, db: Path, config: Path) -> subprocess.Popen:
    env = {**os.environ, "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stored_papers(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll a condition another process brings about; the timeout only stops a hung test."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.subprocess
def test_ctrl_c_during_an_import_says_how_to_resume_and_exits_130(paperbot, config_file, tmp_path):
    # A named pipe as the snapshot, fed two batches: the importer commits the first once it has
    # read the second, then waits for more, so Ctrl-C surely comes after a commit.
    total = 2 * snapshot.BATCH_SIZE
    lines = "".join(json.dumps(record(id=f"2503.{i:05d}", title=f"Paper {i}")) + "\n" for i in range(total))
    fifo = tmp_path / "arxiv.jsonl"
    os.mkfifo(fifo)
    db = tmp_path / "p.db"
    importer = start_paperbot("import", str(fifo), db=db, config=config_file(CONFIG))
    pipe = os.open(fifo, os.O_RDWR)  # read-write: opening never blocks, even if the importer failed to start
    try:
        writer = threading.Thread(target=os.write, args=(pipe, lines.encode()), daemon=True)
        writer.start()
        wait_for(lambda: stored_papers(db) >= snapshot.BATCH_SIZE or importer.poll() is not None, "the first batch")
        writer.join(timeout=60)  # at once: the importer has read every line by now
        importer.send_signal(signal.SIGINT)
    finally:
        os.close(pipe)  # the end of the file: the importer's read returns and it sees the Ctrl-C
    out, err = importer.communicate(timeout=120)
    assert importer.returncode == 130, err
    assert "interrupted: what was committed is kept" in err
    assert "To resume, run the same command again: papers already stored come back unchanged." in err
    assert "Traceback" not in err
    committed = stored_papers(db)
    assert snapshot.BATCH_SIZE <= committed <= total
    whole = tmp_path / "arxiv-again.jsonl"
    whole.write_text(lines)
    resumed = paperbot("--config", str(config_file(CONFIG)), "import", str(whole), db=db)
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"{total:,} papers from {total:,} lines: {total - committed:,} new, 0 updated, {committed:,} unchanged" in resumed.stdout
    )


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, found in /proc (psutil is not a dependency)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if alive(p)}


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return False


@pytest.fixture(scope="module")
def big_snapshot(tmp_path_factory) -> Path:
    """Over `WORKER_MIN_BYTES` (so `paperbot import` parses it in a worker) in 25 batches."""
    path = tmp_path_factory.mktemp("big") / "arxiv.jsonl"
    with path.open("w") as out:
        for i in range(125_000):
            out.write(json.dumps(record(id=f"2504.{i:05d}", title=f"Paper {i}", abstract=f"Text {i} " * 30)) + "\n")
    assert path.stat().st_size >= snapshot_worker.WORKER_MIN_BYTES
    return path


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_import_leaves_no_parser_or_resource_tracker_behind(config_file, tmp_path, big_snapshot, how):
    db = tmp_path / "p.db"
    importer = start_paperbot("import", str(big_snapshot), db=db, config=config_file(CONFIG))
    children: set[int] = set()
    try:
        wait_for(lambda: stored_papers(db) > 0 or importer.poll() is not None, "the first batch")
        # Frozen, the importer takes no more batches: the worker fills its queue and waits, alive.
        importer.send_signal(signal.SIGSTOP)
        children = descendants(importer.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
        assert any(b"spawn_main" in c for c in commands) and any(b"resource_tracker" in c for c in commands)
        importer.send_signal(how)
        importer.send_signal(signal.SIGCONT)  # a stopped process acts on SIGTERM only once continued
        assert importer.wait(timeout=60) == -how
        wait_for(lambda: not any(alive(pid) for pid in children), "the worker and resource tracker to end", timeout=30)
    finally:
        for pid in children | {importer.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        importer.wait(timeout=60)
