"""Weekly digests: periods, windows, exactly-once, downtime, with an injected clock.

The bot's real pieces run here (SqliteStore, DigestEngine, the console
adapter as the channel); only time is simulated, so ten weeks take well under a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from adapters.console import CONSOLE_CHANNEL, ConsoleAdapter
from bot.commands import CommandRouter
from bot.digest import DigestEngine
from bot.models import ChannelRef, PaperListReply, Subscription, Topic
from bot.schedule import parse_when
from bot.scheduler import BotScheduler, ScheduledFetch
from bot.service import PaperService
from bot.subscriptions import SubscriptionService
from store.sqlite import SqliteStore, schema
from store.sqlite.database import fetchall
from tests.support import MONDAY, FakeClock, make_paper, returns_within

UTC = timezone.utc
TOPICS = {"rm": Topic("rm", "Reward models"), "vlm": Topic("vlm", "Vision-language models")}
PAPERS_CHANNEL = ChannelRef("console", "papers")
OTHER_CHANNEL = ChannelRef("console", "other")

pytestmark = pytest.mark.now(MONDAY - timedelta(days=10))


class Harness:
    def __init__(self, store: SqliteStore, clock: FakeClock) -> None:
        self.store, self.clock = store, clock
        self.console = ConsoleAdapter(router=None, stdout=io.StringIO())  # type: ignore[arg-type]
        self.engine = DigestEngine(store.subscriptions, store.papers, {"console": self.console}, TOPICS, clock=clock)
        self.serial = 0

    async def subscribe(self, topic: str = "rm", channel: ChannelRef = PAPERS_CHANNEL, **options) -> Subscription:
        return await self.store.subscriptions.save_subscription(Subscription(id=0, channel=channel, topic=topic, **options))

    async def add_papers(self, count: int, topics: tuple[str, ...] = ("rm",)) -> list[str]:
        ids = []
        for _ in range(count):
            self.serial += 1
            ids.append(f"2506.{self.serial:05d}")
        await self.store.papers.upsert_papers(make_paper(i, topics, published=self.clock.now().strftime("%Y-%m-%d")) for i in ids)
        return ids

    def posts(self, channel: ChannelRef = PAPERS_CHANNEL) -> list:
        return [reply for where, reply in self.console.posted if where == channel]

    def posted_ids(self, channel: ChannelRef = PAPERS_CHANNEL) -> list[str]:
        return [card.arxiv_id for reply in self.posts(channel) if isinstance(reply, PaperListReply) for card in reply.cards]


@pytest.fixture
async def bot(store, clock):
    await store.papers.upsert_topics(TOPICS.values())
    return Harness(store, clock)


async def test_first_digest_covers_one_period_back_and_runs_once_per_period(bot):
    await bot.add_papers(3)  # ten days before the fire: older than one period, never posted
    bot.clock.set(MONDAY - timedelta(days=3))
    await bot.subscribe()
    fresh = await bot.add_papers(2)
    bot.clock.set(MONDAY + timedelta(minutes=1))
    await bot.engine.run_due()
    await bot.engine.run_due()
    assert len(bot.posts()) == 1
    assert sorted(bot.posted_ids()) == sorted(fresh)
    digest = bot.posts()[0]
    assert digest.header == "2 new papers on Reward models · 2025-W23"
    delivery = await bot.store.subscriptions.delivery(1, "2025-W23")
    assert delivery.state == "sent" and delivery.message_ids == ("console-1",)


async def test_subscription_created_mid_week_waits_for_the_next_fire(bot):
    bot.clock.set(MONDAY + timedelta(days=2))  # Wednesday
    await bot.subscribe()
    await bot.add_papers(1)
    await bot.engine.run_due()
    assert bot.posts() == []
    bot.clock.set(MONDAY + timedelta(days=7, minutes=1))
    await bot.engine.run_due()
    assert len(bot.posts()) == 1 and bot.posts()[0].header.endswith("2025-W24")


async def test_digest_lists_newest_first_up_to_max_papers_then_and_n_more(bot):
    await bot.subscribe(max_papers=3)
    bot.clock.set(MONDAY - timedelta(days=1))
    await bot.add_papers(5)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    digest = bot.posts()[0]
    assert [c.arxiv_id for c in digest.cards] == ["2506.00005", "2506.00004", "2506.00003"]
    assert digest.header.startswith("5 new papers")
    assert digest.footer == ("and 2 more — /paper latest rm",)
    # The two left out are not posted later either: the next digest starts after this one.
    bot.clock.set(MONDAY + timedelta(days=7))
    await bot.engine.run_due()
    assert len(bot.posts()) == 1


async def test_nothing_new_posts_nothing_but_records_the_skip(bot, caplog):
    await bot.subscribe()
    bot.clock.set(MONDAY)
    caplog.set_level("INFO")
    await bot.engine.run_due()
    assert bot.posts() == []
    assert (await bot.store.subscriptions.delivery(1, "2025-W23")).state == "empty"
    assert "no new papers, nothing posted" in caplog.text


async def test_post_empty_posts_one_line(bot):
    await bot.subscribe(post_empty=True)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    assert [reply.text for reply in bot.posts()] == ["No new papers on Reward models this week (2025-W23)."]


async def test_several_topics_per_channel_post_a_paper_once(bot):
    await bot.subscribe("rm")
    await bot.subscribe("vlm")
    bot.clock.set(MONDAY - timedelta(days=1))
    both = await bot.add_papers(1, ("rm", "vlm"))
    only_vlm = await bot.add_papers(1, ("vlm",))
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    assert sorted(bot.posted_ids()) == sorted(both + only_vlm)
    assert len(bot.posts()) == 2


async def test_two_channels_per_topic_each_get_the_paper(bot):
    await bot.subscribe("rm", PAPERS_CHANNEL)
    await bot.subscribe("rm", OTHER_CHANNEL)
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(2)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    assert sorted(bot.posted_ids(PAPERS_CHANNEL)) == sorted(ids)
    assert sorted(bot.posted_ids(OTHER_CHANNEL)) == sorted(ids)


async def test_unsubscribe_between_periods_stops_the_digests(bot):
    await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    await bot.add_papers(1)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    assert await bot.store.subscriptions.remove_subscription(PAPERS_CHANNEL, "rm")
    bot.clock.set(MONDAY + timedelta(days=3))
    await bot.add_papers(1)
    bot.clock.set(MONDAY + timedelta(days=7))
    await bot.engine.run_due()
    assert len(bot.posts()) == 1


async def test_missed_periods_coalesce_into_one_digest_within_max_lateness(bot):
    await bot.subscribe(max_papers=50)
    bot.clock.set(MONDAY - timedelta(days=1))
    first = await bot.add_papers(1)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    # Down for two weeks: papers keep arriving (another process imports them).
    later = []
    for day in range(1, 15):
        bot.clock.set(MONDAY + timedelta(days=day, hours=-2))
        later += await bot.add_papers(1)
    bot.clock.set(MONDAY + timedelta(days=14, hours=5))  # 5 hours after the W25 fire
    await bot.engine.run_due()
    assert len(bot.posts()) == 2
    assert sorted(bot.posted_ids()) == sorted(first + later)
    assert bot.posts()[1].header.endswith("2025-W25")
    assert await bot.store.subscriptions.delivery(1, "2025-W24") is None  # never claimed: coalesced


async def test_a_period_missed_by_more_than_max_lateness_is_skipped_and_logged_but_nothing_is_lost(bot, caplog):
    await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(2)
    bot.clock.set(MONDAY + timedelta(days=3))  # back up on Thursday: W23's digest is 3 days late
    await bot.engine.run_due()
    assert bot.posts() == []
    assert (await bot.store.subscriptions.delivery(1, "2025-W23")).state == "skipped"
    assert "skipped" in caplog.text and "max_lateness" in caplog.text
    bot.clock.set(MONDAY + timedelta(days=7))
    await bot.engine.run_due()
    assert len(bot.posts()) == 1 and bot.posts()[0].header.endswith("2025-W24")
    assert sorted(bot.posted_ids()) == sorted(ids)


@pytest.mark.slow
async def test_ten_weeks_of_daily_papers_every_paper_once_one_digest_a_week(bot):
    await bot.subscribe("rm", PAPERS_CHANNEL)
    await bot.subscribe("rm", OTHER_CHANNEL, when="daily 08:00")
    bot.clock.set(MONDAY - timedelta(days=7))
    arrived: list[str] = []
    # Tick every 6 hours for ten weeks, like the scheduler's jobs and sweeps would;
    # the last tick lands on the tenth weekly fire (2025-W32).
    for tick in range(10 * 7 * 4 + 1):
        bot.clock.set(MONDAY - timedelta(days=7) + timedelta(hours=6 * tick))
        if tick % 4 == 1:
            arrived += await bot.add_papers(1)
        await bot.engine.run_due()
    weekly = bot.posted_ids(PAPERS_CHANNEL)
    daily = bot.posted_ids(OTHER_CHANNEL)
    assert len(weekly) == len(set(weekly)) and len(daily) == len(set(daily))
    weekly_headers = [reply.header for reply in bot.posts(PAPERS_CHANNEL)]
    assert len(weekly_headers) == len(set(weekly_headers)) == 10
    # Every paper that arrived before the last fire was posted, once, in each channel.
    last_weekly_fire = MONDAY + timedelta(days=63)
    cutoff = [i for i in arrived if i <= max(weekly)]
    assert sorted(weekly) == sorted(cutoff)
    assert set(weekly) <= set(arrived) and set(daily) <= set(arrived)
    assert len(daily) >= len(arrived) - 1
    assert bot.clock.now() == last_weekly_fire


async def test_schedules_follow_local_time_across_a_dst_change(bot):
    # Europe/Berlin leaves summer time on Sunday 2025-10-26.
    start = datetime(2025, 10, 13, 12, tzinfo=UTC)
    bot.clock.set(start)  # after Monday's fire: the first digest is the next week's
    await bot.subscribe(when="mon 09:00", timezone="Europe/Berlin")
    fires = []
    for day in range(0, 28):
        bot.clock.set(start + timedelta(days=day))
        await bot.add_papers(1)
        before = len(bot.posts())
        await bot.engine.run_due()
        if len(bot.posts()) > before:
            fires.append(bot.clock.now())
    headers = [reply.header.rsplit(" · ", 1)[1] for reply in bot.posts()]
    assert headers == ["2025-W43", "2025-W44", "2025-W45"]
    deliveries = await bot.store.subscriptions.deliveries(1)
    fire_times = [d.fire_time for d in deliveries if d.state == "sent"]
    # 09:00 in Berlin is 07:00 UTC in summer time and 08:00 UTC after the change.
    assert fire_times == ["2025-10-20T07:00:00Z", "2025-10-27T08:00:00Z", "2025-11-03T08:00:00Z"]


async def test_a_daily_schedule_in_the_skipped_spring_hour_never_doubles_a_day(bot):
    # 02:30 does not exist in Berlin on 2025-03-30.
    await bot.subscribe(when="daily 02:30", timezone="Europe/Berlin")
    start = datetime(2025, 3, 27, 12, tzinfo=UTC)
    for hour in range(0, 24 * 6, 3):
        bot.clock.set(start + timedelta(hours=hour))
        if hour % 24 == 0:
            await bot.add_papers(1)
        await bot.engine.run_due()
    periods = [reply.header.rsplit(" · ", 1)[1] for reply in bot.posts()]
    assert len(periods) == len(set(periods))
    assert periods == sorted(periods)


async def test_a_send_failure_releases_the_claim_marks_the_subscription_failing_and_retries(bot):
    subscription = await bot.subscribe(channel=ChannelRef("slack", "C1", "T1"))  # no Slack adapter running
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(2)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    assert await bot.store.subscriptions.delivery(subscription.id, "2025-W23") is None
    failing = await bot.store.subscriptions.get_subscription(subscription.id)
    assert "slack adapter is not running" in failing.failing and failing.failing_since
    # The fix: the adapter is back (here: the console stands in for it under the same name).
    bot.engine.adapters["slack"] = bot.console
    bot.clock.set(MONDAY + timedelta(hours=1))
    await bot.engine.run_due()
    assert sorted(bot.posted_ids(ChannelRef("slack", "C1", "T1"))) == sorted(ids)
    assert (await bot.store.subscriptions.get_subscription(subscription.id)).failing is None


async def test_a_claim_left_by_a_crash_is_resent_once_by_an_adapter_that_cannot_check(bot):
    subscription = await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(2)
    bot.clock.set(MONDAY)
    plan = await bot.engine.plan(subscription, MONDAY)
    assert await bot.store.subscriptions.claim_delivery(plan.key, "2025-06-02T09:00:00Z", PAPERS_CHANNEL.key, tuple(ids), 2)
    await bot.engine.reconcile()
    assert sorted(bot.posted_ids()) == sorted(ids)
    assert (await bot.store.subscriptions.delivery(subscription.id, "2025-W23")).state == "sent"
    await bot.engine.reconcile()
    await bot.engine.run_due()
    assert len(bot.posts()) == 1


async def test_preview_records_nothing(bot):
    subscription = await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    await bot.add_papers(2)
    bot.clock.set(MONDAY - timedelta(hours=1))
    plan = await bot.engine.preview(subscription)
    assert len(plan.papers) == 2
    assert (
        await bot.store.subscriptions.pending_deliveries() == []
        and await bot.store.subscriptions.deliveries(subscription.id) == []
    )


@pytest.fixture
async def chat(bot):
    service = PaperService(bot.store.papers)
    subscriptions = SubscriptionService(service, bot.engine)
    router = CommandRouter(service, subscriptions)
    bot.chat_admin = ConsoleAdapter(router, stdout=io.StringIO(), is_admin=True)
    bot.chat_member = ConsoleAdapter(router, stdout=io.StringIO(), is_admin=False)
    return bot


async def test_subscribe_from_chat_is_for_admins_and_anyone_may_list(chat):
    refused = await chat.chat_member.say("/paper subscribe rm")
    assert "Only admins can change subscriptions" in refused.text
    done = await chat.chat_admin.say("/paper subscribe rm mon 09:00 Europe/Berlin")
    assert "Subscribed: rm digests here, mon 09:00 Europe/Berlin" in done.text
    listed = await chat.chat_member.say("/paper subscriptions")
    assert "rm: mon 09:00 Europe/Berlin" in listed.text and "last none yet" in listed.text
    bad_when = await chat.chat_admin.say("/paper subscribe rm someday 9am")
    assert "Bad schedule" in bad_when.text and "e.g. 'mon 09:00'" in bad_when.text
    unknown = await chat.chat_admin.say("/paper subscribe nope")
    assert "Unknown topic 'nope'" in unknown.text
    assert "Only admins" in (await chat.chat_member.say("/paper unsubscribe rm")).text
    assert "Unsubscribed" in (await chat.chat_admin.say("/paper unsubscribe rm")).text
    assert "not subscribed to 'rm'" in (await chat.chat_admin.say("/paper unsubscribe rm")).text


async def test_digest_command_previews_without_recording(chat):
    await chat.chat_admin.say("/paper subscribe rm")
    chat.clock.set(MONDAY - timedelta(days=1))
    await chat.add_papers(2)
    reply = await chat.chat_member.say("/paper digest")
    assert reply.header.startswith("Preview: 2 new papers on Reward models")
    assert "Preview only" in reply.text
    assert await chat.store.subscriptions.deliveries(1) == []
    no_subscription = await chat.chat_member.say("/paper digest vlm")
    assert "Preview" in no_subscription.text


# --- exactly once: the window is commit order, not the clock ------------------------------------


async def test_papers_committed_at_every_offset_around_a_fire_land_in_exactly_one_digest(bot, tmp_path):
    await bot.subscribe(max_papers=50)
    arrived = {}
    bot.clock.set(MONDAY - timedelta(seconds=1))
    arrived["the second before"] = await bot.add_papers(1)
    bot.clock.set(MONDAY)
    arrived["same second, before the read"] = await bot.add_papers(1)
    await bot.engine.run_due()  # the digest reads the store at 09:00:00
    arrived["same second, after the read"] = await bot.add_papers(1)
    bot.clock.set(MONDAY + timedelta(milliseconds=700))
    arrived["0.7 s after, same second"] = await bot.add_papers(1)
    # Another process's import stamped its rows before the fire but committed after the read.
    slow_writer = await SqliteStore.open(bot.store.db.path, clock=FakeClock(MONDAY - timedelta(seconds=5)))
    await slow_writer.papers.upsert_papers([make_paper("2506.09999", ("rm",))])
    await slow_writer.close()
    arrived["stamped before, committed after"] = ["2506.09999"]
    bot.clock.set(MONDAY + timedelta(seconds=1))
    arrived["the second after"] = await bot.add_papers(1)
    first_digest = set(bot.posted_ids())

    bot.clock.set(MONDAY + timedelta(days=7))
    await bot.engine.run_due()
    posted = bot.posted_ids()
    everything = [paper for papers in arrived.values() for paper in papers]
    assert sorted(posted) == sorted(everything), {
        what: [p for p in papers if p not in posted] for what, papers in arrived.items()
    }
    assert len(posted) == len(set(posted))
    assert first_digest == set(arrived["the second before"] + arrived["same second, before the read"])
    deliveries = await bot.store.subscriptions.deliveries(1)
    assert [d.until_seq for d in deliveries] == [2, 6]


async def test_a_new_version_of_a_posted_paper_is_not_news_but_a_new_topic_is(bot):
    await bot.subscribe("rm", max_papers=50)
    await bot.subscribe("vlm", OTHER_CHANNEL, max_papers=50)
    bot.clock.set(MONDAY - timedelta(days=1))
    [paper] = await bot.add_papers(1, ("rm",))
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    bot.clock.set(MONDAY + timedelta(days=1))
    await bot.store.papers.upsert_papers([replace(make_paper(paper, ("rm", "vlm")), version=2)])
    bot.clock.set(MONDAY + timedelta(days=7))
    await bot.engine.run_due()
    assert bot.posted_ids(PAPERS_CHANNEL) == [paper]  # v2 is the same paper: posted once
    assert bot.posted_ids(OTHER_CHANNEL) == [paper]  # it joined vlm this week: news there


# --- the store failing between send and record, and while delivering ----------------------------


class ReadOnlyAfterPosting:
    """The console, then the store turns read-only (a real SQLite error on the record write)."""

    name = "console"

    def __init__(self, console: ConsoleAdapter, store: SqliteStore) -> None:
        self.console, self.store = console, store

    async def post_digest(self, subscription, reply):
        ids = await self.console.post_digest(subscription, reply)
        await execute(self.store, "PRAGMA query_only = ON")
        return ids

    async def find_digest(self, subscription, key):
        return None


async def execute(store: SqliteStore, sql: str) -> list[tuple]:
    """SQL on the store's own connection (to inject a fault), as its next statement."""
    async with store.db.locked() as conn:
        return await fetchall(conn, sql)


