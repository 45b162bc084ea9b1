"""Fetching from arXiv through the real `arxiv` client, against a fake Atom server on 127.0.0.1.

Every test drives `ArxivFetcher` (and once the `paperbot fetch` command) over
real HTTP; nothing reaches the internet. Sleeps are recorded and skipped
except where real spacing is the point of the test.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config import ConfigError, EnvSettings, FetchConfig, FileConfig
from bot.ingest.arxiv import (
    CURSOR_KEY,
    ArxivFetcher,
    RequestLimiter,
    last_error,
    last_fetch,
    read_cursor,
    resolve_api_url,
)
from bot.models import Topic
from tests.support import Sleeps, run_paperbot
from tests.support.fake_arxiv import FakeArxiv, FakePaper, utc

NOW = utc(2025, 6, 8, 12)
TOPIC = Topic("reward-vlm", "Reward models + VLMs", 'abs:"reward model"', ("cs.CV", "cs.CL"))
LOGGER = "paperbot.arxiv"

pytestmark = pytest.mark.now(NOW)


NEWEST = utc(2025, 6, 7, 9)


def papers(count: int, newest: datetime = NEWEST, first: int = 0) -> list[FakePaper]:
    """`count` papers updated a minute apart, the newest at `newest`, ids from 2506.<first>."""
    return [
        FakePaper(f"2506.{first + i:05d}", title=f"Paper {first + i}", published=newest - timedelta(minutes=i))
        for i in range(count)
    ]


@pytest.fixture
def make_fetcher(paper_store, fake_arxiv, clock, sleeps):
    made: list[ArxivFetcher] = []

    def make(sleep: Sleeps | None = None, **settings) -> ArxivFetcher:
        config = dict(delay_seconds=0, backoff_seconds=0.001, retries=3, timeout_seconds=2.0) | settings
        fetcher = ArxivFetcher(
            paper_store, FetchConfig(**config), fake_arxiv.url, clock=clock, sleep=sleep or sleeps,
            limiter=RequestLimiter(), jitter=0,
        )  # fmt: skip
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- paging, the query, the cursor ----------------------------------------------------------


async def test_pages_of_100_until_the_total_and_everything_is_stored(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(250))
    report = await make_fetcher().fetch_topic(TOPIC)

    assert report.ok and report.pages == 3 and report.total == 250
    assert (report.seen, report.stored.new, report.stored.updated, report.stored.unchanged) == (250, 250, 0, 0)
    assert [(r.start, r.max_results) for r in fake_arxiv.requests] == [(0, 100), (100, 100), (200, 100)]
    assert {(r.params["sortBy"], r.params["sortOrder"]) for r in fake_arxiv.requests} == {("lastUpdatedDate", "descending")}
    assert await paper_store.paper_count() == 250
    stored = await paper_store.get("2506.00249")
    assert stored is not None and stored.topics == (TOPIC.name,) and stored.version == 1


async def test_query_is_the_topic_and_its_categories_in_a_first_fetch_window(fake_arxiv, make_fetcher):
    fake_arxiv.add(*papers(1))
    await make_fetcher(first_fetch_days=30).fetch_topic(TOPIC)

    (request,) = fake_arxiv.requests
    assert request.search_query == (
        '(abs:"reward model") AND (cat:cs.CV OR cat:cs.CL) AND lastUpdatedDate:[202505090000 TO 202506081200]'
    )
    assert request.params["id_list"] == ""


async def test_second_fetch_starts_a_day_before_the_cursor_and_repeats_are_unchanged(
    fake_arxiv, paper_store, clock, make_fetcher
):
    old = [FakePaper(f"2506.0000{i}", published=moment) for i, moment in enumerate(
        [utc(2025, 6, 3), utc(2025, 6, 4), utc(2025, 6, 5), utc(2025, 6, 6, 12), utc(2025, 6, 7, 9)]
    )]  # fmt: skip
    fake_arxiv.add(*old)
    assert await last_fetch(paper_store, TOPIC) is None

    first = await make_fetcher().fetch_topic(TOPIC)
    assert first.ok and first.stored.new == 5 and first.cursor_before is None
    assert first.cursor_after == "2025-06-07T09:00:00Z"
    assert await paper_store.get_meta(CURSOR_KEY.format(topic=TOPIC.name)) == "2025-06-07T09:00:00Z"
    assert await last_fetch(paper_store, TOPIC.name) == NOW

    clock.set(NOW + timedelta(days=1))
    fake_arxiv.add(*papers(3, newest=utc(2025, 6, 9, 8), first=10000))
    second = await make_fetcher().fetch_topic(TOPIC)

    assert fake_arxiv.requests[-1].window == ("202506060900", "202506091200")  # cursor - 1 day .. now
    assert second.ok and (second.stored.new, second.stored.updated, second.stored.unchanged) == (3, 0, 2)
    assert second.cursor_before == "2025-06-07T09:00:00Z" and second.cursor_after == "2025-06-09T08:00:00Z"
    assert await read_cursor(paper_store, TOPIC) == utc(2025, 6, 9, 8)
    assert await last_fetch(paper_store, TOPIC) == clock.now()
    assert await paper_store.paper_count() == 8


async def test_since_overrides_the_cursor_but_never_moves_it_back(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(2))
    await make_fetcher().fetch_topic(TOPIC)
    report = await make_fetcher().fetch_topic(TOPIC, since=date(2025, 1, 15))

    assert fake_arxiv.requests[-1].window == ("202501150000", "202506081200")
    assert report.cursor_after == "2025-06-07T09:00:00Z"


async def test_a_new_version_updates_the_known_paper_instead_of_adding_one(fake_arxiv, paper_store, clock, make_fetcher):
    v1 = FakePaper("2506.03517", title="Reward Models, First Draft", published=utc(2025, 6, 4, 9))
    fake_arxiv.add(v1)
    await make_fetcher().fetch_topic(TOPIC)

    fake_arxiv.add(v1.new_version(utc(2025, 6, 7, 18), title="Reward Models, Revised"))
    clock.set(NOW + timedelta(days=1))
    report = await make_fetcher().fetch_topic(TOPIC)

    assert report.ok and (report.stored.new, report.stored.updated) == (0, 1)
    assert await paper_store.paper_count() == 1
    paper = await paper_store.get("2506.03517")
    assert paper.version == 2 and paper.title == "Reward Models, Revised"
    assert paper.published == "2025-06-04" and paper.updated == "2025-06-07T18:00:00Z"


async def test_a_cross_listed_paper_counts_with_its_primary_category_first(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(FakePaper("2506.01234", primary_category="math.OC", categories=("math.OC", "cs.CV", "68T05")))
    await make_fetcher().fetch_topic(TOPIC)

    assert "(cat:cs.CV OR cat:cs.CL)" in fake_arxiv.requests[0].search_query
    paper = await paper_store.get("2506.01234")
    assert paper.categories == ("math.OC", "cs.CV") and paper.topics == (TOPIC.name,)


async def test_latex_entities_and_unicode_authors_round_trip(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.serve_fixture("tricky-page.xml")
    report = await make_fetcher().fetch_topic(TOPIC)
    assert report.ok and report.stored.new == 3

    paper = await paper_store.get("2506.03517")
    assert paper.title == (
        r"$\alpha$-Reward: Scaling \textit{Vision-Language} Reward Models with $\mathcal{O}(n)$ "
        "Preference Pairs & Q&A for Café Robots"
    )
    assert paper.authors == ("José Ángel Müller-Łukasiewicz", "李明", "Zoë Ø. Åberg")
    assert "$N < 10^3$ preference pairs" in paper.abstract and "\n" not in paper.abstract
    assert paper.version == 2 and paper.published == "2025-06-04" and paper.updated == "2025-06-06T17:59:46Z"
    assert paper.categories == ("cs.CV", "cs.CL")  # the ACM class I.2.10 is not an arXiv category
    assert paper.comment == (
        "12 pages, 5 figures; v2: fixed Table~2. Project page: https://example-lab.github.io/alpha-reward"
    )
    assert paper.journal_ref == "Proc. CVPR 2025, pp. 1--12" and paper.doi == "10.1000/example.2025.123"
    assert paper.code_url == "https://github.com/example-lab/alpha-reward"

    cross = await paper_store.get("2506.01234")
    assert cross.categories == ("math.OC", "cs.LG") and cross.authors == ("Søren Kierkegaard",)
    old_style = await paper_store.get("cs/0112017")
    assert old_style.version == 3 and old_style.published == "2001-12-14"
    assert old_style.title.endswith("Learning <b>Rewards</b> from Vision-Language Feedback")
    assert old_style.authors == ("Nguyễn Văn An",)


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_429_with_retry_after_is_honoured_then_the_fetch_succeeds(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(3))
    fake_arxiv.fail(429, retry_after="1")
    sleeps = Sleeps(real=True)
    report = await make_fetcher(sleep=sleeps).fetch_topic(TOPIC)

    assert report.ok and report.stored.new == 3
    assert [r.status for r in fake_arxiv.requests] == [429, 200]
    assert sleeps.waits == [1.0]  # Retry-After beats the (tiny) backoff
    assert fake_arxiv.requests[1].at - fake_arxiv.requests[0].at >= 1.0


async def test_a_503_storm_fails_cleanly_with_one_error_line_and_nothing_lost(
    fake_arxiv, paper_store, clock, sleeps, make_fetcher, caplog
):
    fake_arxiv.add(*papers(50, newest=utc(2025, 6, 5)))
    first = await make_fetcher().fetch_topic(TOPIC)
    cursor = await paper_store.get_meta(CURSOR_KEY.format(topic=TOPIC.name))
    succeeded_at = await last_fetch(paper_store, TOPIC)

    clock.set(NOW + timedelta(days=1))
    fake_arxiv.add(*papers(200, newest=utc(2025, 6, 9, 6), first=10000))
    fake_arxiv.fail(503, times=10, start=100)
    caplog.set_level(logging.INFO, logger=LOGGER)
    report = await make_fetcher(retries=3).fetch_topic(TOPIC)

    assert not report.ok and report.pages == 1 and report.stored.new == 100
    assert report.error.startswith(f"arXiv fetch for topic {TOPIC.name} failed after 4 attempts: HTTP 503 from 127.0.0.1:")
    assert [r.status for r in fake_arxiv.requests[first.pages :]] == [200, 503, 503, 503, 503]
    assert sleeps.waits == pytest.approx([0.001, 0.002, 0.004])  # exponential backoff
    (line,) = errors(caplog)
    assert line.name == LOGGER and "failed after 4 attempts: HTTP 503" in line.getMessage()
    assert "cursor not moved" in line.getMessage()
    # The first page of the failed fetch stays stored; the cursor and the last success do not move.
    assert await paper_store.paper_count() == 150
    assert await paper_store.get_meta(CURSOR_KEY.format(topic=TOPIC.name)) == cursor
    assert report.cursor_after == report.cursor_before == cursor
    assert await last_fetch(paper_store, TOPIC) == succeeded_at
    when, message = await last_error(paper_store, TOPIC)
    assert when == clock.now() and message == report.error


async def test_an_empty_page_in_the_middle_is_retried_not_taken_for_the_end(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(250))
    fake_arxiv.empty_page(start=100)
    report = await make_fetcher().fetch_topic(TOPIC)

    assert report.ok and report.stored.new == 250
    assert [r.start for r in fake_arxiv.requests] == [0, 100, 100, 200]
    assert await paper_store.paper_count() == 250


async def test_a_short_page_is_followed_by_our_own_request_for_the_rest(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(250))
    fake_arxiv.short_page(start=0, entries=60)
    report = await make_fetcher().fetch_topic(TOPIC)

    # The arxiv package would have asked for the rest itself, unspaced; the fetcher asks, one request a slot.
    assert [(r.start, r.max_results) for r in fake_arxiv.requests] == [(0, 100), (60, 100), (160, 100)]
    assert report.ok and report.pages == 3 and await paper_store.paper_count() == 250


async def test_empty_pages_beyond_the_retries_fail_and_keep_the_first_page(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(250))
    fake_arxiv.empty_page(start=100, times=5)
    report = await make_fetcher(retries=2).fetch_topic(TOPIC)

    assert not report.ok and "an empty page" in report.error and "250 results" in report.error
    assert await paper_store.paper_count() == 100
    assert await read_cursor(paper_store, TOPIC) is None


@pytest.mark.parametrize(
    "body, message",
    [
        ("truncated.xml", "arXiv returned malformed XML ("),
        ("proxy-error.html", "arXiv returned malformed XML ("),
        (b"", "arXiv returned malformed XML (an empty response body)"),
        (b"Service temporarily unavailable", "arXiv returned malformed XML ("),
        ("api-error.xml", "arXiv rejected the query: incorrect id format for 1234.12345v"),
        ("no-totals.xml", "without opensearch:totalResults"),
    ],
)
async def test_malformed_responses_fail_with_a_clear_message_and_store_nothing(
    fake_arxiv, paper_store, make_fetcher, caplog, body, message
):
    fake_arxiv.add(*papers(3))
    if isinstance(body, bytes):
        fake_arxiv.serve_body(body)
    else:
        fake_arxiv.serve_fixture(body)
    report = await make_fetcher().fetch_topic(TOPIC)

    assert not report.ok and message in report.error
    assert len(fake_arxiv.requests) == 1  # retrying cannot fix what arXiv said
    assert await paper_store.paper_count() == 0
    assert len(errors(caplog)) == 1
    assert await read_cursor(paper_store, TOPIC) is None


async def test_a_timeout_is_retried(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(3))
    fake_arxiv.hang(seconds=1.0)
    report = await make_fetcher(timeout_seconds=0.2).fetch_topic(TOPIC)

    assert report.ok and report.stored.new == 3 and len(fake_arxiv.requests) == 2


async def test_a_server_that_never_answers_fails_cleanly(fake_arxiv, paper_store, make_fetcher):
    fake_arxiv.add(*papers(3))
    answers = fake_arxiv.hold()  # the server answers nothing until the test says so
    try:
        report = await make_fetcher(timeout_seconds=0.2, retries=1).fetch_topic(TOPIC)
        # Gave up on each request at the timeout: both are still waiting for their answer.
        assert [r.finished for r in fake_arxiv.requests] == [None, None]
    finally:
        answers.set()

    assert not report.ok and "failed after 2 attempts: no answer within 0.2 s from 127.0.0.1:" in report.error
    assert await paper_store.paper_count() == 0


async def test_a_retry_after_longer_than_a_fetch_waits_gives_up_at_once(fake_arxiv, make_fetcher, sleeps):
    fake_arxiv.add(*papers(3))
    fake_arxiv.fail(503, retry_after="3600")
    report = await make_fetcher().fetch_topic(TOPIC)

    assert not report.ok and "Retry-After" in report.error and "3600 s" in report.error
    assert len(fake_arxiv.requests) == 1 and sleeps.waits == []


async def test_an_unreachable_server_fails_cleanly(paper_store, clock, sleeps):
    with FakeArxiv() as gone:
        url = gone.url  # a port nobody listens on once the server is closed
    fetcher = ArxivFetcher(paper_store, FetchConfig(retries=1, backoff_seconds=0, delay_seconds=0), url, clock=clock,
                           sleep=sleeps, limiter=RequestLimiter())  # fmt: skip
    try:
        (report,) = await fetcher.fetch_topics([TOPIC])
    finally:
        fetcher.close()
    assert not report.ok and "cannot connect to 127.0.0.1:" in report.error


async def test_an_unreachable_arxiv_is_said_once_not_retried_and_the_next_fetch_tries_again(paper_store, clock, sleeps, caplog):
    with FakeArxiv() as gone:
        url = gone.url  # a port nobody listens on once the server is closed: connection refused
    other = Topic("other", query="abs:preference")
    fetcher = ArxivFetcher(paper_store, FetchConfig(retries=5, backoff_seconds=30, delay_seconds=0), url, clock=clock,
                           sleep=sleeps, limiter=RequestLimiter())  # fmt: skip
    caplog.set_level(logging.INFO, logger=LOGGER)
    try:
        reports = await fetcher.fetch_topics([TOPIC, other])
    finally:
        fetcher.close()

    assert sleeps.waits == []  # no minutes of backoff for a network that is not there
    assert [(r.topic, r.ok, bool(r.unreachable)) for r in reports] == [(TOPIC.name, False, True), ("other", False, True)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and errors(caplog) == []
    assert warnings[0].startswith("arXiv is unreachable: cannot connect to 127.0.0.1:") and "Connection refused" in warnings[0]
    assert "the next scheduled fetch tries again" in warnings[0]
    assert "not tried: arXiv is unreachable" in reports[1].error
    for topic in (TOPIC, other):  # `status` shows both as failing
        assert "arXiv is unreachable" in (await last_error(paper_store, topic))[1]


async def test_a_name_that_does_not_resolve_is_unreachable_too(paper_store, clock, sleeps, caplog, monkeypatch):
    def no_dns(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")  # what an offline resolver answers

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    fetcher = ArxivFetcher(paper_store, FetchConfig(retries=5, delay_seconds=0), "https://export.arxiv.org/api/query",
                           clock=clock, sleep=sleeps, limiter=RequestLimiter())  # fmt: skip
    try:
        report = await fetcher.fetch_topic(TOPIC)
    finally:
        fetcher.close()
    assert not report.ok and sleeps.waits == [] and errors(caplog) == []
    assert report.unreachable.startswith("arXiv is unreachable: cannot connect to export.arxiv.org/api/query")


async def test_a_dropped_connection_is_still_retried(fake_arxiv, paper_store, make_fetcher, sleeps):
    fake_arxiv.add(*papers(3))
    fake_arxiv.drop()
    report = await make_fetcher().fetch_topic(TOPIC)
    assert report.ok and report.seen == 3 and len(fake_arxiv.requests) == 2 and len(sleeps.waits) == 1


# --- politeness -------------------------------------------------------------------------------


class VirtualTime:
    """A monotonic clock that only the fetcher's sleeps move: spacing is checked by logic, not by timing."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += max(seconds, 0.0)
        await asyncio.sleep(0)


