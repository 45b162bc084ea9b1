"""Digest posts through Slack and Discord incoming webhooks, against a local fake of both.

The real pieces run: SqliteStore, DigestEngine, the `webhook` adapter over the
Slack and Discord posters (their renderers, one aiohttp retry helper); only the
platforms are local (tests/support/fake_webhooks.py) and time is injected.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from adapters.discord.plugin import is_discord_webhook
from bot.digest import DigestEngine
from bot.errors import DeliveryError
from bot.models import ChannelRef, DeliveryKey, DigestMark, NoticeReply, Subscription, Topic
from bot.scheduler import BotScheduler
from bot.status import BotStatus, render_status
from bot.subscriptions import SubscriptionStatus
from bot.webhooks import WebhookAdapter, WebhookRoute
from store.sqlite import SqliteStore
from tests.support import MONDAY, FakeClock, make_paper, webhook_adapter
from tests.support.fake_webhooks import Failure, FakeWebhooks

TOPICS = {"rm": Topic("rm", "Reward models")}

pytestmark = pytest.mark.now(MONDAY - timedelta(days=6))


class Setup:
    def __init__(self, store: SqliteStore, clock: FakeClock, hooks: FakeWebhooks) -> None:
        self.store, self.clock, self.hooks = store, clock, hooks
        self.env = {"SLACK_HOOK": hooks.slack_url, "DISCORD_HOOK": hooks.discord_url}
        self.adapter = webhook_adapter(self.env)
        self.engine = DigestEngine(store.subscriptions, store.papers, {"webhook": self.adapter}, TOPICS, clock=clock)

    async def subscribe(self, env_name: str, channel: str = "#papers") -> Subscription:
        return await self.store.subscriptions.save_subscription(
            Subscription(id=0, channel=ChannelRef("webhook", channel), topic="rm", webhook_env=env_name)
        )

    async def papers_then_fire(self, count: int = 3, *, title: str | None = None) -> list[str]:
        """Papers arrive during the week; the clock moves just past Monday's fire."""
        self.clock.set(MONDAY - timedelta(days=2))
        ids = [f"2506.{n:05d}" for n in range(1, count + 1)]
        await self.store.papers.upsert_papers(make_paper(i, ("rm",), title=title) for i in ids)
        self.clock.set(MONDAY + timedelta(minutes=5))
        return ids

    async def status(self) -> str:
        statuses = []
        for sub in await self.store.subscriptions.subscriptions():
            statuses.append(SubscriptionStatus(sub, None, await self.store.subscriptions.last_delivery(sub.id)))
        return render_status(BotStatus(self.clock.now(), tuple(statuses), (), ()))


@pytest.fixture
async def setup(store, clock, fake_webhooks):
    await store.papers.upsert_topics(TOPICS.values())
    value = Setup(store, clock, fake_webhooks)
    yield value
    await value.adapter.stop()


def test_the_url_shape_picks_the_platform():
    adapter = webhook_adapter({})

    def poster(url: str) -> str:
        return adapter.poster_for(url, "hook").name

    assert poster("https://hooks.slack.com/services/T1/B2/xyz") == "slack-webhook"
    assert poster("https://discord.com/api/webhooks/123/abc") == "discord-webhook"
    assert poster("https://discord.com/api/v10/webhooks/123/abc") == "discord-webhook"
    assert poster("https://proxy.example/slack-hook") == "slack-webhook"  # no shape: Slack's


async def test_a_url_whose_poster_cannot_run_here_names_the_extra_and_is_never_posted_as_another_platform(fake_webhooks):
    """The Discord extra is missing: a Discord URL must fail saying so, not go to Slack's catch-all route."""
    env = {"DISCORD_HOOK": fake_webhooks.discord_url}
    why = "the discord-webhook adapter needs the Python package discord. Install it: pip install 'paperbot[discord]'"
    slack_only = [route for route in webhook_adapter(env).routes if route.name == "slack-webhook"]
    adapter = WebhookAdapter(env, [WebhookRoute("discord-webhook", is_discord_webhook, None, why), *slack_only])
    subscription = Subscription(id=1, channel=ChannelRef("webhook", "#papers"), topic="rm", webhook_env="DISCORD_HOOK")
    reply = NoticeReply(("No new papers",), digest=DigestMark(DeliveryKey(1, "2025-W23"), TOPICS["rm"], 0))
    with pytest.raises(DeliveryError) as raised:
        await adapter.post_digest(subscription, reply)
    assert raised.value.permanent and "pip install 'paperbot[discord]'" in raised.value.message
    assert "t0ken-T0KEN" not in raised.value.message and not fake_webhooks.attempts  # the URL's token is not shown
    await adapter.stop()


