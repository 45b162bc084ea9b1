"""`/paper` on Discord, end to end: the real discord.py client against the fake Discord.

Each user action is what Discord would send over the gateway (INTERACTION_CREATE
of type 2 for a command, 4 for autocomplete, 3 for a button); each assertion is
on what the bot sent back over REST. The fake checks every message body
against Discord's limits and `allowed_mentions` (see tests/support/discord_harness.py).
"""

from __future__ import annotations

import pytest

from bot.commands import REGISTRY, Completion
from bot.models import ChannelRef, Paper, Topic
from tests.support.discord_harness import discord_bot
from tests.support.fake_discord import (
    ADMIN_ID,
    CHANNEL_MESSAGE,
    DEFERRED_MESSAGE,
    EPHEMERAL,
    GUILD_ID,
    MEMBER_ID,
    OTHER_ID,
    TEXT_CHANNEL,
    THREAD,
    UPDATE_MESSAGE,
    message_text,
)
from tests.support.fake_discord import buttons as all_buttons

DISCORD_TEXT = ChannelRef("discord", str(TEXT_CHANNEL), str(GUILD_ID))


def buttons(message: dict) -> dict[str, dict]:
    """label -> button, leaving out the cards' vote buttons (tests/adapters/discord/test_vote_buttons.py has those)."""
    return {label: button for label, button in all_buttons(message).items() if not button["custom_id"].startswith("paper:vote:")}


@pytest.fixture
async def bot(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "paperbot.db", fake_discord) as running:
        yield running


async def answer(fake_discord, subcommand, options=None, *, count=1, user=MEMBER_ID, channel_id=TEXT_CHANNEL, with_buttons=False):
    record = await fake_discord.slash(subcommand, options, user=user, channel_id=channel_id)
    await fake_discord.until(lambda: record.answered(count) and (not with_buttons or buttons(record.messages[-1])))
    return record


# --- the command tree -------------------------------------------------------------------


async def test_the_paper_group_is_registered_from_the_registry_and_guild_only(bot, fake_discord):
    [paper] = fake_discord.commands["global"]
    assert paper["name"] == "paper"
    assert paper["dm_permission"] is False  # guild-only
    subcommands = {option["name"]: option for option in paper["options"]}
    assert list(subcommands) == REGISTRY.names()
    for spec in REGISTRY:
        name = spec.name
        assert subcommands[name]["description"] == spec.description
        options = {option["name"]: option for option in subcommands[name].get("options", [])}
        assert set(options) == {param.name for param in spec.params}
        for param in spec.params:
            option = options[param.name]
            assert option["description"] == param.description
            assert option["required"] is param.required
            assert option.get("autocomplete", False) is (param.completion in (Completion.TOPIC, Completion.PAPER))
            assert option["type"] == (4 if param.type is int else 3)
    help_choices = {c["value"] for c in subcommands["help"]["options"][0]["choices"]}
    assert help_choices == set(REGISTRY.names())
    count = {o["name"]: o for o in subcommands["latest"]["options"]}["count"]
    assert (count["type"], count["min_value"], count["max_value"]) == (4, 1, 25)


# --- lookups ------------------------------------------------------------------------------


async def test_latest_is_deferred_then_answered_privately_with_a_share_button(bot, fake_discord):
    record = await answer(fake_discord, "latest", {"count": 3}, with_buttons=True)
    assert record.callbacks[0]["type"] == DEFERRED_MESSAGE
    assert record.callbacks[0]["data"]["flags"] & EPHEMERAL
    message = record.messages[-1]
    assert message["flags"] & EPHEMERAL
    assert message["content"] == "Latest papers"
    assert len(message["embeds"]) == 3
    assert list(buttons(message)) == ["Share in channel"]
    assert fake_discord.channel_messages(TEXT_CHANNEL) == []  # nothing public