async def writable_again(store: SqliteStore) -> None:
    await execute(store, "PRAGMA query_only = OFF")


async def test_a_digest_posted_but_not_recorded_is_recorded_later_and_never_resent(bot, caplog):
    subscription = await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(2)
    bot.engine.adapters["console"] = ReadOnlyAfterPosting(bot.console, bot.store)
    bot.clock.set(MONDAY + timedelta(minutes=1))
    caplog.set_level("INFO")
    await bot.engine.run_due()
    assert sorted(bot.posted_ids()) == sorted(ids)
    assert "was posted but could not be recorded" in caplog.text and "read-only" in caplog.text
    assert "failed unexpectedly" not in caplog.text and "Traceback" not in caplog.text
    assert (await bot.store.subscriptions.delivery(subscription.id, "2025-W23")).state == "claimed"

    bot.clock.set(MONDAY + timedelta(minutes=15))  # the sweep, store still read-only
    await bot.engine.run_due()
    await bot.engine.reconcile()
    assert len(bot.posts()) == 1

    await writable_again(bot.store)
    bot.clock.set(MONDAY + timedelta(minutes=30))
    await bot.engine.run_due()
    delivery = await bot.store.subscriptions.delivery(subscription.id, "2025-W23")
    assert delivery.state == "sent" and delivery.message_ids == ("console-1",)
    assert (await bot.store.subscriptions.get_subscription(subscription.id)).failing is None
    # A restart (a new engine) finds nothing to settle and posts nothing again.
    restarted = DigestEngine(bot.store.subscriptions, bot.store.papers, {"console": bot.console}, TOPICS, clock=bot.clock)
    await restarted.reconcile()
    await restarted.run_due()
    assert len(bot.posts()) == 1


