"""Weekly digests on Discord: channel, thread and forum posts, nonces, 429s, failures, restarts.

The bot is assembled as `paperbot run` assembles it, with the subscription
in the config file and a FakeClock; the digest engine (what the scheduler's
jobs run) posts through the real discord.py client into the fake Discord.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.discord.digests import PartMark, digest_messages, digest_parts, read_marks
from adapters.discord.render import (
    MAX_EMBED_TOTAL,
    check_message_limits,
    embed_size,
    forum_post_title,
    nonce_for,
    render_messages,
)
from bot import presenter
from bot.digest import digest_reply
from bot.errors import DeliveryError
from bot.models import ChannelRef, DeliveryKey, DigestMark, NoticeReply, PaperCard, PaperListReply, Topic
from tests.support import MONDAY, make_paper
from tests.support.discord_harness import config_with, discord_bot
from tests.support.fake_discord import FORUM, GUILD_ID, SECRET_CHANNEL, TEXT_CHANNEL, THREAD, message_text

PERIOD = "2025-W23"
TOPIC_TITLE = "reward model+vlm"  # the example paper list's terms


def subscription_toml(channel: int, *, thread: int | None = None, max_papers: int = 10) -> str:
    lines = [
        "[[subscriptions]]", 'adapter = "discord"', f'channel = "{channel}"', f'workspace = "{GUILD_ID}"',
        'topic = "reward-model-vlm"', 'when = "mon 09:00"', f"max_papers = {max_papers}",
    ]
    if thread:
        lines.append(f'thread = "{thread}"')
    return "\n".join(lines) + "\n"


# The example papers enter the store three days before the fire, inside the first window.
pytestmark = pytest.mark.now(MONDAY - timedelta(days=3))


async def deliver_week(bot, clock):
    clock.set(MONDAY + timedelta(minutes=1))
    await bot.engine.run_due()
    [subscription] = await bot.store.subscriptions.subscriptions()
    return subscription, await bot.store.subscriptions.delivery(subscription.id, PERIOD)


def posts(fake_discord, channel):
    return fake_discord.calls_to("POST", rf"^/channels/{channel}/messages$")


def marked_notice(subscription_id: int) -> NoticeReply:
    return NoticeReply(("hello",), digest=DigestMark(DeliveryKey(subscription_id, PERIOD), Topic("reward-model-vlm"), 0))


async def test_weekly_digest_into_a_channel_with_a_nonce_per_part(tmp_path, fake_discord, clock):
    async with discord_bot(
        tmp_path / "db", fake_discord, config=config_with(subscription_toml(TEXT_CHANNEL)), clock=clock
    ) as bot:
        subscription, delivery = await deliver_week(bot, clock)
        await bot.engine.run_due()  # a second sweep in the same period posts nothing
    messages = fake_discord.channel_messages(TEXT_CHANNEL)
    assert messages[0]["content"] == f"12 new papers on {TOPIC_TITLE} · {PERIOD}"
    assert sum(len(m["embeds"]) for m in messages) == 10
    assert "and 2 more — /paper latest reward-model-vlm" in message_text(messages[-1])
    bodies = [call.body for call in posts(fake_discord, TEXT_CHANNEL)]
    assert [body["nonce"] for body in bodies] == [nonce_for(subscription.id, PERIOD, part) for part in range(len(messages))]
    assert all(body["enforce_nonce"] is True and body["allowed_mentions"]["parse"] == [] for body in bodies)
    assert delivery.state == "sent"
    assert list(delivery.message_ids) == [m["id"] for m in messages]


@pytest.mark.parametrize(
    "where", [{"channel": TEXT_CHANNEL, "thread": THREAD}, {"channel": THREAD}], ids=["channel+thread", "thread-id-as-channel"]
)
async def test_weekly_digest_into_a_thread(tmp_path, fake_discord, clock, where):
    config = config_with(subscription_toml(where["channel"], thread=where.get("thread")))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        _, delivery = await deliver_week(bot, clock)
    assert fake_discord.channel_messages(TEXT_CHANNEL) == []
    assert [m["id"] for m in fake_discord.channel_messages(THREAD)] == list(delivery.message_ids)


async def test_weekly_digest_into_a_forum_is_one_new_post_titled_with_topic_and_period(tmp_path, fake_discord, clock):
    async with discord_bot(tmp_path / "db", fake_discord, config=config_with(subscription_toml(FORUM)), clock=clock) as bot:
        _, delivery = await deliver_week(bot, clock)
        clock.set(MONDAY + timedelta(days=7, minutes=1))
        await bot.engine.run_due()  # nothing new next week: no second post
    [post] = fake_discord.forum_posts(FORUM)
    assert post["name"] == forum_post_title(TOPIC_TITLE, PERIOD) == f"{TOPIC_TITLE} — {PERIOD}"
    thread_messages = fake_discord.channel_messages(int(post["id"]))
    assert thread_messages[0]["id"] == post["id"]  # the post's first message
    assert thread_messages[0]["content"].startswith("12 new papers")
    assert list(delivery.message_ids) == [m["id"] for m in thread_messages]
    assert posts(fake_discord, FORUM) == []  # never a plain message into the forum itself


async def test_a_429_with_retry_after_is_waited_out_and_the_digest_posted_once(tmp_path, fake_discord, clock, caplog):
    fake_discord.fail(
        "POST",
        rf"^/channels/{TEXT_CHANNEL}/messages$",
        429,
        body={"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
    )
    async with discord_bot(
        tmp_path / "db", fake_discord, config=config_with(subscription_toml(TEXT_CHANNEL)), clock=clock
    ) as bot:
        subscription, delivery = await deliver_week(bot, clock)
    calls = posts(fake_discord, TEXT_CHANNEL)
    assert [c.status for c in calls][:2] == [429, 200]
    assert calls[0].body["nonce"] == calls[1].body["nonce"] == nonce_for(subscription.id, PERIOD, 0)
    assert len(fake_discord.channel_messages(TEXT_CHANNEL)) == len(calls) - 1
    assert delivery.state == "sent" and subscription.failing is None
    assert "rate limited" in caplog.text


async def test_forbidden_marks_the_subscription_failing_with_one_clear_log_line(tmp_path, fake_discord, clock, caplog):
    caplog.set_level(logging.INFO)
    config = config_with(subscription_toml(SECRET_CHANNEL))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        subscription, delivery = await deliver_week(bot, clock)
        assert delivery is None  # the claim was released: the period is retried after the fix
        assert "403" in subscription.failing and "Send Messages" in subscription.failing
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and str(SECRET_CHANNEL) in errors[0].getMessage()
        # Someone gives the bot access; the next sweep delivers and clears the failure.
        fake_discord.forbidden.clear()
        await bot.engine.run_due()
        [fixed] = await bot.store.subscriptions.subscriptions()
        assert fixed.failing is None
        assert (await bot.store.subscriptions.delivery(fixed.id, PERIOD)).state == "sent"
    assert fake_discord.channel_messages(SECRET_CHANNEL)


async def test_a_deleted_channel_is_permanent_while_503_and_endless_429s_are_temporary(tmp_path, fake_discord, clock):
    gone = 1180000000000000999
    config = config_with(subscription_toml(gone))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        adapter = bot.adapters["discord"]
        subscription, _ = await deliver_week(bot, clock)
        assert "404" in subscription.failing and "gone" in subscription.failing
        fake_discord.fail("POST", rf"^/channels/{TEXT_CHANNEL}/messages$", 503)
        moved = replace(subscription, channel=ChannelRef("discord", str(TEXT_CHANNEL), str(GUILD_ID)))
        with pytest.raises(DeliveryError) as raised:
            await adapter.post_digest(moved, marked_notice(subscription.id))
        assert raised.value.permanent is False and "503" in raised.value.message
        fake_discord.fail(
            "POST",
            rf"^/channels/{TEXT_CHANNEL}/messages$",
            429,
            body={"message": "You are being rate limited.", "retry_after": 0.01, "global": False},
            times=5,
        )
        with pytest.raises(DeliveryError) as throttled:
            await adapter.post_digest(moved, marked_notice(subscription.id))
        assert throttled.value.permanent is False and "429" in throttled.value.message
        named = replace(subscription, channel=ChannelRef("discord", "#papers", str(GUILD_ID)))
        with pytest.raises(DeliveryError) as not_an_id:
            await adapter.post_digest(named, marked_notice(subscription.id))
        assert not_an_id.value.permanent is True and "not a Discord id" in not_an_id.value.message


class Crash(Exception):
    pass


def crash_after_send(step, key):
    if step == "sent":
        raise Crash("killed between send and record")


@pytest.mark.parametrize("channel", [TEXT_CHANNEL, FORUM])
async def test_a_crash_between_send_and_record_is_found_after_restart_not_reposted(tmp_path, fake_discord, clock, channel):
    config = config_with(subscription_toml(channel))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock, on_step=crash_after_send) as bot:
        subscription, delivery = await deliver_week(bot, clock)
        assert delivery.state == "claimed"  # sent, never recorded
    sent_before = len(fake_discord.calls_to("POST", r"^/channels/\d+/(messages|threads)$"))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:  # restart: reconcile runs at start
        delivery = await bot.store.subscriptions.delivery(subscription.id, PERIOD)
    assert len(fake_discord.calls_to("POST", r"^/channels/\d+/(messages|threads)$")) == sent_before
    assert delivery.state == "sent"
    looked = fake_discord.calls_to(
        "GET", r"^/guilds/\d+/threads/active$" if channel == FORUM else rf"^/channels/{channel}/messages$"
    )
    assert looked, "reconcile did not look for the digest"
    if channel == FORUM:
        [post] = fake_discord.forum_posts(FORUM)
        assert list(delivery.message_ids) == [m["id"] for m in fake_discord.channel_messages(int(post["id"]))]
    else:
        assert list(delivery.message_ids) == [m["id"] for m in fake_discord.channel_messages(TEXT_CHANNEL)]


async def test_a_claim_never_sent_is_sent_after_restart(tmp_path, fake_discord, clock):
    def crash_after_claim(step, key):
        if step == "claimed":
            raise Crash("killed before sending")

    config = config_with(subscription_toml(TEXT_CHANNEL))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock, on_step=crash_after_claim) as bot:
        subscription, delivery = await deliver_week(bot, clock)
        assert delivery.state == "claimed" and fake_discord.channel_messages(TEXT_CHANNEL) == []
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        delivery = await bot.store.subscriptions.delivery(subscription.id, PERIOD)
    assert delivery.state == "sent"
    assert list(delivery.message_ids) == [m["id"] for m in fake_discord.channel_messages(TEXT_CHANNEL)]


@pytest.mark.parametrize("channel", [TEXT_CHANNEL, FORUM])
async def test_a_posted_digest_is_found_after_restart_whatever_its_header_says(
    tmp_path, fake_discord, clock, channel, monkeypatch
):
    """An upgrade rewords the digest header between the crash and the restart: the marker still finds the post."""
    def reworded(header, papers, lang, **kwargs):
        return presenter.paper_list("Your weekly reading list", papers, lang, **kwargs)

    config = config_with(subscription_toml(channel))
    with monkeypatch.context() as patch:
        patch.setattr("bot.digest.paper_list", reworded)
        async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock, on_step=crash_after_send) as bot:
            subscription, delivery = await deliver_week(bot, clock)
            assert delivery.state == "claimed"
    first_post = fake_discord.channel_messages(
        int(fake_discord.forum_posts(FORUM)[0]["id"]) if channel == FORUM else TEXT_CHANNEL
    )[0]
    assert first_post["content"] == "Your weekly reading list" and PERIOD not in first_post["content"]
    sent_before = len(fake_discord.calls_to("POST", r"^/channels/\d+/(messages|threads)$"))
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        delivery = await bot.store.subscriptions.delivery(subscription.id, PERIOD)
    assert len(fake_discord.calls_to("POST", r"^/channels/\d+/(messages|threads)$")) == sent_before  # not reposted
    assert delivery.state == "sent" and delivery.message_ids[0] == first_post["id"]


async def test_every_digest_message_carries_its_marker_in_the_platform_kept_footer(tmp_path, fake_discord, clock):
    config = config_with(subscription_toml(TEXT_CHANNEL, max_papers=12))  # 12 cards that take votes: three messages
    async with discord_bot(tmp_path / "db", fake_discord, config=config, clock=clock) as bot:
        subscription, delivery = await deliver_week(bot, clock)
    messages = fake_discord.channel_messages(TEXT_CHANNEL)
    assert len(messages) == 3 and list(delivery.message_ids) == [m["id"] for m in messages]
    key = DeliveryKey(subscription.id, PERIOD)
    for part, message in enumerate(messages, 1):
        footers = [embed.get("footer", {}).get("text", "") for embed in message["embeds"]]
        assert read_marks(footers) == [PartMark(key, part, 3)]


# --- markers (pure) --------------------------------------------------------------------------------

KEY = DeliveryKey(3, "2025-W23")


def test_a_digest_is_found_by_its_markers_alone():
    other_week, other_subscription = DeliveryKey(3, "2025-W22"), DeliveryKey(4, "2025-W23")
    history = [
        ("1", [PartMark(other_week, 1, 1)]),
        ("2", []),  # an answer to a command, a preview: no marker
        ("3", [PartMark(KEY, 1, 3)]),
        ("4", [PartMark(KEY, 2, 3)]),
        ("5", [PartMark(other_subscription, 1, 1)]),
        ("6", [PartMark(KEY, 3, 3)]),
    ]
    assert digest_parts(history, KEY) == ["3", "4", "6"]
    assert digest_parts(history, DeliveryKey(3, "2025-W24")) == []
    assert digest_parts(history[3:], KEY) == []  # without its first part it is not there
    assert digest_parts(history[:4], KEY) == ["3", "4"]  # cut off after part 2: the parts that were posted


def test_a_marker_reads_back_from_a_footer_with_other_lines_and_from_no_other_text():
    footer = "and 2 more — /paper latest rm\n" + PartMark(KEY, 2, 3).text
    assert read_marks([footer]) == [PartMark(KEY, 2, 3)]
    assert read_marks([f"12 new papers on rm · {KEY.period}", "(continued 2/3)", ""]) == []


def test_marking_keeps_every_message_within_discords_limits_even_when_packed_full():
    """Cards sized so an unreserved message is within a marker's length of 6000 characters."""
    mark = PartMark(KEY, 1, 1).text
    for size in range(1300, 1500):
        tldr = "word " * (size // 5)
        card = PaperCard("2506.00001", "A paper title", "https://arxiv.org/abs/2506.00001", "2025-06-01", tldr=tldr)
        reply = PaperListReply("12 new papers on rm · 2025-W23", (card,) * 12, digest=DigestMark(KEY, Topic("rm"), 12))
        if any(MAX_EMBED_TOTAL - sum(embed_size(e) for e in m["embeds"]) <= len(mark) for m in render_messages(reply)):
            break
    else:
        pytest.fail("no card size packs a message that tight")
    messages = digest_messages(reply)
    assert all(check_message_limits(message) == [] for message in messages)
    assert [read_marks(e.get("footer", {}).get("text", "") for e in m["embeds"]) for m in messages] == [
        [PartMark(KEY, part, len(messages))] for part in range(1, len(messages) + 1)
    ]


def test_a_digest_reply_carries_its_mark_as_data_and_a_preview_none():
    topic = Topic("rm", "Reward models")
    papers = [make_paper(f"2506.0000{n}", ("rm",)) for n in range(1, 4)]
    reply = digest_reply(topic, PERIOD, papers, 5, "en", "weekly", key=KEY)
    assert reply.digest == DigestMark(KEY, topic, 3)
    assert digest_reply(topic, PERIOD, [], 0, "en", "weekly", key=KEY).digest == DigestMark(KEY, topic, 0)
    assert digest_reply(topic, PERIOD, papers, 3, "en", "weekly").digest is None
