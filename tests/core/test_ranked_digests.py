"""Ranked digests: a channel with a library gets its topic's new papers best first, each with why.

The library is real papers (`tests/fixtures/rank/two_topics.jsonl`: eight on
rare-disease diagnosis, eight on vision-language models and games). The
channel's library is five disease papers; the week's news is the other three
disease papers and the eight game papers. The bot's real pieces run: the
SQLite store, `bot.ranking.Ranking`, the `DigestEngine`, and the console,
Slack-webhook and Discord-webhook adapters as the channels; time is a FakeClock.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from adapters.console import ConsoleAdapter
from adapters.discord.render import render_messages as discord_messages
from adapters.slack.render import render_messages as slack_messages
from bot.app import prepare_ranked_digests
from bot.digest import DigestEngine
from bot.models import ChannelRef, Library, NoticeReply, Paper, PaperListReply, Subscription, Topic
from bot.rank import features
from bot.ranking import Ranking
from bot.service import PaperService
from store.sqlite import SqliteStore
from tests.support import MONDAY, FakeClock, webhook_adapter
from tests.unit.test_ranker import DISEASE, GAMES

UTC = timezone.utc
TOPICS = {"news": Topic("news", "This week's papers"), "reading": Topic("reading")}
RANKED = ChannelRef("console", "ranked")
PLAIN = ChannelRef("console", "plain")
LIBRARY = DISEASE[:5]
NEWS = DISEASE[5:] + GAMES
ON_SUBJECT = {p.arxiv_id for p in DISEASE[5:]}


def as_topic(papers: list[Paper], topic: str, published: str | None = None) -> list[Paper]:
    return [replace(p, topics=(topic,), published=published or p.published) for p in papers]


class Harness:
    def __init__(self, store: SqliteStore, clock: FakeClock, adapters: dict) -> None:
        self.store, self.clock = store, clock
        self.console = ConsoleAdapter(router=None, stdout=io.StringIO())  # type: ignore[arg-type]
        self.ranking = Ranking(PaperService(store.papers), store.libraries)
        self.engine = DigestEngine(
            store.subscriptions, store.papers, {"console": self.console, **adapters}, TOPICS, clock=clock, ranker=self.ranking
        )

    async def subscribe(self, channel: ChannelRef = RANKED, **options) -> Subscription:
        return await self.store.subscriptions.save_subscription(Subscription(id=0, channel=channel, topic="news", **options))

    async def news(self) -> None:
        self.clock.set(MONDAY - timedelta(days=2))
        # The game papers are the newest, so newest first would show them first.
        await self.store.papers.upsert_papers(as_topic(DISEASE[5:], "news", "2025-05-01") + as_topic(GAMES, "news", "2025-06-01"))

    async def fire(self) -> None:
        self.clock.set(MONDAY + timedelta(minutes=1))
        await self.engine.run_due()

    async def news_then_fire(self) -> None:
        await self.news()
        await self.fire()

    def posts(self, channel: ChannelRef = RANKED) -> list:
        return [reply for where, reply in self.console.posted if where == channel]


async def open_harness(path) -> Harness:
    """A store whose channel RANKED has the five disease papers as its library."""
    clock = FakeClock(MONDAY - timedelta(days=10))
    store = await SqliteStore.open(path, clock=clock)
    await store.papers.upsert_topics(TOPICS.values())
    await store.papers.upsert_papers(as_topic(LIBRARY, "reading"))
    await store.libraries.save_library(Library(RANKED, ("reading",)))
    return Harness(store, clock, {})


@pytest.fixture
async def bot(tmp_path):
    harness = await open_harness(tmp_path / "ranked.db")
    yield harness
    await harness.store.close()


async def test_a_channel_with_a_library_gets_the_papers_like_it_first_each_with_why(bot):
    await bot.subscribe(max_papers=3)
    await bot.subscribe(PLAIN, max_papers=3)
    await bot.news_then_fire()
    [ranked] = bot.posts()
    assert {card.arxiv_id for card in ranked.cards} == ON_SUBJECT
    assert ranked.header == "11 new papers on This week's papers · 2025-W23 · ranked by this channel's library"
    assert ranked.footer == ("and 8 more — /paper latest news",)
    titles = {p.arxiv_id: p.title for p in LIBRARY}
    for card in ranked.cards:
        assert card.why.startswith("like ") and " · " in card.why, card.why
        assert any(title.startswith(card.why[5:].split(" · ")[0].rstrip("…")) for title in titles.values())
    # The channel without a library: newest first, as always, and no why lines.
    [plain] = bot.posts(PLAIN)
    assert {card.arxiv_id for card in plain.cards} <= {p.arxiv_id for p in GAMES}
    assert all(card.why == "" for card in plain.cards) and "ranked" not in plain.header


async def test_the_claim_holds_exactly_the_papers_shown_and_the_next_digest_starts_after_them(bot):
    subscription = await bot.subscribe(max_papers=3)
    await bot.news_then_fire()
    [digest] = bot.posts()
    delivery = await bot.store.subscriptions.delivery(subscription.id, "2025-W23")
    assert delivery.state == "sent" and delivery.paper_ids == tuple(card.arxiv_id for card in digest.cards)
    assert delivery.total == len(NEWS)
    bot.clock.set(MONDAY + timedelta(days=7, minutes=1))
    await bot.engine.run_due()
    assert len(bot.posts()) == 1  # nothing new; the papers left out are not posted later either


async def test_min_score_leaves_weak_papers_out_of_the_cards_and_counts_them(bot):
    await bot.news()
    model = await bot.ranking.channel_model(RANKED)
    scores = sorted(model.score(NEWS), reverse=True)
    threshold = (scores[1] + scores[2]) / 2  # between the second and third best
    subscription = await bot.subscribe(max_papers=10, min_score=threshold, created_at="2025-05-01T00:00:00Z")
    await bot.fire()
    [digest] = bot.posts()
    assert len(digest.cards) == 2 and digest.footer == ("and 9 more — /paper latest news",)
    delivery = await bot.store.subscriptions.delivery(subscription.id, "2025-W23")
    assert delivery.paper_ids == tuple(card.arxiv_id for card in digest.cards)


async def test_when_every_paper_is_below_min_score_nothing_is_posted_unless_post_empty(bot):
    await bot.subscribe(min_score=1.0)
    await bot.subscribe(PLAIN, min_score=1.0, post_empty=True)
    await bot.store.libraries.save_library(Library(PLAIN, ("reading",)))
    await bot.news_then_fire()
    assert bot.posts() == []
    [notice] = bot.posts(PLAIN)
    assert isinstance(notice, NoticeReply)
    assert notice.lines == ("11 new papers on This week's papers this week (2025-W23), none close enough to this channel's "
                            "library — /paper latest news",)  # fmt: skip


async def test_a_library_with_nothing_to_learn_from_leaves_digests_newest_first(bot):
    await bot.store.libraries.save_library(Library(RANKED, ("empty-topic",)))
    await bot.subscribe(max_papers=3)
    await bot.news_then_fire()
    [digest] = bot.posts()
    assert {card.arxiv_id for card in digest.cards} <= {p.arxiv_id for p in GAMES}
    assert "ranked" not in digest.header and all(card.why == "" for card in digest.cards)


async def test_a_digest_claimed_before_a_crash_is_resent_with_its_why_lines(bot):
    subscription = await bot.subscribe(max_papers=3)
    bot.clock.set(MONDAY - timedelta(days=2))
    await bot.store.papers.upsert_papers(as_topic(NEWS, "news"))
    bot.clock.set(MONDAY + timedelta(minutes=1))
    plan = await bot.engine.plan(subscription, MONDAY)
    shown = tuple(p.arxiv_id for p in plan.papers)
    assert await bot.store.subscriptions.claim_delivery(
        plan.key, "2025-06-02T09:00:00Z", RANKED.key, shown, plan.total, until_seq=plan.upto_seq
    )
    await bot.engine.reconcile()  # the console cannot be read back: resent once
    [digest] = bot.posts()
    assert tuple(card.arxiv_id for card in digest.cards) == shown
    assert all(card.why.startswith("like ") for card in digest.cards)


async def test_the_preview_shows_the_ranked_digest_and_planning_ahead_cuts_the_papers_into_terms(bot, caplog):
    subscription = await bot.subscribe(max_papers=3)
    bot.clock.set(MONDAY - timedelta(days=2))
    await bot.store.papers.upsert_papers(as_topic(NEWS, "news"))
    await bot.subscribe(PLAIN)  # no library: not planned ahead
    features.term_counts.cache_clear()
    caplog.set_level(logging.INFO, logger="paperbot")
    await prepare_ranked_digests(bot.engine)
    assert "prepared 1 ranked digest" in caplog.text
    cut = features.term_counts.cache_info()
    assert cut.currsize >= len(NEWS)
    plan = await bot.engine.preview(subscription)
    after = features.term_counts.cache_info()
    assert after.misses == cut.misses  # the digest found every paper already cut (or already scored: bot.rank.model)
    assert plan.whys is not None and set(plan.whys) == {p.arxiv_id for p in plan.papers}


async def test_preparing_ranked_digests_never_raises(bot, caplog, monkeypatch):
    async def broken(channel):
        raise RuntimeError("the store is gone")

    await bot.subscribe()
    monkeypatch.setattr(bot.ranking, "channel_model", broken)
    await prepare_ranked_digests(bot.engine)
    assert "preparing ranked digests failed" in caplog.text


# --- the why line reaches every platform as data ---------------------------------------------


async def test_why_lines_render_in_the_console_slack_and_discord_as_their_own_line(bot):
    await bot.subscribe(max_papers=2)
    await bot.news_then_fire()
    [digest] = bot.posts()
    why = digest.cards[0].why
    assert f"   Why: {why}" in bot.console.stdout.getvalue()
    assert why not in digest.cards[0].tldr  # a field of the card, not prose added to the TLDR
    slack = slack_messages(digest)[0]
    card_text = slack["blocks"][1]["text"]["text"]
    assert card_text.endswith(f"\n_Why: {why}_")
    discord = discord_messages(digest)[0]
    assert f"*Why: {why}*" in discord["embeds"][0]["description"]


async def test_a_webhook_digest_carries_the_why_lines_to_slack_and_discord(tmp_path, fake_webhooks):
    clock = FakeClock(MONDAY - timedelta(days=10))
    store = await SqliteStore.open(tmp_path / "hooks.db", clock=clock)
    adapter = webhook_adapter({"SLACK_HOOK": fake_webhooks.slack_url, "DISCORD_HOOK": fake_webhooks.discord_url}, attempts=1)
    try:
        await store.papers.upsert_topics(TOPICS.values())
        await store.papers.upsert_papers(as_topic(LIBRARY, "reading"))
        harness = Harness(store, clock, {"webhook": adapter})
        for name in ("SLACK_HOOK", "DISCORD_HOOK"):
            channel = ChannelRef("webhook", f"#{name}")
            await store.libraries.save_library(Library(channel, ("reading",)))
            await harness.subscribe(channel, webhook_env=name, max_papers=2)
        await harness.news_then_fire()
        [slack] = fake_webhooks.bodies("slack")
        [discord] = fake_webhooks.bodies("discord")
        assert slack["blocks"][1]["text"]["text"].count("_Why: like ") == 1
        assert "*Why: like " in discord["embeds"][0]["description"]
    finally:
        await adapter.stop()
        await store.close()


def test_a_why_line_does_not_crowd_the_slack_card_past_its_limit():
    from bot.models import PaperCard

    card = PaperCard(
        "2506.00001", "T", "https://arxiv.org/abs/2506.00001", "2025-06", tldr="word " * 2000, why="like X · " + "y" * 5000
    )
    [message] = slack_messages(PaperListReply("h", (card,)))
    text = message["blocks"][1]["text"]["text"]
    assert len(text) <= 3000 and text.endswith("_") and "\n_Why: like X" in text