async def test_a_record_still_failing_at_stop_is_tried_once_more(bot):
    subscription = await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    await bot.add_papers(1)
    bot.engine.adapters["console"] = ReadOnlyAfterPosting(bot.console, bot.store)
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    await writable_again(bot.store)
    await bot.engine.stop()
    assert (await bot.store.subscriptions.delivery(subscription.id, "2025-W23")).state == "sent"


async def test_a_store_failure_while_delivering_is_one_line_and_marks_the_subscription_failing(bot, caplog):
    await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(1)
    await execute(bot.store, "PRAGMA query_only = ON")  # the claim is refused: "attempt to write a readonly database"
    caplog.set_level("INFO")
    for minute in range(3):  # the per-fire job and the sweeps keep trying
        bot.clock.set(MONDAY + timedelta(minutes=minute))
        await bot.engine.run_due()
    records = [r for r in caplog.records if "digest for rm" in r.getMessage()]
    assert [r.levelname for r in records] == ["ERROR", "INFO", "INFO"]
    assert "read-only" in records[0].getMessage() and "make the file and its directory writable" in records[0].getMessage()
    assert not any(r.exc_info for r in caplog.records) and "failed unexpectedly" not in caplog.text
    assert bot.posts() == []

    await writable_again(bot.store)
    bot.clock.set(MONDAY + timedelta(minutes=15))
    await bot.engine.run_due()
    assert bot.posted_ids() == ids