async def test_requests_start_at_least_delay_seconds_apart_even_across_retries(fake_arxiv, paper_store, clock):
    fake_arxiv.add(*papers(250))
    fake_arxiv.fail(503, start=100)
    time_ = VirtualTime()
    fake_arxiv.clock = time_.monotonic
    config = FetchConfig(delay_seconds=0.2, backoff_seconds=0, retries=3, timeout_seconds=2.0)
    fetcher = ArxivFetcher(
        paper_store, config, fake_arxiv.url, clock=clock, sleep=time_.sleep, limiter=RequestLimiter(time_.monotonic), jitter=0
    )
    try:
        report = await fetcher.fetch_topic(TOPIC)
    finally:
        fetcher.close()

    assert report.ok and [r.start for r in fake_arxiv.requests] == [0, 100, 100, 200]
    gaps = [later.at - earlier.at for earlier, later in zip(fake_arxiv.requests, fake_arxiv.requests[1:], strict=False)]
    assert gaps == pytest.approx([0.2, 0.2, 0.2])  # the retry too waited out the spacing


async def test_two_fetches_in_one_process_never_overlap(fake_arxiv, paper_store, clock):
    fake_arxiv.add(*papers(120))
    fake_arxiv.hang(seconds=0.02, times=100)  # every answer takes a while, so overlap would show
    other = Topic("other", query="abs:preference")
    config = FetchConfig(delay_seconds=0, page_size=50)
    # No limiter given: both use the process-wide one, as a scheduler and a CLI call would.
    first, second = (ArxivFetcher(paper_store, config, fake_arxiv.url, clock=clock) for _ in range(2))
    try:
        reports = await asyncio.gather(first.fetch_topic(TOPIC), second.fetch_topic(other))
    finally:
        first.close()
        second.close()

    assert all(r.ok for r in reports) and fake_arxiv.max_in_flight == 1
    queries = [r.search_query.split(" AND ")[0] for r in fake_arxiv.requests]
    assert queries == sorted(queries, key=queries.index) and len(set(queries)) == 2  # one topic, then the other
    assert len(fake_arxiv.requests) == 6


