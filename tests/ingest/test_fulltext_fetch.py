"""Fetching full text from a local arXiv web server: HTML first, PDF else, politely, within the cap.

The real fetcher (aiohttp) talks to tests/support/fake_arxiv_web.py; waits go through
a recording sleep and the limiter runs on a fake monotonic clock, so no test waits.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timezone
from typing import AsyncIterator

import pytest

from bot.config import FullTextConfig
from bot.errors import ConfigError
from bot.fulltext.fetch import FullTextFetcher, resolve_web_url
from bot.ingest.arxiv import RequestLimiter
from tests.support import FakeClock, make_paper
from tests.support.fake_arxiv_web import FakeArxivWeb, Sec, latexml_page, make_pdf

pytestmark = pytest.mark.now(datetime(2025, 6, 9, tzinfo=timezone.utc))

BODY_ONLY = "The critic is trained on 40,000 annotated reasoning chains."
PDF_ONLY = "The PDF says the critic has 7B parameters."


def page(ref: str, *, figure: bool = True) -> str:
    sections = [
        Sec("Introduction", ["Step rewards."], figure=("x1.png", "The StepRM pipeline.") if figure else None),
        Sec("Method", [BODY_ONLY]),
    ]
    return latexml_page("StepRM", "We propose StepRM.", sections, ref=ref)


PDF = make_pdf([["Abstract", "We propose StepRM.", "1 Introduction", "Step rewards.", "2 Method", PDF_ONLY]])


class Waits:
    """The fetcher's sleep and the limiter's clock: time passes only by the waits asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def web():
    with FakeArxivWeb() as server:
        yield server


@pytest.fixture
async def store(store):
    """The shared store (tests/conftest.py), on June 9, 2025, with three reward-vlm papers."""
    await store.papers.upsert_papers(
        [make_paper(f"2501.0000{i}", ("reward-vlm",), published=f"2025-01-0{i}") for i in (1, 2, 3)]
    )
    return store


@contextlib.asynccontextmanager
async def fetching(store, web_url: str, waits: Waits, **config) -> AsyncIterator[FullTextFetcher]:
    """A fetcher of `store`'s papers from `web_url`, 3 s between requests and 2 retries unless `config` says
    otherwise, closed after the block."""
    settings = FullTextConfig(**{"delay_seconds": 3.0, "retries": 2, **config})
    clock = FakeClock(datetime(2025, 6, 9, tzinfo=timezone.utc))
    fetcher = FullTextFetcher(
        store.fulltext, settings, web_url, clock=clock, sleep=waits.sleep, limiter=RequestLimiter(waits.monotonic)
    )
    try:
        yield fetcher
    finally:
        await fetcher.close()


async def test_html_is_preferred_pdf_is_the_fallback_and_neither_is_recorded(store, web):
    web.add_html("2501.00003v1", page("2501.00003v1")).add_pdf("2501.00002v1", PDF)
    waits = Waits()
    async with fetching(store, web.url, waits) as fetcher:
        report = await fetcher.run()

    assert report.stored == {"2501.00003": "html", "2501.00002": "pdf"}
    assert report.unavailable == {"2501.00001": "arXiv has no HTML rendering, and no PDF (HTTP 404)"}
    assert report.summary() == "full text: 2 stored (1 from HTML, 1 from PDF), 1 without full text (notes use their abstract)"
    assert web.requests == [
        "/html/2501.00003v1",
        "/html/2501.00002v1",
        "/pdf/2501.00002v1",
        "/html/2501.00001v1",
        "/pdf/2501.00001v1",
    ]
    assert waits.waits == [3.0] * 4  # one request at a time, 3 s between starts: politeness, not retries

    html_text = await store.fulltext.fulltext("2501.00003")
    assert html_text.source == "html" and BODY_ONLY in html_text.plain()
    assert html_text.figure.url == f"{web.url}/html/2501.00003v1/x1.png" and html_text.figure.caption == "The StepRM pipeline."
    pdf_text = await store.fulltext.fulltext("2501.00002")
    assert pdf_text.source == "pdf" and PDF_ONLY in pdf_text.plain() and pdf_text.figure is None
    assert await store.fulltext.fulltext("2501.00001") is None
    assert await store.fulltext.figures(["2501.00001", "2501.00002", "2501.00003"]) == {"2501.00003": html_text.figure}


async def test_only_a_new_version_is_fetched_again(store, web):
    web.add_html("2501.00001v1", page("2501.00001v1")).add_html("2501.00002v1", page("2501.00002v1"))
    async with fetching(store, web.url, Waits()) as fetcher:
        await fetcher.run()
        assert (await fetcher.run()).summary() == "full text: no paper needs it"  # stored and unavailable alike

        newer = make_paper("2501.00001", ("reward-vlm",), published="2025-01-01")
        await store.papers.upsert_papers([newer.__class__(**{**newer.__dict__, "version": 2})])
        web.add_html("2501.00001v2", page("2501.00001v2", figure=False))
        again = await fetcher.run()
    assert again.stored == {"2501.00001": "html"} and web.requests[-1] == "/html/2501.00001v2"
    stored = await store.fulltext.fulltext("2501.00001")
    assert stored.version == 2 and stored.figure is None  # the new version's page has no figure