async def test_a_subscription_whose_claims_the_store_refuses_is_marked_failing_until_it_works(bot):
    subscription = await bot.subscribe()
    bot.clock.set(MONDAY - timedelta(days=1))
    ids = await bot.add_papers(1)
    # Only the claim is refused, the way a nearly full disk refuses new rows but takes an in-place
    # update: SQLite's own page limit makes every claim need more pages than the store may grow by.
    [(pages,)] = await execute(bot.store, "PRAGMA page_count")
    await execute(bot.store, f"PRAGMA max_page_count = {pages + 8}")
    await execute(
        bot.store,
        "CREATE TEMP TRIGGER refuse_claims BEFORE INSERT ON deliveries "
        "BEGIN INSERT INTO meta (key, value) VALUES ('ballast', zeroblob(1000000)); END"
    )
    bot.clock.set(MONDAY)
    await bot.engine.run_due()
    failing = await bot.store.subscriptions.get_subscription(subscription.id)
    assert failing.failing.startswith(f"the disk holding {bot.store.path} is full; free some space on it")
    assert failing.failing_since == "2025-06-02T09:00:00Z"
    await execute(bot.store, "DROP TRIGGER temp.refuse_claims")
    bot.clock.set(MONDAY + timedelta(minutes=15))
    await bot.engine.run_due()
    assert bot.posted_ids() == ids
    assert (await bot.store.subscriptions.get_subscription(subscription.id)).failing is None