async def test_max_results_caps_a_too_broad_query(fake_arxiv, paper_store, make_fetcher, caplog):
    fake_arxiv.add(*papers(250))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    report = await make_fetcher(max_results=150).fetch_topic(TOPIC)

    assert report.ok and report.seen == 150
    assert [(r.start, r.max_results) for r in fake_arxiv.requests] == [(0, 100), (100, 50)]
    assert any("fetch.max_results" in r.getMessage() for r in caplog.records)


async def test_topics_without_a_query_are_skipped(fake_arxiv, make_fetcher):
    fake_arxiv.add(*papers(2))
    fetcher = make_fetcher()
    reports = await fetcher.fetch_topics([Topic("paper-list-only"), TOPIC])

    assert [r.topic for r in reports] == [TOPIC.name]
    assert (await fetcher.fetch_topic(Topic("paper-list-only"))).skipped
    assert len(fake_arxiv.requests) == 1


class BrokenStore:
    """A store whose writes fail: a bug or a full disk, not arXiv's fault."""

    def __init__(self, paper_store) -> None:
        self.store = paper_store

    async def upsert_papers(self, papers):
        raise OSError("disk full")

    def __getattr__(self, name):
        return getattr(self.store, name)


async def test_an_unexpected_error_fails_one_topic_and_the_others_still_run(fake_arxiv, paper_store, clock, sleeps, caplog):
    fake_arxiv.add(*papers(2))
    broken = ArxivFetcher(BrokenStore(paper_store), FetchConfig(delay_seconds=0), fake_arxiv.url, clock=clock, sleep=sleeps,
                          limiter=RequestLimiter())  # fmt: skip
    other = Topic("other", query="abs:preference")
    try:
        reports = await broken.fetch_topics([TOPIC, other])
    finally:
        broken.close()
    assert [(r.topic, r.ok) for r in reports] == [(TOPIC.name, False), ("other", False)]
    assert "OSError: disk full" in reports[0].error
    assert len(errors(caplog)) == 2 and await read_cursor(paper_store, TOPIC) is None