async def test_429_retry_after_is_waited_out_and_a_long_one_stops_the_run_recording_nothing(store, web):
    web.add_html("2501.00003v1", page("2501.00003v1")).fail(429, retry_after="20", path="/html/")
    waits = Waits()
    async with fetching(store, web.url, waits) as fetcher:
        first = await fetcher.run(limit=1)
        assert first.stored == {"2501.00003": "html"} and 20.0 <= waits.waits[0] <= 22.0

        web.fail(429, retry_after="3600", path="/html/")
        stopped = await fetcher.run()
    assert not stopped.ok and stopped.stopped == "arXiv asks to wait 3600 s (HTTP 429)"
    assert stopped.summary().endswith("2 left for a later run; stopped: arXiv asks to wait 3600 s (HTTP 429)")
    assert [p.arxiv_id for p in await store.fulltext.papers_needing_fulltext()] == ["2501.00002", "2501.00001"]


async def test_server_errors_are_retried_then_stop_the_run(store, web, caplog):
    web.fail(503, path="/html/", times=3)
    waits = Waits()
    async with fetching(store, web.url, waits, retries=2) as fetcher:
        with caplog.at_level(logging.WARNING, "paperbot.fulltext"):
            report = await fetcher.run()
    assert report.stopped == f"HTTP 503 for {web.url.removeprefix('http://')}/html/2501.00003v1, after 3 attempts"
    assert web.requests == ["/html/2501.00003v1"] * 3 and len(await store.fulltext.papers_needing_fulltext()) == 3
    assert [r.getMessage() for r in caplog.records] == [
        f"full text: stopped this run: {report.stopped}; 3 paper(s) left for a later run"
    ]


@pytest.mark.parametrize("declare_length", [True, False])
async def test_a_huge_pdf_is_skipped_with_one_clear_line_and_not_read_past_the_cap(store, web, caplog, declare_length):
    web.huge("/pdf/2501.00003v1", megabytes=60, declare_length=declare_length)
    async with fetching(store, web.url, Waits(), max_mb=2) as fetcher:
        with caplog.at_level(logging.WARNING, "paperbot.fulltext"):
            report = await fetcher.run(limit=1)
    if declare_length:  # refused before reading
        reason = "the PDF is 60.0 MB, over the 2 MB cap ([fulltext] max_mb); skipped"
    else:
        reason = "the PDF passed the 2 MB cap ([fulltext] max_mb) while downloading; skipped"
    assert report.unavailable == {"2501.00003": reason} and report.ok
    assert [r.getMessage() for r in caplog.records] == [f"full text of 2501.00003v1: {reason}"]
    assert web.bytes_sent.get("/pdf/2501.00003v1", 0) < 20 * 1024 * 1024  # the client stopped reading long before 60 MB


async def test_a_truncated_pdf_is_recorded_as_unreadable(store, web):
    web.add_pdf("2501.00003v1", PDF[: len(PDF) // 2])
    async with fetching(store, web.url, Waits()) as fetcher:
        report = await fetcher.run(limit=1)
    assert report.unavailable == {"2501.00003": "the PDF is truncated (no %%EOF marker at its end)"}
    assert await store.fulltext.fulltext_failure("2501.00003") == report.unavailable["2501.00003"]


async def test_an_html_error_page_falls_back_to_the_pdf(store, web):
    web.add_html("2501.00003v1", "<html><body><p>Conversion to HTML had a fatal error.</p></body></html>").add_pdf(
        "2501.00003v1", PDF
    )
    async with fetching(store, web.url, Waits()) as fetcher:
        report = await fetcher.run(limit=1)
    assert report.stored == {"2501.00003": "pdf"}


async def test_an_unreachable_server_stops_the_run_at_once(store):
    waits = Waits()
    async with fetching(store, "http://127.0.0.1:9", waits, retries=3) as fetcher:
        report = await fetcher.run()
    assert report.stopped.startswith("cannot reach 127.0.0.1:9/html/2501.00003v1") and report.left == 3
    assert waits.waits == []  # no backoff: retrying cannot bring the network back


def test_arxiv_web_url_comes_from_the_environment_and_is_checked():
    assert resolve_web_url({}) == "https://arxiv.org"
    assert resolve_web_url({"ARXIV_WEB_URL": "http://127.0.0.1:8080/"}) == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError, match="ARXIV_WEB_URL: must be an http:// or https:// URL"):
        resolve_web_url({"ARXIV_WEB_URL": "arxiv.org"})