async def test_subscribing_twice_says_already_subscribed_with_the_schedule(chat):
    chat.clock.set(MONDAY + timedelta(hours=1))
    done = await chat.chat_admin.say("/paper subscribe rm mon 09:00 Europe/Berlin")
    assert "Next digest: 2025-06-09 09:00 Europe/Berlin." in done.text  # on the subscription's clock
    again = await chat.chat_admin.say("/paper subscribe rm")
    assert (
        "Already subscribed: rm digests here, mon 09:00 Europe/Berlin; next digest 2025-06-09 09:00 Europe/Berlin." in again.text
    )
    assert "/paper subscribe rm <when>" in again.text
    same = await chat.chat_admin.say("/paper subscribe rm mon 09:00 Europe/Berlin")
    assert "Already subscribed" in same.text
    changed = await chat.chat_admin.say("/paper subscribe rm daily 07:30")
    assert "Subscribed: rm digests here, daily 07:30 UTC" in changed.text
    assert [s.when for s in await chat.store.subscriptions.subscriptions()] == ["daily 07:30"]


async def test_a_config_subscription_is_managed_by_the_config_file_not_from_chat(chat):
    configured = [
        Subscription(id=0, channel=OTHER_CHANNEL, topic="vlm", source="config"),
        Subscription(id=0, channel=CONSOLE_CHANNEL, topic="rm", source="config"),
    ]
    service = SubscriptionService(
        PaperService(chat.store.papers), chat.engine, config_source="config/team.toml", configured=configured
    )
    await service.sync_config()
    router = CommandRouter(PaperService(chat.store.papers), service)
    admin = ConsoleAdapter(router, stdout=io.StringIO(), is_admin=True)
    for command in ("/paper unsubscribe rm", "/paper subscribe rm daily 08:00", "/paper subscribe rm"):
        reply = await admin.say(command)
        assert "The rm digest here is managed by the config file config/team.toml ([[subscriptions]] #2)." in reply.text
        assert "Change or remove it there and restart the bot." in reply.text
    [kept] = await chat.store.subscriptions.subscriptions(CONSOLE_CHANNEL)
    assert (kept.when, kept.source) == ("mon 09:00", "config")


