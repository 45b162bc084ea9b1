"""A digest planned ahead (ranked, remembered per model) still follows every change before it fires.

Models remember each paper's score and why line (`bot.rank.model.PaperMemo`),
and the bot plans ranked digests right after a fetch. Whatever changes
between that plan and the digest must show: a new library, a vote, a paper
whose text changed in the store. Real papers (`tests/fixtures/rank/two_topics.jsonl`),
the SQLite store, `bot.ranking.Ranking` with votes and the `DigestEngine`.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.ranking import Ranking
from bot.service import PaperService
from bot.votes import VoteAction, Votes
from tests.core.test_ranked_digests import ON_SUBJECT, RANKED, Harness, as_topic, open_harness
from tests.unit.test_ranker import DISEASE, GAMES

GAME_IDS = {p.arxiv_id for p in GAMES}


@pytest.fixture
async def bot(tmp_path):
    harness = await open_harness(tmp_path / "planned.db")
    store = harness.store
    harness.ranking = Ranking(PaperService(store.papers), store.libraries, votes=store.votes)  # votes count too
    harness.engine.ranker = harness.ranking
    await harness.subscribe(max_papers=3)
    await harness.news()
    yield harness
    await store.close()


async def planned_ahead(bot: Harness) -> list[str]:
    """The digest as planned right after the fetch, and the ids it shows."""
    assert await bot.engine.plan_ranked() == 1
    [subscription] = await bot.store.subscriptions.subscriptions()
    plan = await bot.engine.preview(subscription)
    return [p.arxiv_id for p in plan.papers]


async def test_a_new_library_ranks_the_digest_planned_before_it_anew(bot):
    assert set(await planned_ahead(bot)) == ON_SUBJECT
    await bot.store.papers.upsert_papers(as_topic(GAMES[:4], "games"))
    await bot.ranking.use_library(RANKED, "games")
    assert set(await planned_ahead(bot)) <= GAME_IDS


async def test_a_vote_after_the_plan_changes_the_digest(bot):
    top = (await planned_ahead(bot))[0]
    votes = Votes(PaperService(bot.store.papers), bot.store.votes)
    await votes.record(RANKED, "U1", top, VoteAction.DOWN)
    assert top not in await planned_ahead(bot)


async def test_a_paper_rewritten_in_the_store_after_the_plan_is_scored_again(bot):
    shown = await planned_ahead(bot)
    game = GAMES[6]
    assert game.arxiv_id not in shown
    # Its next version is about what the library is about (same id, new text).
    rewritten = replace(game, version=2, title=DISEASE[0].title, abstract=DISEASE[0].abstract, topics=("news",))
    await bot.store.papers.upsert_papers([rewritten])
    assert (await planned_ahead(bot))[0] == game.arxiv_id