# --- the endpoint -------------------------------------------------------------------------------


def test_arxiv_api_url_from_the_environment_beats_the_config(monkeypatch):
    config = FileConfig(arxiv_api_url="https://proxy.example/arxiv/query")
    monkeypatch.delenv("ARXIV_API_URL", raising=False)
    assert resolve_api_url(config) == "https://proxy.example/arxiv/query"
    assert resolve_api_url(FileConfig()) == "https://export.arxiv.org/api/query"

    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    assert resolve_api_url(config) == "http://127.0.0.1:9/api/query"
    assert resolve_api_url(config, EnvSettings(arxiv_api_url="http://other/q")) == "http://other/q"

    monkeypatch.setenv("ARXIV_API_URL", "ftp://nope")
    with pytest.raises(ConfigError, match="ARXIV_API_URL"):
        resolve_api_url(config)


async def test_an_endpoint_with_its_own_query_string_keeps_it(fake_arxiv, paper_store, clock, sleeps):
    fake_arxiv.add(*papers(1))
    fetcher = ArxivFetcher(paper_store, FetchConfig(delay_seconds=0), f"{fake_arxiv.url}?via=proxy", clock=clock, sleep=sleeps,
                           limiter=RequestLimiter())  # fmt: skip
    try:
        assert (await fetcher.fetch_topic(TOPIC)).ok
    finally:
        fetcher.close()
    assert fake_arxiv.requests[0].params["via"] == "proxy" and fake_arxiv.requests[0].params["start"] == "0"