async def test_a_subscription_gone_from_the_config_keeps_its_history_and_comes_back_without_reposting(chat):
    configured = [Subscription(id=0, channel=PAPERS_CHANNEL, topic="rm", source="config")]
    service = SubscriptionService(PaperService(chat.store.papers), chat.engine, configured=configured)
    await service.sync_config()
    chat.clock.set(MONDAY - timedelta(days=1))
    first = await chat.add_papers(2)
    chat.clock.set(MONDAY)
    await chat.engine.run_due()
    [subscription] = await chat.store.subscriptions.subscriptions()

    chat.clock.set(MONDAY + timedelta(days=1))
    await service.sync_config([])  # the entry was deleted from the file
    assert await chat.store.subscriptions.subscriptions() == []
    assert [d.period for d in await chat.store.subscriptions.deliveries(subscription.id)] == ["2025-W23"]
    chat.clock.set(MONDAY + timedelta(days=3))
    while_away = await chat.add_papers(1)

    chat.clock.set(MONDAY + timedelta(days=10))
    await service.sync_config(configured)  # and put back
    [back] = await chat.store.subscriptions.subscriptions()
    assert back.id == subscription.id and [d.period for d in await chat.store.subscriptions.deliveries(back.id)] == ["2025-W23"]
    fresh = await chat.add_papers(1)
    chat.clock.set(MONDAY + timedelta(days=14))
    await chat.engine.run_due()
    assert sorted(chat.posted_ids()) == sorted(first + fresh)  # nothing reposted; the gap is not news
    assert while_away[0] not in chat.posted_ids()


