"""Search's plan (`store.sqlite.search`) gives plain bm25's top 10 for every selective query.

Why: the plan counts and ranks slices of the index to stay fast for common words; for a query with
fewer matches than it ranks at once (`RANKED_POOL`) it promises exactly plain
`ORDER BY bm25(...) LIMIT 10`. This checks that promise on a fixed set of 2-, 3- and 5-word
queries of rare and mixed words (and the single words they are made of), with and without a
topic, on a synthetic store large enough that the plan probes, widens and ranks slices (its
constants scaled down with the store, so every branch runs). Results are compared by their bm25
scores in order, so papers tied on score may come in either order.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3

import pytest

from bot.models import Paper
from store.sqlite import SqliteStore, search
from store.sqlite.query import build_match_query

PAPERS = 4_000
VOCABULARY = 3_000
TOPIC = "robotics"
# Zipf ranks: 1-10 are in most papers, 40-300 in some (more than the scaled RANKED_POOL), 1,500+ in a handful.
QUERIES = [
    (2_500,), (40,), (2_500, 3), (2_500, 2, 5), (2_500, 1, 2, 3, 4),
    (1_500, 40), (200, 3, 40), (200, 1, 2, 3, 40), (40, 1_000), (150, 2, 900), (4, 2_000, 7), (35, 5),
    (200, 300), (150, 250, 3),  # selective, though no word is: found by probing slices
]


def vocabulary(rng: random.Random) -> list[str]:
    syllables = "ka ri to mo ne su la vi de po xu an el or im quo ber tal gen dra".split()
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        words["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))] = None
    return list(words)


def synthetic_papers() -> tuple[list[Paper], list[str]]:
    rng = random.Random(18)
    words = vocabulary(rng)
    weights = list(itertools.accumulate(1.0 / rank for rank in range(1, len(words) + 1)))

    def text(count: int) -> str:
        return " ".join(rng.choices(words, cum_weights=weights, k=count))

    papers = [
        Paper(
            arxiv_id=f"{2401 + index * 12 // PAPERS:04d}.{index + 1:05d}",
            title=text(rng.randint(6, 12)).capitalize(),
            version=1,
            abstract=text(rng.randint(60, 120)).capitalize() + ".",
            authors=(f"{text(1).capitalize()} {text(1).capitalize()}",),
            published=f"2024-{1 + index * 12 // PAPERS:02d}-{rng.randint(1, 28):02d}",
            categories=("cs.LG",),
            topics=(TOPIC,) if rng.random() < 0.3 else (),
        )
        for index in range(PAPERS)
    ]
    return papers, words


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    import asyncio

    papers, words = synthetic_papers()
    path = tmp_path_factory.mktemp("bm25") / "papers.db"

    async def load() -> None:
        store = await SqliteStore.open(path)
        try:
            await store.papers.bulk_upsert(papers[start : start + 500] for start in range(0, PAPERS, 500))
        finally:
            await store.close()

    asyncio.run(load())
    return path, words


@pytest.fixture
def small_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan's constants scaled from a 1M-paper store to this one, so it probes and widens here too."""
    monkeypatch.setattr(search, "PROBE_ROWS", 100)
    monkeypatch.setattr(search, "RANKED_POOL", 60)


def plain_bm25(conn: sqlite3.Connection, match: str, topic: str | None) -> tuple[list[float], int]:
    """Plain bm25's top 10 scores and the number of matches."""
    join = "JOIN paper_topics t ON t.paper_id = papers_fts.rowid AND t.topic = ?" if topic else ""
    params = (topic,) if topic else ()
    where = f"FROM papers_fts {join} WHERE papers_fts MATCH ?"
    scores = [s for (s,) in conn.execute(f"SELECT {search.RANK_EXPRESSION} {where} ORDER BY 1 LIMIT 10", (*params, match))]
    return scores, conn.execute(f"SELECT count(*) {where}", (*params, match)).fetchone()[0]


def scores_of(conn: sqlite3.Connection, match: str, arxiv_ids: list[str]) -> list[float]:
    found = dict(
        conn.execute(
            f"SELECT p.arxiv_id, {search.RANK_EXPRESSION} FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
            "WHERE papers_fts MATCH ? AND p.arxiv_id IN (SELECT value FROM json_each(?))",
            (match, json.dumps(arxiv_ids)),
        )
    )
    return [found[arxiv_id] for arxiv_id in arxiv_ids]


@pytest.mark.parametrize("topic", [None, TOPIC])
async def test_every_selective_query_gets_plain_bm25s_top_10(built, small_plan, topic):
    path, words = built
    store = await SqliteStore.open(path, read_only=True)
    conn = sqlite3.connect(path)
    checked = 0
    try:
        for ranks in QUERIES:
            text = " ".join(words[rank - 1] for rank in ranks)
            match = build_match_query(text)
            expected, matches = plain_bm25(conn, match, topic)
            if matches >= search.RANKED_POOL:
                continue  # a common query: ranked among its newest matches by design
            found = await store.papers.search(text, topic=topic, limit=10)
            assert scores_of(conn, match, [paper.arxiv_id for paper in found]) == pytest.approx(expected, rel=1e-12), text
            checked += 1
    finally:
        conn.close()
        await store.close()
    assert checked >= 8  # the set really is mostly selective queries, with results