async def test_share_in_channel_posts_the_answer_for_everyone(bot, fake_discord):
    record = await answer(fake_discord, "show", {"paper": "2505.20665"}, with_buttons=True)
    assert "DriveRX" in record.texts() and "Abstract" in record.texts()
    click = await fake_discord.click(record.messages[-1], "Share in channel")
    await fake_discord.until(lambda: click.answered())
    assert click.callbacks[0]["type"] == CHANNEL_MESSAGE
    assert not click.callbacks[0]["data"].get("flags", 0) & EPHEMERAL
    public = fake_discord.channel_messages(TEXT_CHANNEL)
    assert public and "DriveRX" in message_text(public[0])


async def test_count_is_the_number_of_results_and_they_come_five_to_a_page(bot, fake_discord):
    record = await answer(fake_discord, "search", {"query": "reward", "count": 12}, with_buttons=True)
    message = record.messages[-1]
    assert message["content"].endswith("· page 1/3")
    assert len(message["embeds"]) == 5
    assert list(buttons(message)) == ["Previous", "Next", "Share in channel"]
    assert buttons(message)["Previous"]["disabled"] is True
    first_titles = [embed["title"] for embed in message["embeds"]]
    seen = list(first_titles)

    for page in (2, 3):
        turn = await fake_discord.click(message, "Next")
        await fake_discord.until(lambda turn=turn: bool(turn.callbacks))
        assert turn.callbacks[0]["type"] == UPDATE_MESSAGE
        assert message["content"].endswith(f"· page {page}/3")
        seen += [embed["title"] for embed in message["embeds"]]
        assert buttons(message)["Previous"]["disabled"] is False
    assert buttons(message)["Next"]["disabled"] is True
    assert len(seen) == len(set(seen)) == 11  # every result once (the example data has 11 for "reward")
    assert "Papers 11–11 of 11" in message_text(message)

    back = await fake_discord.click(message, "Previous")
    await fake_discord.until(lambda: bool(back.callbacks))
    assert message["content"].endswith("· page 2/3")


async def test_a_count_that_fits_one_page_has_no_pager(bot, fake_discord):
    record = await answer(fake_discord, "search", {"query": "reward", "count": 2}, with_buttons=True)
    message = record.messages[-1]
    assert len(message["embeds"]) == 2 and "page" not in message["content"]
    assert list(buttons(message)) == ["Share in channel"]


async def test_buttons_carry_their_command_and_page_within_discords_limit(bot, fake_discord):
    record = await answer(fake_discord, "latest", {"topic": "reward-model-vlm", "count": 12}, with_buttons=True)
    ids = {label: button["custom_id"] for label, button in buttons(record.messages[-1]).items()}
    assert ids == {
        "Previous": "paper:page:0:latest --topic reward-model-vlm --count 12",
        "Next": "paper:page:2:latest --topic reward-model-vlm --count 12",
        "Share in channel": "paper:share:1:latest --topic reward-model-vlm --count 12",
    }
    long_query = "reward model preference " * 4  # 8 results, more than a page
    record = await answer(
        fake_discord, "search", {"query": long_query, "count": 12}, count=2
    )  # cards that take votes: 5 a message
    assert all(not buttons(m) for m in record.messages)  # no custom_id can hold it: every result at once, no buttons
    assert sum(len(m["embeds"]) for m in record.messages) == len(await bot.service.search(long_query, None, 12)) == 8
    assert "page" not in record.messages[0]["content"]


async def test_share_posts_the_page_on_screen(bot, fake_discord):
    record = await answer(fake_discord, "latest", {"count": 12}, with_buttons=True)
    message = record.messages[-1]
    turn = await fake_discord.click(message, "Next")
    await fake_discord.until(lambda: bool(turn.callbacks))
    click = await fake_discord.click(message, "Share in channel")
    await fake_discord.until(lambda: click.answered())
    [public] = fake_discord.channel_messages(TEXT_CHANNEL)
    assert public["content"].endswith("· page 2/3") and public["embeds"] == message["embeds"]
    assert not buttons(public)


async def test_a_short_search_has_no_pager(bot, fake_discord):
    record = await answer(fake_discord, "search", {"query": "DriveRX"}, with_buttons=True)
    assert list(buttons(record.messages[-1])) == ["Share in channel"]
    assert "page" not in record.messages[-1]["content"]