async def test_the_bot_starts_with_a_schedule_whose_last_fire_was_in_a_repeated_hour(bot):
    # `when = "30 1 1 11 * America/New_York"` hung `paperbot run` through November 2026:
    # 2026-11-01 01:30 happened twice there, and the catch-up looked for the fire before now.
    await bot.subscribe(when="30 1 1 11 *", timezone="America/New_York")
    bot.clock.set(datetime(2026, 11, 28, 20, tzinfo=UTC))
    scheduler = BotScheduler(bot.engine)
    with returns_within(20):
        await scheduler.start()
    local = scheduler.next_runs()["digest:1"].astimezone(ZoneInfo("America/New_York"))  # APScheduler counts from real time
    assert (local.month, local.day, local.hour, local.minute, local.fold) == (11, 1, 1, 30, 0)
    await scheduler.shutdown()


@pytest.mark.parametrize(
    ("last_success", "fetched_at_start"),
    [(None, 1), (MONDAY - timedelta(days=2), 1), (MONDAY - timedelta(hours=1), 0)],
    ids=["never-fetched", "older-than-the-last-fire", "after-the-last-fire"],
)
async def test_the_bot_fetches_at_start_only_when_the_last_fetch_missed_a_scheduled_fire(bot, last_success, fetched_at_start):
    bot.clock.set(MONDAY)  # the daily 06:00 fetch last fired at MONDAY 06:00 or the day before
    runs: list[datetime] = []

    async def fetch() -> None:
        runs.append(bot.clock.now())

    async def last() -> datetime | None:
        return last_success

    scheduler = BotScheduler(bot.engine, fetch=ScheduledFetch(fetch, parse_when("daily 06:00", "UTC"), last))
    await scheduler.start()
    await asyncio.sleep(0)  # the fetch at start runs in the background
    assert len(runs) == fetched_at_start
    assert "fetch" in scheduler.next_runs()
    await scheduler.shutdown()


