"""Digests on Slack: posted with metadata, found again after a crash, and Slack's errors handled.

The bot is assembled as `paperbot run` does it, with an injected clock
(tests/support.FakeClock), so a week passes in a line. The real SlackAdapter
and slack_sdk client post to `tests/support/fake_slack.py`, which checks every
message against Slack's limits and for mentions.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from adapters.slack.render import DIGEST_EVENT_TYPE
from bot.models import ChannelRef
from tests.support import MONDAY, make_paper
from tests.support.slack_harness import BOT_TOKEN, running_slack_bot

PAPERS, GONE = "C0PAPERS", "C0GONE"

pytestmark = pytest.mark.now(MONDAY - timedelta(days=3))


def config(*channels: str, max_papers: int = 10) -> str:
    text = '\n[[topics]]\nname = "rm"\ntitle = "Reward models"\n'
    for channel in channels:
        text += f'\n[[subscriptions]]\nadapter = "slack"\nchannel = "{channel}"\ntopic = "rm"\nmax_papers = {max_papers}\n'
    return text


class Crash(Exception):
    """Stands in for the process dying between two steps of a delivery."""


def crash_at(step: str):
    def on_step(name, key):
        if name == step:
            raise Crash(step)
    return on_step


def bot(tmp_path, fake_slack, clock, *channels, max_papers=10, **options):
    return running_slack_bot(tmp_path, fake_slack, config_text=config(*channels, max_papers=max_papers), example_data=False,
                             clock=clock, start_scheduler=False, **options)


async def add_papers(slack, clock, count: int, *, start: int = 1, title_words: int = 0) -> list[str]:
    ids = [f"2506.{n:05d}" for n in range(start, start + count)]
    title = (lambda i: f"Paper {i} " + "reward " * title_words) if title_words else (lambda i: None)
    await slack.bot.store.papers.upsert_papers(
        make_paper(i, ("rm",), published=clock.now().strftime("%Y-%m-%d"), title=title(i)) for i in ids
    )
    return ids


async def papers_then_monday(slack, clock, count: int, **options) -> list[str]:
    """`count` papers published the day before, then the clock at MONDAY 09:00, when the weekly digest is due."""
    clock.set(MONDAY - timedelta(days=1))
    ids = await add_papers(slack, clock, count, **options)
    clock.set(MONDAY)
    return ids


def digest_metadata_of(message: dict) -> dict:
    assert message["metadata"]["event_type"] == DIGEST_EVENT_TYPE
    return message["metadata"]["event_payload"]


async def test_the_scheduler_posts_a_weekly_digest_with_metadata_once_per_week(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        clock.set(MONDAY - timedelta(days=1))
        await add_papers(slack, clock, 3)
        clock.set(MONDAY + timedelta(minutes=1))
        await slack.bot.scheduler.start()  # the start-up sweep delivers what is due
        (message,) = fake_slack.posted(PAPERS)
        assert digest_metadata_of(message) == {"subscription": 1, "period": "2025-W23", "part": 0, "parts": 1}
        assert message["blocks"][0]["text"]["text"] == "3 new papers on Reward models · 2025-W23"
        assert message["unfurl_links"] in (False, "0", "false")
        delivery = await slack.bot.store.subscriptions.delivery(1, "2025-W23")
        assert delivery.state == "sent" and delivery.message_ids == (message["ts"],)

        await slack.bot.engine.run_due()
        assert len(fake_slack.posted(PAPERS)) == 1
        clock.set(MONDAY + timedelta(days=3))
        await add_papers(slack, clock, 1, start=10)
        clock.set(MONDAY + timedelta(days=7, minutes=2))
        await slack.bot.engine.run_due()
        assert [digest_metadata_of(m)["period"] for m in fake_slack.posted(PAPERS)] == ["2025-W23", "2025-W24"]


async def test_a_long_digest_is_split_into_tagged_parts_within_limits(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS, max_papers=50) as slack:
        await papers_then_monday(slack, clock, 45, title_words=40)
        await slack.bot.engine.run_due()
        messages = fake_slack.posted(PAPERS)
        assert len(messages) >= 2
        payloads = [digest_metadata_of(m) for m in messages]
        assert [p["part"] for p in payloads] == list(range(len(messages)))
        assert {p["parts"] for p in payloads} == {len(messages)}
        delivery = await slack.bot.store.subscriptions.delivery(1, "2025-W23")
        assert delivery.message_ids == tuple(m["ts"] for m in messages) and len(delivery.paper_ids) == 45


async def test_a_crash_after_posting_is_recorded_from_history_not_resent(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS, on_step=crash_at("sent")) as slack:
        fake_slack.add_message(PAPERS, "someone else's message")
        await papers_then_monday(slack, clock, 2)
        await slack.bot.engine.run_due()  # posts, then "dies" before recording
        assert (await slack.bot.store.subscriptions.delivery(1, "2025-W23")).state == "claimed"
    posted = [m for m in fake_slack.posted(PAPERS) if m.get("metadata")]
    assert len(posted) == 1
    fake_slack.add_message(PAPERS, "a newer message")
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:  # the restart
        clock.advance(minutes=5)
        await slack.bot.scheduler.start()
        delivery = await slack.bot.store.subscriptions.delivery(1, "2025-W23")
        assert delivery.state == "sent" and delivery.message_ids == (posted[0]["ts"],)
        assert [m for m in fake_slack.posted(PAPERS) if m.get("metadata")] == posted  # not resent
        (history,) = fake_slack.calls_to("conversations.history")
        assert history.args["channel"] == PAPERS and history.args["include_all_metadata"] in ("1", "true", True)


async def test_a_crash_before_posting_is_sent_once_after_the_restart(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS, on_step=crash_at("claimed")) as slack:
        ids = await papers_then_monday(slack, clock, 2)
        await slack.bot.engine.run_due()
    assert fake_slack.posted(PAPERS) == []
    for _ in range(2):  # two restarts: the second finds it recorded
        async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
            clock.advance(minutes=5)
            await slack.bot.scheduler.start()
            delivery = await slack.bot.store.subscriptions.delivery(1, "2025-W23")
            assert delivery.state == "sent" and sorted(delivery.paper_ids) == sorted(ids)
    (message,) = fake_slack.posted(PAPERS)
    assert digest_metadata_of(message)["period"] == "2025-W23"


async def test_unreadable_history_means_resend_once(tmp_path, fake_slack, clock, caplog):
    async with bot(tmp_path, fake_slack, clock, PAPERS, on_step=crash_at("sent")) as slack:
        await papers_then_monday(slack, clock, 1)
        await slack.bot.engine.run_due()
    fake_slack.fail("conversations.history", "missing_scope")
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        await slack.bot.scheduler.start()
        assert (await slack.bot.store.subscriptions.delivery(1, "2025-W23")).state == "sent"
    assert len(fake_slack.posted(PAPERS)) == 2  # the documented cost of not being able to look
    assert "cannot read the history of Slack channel C0PAPERS (missing_scope)" in caplog.text


async def test_a_torn_digest_is_deleted_and_posted_whole(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS, max_papers=50) as slack:
        await papers_then_monday(slack, clock, 45, title_words=40)
        # Part 2 fails: part 1 must not stay behind as half a digest.
        fake_slack.fail("chat.postMessage", "fatal_error", after=1)
        await slack.bot.engine.run_due()
        assert fake_slack.posted(PAPERS) == [] and fake_slack.calls_to("chat.delete")
        assert await slack.bot.store.subscriptions.delivery(1, "2025-W23") is None
        assert "fatal_error" in (await slack.bot.store.subscriptions.get_subscription(1)).failing
        clock.advance(minutes=15)
        await slack.bot.engine.run_due()
        parts = fake_slack.posted(PAPERS)
        assert len(parts) >= 2 and [digest_metadata_of(m)["part"] for m in parts] == list(range(len(parts)))
        assert (await slack.bot.store.subscriptions.get_subscription(1)).failing is None


async def test_a_crash_mid_digest_is_found_torn_after_restart_and_posted_whole(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS, max_papers=50, on_step=crash_at("sent")) as slack:
        await papers_then_monday(slack, clock, 45, title_words=40)
        await slack.bot.engine.run_due()
    whole = fake_slack.posted(PAPERS)
    fake_slack.channels[PAPERS] = whole[:1]  # as if the process died after the first part
    async with bot(tmp_path, fake_slack, clock, PAPERS, max_papers=50) as slack:
        await slack.bot.scheduler.start()
        parts = fake_slack.posted(PAPERS)
        assert whole[0] not in parts and len(parts) == len(whole)
        assert [m["blocks"] for m in parts] == [m["blocks"] for m in whole]
        assert (await slack.bot.store.subscriptions.delivery(1, "2025-W23")).message_ids == tuple(m["ts"] for m in parts)


# --- Slack's errors --------------------------------------------------------------------------


async def test_not_in_channel_marks_that_subscription_failing_and_other_channels_still_get_theirs(
    tmp_path, fake_slack, clock, caplog
):
    fake_slack.users["U0MEMBER"] = {}
    async with bot(tmp_path, fake_slack, clock, GONE, PAPERS) as slack:
        fake_slack.channel_error(GONE, "not_in_channel")
        await papers_then_monday(slack, clock, 2)
        caplog.clear()
        await slack.bot.engine.run_due()
        assert len(fake_slack.posted(PAPERS)) == 1 and fake_slack.posted(GONE) == []
        gone, papers = await slack.bot.store.subscriptions.subscriptions()
        assert gone.channel == ChannelRef("slack", GONE)
        assert "not_in_channel" in gone.failing and "/invite @paperbot" in gone.failing and gone.failing_since
        assert papers.failing is None
        lines = [r for r in caplog.records if "not_in_channel" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.ERROR
        listed = await slack.command("subscriptions", channel=GONE)
        assert any("FAILING since" in a["text"] and "not_in_channel" in a["text"] for a in listed)

        fake_slack.channel_error(GONE, None)  # someone invited the bot
        clock.advance(minutes=15)
        await slack.bot.engine.run_due()
        assert len(fake_slack.posted(GONE)) == 1 and len(fake_slack.posted(PAPERS)) == 1
        assert (await slack.bot.store.subscriptions.subscriptions())[0].failing is None


@pytest.mark.parametrize("code, words", [
    ("channel_not_found", "was not found"),
    ("is_archived", "is archived"),
    ("invalid_auth", "rejected SLACK_BOT_TOKEN (invalid_auth)"),
    ("account_inactive", "rejected SLACK_BOT_TOKEN (account_inactive)"),
    ("missing_scope", "lacks the scope"),
])
async def test_permanent_errors_give_a_clear_failing_note(tmp_path, fake_slack, clock, code, words):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        await papers_then_monday(slack, clock, 1)
        fake_slack.fail("chat.postMessage", code)
        await slack.bot.engine.run_due()
        assert words in (await slack.bot.store.subscriptions.get_subscription(1)).failing
        assert await slack.bot.store.subscriptions.delivery(1, "2025-W23") is None


async def test_a_429_is_retried_after_retry_after_then_posted_once(tmp_path, fake_slack, clock, sleeps):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        slack.adapter.rate_limit.sleep = sleeps
        await papers_then_monday(slack, clock, 1)
        fake_slack.rate_limit("chat.postMessage", retry_after="2")
        await slack.bot.engine.run_due()
        assert sleeps.waits == [2.0]
        assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]
        assert len(fake_slack.posted(PAPERS)) == 1
        assert (await slack.bot.store.subscriptions.delivery(1, "2025-W23")).state == "sent"


async def test_rate_limits_that_do_not_end_are_a_retry_later_not_a_wait_forever(tmp_path, fake_slack, clock, sleeps):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        slack.adapter.rate_limit.sleep = sleeps
        await papers_then_monday(slack, clock, 1)
        fake_slack.rate_limit("chat.postMessage", retry_after="1", times=10)
        await slack.bot.engine.run_due()
        assert len(fake_slack.calls_to("chat.postMessage")) == 4 and sleeps.waits == [1.0, 1.0, 1.0]
        assert "ratelimited" in (await slack.bot.store.subscriptions.get_subscription(1)).failing
        assert await slack.bot.store.subscriptions.delivery(1, "2025-W23") is None

        fake_slack._rules.clear()
        fake_slack.rate_limit("chat.postMessage", retry_after="3600")  # longer than we wait: not retried now
        clock.advance(minutes=15)
        await slack.bot.engine.run_due()
        assert len(fake_slack.calls_to("chat.postMessage")) == 5 and len(sleeps.waits) == 3
        clock.advance(minutes=15)
        await slack.bot.engine.run_due()  # the next sweep
        assert len(fake_slack.posted(PAPERS)) == 1
        assert (await slack.bot.store.subscriptions.get_subscription(1)).failing is None


@pytest.mark.slow
async def test_a_server_error_is_retried(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        await papers_then_monday(slack, clock, 1)
        fake_slack.server_error("chat.postMessage", status=503)
        await slack.bot.engine.run_due()
        assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [503, 200]
        assert len(fake_slack.posted(PAPERS)) == 1


@pytest.mark.slow
async def test_an_unreachable_slack_is_a_transient_failure(tmp_path, fake_slack, clock):
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        await papers_then_monday(slack, clock, 1)
        await fake_slack.close()  # nobody listens on the port any more
        await slack.bot.engine.run_due()
        failing = (await slack.bot.store.subscriptions.get_subscription(1)).failing
        assert "could not reach Slack" in failing
        assert await slack.bot.store.subscriptions.delivery(1, "2025-W23") is None


async def test_digest_errors_never_log_the_token(tmp_path, fake_slack, clock, caplog):
    caplog.set_level(logging.DEBUG)
    async with bot(tmp_path, fake_slack, clock, PAPERS) as slack:
        await papers_then_monday(slack, clock, 1)
        fake_slack.fail("chat.postMessage", "invalid_auth")
        await slack.bot.engine.run_due()
        await slack.bot.engine.run_due()
    assert BOT_TOKEN not in caplog.text


async def test_the_fake_refuses_what_slack_would_refuse(fake_slack):
    """The limit check on every message is real: an over-limit or pinging message is refused and reported."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=PAPERS, text="hi", blocks=too_many)
    assert raised.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=PAPERS, text="hello <!channel>")
    with pytest.raises(SlackApiError) as wrong_token:
        await AsyncWebClient(token="xoxb-other", base_url=fake_slack.api_url).auth_test()
    assert wrong_token.value.response["error"] == "invalid_auth"
    assert fake_slack.posted(PAPERS) == []
    assert any("51 blocks" in v for v in fake_slack.violations) and any("mentions" in v for v in fake_slack.violations)
    fake_slack.violations.clear()  # expected here; the fixture asserts none are left