async def test_topics_help_and_subscriptions(bot, fake_discord):
    topics = await answer(fake_discord, "topics")
    assert "reward-model-vlm" in topics.texts()
    helped = await answer(fake_discord, "help", {"command": "search"})
    assert "/paper search <query>" in helped.texts()
    assert not buttons(helped.messages[-1])
    listed = await answer(fake_discord, "subscriptions")
    assert "No subscriptions in this channel" in listed.texts()


@pytest.mark.parametrize(
    "subcommand, options, expected",
    [
        ("show", {"paper": "banana"}, "is not an arXiv id"),
        ("show", {"paper": "2101.00001"}, "not in the store"),
        ("latest", {"count": 0}, "count must be between 1 and 25"),
        ("search", {"query": "reward", "count": 26}, "count must be between 1 and 25"),
        ("search", {"query": "x" * 400}, "the limit is 300"),
        ("latest", {"topic": "no-such-topic"}, "Unknown topic 'no-such-topic'"),
    ],
)
async def test_bad_input_gets_a_private_clear_message_without_buttons(bot, fake_discord, subcommand, options, expected):
    record = await answer(fake_discord, subcommand, options)
    assert expected in record.texts()
    assert record.messages[-1]["flags"] & EPHEMERAL
    assert not buttons(record.messages[-1])


async def test_hostile_query_pings_nobody(bot, fake_discord):
    record = await answer(fake_discord, "search", {"query": "@everyone <@1190000000000000002> **bold** zebra"})
    text = record.texts()
    assert "@everyone" not in text and "<@1190000000000000002>" not in text
    # allowed_mentions {"parse": []} on every payload is checked by the fake (fixture teardown).


async def test_an_unknown_subcommand_is_answered_and_changes_nothing(bot, fake_discord):
    record = await answer(fake_discord, "frobnicate", {"x": 1})
    assert "not known to this bot" in record.texts()
    assert record.messages[-1]["flags"] & EPHEMERAL
    assert await bot.store.subscriptions.subscriptions() == []


# --- subscriptions and permissions ---------------------------------------------------------


async def test_a_member_without_manage_server_cannot_subscribe(bot, fake_discord):
    record = await answer(fake_discord, "subscribe", {"topic": "reward-model-vlm"}, user=MEMBER_ID)
    assert record.callbacks[0]["type"] == CHANNEL_MESSAGE
    assert record.callbacks[0]["data"]["flags"] & EPHEMERAL
    assert "Manage Server" in record.texts()
    assert await bot.store.subscriptions.subscriptions() == []
    refused = await answer(fake_discord, "unsubscribe", {"topic": "reward-model-vlm"}, user=MEMBER_ID)
    assert "Manage Server" in refused.texts()


async def test_an_admin_subscribes_publicly_and_unsubscribes(bot, fake_discord):
    record = await answer(
        fake_discord, "subscribe", {"topic": "reward-model-vlm", "when": "mon 09:00 Europe/Berlin"}, user=ADMIN_ID
    )
    assert not record.callbacks[0]["data"].get("flags", 0) & EPHEMERAL
    assert "Subscribed: reward-model-vlm" in record.texts()
    [subscription] = await bot.store.subscriptions.subscriptions()
    assert subscription.channel == DISCORD_TEXT
    assert (subscription.when, subscription.timezone) == ("mon 09:00", "Europe/Berlin")
    assert fake_discord.channel_messages(TEXT_CHANNEL)  # the confirmation is public
    listed = await answer(fake_discord, "subscriptions")
    assert "reward-model-vlm: mon 09:00 Europe/Berlin" in listed.texts()
    gone = await answer(fake_discord, "unsubscribe", {"topic": "reward-model-vlm"}, user=ADMIN_ID)
    assert "Unsubscribed" in gone.texts()
    assert await bot.store.subscriptions.subscriptions() == []


async def test_an_admin_error_is_private_and_changes_nothing(bot, fake_discord):
    record = await answer(fake_discord, "subscribe", {"topic": "reward-model-vlm", "when": "someday"}, user=ADMIN_ID)
    assert record.callbacks[0]["data"]["flags"] & EPHEMERAL
    assert await bot.store.subscriptions.subscriptions() == []