async def test_a_version_3_store_moves_to_commit_order_windows_without_reposting_or_losing(tmp_path):
    path, clock = tmp_path / "v3.db", FakeClock(MONDAY - timedelta(days=3))
    old = await SqliteStore.open(path, clock=clock, migrations=schema.MIGRATIONS[:3])
    await old.papers.upsert_topics(TOPICS.values())
    await old.papers.upsert_papers([make_paper("2506.00001", ("rm",))])
    clock.set(MONDAY - timedelta(days=1))
    await old.papers.upsert_papers([make_paper("2506.00002", ("rm", "vlm"))])
    clock.set(MONDAY + timedelta(days=1))
    await old.papers.upsert_papers([make_paper("2506.00003", ("rm",))])  # after W23's digest went out
    await old.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # what version 3 recorded for W23
        conn.execute(
            "INSERT INTO subscriptions (id, adapter, workspace, channel, thread, topic, schedule, timezone, language, "
            "max_papers, post_empty, source, created_at) "
            "VALUES (1, 'console', '', 'papers', '', 'rm', 'mon 09:00', 'UTC', 'en', 10, 0, 'chat', ?)",
            ("2025-05-01T00:00:00Z",),
        )
        conn.execute(
            "INSERT INTO deliveries (subscription_id, period, fire_time, state, paper_ids, total, claimed_at, sent_at) "
            "VALUES (1, '2025-W23', '2025-06-02T09:00:00Z', 'sent', '[\"2506.00001\", \"2506.00002\"]', 2, ?, ?)",
            ("2025-06-02T09:00:00Z", "2025-06-02T09:00:01Z"),
        )
        conn.execute(
            "INSERT INTO channel_papers SELECT 'console:-:papers', id, 1, '2025-W23' FROM papers WHERE arxiv_id < '2506.00003'"
        )

    store = await SqliteStore.open(path, clock=clock)
    try:
        rows = await execute(store, "SELECT arxiv_id, topic, seq FROM paper_topics ORDER BY seq")
        assert rows == [("2506.00001", "rm", 1), ("2506.00002", "rm", 2), ("2506.00002", "vlm", 3), ("2506.00003", "rm", 4)]
        assert (await store.subscriptions.delivery(1, "2025-W23")).until_seq == 3
        await store.papers.upsert_papers([make_paper("2506.00004", ("vlm",))])  # the count triggers survived the table swap
        assert {t.topic.name: t.paper_count for t in await store.papers.topics()} == {"rm": 3, "vlm": 2}
        harness = Harness(store, clock)
        clock.set(MONDAY + timedelta(days=7))
        await harness.engine.run_due()
        assert harness.posted_ids() == ["2506.00003"]
    finally:
        await store.close()
