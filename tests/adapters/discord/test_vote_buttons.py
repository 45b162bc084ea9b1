"""👍/👎/🔖 on Discord: buttons under digest cards, clicked as Discord sends a click.

The bot is assembled as `paperbot run` assembles it (subscription in the
config, a FakeClock); the real discord.py client posts into
`tests/support/fake_discord.py`, and every click is an INTERACTION_CREATE of a
message component carrying the button's `custom_id`, as Discord sends it.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from bot.models import ChannelRef
from tests.support import MONDAY
from tests.support.discord_harness import config_with, discord_bot
from tests.support.fake_discord import EPHEMERAL, GUILD_ID, MEMBER_ID, OTHER_ID, TEXT_CHANNEL, buttons, message_text

pytestmark = pytest.mark.now(MONDAY - timedelta(days=3))  # the example papers arrive inside the first window

CHANNEL = ChannelRef("discord", str(TEXT_CHANNEL), str(GUILD_ID))
SUBSCRIPTION = "\n".join([
    "[[subscriptions]]", 'adapter = "discord"', f'channel = "{TEXT_CHANNEL}"', f'workspace = "{GUILD_ID}"',
    'topic = "reward-model-vlm"', 'when = "mon 09:00"', "max_papers = 7",
]) + "\n"  # fmt: skip


def bot(tmp_path, fake_discord, clock):
    return discord_bot(tmp_path / "db", fake_discord, config=config_with(SUBSCRIPTION), clock=clock)


async def digest_messages(bot, fake_discord, clock) -> list[dict]:
    clock.set(MONDAY + timedelta(minutes=1))
    await bot.engine.run_due()
    return fake_discord.channel_messages(TEXT_CHANNEL)


def votes_of(message: dict) -> dict[str, str]:
    """label -> custom_id of the message's vote buttons."""
    return {label: b["custom_id"] for label, b in buttons(message).items() if b["custom_id"].startswith("paper:vote:")}


async def click(fake_discord, message: dict, label: str, *, user: int = MEMBER_ID):
    record = await fake_discord.click(message, label, user=user)
    await fake_discord.until(lambda: record.answered())
    return record


async def test_a_digest_has_buttons_per_card_and_a_click_records_once_with_an_undo(tmp_path, fake_discord, clock) -> None:
    async with bot(tmp_path, fake_discord, clock) as running:
        messages = await digest_messages(running, fake_discord, clock)
        assert [len(m["embeds"]) for m in messages] == [5, 2]  # five cards a message, so the buttons fit
        first = messages[0]
        assert len(first["components"]) == 3  # a row per action, a button per card
        ids = [embed["url"].rsplit("/", 1)[-1] for embed in first["embeds"]]
        assert votes_of(first)[f"🔖 {ids[0]}"] == f"paper:vote:save:{GUILD_ID}:{ids[0]}"
        assert sorted(votes_of(first)) == sorted(f"{e} {i}" for e in "👍👎🔖" for i in ids)

        saved = await click(fake_discord, first, f"🔖 {ids[0]}")
        assert saved.messages[0]["flags"] & EPHEMERAL
        assert "Saved to this channel's reading list" in saved.texts()
        assert list(buttons(saved.messages[0])) == ["Undo"]
        again = await click(fake_discord, first, f"🔖 {ids[0]}")  # a double click
        assert "Already in this channel's reading list" in again.texts() and not buttons(again.messages[0])
        await click(fake_discord, first, f"👎 {ids[1]}")
        await click(fake_discord, first, f"👎 {ids[1]}", user=OTHER_ID)
        undo = await click(fake_discord, saved.messages[0], "Undo")
        assert "Removed from the reading list" in undo.texts()
        assert sorted(await running.store.votes.channel_votes(CHANNEL)) == [
            (ids[1], str(MEMBER_ID), "down"), (ids[1], str(OTHER_ID), "down"),
        ]  # fmt: skip
        library = await running.ranking.taste(CHANNEL)
        assert library is not None and library.votes.negatives == (ids[1],)


async def test_a_button_still_works_after_a_restart(tmp_path, fake_discord, clock) -> None:
    async with bot(tmp_path, fake_discord, clock) as running:
        [first, *_] = await digest_messages(running, fake_discord, clock)
    paper = first["embeds"][2]["url"].rsplit("/", 1)[-1]
    async with bot(tmp_path, fake_discord, clock) as restarted:
        record = await click(fake_discord, first, f"👍 {paper}")
        assert "Marked relevant" in record.texts()
        assert await restarted.store.votes.channel_votes(CHANNEL) == [(paper, str(MEMBER_ID), "up")]


async def test_a_click_from_another_server_records_nothing(tmp_path, fake_discord, clock) -> None:
    async with bot(tmp_path, fake_discord, clock) as running:
        [first, *_] = await digest_messages(running, fake_discord, clock)
        paper = first["embeds"][0]["url"].rsplit("/", 1)[-1]
        record = await fake_discord.click(first, f"👍 {paper}")
        await fake_discord.until(lambda: record.answered())
        foreign = copy.deepcopy(record.payload)
        other = str(GUILD_ID + 1)
        foreign.update(id=str(fake_discord.snowflake()), token=foreign["token"] + "-other", guild_id=other)
        foreign["guild"]["id"] = other
        refused = await fake_discord.send_raw_interaction(foreign)
        await fake_discord.until(lambda: refused.answered())
        assert "belongs to another server" in refused.texts()
        assert await running.store.votes.channel_votes(CHANNEL) == [(paper, str(MEMBER_ID), "up")]  # the first click only
        assert message_text(first)  # the digest itself is untouched