async def test_subscribing_in_a_thread_targets_the_thread(bot, fake_discord):
    await answer(fake_discord, "subscribe", {"topic": "reward-model-vlm"}, user=ADMIN_ID, channel_id=THREAD)
    [subscription] = await bot.store.subscriptions.subscriptions()
    assert subscription.channel == ChannelRef("discord", str(TEXT_CHANNEL), str(GUILD_ID), str(THREAD))


async def test_digest_preview_is_private(bot, fake_discord):
    record = await answer(
        fake_discord, "digest", {"topic": "reward-model-vlm"}, count=2
    )  # ten cards that take votes: two messages
    assert "Preview only: nothing was posted or recorded." in record.texts()
    assert record.messages[-1]["flags"] & EPHEMERAL
    assert fake_discord.channel_messages(TEXT_CHANNEL) == []


# --- autocomplete -----------------------------------------------------------------------------


async def test_topic_autocomplete(bot, fake_discord):
    record = await fake_discord.autocomplete("latest", {"topic": "rew"}, "topic")
    assert [choice["value"] for choice in record.choices] == ["reward-model-vlm"]
    none = await fake_discord.autocomplete("latest", {"topic": "zzz"}, "topic")
    assert none.choices == []


async def test_paper_autocomplete_matches_ids_and_titles(bot, fake_discord):
    by_title = await fake_discord.autocomplete("show", {"paper": "driving"}, "paper")
    assert "2505.20665" in [choice["value"] for choice in by_title.choices]
    assert all(len(choice["name"]) <= 100 for choice in by_title.choices)
    by_id = await fake_discord.autocomplete("show", {"paper": "2505.20665"}, "paper")
    assert by_id.choices[0]["value"] == "2505.20665"
    by_prefix = await fake_discord.autocomplete("show", {"paper": "2505.2"}, "paper")
    assert by_prefix.choices and all(c["value"].startswith("2505.2") for c in by_prefix.choices[:1])
    empty = await fake_discord.autocomplete("show", {"paper": ""}, "paper")
    assert 1 <= len(empty.choices) <= 25
    hostile = await fake_discord.autocomplete("show", {"paper": "\") OR 1=1 -- *"}, "paper")
    assert isinstance(hostile.choices, list)


# --- long answers, many choices, expiry, lost interactions -------------------------------------


async def test_a_long_answer_spans_several_messages_and_share_posts_them_all(bot, fake_discord):
    sentence = "Reward models for vision-language agents are trained on preference pairs and evaluated on grounding. "
    await bot.store.papers.upsert_papers(
        [
            Paper(
                arxiv_id="2507.00001",
                title="A very long paper",
                abstract=sentence * 120,
                topics=("reward-model-vlm",),
                published="2025-07-01",
            )
        ]
    )
    record = await answer(fake_discord, "show", {"paper": "2507.00001"}, count=2, with_buttons=True)
    assert len(record.messages) >= 2 and all(m["flags"] & EPHEMERAL for m in record.messages)
    assert not buttons(record.messages[0]) and list(buttons(record.messages[-1])) == ["Share in channel"]
    click = await fake_discord.click(record.messages[-1], "Share in channel")
    await fake_discord.until(lambda: click.answered(len(record.messages)))
    public = fake_discord.channel_messages(TEXT_CHANNEL)
    assert len(public) == len(record.messages)
    assert [m["embeds"] for m in public] == [m["embeds"] for m in record.messages]


async def test_autocomplete_offers_at_most_25_choices_of_at_most_100_characters(bot, fake_discord):
    await bot.store.papers.upsert_topics([Topic(f"topic-{n:02d}", "A very long topic title " * 8) for n in range(40)])
    record = await fake_discord.autocomplete("latest", {"topic": "topic"}, "topic")
    assert len(record.choices) == 25
    assert all(len(choice["name"]) <= 100 for choice in record.choices)