async def test_a_digest_reaches_a_slack_webhook_as_block_kit(setup):
    await setup.subscribe("SLACK_HOOK")
    ids = await setup.papers_then_fire(3)
    await setup.engine.run_due()
    [body] = setup.hooks.bodies("slack")
    assert body["blocks"] and "3 new papers on Reward models" in body["text"]
    assert all(i in str(body["blocks"]) for i in ids)
    assert setup.hooks.violations == []
    delivery = await setup.store.subscriptions.delivery(1, "2025-W23")
    assert delivery.state == "sent" and delivery.message_ids == ("slack-webhook:2025-W23:0",)
    await setup.engine.run_due()
    assert len(setup.hooks.received) == 1  # once per period


async def test_a_digest_reaches_a_discord_webhook_as_embeds_with_no_mentions(setup):
    await setup.subscribe("DISCORD_HOOK")
    await setup.papers_then_fire(2, title="Ping <@123> @everyone <!channel> reward models")
    await setup.engine.run_due()
    [body] = setup.hooks.bodies("discord")
    assert body["embeds"] and body["allowed_mentions"] == {"parse": []}
    assert setup.hooks.violations == []
    delivery = await setup.store.subscriptions.delivery(1, "2025-W23")
    assert delivery.state == "sent" and delivery.message_ids[0].isdigit()  # Discord's id, thanks to wait=true


async def test_a_slack_mention_in_paper_text_cannot_ping(setup):
    await setup.subscribe("SLACK_HOOK")
    await setup.papers_then_fire(1, title="<!channel> <!here> <@U123> @everyone reward models")
    await setup.engine.run_due()
    assert len(setup.hooks.received) == 1
    assert setup.hooks.violations == []  # find_mentions found no live mention


async def test_429_waits_for_retry_after_then_delivers(setup):
    await setup.subscribe("DISCORD_HOOK")
    await setup.papers_then_fire()
    setup.hooks.fail_next(
        "discord",
        Failure(429, {"Retry-After": "1"}, {"message": "You are being rate limited.", "retry_after": 0.4, "global": False}),
    )
    await setup.engine.run_due()
    first, second = setup.hooks.attempts
    assert second.at - first.at >= 0.4  # the wait the server asked for, not the adapter's own backoff (0.01 s)
    assert (await setup.store.subscriptions.delivery(1, "2025-W23")).state == "sent"


@pytest.mark.slow
async def test_slack_429_with_retry_after_header(setup):
    await setup.subscribe("SLACK_HOOK")
    await setup.papers_then_fire()
    setup.hooks.fail_next("slack", Failure(429, {"Retry-After": "1"}, "rate_limited"))
    await setup.engine.run_due()
    first, second = setup.hooks.attempts
    assert second.at - first.at >= 1.0
    assert len(setup.hooks.received) == 1


async def test_5xx_is_retried_with_backoff_then_delivers(setup):
    await setup.subscribe("SLACK_HOOK")
    await setup.papers_then_fire()
    setup.hooks.fail_next("slack", Failure(500, body="internal_error"), Failure(503))
    await setup.engine.run_due()
    assert len(setup.hooks.attempts) == 3 and len(setup.hooks.received) == 1
    assert (await setup.store.subscriptions.delivery(1, "2025-W23")).state == "sent"


async def test_a_5xx_storm_fails_cleanly_and_the_period_is_retried_later(setup, caplog):
    await setup.subscribe("SLACK_HOOK")
    ids = await setup.papers_then_fire()
    setup.hooks.fail_next("slack", *[Failure(502)] * 3)
    with caplog.at_level(logging.WARNING):
        await setup.engine.run_due()
    assert len(setup.hooks.attempts) == 3 and not setup.hooks.received
    assert await setup.store.subscriptions.delivery(1, "2025-W23") is None  # unclaimed: nothing lost
    assert "server error 502 after 3 attempts" in (await setup.store.subscriptions.get_subscription(1)).failing
    setup.clock.advance(minutes=15)  # the next sweep
    await setup.engine.run_due()
    [body] = setup.hooks.bodies("slack")
    assert all(i in str(body["blocks"]) for i in ids)
    assert (await setup.store.subscriptions.get_subscription(1)).failing is None


