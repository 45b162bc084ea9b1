"""Hostile search text: FTS5 syntax, control characters, huge and odd strings.

User text must never reach FTS5 as syntax (`store.sqlite.query` quotes every term),
so nothing a user types can raise from the store; the service turns an empty
or oversized query into a usage message (`UserError`), and the CLI and the
console answer with a message, never a traceback. Counts out of range, an
unknown id on `show` and the common hostile strings through the console are
in tests/adapters/test_console_replies.py and tests/cli/test_command_line.py; this file adds the
store-level and property-based checks and what those two leave out. The
store-level ones run against every store of `tests.support.store_factories`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import cli
from bot.errors import UserError
from bot.models import Notes, Paper
from bot.ports import PaperStore
from bot.service import PaperService
from store.common.query_text import MAX_TERMS
from store.sqlite.query import build_match_query
from tests.support import EXAMPLE_LIST, OFFLINE_CONFIG, ROOT, logging_kept

pytestmark = pytest.mark.now(datetime(2025, 6, 9, tzinfo=timezone.utc))

PAPERS = [
    Paper(
        "2506.00001",
        "Learning to drive with world models",
        abstract="Driving policies from video.",
        authors=("Grace Hopper",),
        published="2025-06-01",
        topics=("rm",),
    ),
    Paper(
        "2506.00002",
        "Zebra crossings and pedestrians",
        abstract="A survey of crossings.",
        authors=("Alan Turing",),
        published="2025-06-02",
        topics=("vlm",),
        notes=(Notes("zh", headline="自动驾驶的斑马线", method="数据集"),),
    ),
    Paper(
        "2506.00003",
        "C++ templates: a retrospective",
        abstract="Near-term title: work on AND/OR graphs.",
        authors=("Ada Lovelace",),
        published="2025-06-03",
    ),
]

# Every piece of FTS5 query syntax, and strings that have broken naive quoting elsewhere.
HOSTILE = [
    '"', '""', '"driving', 'driving"', '"driving" "', "'", "''",
    "AND", "OR", "NOT", "driving AND", "OR driving", "NOT driving", "driving NOT zebra", "AND OR NOT",
    "-x", "-driving", "--", "a:b", "title:driving", "title : driving", "{title abstract}:driving", "-title:driving",
    "NEAR(", "NEAR(driving zebra)", "NEAR(driving zebra, 2)", "NEAR", ")", "(", "((driving)", "(driving OR zebra)",
    "*", "driv*", "* driving", "^", "^driving", "driving^", "+", "driving + zebra",
    "\x00", "driving\x00zebra", "\x00" * 50, "\x1b[31m", "\r\n", "\t",
    "x" * 10_000, "driving " * 2_000, "🚗", "🚗🚗 driving", "👨‍👩‍👧", "\u200b", "\ufeff", "\u202e",
    "\ud800", "driving\udcff", "\udfff\ud800",
    "!!!", "...", "?", "-", "—", "。", "，、", "'; DROP TABLE papers; --", "%", "_", "\\", "\\\"",
    "", " ", "   ", "\n\t ",
    "C++", "AND/OR", "near-term", "title:",
]


@pytest.fixture
async def papers(store) -> PaperStore:
    await store.papers.upsert_papers(PAPERS)
    return store.papers


def ids(papers) -> list[str]:
    return [p.arxiv_id for p in papers]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:20]))
async def test_no_hostile_string_makes_the_store_raise(papers, query, caplog):
    found = await papers.search(query, limit=25)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # the store logs FTS5 errors it swallows
    assert isinstance(found, list) and all(isinstance(p, Paper) for p in found)
    assert len(found) <= 3


@pytest.mark.parametrize(
    "query, expected",
    [
        # Operators are plain words: ANDed terms, so an "or" that no paper holds finds nothing.
        ("driving OR zebra", []),
        ("NOT driving", []),
        ("driving AND", []),
        # Punctuation around a word does not change what it means.
        ('"driving', ["2506.00001"]),
        ("driving\"", ["2506.00001"]),
        ("-driving", ["2506.00001"]),
        ("(driving)", ["2506.00001"]),
        ("^driving", ["2506.00001"]),
        ("driving\x00", ["2506.00001"]),
        ("🚗🚗 driving", ["2506.00001"]),
        ("driving\udcff", ["2506.00001"]),
        ("title:driving", []),  # a phrase "title driving", which no paper holds
        ("title: templates", ["2506.00003"]),
        ("C++", ["2506.00003"]),
        ("AND/OR", ["2506.00003"]),
        ("near-term", ["2506.00003"]),
        ("斑马线", ["2506.00002"]),
        # Nothing searchable: no results, not an error.
        ("!!!", []),
        ("\x00", []),
        ("🚗", []),
        ("", []),
    ],
)
async def test_hostile_strings_are_searched_as_plain_words(papers, query, expected):
    assert ids(await papers.search(query)) == expected


def test_a_huge_query_is_capped_not_refused():
    assert build_match_query("x" * 10_000) == '"' + "x" * 1000 + '"'
    assert build_match_query("driving " * 2_000).count(" AND ") == MAX_TERMS - 1


async def test_non_string_arguments_are_safe(papers):
    assert await papers.search(None) == []  # type: ignore[arg-type]
    assert await papers.search(b"driving") == []  # type: ignore[arg-type]
    assert await papers.search("driving", topic=3) == []  # type: ignore[arg-type]
    assert await papers.search("driving", limit="5") != []  # type: ignore[arg-type]  # default count
    assert await papers.search("driving", limit=-1) == []
    assert ids(await papers.search("driving", limit=10**20)) == ["2506.00001"]
    assert await papers.search("driving", topic="'; DROP TABLE papers; --") == []
    assert await papers.paper_count() == 3


async def test_the_service_turns_empty_and_oversized_queries_into_usage_messages(papers):
    service = PaperService(papers)
    for query in ("", "   ", "\n\t"):
        with pytest.raises(UserError, match="Search needs some words"):
            await service.search(query)
    with pytest.raises(UserError, match="the limit is"):
        await service.search("x" * 10_000)
    with pytest.raises(UserError, match="count must be between"):
        await service.search("driving", count=0)
    assert ids(await service.search("NEAR( driving")) == []
    assert ids(await service.search('"driving')) == ["2506.00001"]


# --- property: no string makes search raise ----------------------------------------------

SYNTAX = st.sampled_from(
    ['"', "'", "AND", "OR", "NOT", "NEAR(", "NEAR", "(", ")", "*", "^", ":", "-", "+", "{", "}", ",",
     "title:", "abstract:", "search_cjk:", "\x00", "\ud800", "🚗", "自动", "驾", "driving", "zebra", " "]
)
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())  # surrogates and controls included
QUERIES = st.one_of(
    st.text(ANY_CHARACTER, max_size=200),
    st.lists(st.one_of(SYNTAX, st.text(ANY_CHARACTER, max_size=5)), max_size=40).map("".join),
    st.lists(SYNTAX, max_size=40).map(" ".join),
)


@pytest.mark.slow
def test_no_string_makes_search_raise(store_factory, caplog):
    loop = asyncio.new_event_loop()  # hypothesis drives a plain function: the store runs on a loop of its own
    papers = loop.run_until_complete(store_factory.open("property")).papers
    try:
        loop.run_until_complete(papers.upsert_papers(PAPERS))

        @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            query=QUERIES,
            topic=st.one_of(st.none(), st.sampled_from(["rm", "vlm"]), st.text(max_size=10)),
            limit=st.integers(-5, 2000),
        )
        def search_never_raises(query, topic, limit):
            found = loop.run_until_complete(papers.search(query, topic=topic, limit=limit))
            assert isinstance(found, list) and len(found) <= max(0, min(limit, 3))

        search_never_raises()
        assert not [r for r in caplog.records if r.levelname == "ERROR"], "an FTS5 syntax error was swallowed"
        if hasattr(papers, "check_index"):
            loop.run_until_complete(papers.check_index())
    finally:
        loop.run_until_complete(store_factory.close_all())
        loop.close()


# --- through the CLI and the console -------------------------------------------------------


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "p.db"
    with logging_kept(), contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--db", str(db), "--config", str(OFFLINE_CONFIG), "import", str(EXAMPLE_LIST)]) == 0
    return db


@pytest.mark.parametrize("query", ['"NEAR(', "title:x AND", "\x1b[2J", "!!!", "🚗"])
def test_the_cli_answers_hostile_searches_with_a_message(paperbot, cli_db, query):
    result = paperbot("search", query, db=cli_db)
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    assert "No papers match" in result.stdout or "Search results" in result.stdout
    as_json = paperbot("search", query, "--json", db=cli_db)
    assert as_json.returncode == 0 and as_json.stdout.strip().startswith("[")


def run_bytes(*args: str | bytes, db, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`paperbot` with raw bytes in and out, and the strict UTF-8 stdio of a typical desktop locale."""
    env = {**os.environ, "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG), "PYTHONIOENCODING": "utf-8:strict"}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, env=env, cwd=ROOT, timeout=60)


@pytest.mark.subprocess
def test_the_cli_searches_an_argument_that_is_not_utf8(cli_db):
    """Python hands undecodable argv bytes over as lone surrogates; echoing one must not crash."""
    result = run_bytes("search", b"driving\xff", db=cli_db)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    assert "Search results for “driving?”".encode() in result.stdout and b"DriveRX" in result.stdout
    as_json = run_bytes("search", b"driving\xff", "--json", db=cli_db)
    assert as_json.returncode == 0 and b"2505.20665" in as_json.stdout


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_console_survives_a_line_that_is_not_utf8(cli_db):
    result = run_bytes("run", db=cli_db, stdin=b"/paper search driving\xff\n/paper topics\n")
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    assert b"DriveRX" in result.stdout and b"Topics (1)" in result.stdout


def test_a_query_that_looks_like_an_option_needs_a_double_dash(paperbot, cli_db):
    refused = paperbot("search", "-x", db=cli_db)
    assert refused.returncode == 2 and "usage: paperbot search" in refused.stderr and "Traceback" not in refused.stderr
    searched = paperbot("search", "--", "-x", db=cli_db)
    assert searched.returncode == 0 and "No papers match" in searched.stdout


def test_the_cli_refuses_an_oversized_query_and_a_bad_search_count(paperbot, cli_db):
    huge = paperbot("search", "x" * 10_000, db=cli_db)
    assert huge.returncode == 2 and "the limit is 300" in huge.stdout and "Traceback" not in huge.stderr
    zero = paperbot("search", "driving", "--count", "0", db=cli_db)
    assert zero.returncode == 2 and "count must be between 1 and 25" in zero.stdout
    word = paperbot("search", "driving", "--count", "many", db=cli_db)
    assert word.returncode == 2 and "invalid int value" in word.stderr and "Traceback" not in word.stderr


def test_the_cli_show_refuses_a_hostile_id(paperbot, cli_db):
    result = paperbot("show", '"NEAR(', db=cli_db)
    assert result.returncode == 2 and "is not an arXiv id" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize("query", ["NEAR(", '"unbalanced', "OR", "NOT", "^", "(x)", "!!!", "\udcff", "。"])
async def test_the_console_answers_hostile_searches(console, query):
    text = (await console.say(f"/paper search {query}")).text
    assert "went wrong" not in text
    assert "No papers match" in text or "Search results" in text


async def test_the_console_says_what_is_wrong_with_an_oversized_query(console):
    text = (await console.say("/paper search " + "x" * 10_000)).text
    assert "the limit is 300" in text