async def test_expired_buttons_are_removed(bot, fake_discord):
    bot.adapters["discord"].commands.view_timeout = 0.05
    record = await fake_discord.slash("latest")
    await fake_discord.until(lambda: bool(fake_discord.calls_to("PATCH", rf"^/webhooks/\d+/{record.token}/messages/\d+$")))
    [followup] = fake_discord.calls_to("POST", rf"^/webhooks/\d+/{record.token}$")
    assert followup.body["components"]  # it was sent with its Share button
    assert not buttons(record.messages[-1])  # and the expiry edit took it away


async def test_a_lost_interaction_is_logged_and_the_bot_keeps_answering(bot, fake_discord, caplog):
    lost = await fake_discord.slash("topics", expired=True)
    await fake_discord.until(
        lambda: any(lost.token in c.path and c.status == 404 for c in fake_discord.calls_to("POST", "/callback$"))
    )
    later = await answer(fake_discord, "topics")
    assert "reward-model-vlm" in later.texts()
    assert lost.messages == []
    assert "could not answer /paper topics: 404 Unknown interaction" in caplog.text
    assert len(fake_discord.calls_to("POST", rf"/{lost.token}/callback$")) == 1  # no error reply sent into the void


async def test_a_command_from_a_direct_message_is_refused_politely(bot, fake_discord):
    payload = fake_discord._interaction(2, fake_discord._command_data("topics", {}), user=MEMBER_ID, channel_id=TEXT_CHANNEL)
    for key in ("guild_id", "guild", "member"):
        payload.pop(key)
    payload.update(
        user=fake_discord.member(MEMBER_ID)["user"],
        context=1,
        channel={"id": "1200000000000000009", "type": 1, "recipients": [fake_discord.member(MEMBER_ID)["user"]]},
    )
    payload["channel_id"] = "1200000000000000009"
    record = await fake_discord.send_raw_interaction(payload)
    await fake_discord.until(lambda: record.answered())
    assert "server channels only" in record.texts()
    assert record.messages[0]["flags"] & EPHEMERAL


async def test_buttons_work_after_the_bot_restarted(tmp_path, fake_discord):
    db = tmp_path / "paperbot.db"
    async with discord_bot(db, fake_discord) as first:
        record = await answer(fake_discord, "latest", {"count": 12}, with_buttons=True)
        first_client = first.adapters["discord"].client
    message = record.messages[-1]
    assert message["content"].endswith("· page 1/3")
    async with discord_bot(db, fake_discord) as restarted:  # a new client and adapter: no view of the first one is left
        assert restarted.adapters["discord"].client is not first_client
        turn = await fake_discord.click(message, "Next")
        await fake_discord.until(lambda: bool(turn.callbacks))
        assert turn.callbacks[0]["type"] == UPDATE_MESSAGE
        assert message["content"].endswith("· page 2/3") and len(message["embeds"]) == 5
        share = await fake_discord.click(message, "Share in channel")
        await fake_discord.until(lambda: share.answered())
        [public] = fake_discord.channel_messages(TEXT_CHANNEL)
        assert public["content"].endswith("· page 2/3") and public["embeds"] == message["embeds"]
        intruder = await fake_discord.click(message, "Previous", user=OTHER_ID)
        await fake_discord.until(lambda: intruder.answered())
        assert "belong to the person who ran the command" in intruder.texts()
        assert message["content"].endswith("· page 2/3")


async def test_a_button_whose_command_no_longer_reads_says_so(bot, fake_discord):
    record = await answer(fake_discord, "latest", {"count": 12}, with_buttons=True)
    message = record.messages[-1]
    next_button = buttons(message)["Next"]
    next_button["custom_id"] = "paper:page:2:frobnicate --count 12"  # as an older version of the bot might have written it
    press = await fake_discord.click(message, "Next")
    await fake_discord.until(lambda: press.answered())
    assert "This button no longer works" in press.texts() and press.messages[0]["flags"] & EPHEMERAL
    forged = "paper:share:1:subscribe reward-model-vlm"  # a share may only re-run what anyone may share
    next_button["custom_id"] = forged
    press = await fake_discord.click(message, "Next", user=MEMBER_ID)
    await fake_discord.until(lambda: press.answered())
    assert "This button no longer works" in press.texts()
    assert await bot.store.subscriptions.subscriptions() == []
