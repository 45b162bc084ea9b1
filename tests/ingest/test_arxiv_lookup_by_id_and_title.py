"""Papers by id (`id_list`) and by title (`ti:`) through the real `arxiv` client, against the fake arXiv.

The fake answers `id_list` the way export.arxiv.org does (see the real
captures this mirrors: a malformed id is refused with HTTP 400 and an error
feed naming it; an id arXiv does not know is silently left out; old-style ids
come back under their archive), so what is tested here is paperbot's handling
of those answers, spaced and retried by the same rules as a topic fetch.
"""

from __future__ import annotations

import socket

import pytest

from bot.config import FetchConfig
from bot.ingest.arxiv import ID_BATCH, ArxivFetcher, ArxivFetchError, ArxivUnreachable, RequestLimiter
from bot.ingest.title_match import MATCH_THRESHOLD, best_match, title_query, title_similarity
from tests.support import Sleeps
from tests.support.fake_arxiv import FakePaper, utc


@pytest.fixture
def make_lookup(fake_arxiv):
    made: list[ArxivFetcher] = []

    def make(url: str | None = None, sleeps: Sleeps | None = None, **settings) -> ArxivFetcher:
        config = dict(delay_seconds=0, backoff_seconds=0.001, retries=2, timeout_seconds=2.0) | settings
        fetcher = ArxivFetcher(
            None, FetchConfig(**config), url or fake_arxiv.url, sleep=sleeps or Sleeps(), limiter=RequestLimiter(), jitter=0  # type: ignore[arg-type]
        )
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def numbered(count: int) -> list[FakePaper]:
    return [FakePaper(f"2506.{i:05d}", title=f"Paper {i}") for i in range(count)]


async def test_ids_are_asked_for_a_hundred_at_a_time_in_the_order_given(fake_arxiv, make_lookup):
    fake_arxiv.add(*numbered(250))
    ids = [f"2506.{i:05d}" for i in range(250)]

    found = await make_lookup().papers_by_id(ids, topic="mine")

    assert ID_BATCH == 100
    assert [len(r.params["id_list"].split(",")) for r in fake_arxiv.requests] == [100, 100, 50]
    assert {r.params["search_query"] for r in fake_arxiv.requests} == {""}
    assert [p.arxiv_id for p in found.papers] == ids
    assert found.unknown == () and found.refused == ()
    assert found.papers[0].topics == ("mine",)


async def test_requests_are_spaced_by_the_configured_delay(fake_arxiv, make_lookup):
    fake_arxiv.add(*numbered(150))
    sleeps = Sleeps()
    await make_lookup(sleeps=sleeps, delay_seconds=3.0).papers_by_id([f"2506.{i:05d}" for i in range(150)])

    assert len(fake_arxiv.requests) == 2
    assert len(sleeps.waits) == 1 and 2.5 < sleeps.waits[0] <= 3.0


async def test_old_style_and_unknown_ids(fake_arxiv, make_lookup):
    fake_arxiv.add(FakePaper("astro-ph/0601001", title="An old-style paper", primary_category="astro-ph"),
             FakePaper("1707.08567", title="Proceedings of Workshop AEW10"))  # fmt: skip

    found = await make_lookup().papers_by_id(["astro-ph/0601001", "0808.05394", "1707.08567"])

    assert [p.arxiv_id for p in found.papers] == ["astro-ph/0601001", "1707.08567"]
    assert found.papers[0].topics == ()  # no topic asked for
    assert found.unknown == ("0808.05394",)  # arXiv says nothing about it; we do


async def test_an_id_arxiv_refuses_is_reported_and_the_rest_asked_again(fake_arxiv, make_lookup):
    fake_arxiv.add(*numbered(2))

    found = await make_lookup().papers_by_id(["2506.00000", "abc", "2506.00001"])

    assert [r.status for r in fake_arxiv.requests] == [400, 200]
    assert fake_arxiv.requests[1].params["id_list"] == "2506.00000,2506.00001"
    assert [p.arxiv_id for p in found.papers] == ["2506.00000", "2506.00001"]
    assert found.refused == (("abc", "incorrect id format for abc"),)


async def test_server_errors_are_retried_and_then_raise(fake_arxiv, make_lookup):
    fake_arxiv.add(*numbered(1))
    fake_arxiv.fail(503, times=1)
    assert [p.arxiv_id for p in (await make_lookup().papers_by_id(["2506.00000"])).papers] == ["2506.00000"]

    fake_arxiv.fail(503, times=10)
    with pytest.raises(ArxivFetchError, match="HTTP 503"):
        await make_lookup(retries=1).papers_by_id(["2506.00000"])


async def test_nothing_listening_is_unreachable_at_once(make_lookup):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ArxivUnreachable):
        await make_lookup(url=f"http://127.0.0.1:{port}/api/query").papers_by_id(["2506.00000"])


# --- titles ---------------------------------------------------------------------------------


def test_title_query_keeps_the_distinctive_words():
    assert title_query("Towards Scalable and Resource-Conscious Reasoning: A Survey") == (
        "ti:towards AND ti:scalable AND ti:resource AND ti:conscious AND ti:reasoning AND ti:survey"
    )
    assert title_query("A of the") == ""


def test_similarity_forgives_case_punctuation_and_accents_but_not_other_papers():
    assert title_similarity("Schrödinger's Bridge: A Survey", "schrodinger s bridge a survey") == 1.0
    near = title_similarity("Toward Scalable Resource Conscious Reasoning", "Towards Scalable and Resource-Conscious Reasoning")
    assert near >= MATCH_THRESHOLD
    assert title_similarity("Scalable Reasoning", "Towards Scalable and Resource-Conscious Reasoning") < MATCH_THRESHOLD


async def test_search_title_finds_the_near_miss_and_best_match_picks_it(fake_arxiv, make_lookup):
    wanted = FakePaper("2505.11111", title="Towards Scalable and Resource-Conscious Reasoning: A Survey of Efficient Models")
    decoy = FakePaper("2505.22222", title="Scalable Resource-Conscious Reasoning Survey Models Towards Efficient Agents",
                      published=utc(2025, 6, 2))  # fmt: skip
    fake_arxiv.add(wanted, decoy, FakePaper("2505.33333", title="Something else entirely"))
    entry_title = "Towards Scalable and Resource Conscious Reasoning: a Survey of Efficient Models"

    candidates = await make_lookup().search_title(entry_title)

    assert fake_arxiv.requests[0].params["search_query"].startswith("ti:towards AND ti:scalable")
    assert {p.arxiv_id for p in candidates} == {"2505.11111", "2505.22222"}
    match, score = best_match(entry_title, candidates)
    assert match is not None and match.arxiv_id == "2505.11111" and score >= MATCH_THRESHOLD
    assert best_match("A Different Paper About Reasoning", candidates)[0] is None
