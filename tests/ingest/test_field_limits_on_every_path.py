"""Field limits (bot/paper_limits.py): the rules, and that every ingest path goes through them.

The snapshot path is tested in tests/ingest/test_snapshot_import.py (NUL bytes and an 11 MB title
from JSON lines); here are the rules themselves, the store that enforces them
whatever the caller, the arXiv API path (a real fetch from the fake arXiv on
127.0.0.1) and the paper-list path.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import FetchConfig
from bot.ingest.arxiv import ArxivFetcher, RequestLimiter
from bot.ingest.paperlist import PaperListError, import_paperlist, parse_paperlist
from bot.models import Notes, Paper, Topic
from bot.paper_limits import FIELD_CHARS, MAX_AUTHORS, NOTES_SECTION_CHARS, limit_paper
from bot.text import without_controls
from tests.support.fake_arxiv import FakePaper

START = datetime(2025, 6, 8, 12, tzinfo=timezone.utc)
BIG = "Reward models for VLMs " * 5_000  # 115,000 characters


pytestmark = pytest.mark.now(START)


def test_a_paper_within_the_limits_comes_back_as_it_is():
    paper = Paper(
        "2506.00001", "Café: a title with “quotes” and 中文", abstract="Line one.\nLine\ttwo.",
        authors=("Zoë Müller",), notes=(Notes("zh", method="💡 创新点1：\n把驾驶拆成四个任务。"),),
    )  # fmt: skip
    assert limit_paper(paper) == (paper, [])
    assert limit_paper(paper)[0] is paper


def test_control_characters_go_from_every_field_but_tabs_and_line_breaks_stay():
    paper = Paper(
        "2506.00001", "Null\x00 title\x1b[31m", abstract="A\r\nB\tC\x7f", authors=("Ada\x00 Lovelace", "\x07"),
        comment="c\x0c", categories=("cs.CV\x00",), code_url="https://github.com/a/b\x00",
        notes=(Notes("en", headline="H\x00", results="R\x08 done\nnext"),),
    )  # fmt: skip
    limited, changes = limit_paper(paper)
    assert (limited.title, limited.abstract, limited.comment) == ("Null title[31m", "A\nB\tC", "c")
    assert limited.authors == ("Ada Lovelace",) and limited.categories == ("cs.CV",)
    assert limited.code_url == "https://github.com/a/b"
    assert (limited.notes[0].headline, limited.notes[0].results) == ("H", "R done\nnext")
    assert "control characters removed from title" in changes
    assert (
        "control characters removed from an author" in changes and changes.count("control characters removed from an author") == 1
    )
    assert "control characters removed from the notes' results" in changes


def test_oversized_fields_are_cut_at_a_word_with_an_ellipsis_and_lists_are_shortened():
    paper = Paper(
        "2506.00001", BIG, abstract=BIG, comment=BIG, authors=tuple(f"Author {i}" for i in range(3_000)),
        notes=(Notes("zh", method="方法" * 5_000),),
    )  # fmt: skip
    limited, changes = limit_paper(paper)
    assert len(limited.title) <= FIELD_CHARS["title"] and limited.title.endswith("Reward…")
    assert len(limited.abstract) <= FIELD_CHARS["abstract"] and len(limited.comment) <= FIELD_CHARS["comment"]
    assert limited.authors == paper.authors[:MAX_AUTHORS]
    assert len(limited.notes[0].method) <= NOTES_SECTION_CHARS
    assert changes == [
        "title cut to 1,000 characters",
        "abstract cut to 10,000 characters",
        "comment cut to 2,000 characters",
        "only the first 1,000 author entries kept",
        "the notes' method cut to 5,000 characters",
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50), st.text(max_size=3_000), st.lists(st.text(max_size=20), max_size=5))
def test_limiting_twice_changes_nothing_more(title, abstract, authors):
    paper = Paper("2506.00001", title or "x", abstract=abstract * 5, authors=tuple(authors))
    once, _ = limit_paper(paper)
    assert limit_paper(once) == (once, [])
    assert all(without_controls(text) == text for text in (once.title, once.abstract, *once.authors))


async def test_the_store_enforces_the_limits_whoever_calls_it_and_warns(paper_store, caplog):
    caplog.set_level(logging.WARNING, logger="bot.merge")
    await paper_store.upsert_papers([Paper("2506.00001", "A\x00 title", abstract=BIG)])
    stored = await paper_store.get("2506.00001")
    assert stored.title == "A title" and len(stored.abstract) <= FIELD_CHARS["abstract"]
    assert [r.getMessage() for r in caplog.records] == [
        "2506.00001: control characters removed from title; abstract cut to 10,000 characters"
    ]


async def test_a_huge_title_from_the_arxiv_api_is_stored_cut(paper_store, fake_arxiv, clock, caplog):
    caplog.set_level(logging.WARNING, logger="bot.merge")
    topic = Topic("reward-vlm", query='abs:"reward model"')
    fake_arxiv.add(FakePaper("2506.00001", title=BIG, summary="A reward model. " * 2_000))
    fetcher = ArxivFetcher(
        paper_store, FetchConfig(delay_seconds=0, retries=0), fake_arxiv.url, clock=clock, limiter=RequestLimiter(), jitter=0,
    )  # fmt: skip
    try:
        report = await fetcher.fetch_topic(topic)
    finally:
        fetcher.close()
    assert report.ok and report.stored.new == 1
    stored = await paper_store.get("2506.00001")
    assert len(stored.title) <= FIELD_CHARS["title"] and stored.title.startswith("Reward models for VLMs")
    assert any("2506.00001: title cut to 1,000 characters" in r.getMessage() for r in caplog.records)


def paper_list(title: str, results: str) -> bytes:
    return (
        "# Paper List of Terms(reward model)\n"
        f"- [25/06] **{title}**  \n"
        "[[Paper](http://arxiv.org/pdf/2506.00001v1)] [[Code/Page]()] [[TLDR/Notes](#x)]\n\n"
        f"# TLDR/Notes\n## x\n### Abstract\nAn abstract.\n### 📈 Results\n{results}\n"
    ).encode("utf-8")


async def test_a_paper_list_item_is_brought_within_the_limits_with_a_warning_naming_its_line(paper_store, tmp_path):
    path = tmp_path / "list.md"
    path.write_bytes(paper_list("A title\x1b[0m " + BIG, "Better\x07 than before."))
    report = await import_paperlist(paper_store, path)
    assert f"{path}:2: control characters removed from title" in report.warnings
    assert f"{path}:2: title cut to 1,000 characters" in report.warnings
    assert f"{path}:2: control characters removed from the notes' results" in report.warnings
    stored = await paper_store.get("2506.00001")
    assert stored.title.startswith("A title[0m Reward") and len(stored.title) <= FIELD_CHARS["title"]
    assert stored.notes[0].results == "Better than before."


def test_a_paper_list_version_beyond_any_arxiv_version_is_refused_naming_the_line():
    for version in ("99999999999999999999999", "9" * 5_000):
        data = paper_list("A title", "Fine.").replace(b"2506.00001v1", f"2506.00001v{version}".encode())
        with pytest.raises(PaperListError) as caught:
            parse_paperlist(data, "v.md")
        assert str(caught.value).startswith("v.md:2: ")
    assert parse_paperlist(paper_list("A title", "Fine.").replace(b"v1)", b"v9999)"), "v.md").papers[0].version == 9_999