async def test_a_429_asking_for_longer_than_a_delivery_waits_is_left_to_the_next_sweep(setup, sleeps):
    setup.adapter = webhook_adapter(setup.env, sleep=sleeps)
    setup.engine.adapters["webhook"] = setup.adapter
    await setup.subscribe("DISCORD_HOOK")
    await setup.papers_then_fire()
    setup.hooks.fail_next(
        "discord", Failure(429, {"Retry-After": "3600"}, {"message": "You are being rate limited.", "retry_after": 3600.0})
    )
    await setup.engine.run_due()
    assert sleeps.waits == [] and len(setup.hooks.attempts) == 1  # not a wait of minutes in the middle of a sweep
    assert "asks to wait 3600 s" in (await setup.store.subscriptions.get_subscription(1)).failing
    setup.clock.advance(minutes=15)  # the next sweep
    await setup.engine.run_due()
    assert len(setup.hooks.received) == 1 and (await setup.store.subscriptions.get_subscription(1)).failing is None


@pytest.mark.parametrize(
    "platform,status,answer",
    [
        ("slack", 404, "no_service"),
        ("slack", 403, "invalid_token"),
        ("slack", 410, "channel_is_archived"),
        ("discord", 404, {"message": "Unknown Webhook", "code": 10015}),
        ("discord", 401, {"message": "Invalid Webhook Token", "code": 50027}),
    ],
)
async def test_a_deleted_or_revoked_webhook_marks_the_subscription_failing_and_keeps_the_period(
    setup, caplog, platform, status, answer
):
    await setup.subscribe("SLACK_HOOK" if platform == "slack" else "DISCORD_HOOK")
    ids = await setup.papers_then_fire()
    setup.hooks.fail_next(platform, Failure(status, body=answer))
    with caplog.at_level(logging.INFO):
        await setup.engine.run_due()
    assert len(setup.hooks.attempts) == 1  # no point retrying a deleted webhook
    assert await setup.store.subscriptions.delivery(1, "2025-W23") is None
    subscription = await setup.store.subscriptions.get_subscription(1)
    assert f"answered {status}" in subscription.failing and "deleted or revoked" in subscription.failing
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "not delivered" in errors[0]
    report = await setup.status()
    assert "FAILING since" in report and f"answered {status}" in report
    # Secrets stay out of logs and status: the URL's token never appears.
    secret = setup.hooks.SLACK_PATH.rsplit("/", 1)[1] if platform == "slack" else "t0ken-T0KEN"
    assert secret not in caplog.text and secret not in report
    # After the fix (the server accepts again), the same period goes out and the failure clears.
    setup.clock.advance(hours=1)
    await setup.engine.run_due()
    assert len(setup.hooks.received) == 1 and all(i in str(setup.hooks.received[0].body) for i in ids)
    assert (await setup.store.subscriptions.delivery(1, "2025-W23")).state == "sent"
    assert (await setup.store.subscriptions.get_subscription(1)).failing is None


async def test_a_missing_environment_variable_is_a_clear_failure(setup):
    await setup.subscribe("NOT_SET_HOOK")
    await setup.papers_then_fire()
    await setup.engine.run_due()
    assert not setup.hooks.attempts
    assert "environment variable NOT_SET_HOOK" in (await setup.store.subscriptions.get_subscription(1)).failing
    assert await setup.store.subscriptions.delivery(1, "2025-W23") is None


async def test_one_broken_webhook_does_not_stop_the_others(setup):
    setup.env["GONE_HOOK"] = setup.hooks.url + "/services/T0/B0/deleted"
    await setup.subscribe("GONE_HOOK", channel="#gone")
    await setup.subscribe("DISCORD_HOOK", channel="#papers")
    await setup.papers_then_fire()
    await setup.engine.run_due()
    assert len(setup.hooks.bodies("discord")) == 1
    assert (await setup.store.subscriptions.get_subscription(1)).failing and not (
        await setup.store.subscriptions.get_subscription(2)
    ).failing


async def test_an_unreachable_server_is_a_temporary_failure(setup):
    setup.env["SLACK_HOOK"] = "http://127.0.0.1:9/services/T/B/x"  # the discard port: connection refused
    await setup.subscribe("SLACK_HOOK")
    await setup.papers_then_fire()
    await setup.engine.run_due()
    failing = (await setup.store.subscriptions.get_subscription(1)).failing
    assert "network error" in failing and "after 3 attempts" in failing
    assert await setup.store.subscriptions.delivery(1, "2025-W23") is None


