"""Votes teach the channel's ranker: 👎 pushes papers like it down, 👍 pulls papers like it up.

Real papers (`tests/fixtures/rank/two_topics.jsonl`: rare-disease diagnosis and
vision-language models in games), the SQLite store, `bot.ranking.Ranking` and
the `DigestEngine` with the console as the channels. Two channels share a
library of five disease papers; only one of them votes, so the other shows
what the ranking would have been. The ranking change is asserted, not only
the vote's row.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.console import ConsoleAdapter
from bot.digest import DigestEngine
from bot.models import ChannelRef, Library, Paper, Subscription, Topic
from bot.ranking import Ranking
from bot.service import PaperService
from bot.votes import VoteAction, Votes
from store.sqlite import SqliteStore
from tests.support import MONDAY, FakeClock
from tests.unit.test_ranker import DISEASE, GAMES

TOPICS = {"news": Topic("news", "This week's papers"), "reading": Topic("reading")}
VOTING = ChannelRef("console", "voting")
QUIET = ChannelRef("console", "quiet")
# The library mixes both subjects, so the votes decide which one leads.
READING = DISEASE[:3] + GAMES[:3]
NEWS = DISEASE[3:] + GAMES[3:]


def as_topic(papers: list[Paper], topic: str, published: str) -> list[Paper]:
    return [replace(p, topics=(topic,), published=published) for p in papers]


@pytest.fixture
async def bot(tmp_path):
    clock = FakeClock(MONDAY - timedelta(days=10))
    store = await SqliteStore.open(tmp_path / "votes.db", clock=clock)
    await store.papers.upsert_topics(TOPICS.values())
    await store.papers.upsert_papers(as_topic(READING, "reading", "2025-04-01"))
    service = PaperService(store.papers)
    ranking = Ranking(service, store.libraries, votes=store.votes)
    console = ConsoleAdapter(router=None, stdout=io.StringIO())  # type: ignore[arg-type]
    engine = DigestEngine(store.subscriptions, store.papers, {"console": console}, TOPICS, clock=clock, ranker=ranking)
    for channel in (VOTING, QUIET):
        await store.libraries.save_library(Library(channel, ("reading",)))
        await store.subscriptions.save_subscription(Subscription(id=0, channel=channel, topic="news", max_papers=len(NEWS)))
    clock.set(MONDAY - timedelta(days=2))
    await store.papers.upsert_papers(as_topic(NEWS, "news", "2025-05-01"))
    yield store, ranking, Votes(service, store.votes), engine, console, clock
    await store.close()


async def scores(ranking: Ranking, channel: ChannelRef) -> dict[str, float]:
    model = await ranking.channel_model(channel)
    assert model is not None
    return {r.paper.arxiv_id: r.score for r in model.rank(NEWS)}


def order(console: ConsoleAdapter, channel: ChannelRef) -> list[str]:
    [digest] = [reply for where, reply in console.posted if where == channel]
    return [card.arxiv_id for card in digest.cards]


def places(shown: list[str], voted: str, alike: list[str]) -> int:
    """Where the papers like the voted one stand among the others (the voted one left out): lower is higher up."""
    others = [arxiv_id for arxiv_id in shown if arxiv_id != voted]
    return sum(others.index(arxiv_id) for arxiv_id in alike)


async def digests(engine: DigestEngine, console: ConsoleAdapter, clock: FakeClock) -> tuple[list[str], list[str]]:
    clock.set(MONDAY + timedelta(minutes=1))
    await engine.run_due()
    return order(console, VOTING), order(console, QUIET)


def alike(voted: str) -> list[str]:
    subject = DISEASE if voted in {p.arxiv_id for p in DISEASE} else GAMES
    return [p.arxiv_id for p in subject if p.arxiv_id != voted and p in NEWS]


async def test_a_thumbs_down_on_the_top_paper_moves_papers_like_it_down_in_the_next_digest(bot) -> None:
    store, ranking, votes, engine, console, clock = bot
    before = await scores(ranking, VOTING)
    top = max(before, key=before.get)
    await votes.record(VOTING, "U1", top, VoteAction.DOWN)
    await votes.record(VOTING, "U2", top, VoteAction.DOWN)
    await votes.record(VOTING, "U3", top, VoteAction.UP)  # two 👎 and one 👍: a negative
    voting, quiet = await digests(engine, console, clock)
    assert quiet[0] == top and voting[-1] == top
    assert places(voting, top, alike(top)) > places(quiet, top, alike(top)), (voting, quiet)
    assert await scores(ranking, QUIET) == before  # the other channel's ranking is its own


async def test_a_thumbs_up_pulls_papers_like_it_up_in_the_next_digest(bot) -> None:
    store, ranking, votes, engine, console, clock = bot
    before = await scores(ranking, VOTING)
    game = max((p.arxiv_id for p in GAMES if p in NEWS), key=before.get)
    await votes.record(VOTING, "U1", game, VoteAction.UP)
    await votes.record(VOTING, "U2", game, VoteAction.SAVE)
    taste = await ranking.taste(VOTING)
    assert taste is not None and (taste.votes.up, taste.votes.saved, taste.votes.positives) == (1, 1, (game,))
    assert ("👍/🔖 from this channel", 1) in taste.sources
    voting, quiet = await digests(engine, console, clock)
    assert voting.index(game) < quiet.index(game)
    assert places(voting, game, alike(game)) < places(quiet, game, alike(game)), (voting, quiet)


async def test_undoing_the_votes_gives_the_ranking_back(bot) -> None:
    store, ranking, votes, engine, console, clock = bot
    before = await scores(ranking, VOTING)
    top = max(before, key=before.get)
    await votes.record(VOTING, "U1", top, VoteAction.DOWN)
    assert await scores(ranking, VOTING) != before
    assert await votes.undo(VOTING, "U1", top, VoteAction.DOWN)
    assert await scores(ranking, VOTING) == pytest.approx(before)


async def test_votes_alone_make_a_library_and_the_model_survives_a_restart(bot, tmp_path) -> None:
    store, ranking, votes, engine, console, clock = bot
    alone = ChannelRef("console", "no-library")
    assert await ranking.channel_model(alone) is None
    await votes.record(alone, "U1", GAMES[0].arxiv_id, VoteAction.UP)
    model = await ranking.channel_model(alone)
    assert model is not None and model.library_ids == {GAMES[0].arxiv_id}
    fresh = Ranking(PaperService(store.papers), store.libraries, votes=store.votes)
    reloaded = await fresh.channel_model(alone)
    assert reloaded is not None and reloaded.fingerprint == model.fingerprint