# --- the `paperbot fetch` command -------------------------------------------------------------------

CLI_CONFIG = """
example_data = false

[fetch]
delay_seconds = 0
retries = 0
backoff_seconds = 0
timeout_seconds = 5

[[topics]]
name = "reward-vlm"
query = 'abs:"reward model"'
categories = ["cs.CV", "cs.CL"]

[[topics]]
name = "paper-list"
title = "Imported from a paper list"
"""


@pytest.fixture
def cli_config(config_file) -> Path:
    return config_file(CLI_CONFIG)


@pytest.mark.slow
@pytest.mark.subprocess
def test_cli_fetch_prints_a_summary_and_exits_0(fake_arxiv, tmp_path, cli_config):
    recent = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    fake_arxiv.add(*papers(3, newest=recent))
    env = {"ARXIV_API_URL": fake_arxiv.url}  # PAPERBOT_CONFIG is the offline config; --config overrides it
    result = run_paperbot("--config", str(cli_config), "fetch", db=tmp_path / "p.db", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reward-vlm: 3 papers from arXiv (3 new, 0 updated, 0 unchanged) in 1 page")
    assert len(fake_arxiv.requests) == 1 and "(cat:cs.CV OR cat:cs.CL)" in fake_arxiv.requests[0].search_query

    again = run_paperbot("--config", str(cli_config), "fetch", "--topic", "reward-vlm", db=tmp_path / "p.db", env=env)
    assert again.returncode == 0 and "(0 new, 0 updated, 3 unchanged)" in again.stdout


def test_cli_fetch_failure_exits_1_with_the_reason(paperbot, fake_arxiv, tmp_path, cli_config):
    fake_arxiv.fail(503)
    env = {"ARXIV_API_URL": fake_arxiv.url}  # PAPERBOT_CONFIG is the offline config; --config overrides it
    result = paperbot("--config", str(cli_config), "fetch", db=tmp_path / "p.db", env=env)

    assert result.returncode == 1
    assert "arXiv fetch for topic reward-vlm failed: HTTP 503 from 127.0.0.1:" in result.stdout
    assert result.stderr.count(" ERROR ") == 1


def test_cli_fetch_usage_errors_exit_2(paperbot, fake_arxiv, tmp_path, cli_config):
    env = {"ARXIV_API_URL": fake_arxiv.url}  # PAPERBOT_CONFIG is the offline config; --config overrides it
    unknown = paperbot("--config", str(cli_config), "fetch", "--topic", "unknown", db=tmp_path / "p.db", env=env)
    assert unknown.returncode == 2 and "unknown topic 'unknown'; topics to fetch: reward-vlm" in unknown.stderr
    no_query = paperbot("--config", str(cli_config), "fetch", "--topic", "paper-list", db=tmp_path / "p.db", env=env)
    assert no_query.returncode == 2 and "has no arXiv query" in no_query.stderr
    bad_date = paperbot("--config", str(cli_config), "fetch", "--since", "2025-02-30", db=tmp_path / "p.db", env=env)
    assert bad_date.returncode == 2 and "--since" in bad_date.stderr
    assert fake_arxiv.requests == []


def test_cli_fetch_refuses_when_fetching_is_disabled(paperbot, tmp_path):
    # The offline test config turns fetching off: a test can never reach the real arXiv by accident.
    result = paperbot("fetch", db=tmp_path / "p.db")
    assert result.returncode == 2 and "fetching from arXiv is disabled" in result.stderr