async def test_a_failure_that_repeats_is_one_error_line_not_one_per_sweep(setup, caplog):
    await setup.subscribe("NOT_SET_HOOK")
    await setup.papers_then_fire()
    with caplog.at_level(logging.INFO):
        for _ in range(4):  # an hour of sweeps
            await setup.engine.run_due()
            setup.clock.advance(minutes=15)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert sum("still not delivered" in r.getMessage() for r in caplog.records) == 3
    subscription = await setup.store.subscriptions.get_subscription(1)
    assert subscription.failing_since == "2025-06-02T09:05:00Z"  # when it started failing, not the latest sweep


# --- a stop while a digest is being posted ---------------------------------------------------------


async def test_a_stop_while_a_scheduled_digest_is_posted_waits_for_it_and_never_resends(setup, caplog):
    await setup.subscribe("DISCORD_HOOK")
    ids = await setup.papers_then_fire(2)
    setup.clock.set(MONDAY - timedelta(hours=1))  # nothing due at start; the job fires it
    scheduler = BotScheduler(setup.engine)
    await scheduler.start()
    release = setup.hooks.hold()
    setup.clock.set(MONDAY + timedelta(minutes=1))
    scheduler.scheduler.modify_job("digest:1", next_run_time=datetime.now(timezone.utc))  # APScheduler runs the job now
    await asyncio.wait_for(setup.hooks.arrived.wait(), 30)
    caplog.set_level("INFO")
    stopping = asyncio.create_task(scheduler.shutdown())  # SIGTERM's path in run_bot, mid-POST
    await asyncio.sleep(0)
    release.set()  # the platform answers while the stop waits
    await asyncio.wait_for(stopping, 30)
    # The next start has nothing to settle: the digest is not posted again.
    restarted = DigestEngine(setup.store.subscriptions, setup.store.papers, {"webhook": setup.adapter}, TOPICS, clock=setup.clock)
    await restarted.reconcile()
    await restarted.run_due()
    [body] = setup.hooks.bodies("discord")
    assert all(i in json.dumps(body) for i in ids)
    delivery = await setup.store.subscriptions.delivery(1, "2025-W23")
    assert delivery.state == "sent" and delivery.message_ids[0].isdigit()
    assert "waiting up to 8 s for the digest being delivered" in caplog.text


async def test_a_stop_while_the_pass_only_reads_the_store_does_not_claim_a_digest_is_being_delivered(setup, caplog):
    await setup.subscribe("DISCORD_HOOK")
    await setup.papers_then_fire(2)
    reading, resume = asyncio.Event(), asyncio.Event()
    membership_sequence = setup.store.subscriptions.membership_sequence

    async def slow_read() -> int:  # the real read, held while the stop comes
        reading.set()
        await resume.wait()
        return await membership_sequence()

    setup.store.subscriptions.membership_sequence = slow_read
    caplog.set_level("DEBUG")
    passing = asyncio.create_task(setup.engine.run_due())
    await asyncio.wait_for(reading.wait(), 30)
    stopping = asyncio.create_task(setup.engine.stop())
    await asyncio.sleep(0)
    resume.set()
    await asyncio.wait_for(asyncio.gather(stopping, passing), 30)
    assert "for the digest being delivered" not in caplog.text
    assert "waiting up to 8 s for the digest check under way" in caplog.text
    # The pass was inside the grace: whatever it posted is recorded, so nothing is posted twice.
    delivery = await setup.store.subscriptions.delivery(1, "2025-W23")
    assert len(setup.hooks.bodies("discord")) == (1 if delivery and delivery.state == "sent" else 0)


async def test_a_stop_gives_a_post_that_never_answers_a_bounded_wait(setup, caplog):
    await setup.subscribe("SLACK_HOOK")
    await setup.papers_then_fire(1)
    setup.engine.stop_grace = timedelta(seconds=0.2)
    setup.hooks.hold()  # never released
    delivering = asyncio.create_task(setup.engine.run_due())
    await asyncio.wait_for(setup.hooks.arrived.wait(), 30)
    await asyncio.wait_for(setup.engine.stop(), 30)
    assert delivering.cancelled()
    assert "stopped while posting it" in caplog.text
    # Whether the platform kept the post is unknown: the claim stays for the next start to settle.
    assert (await setup.store.subscriptions.delivery(1, "2025-W23")).state == "claimed"
