"""A command is one object: define one in a test, register it, and every interface has it.

The throwaway commands below are registered in the core's registry for one
test only; nothing in an adapter names them. They are then used the way users
use commands: typed into the console, sent to the real Slack app as signed
requests (tests/support/fake_slack.py), sent to the real discord.py client as
INTERACTION_CREATE events (tests/support/fake_discord.py), and run through the CLI.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from bot import cli
from bot.commands import (
    REGISTRY,
    Access,
    Command,
    CommandContext,
    CommandRequest,
    Param,
    Visibility,
    help_reply,
    read_text,
)
from bot.models import NoticeReply, Reply
from tests.support import SHIPPED_CONFIG
from tests.support.discord_harness import discord_bot
from tests.support.fake_discord import (
    ADMIN_ID,
    CHANNEL_MESSAGE,
    EPHEMERAL,
    MEMBER_ID,
    TEXT_CHANNEL,
    buttons,
)
from tests.support.slack_harness import running_slack_bot


async def _echo(context: CommandContext, request: CommandRequest) -> Reply:
    return NoticeReply(
        (f"echo: {request.args['words']} ({len(await context.service.topic_names())} topics known)",), title="Echo"
    )


async def _echo_json(context: CommandContext, request: CommandRequest) -> tuple[object, tuple[str, ...]]:
    return {"echo": request.args["words"]}, ()


async def _announce(context: CommandContext, request: CommandRequest) -> Reply:
    return NoticeReply((f"Announcement: {request.args['words']}",))


WORDS = Param("words", "What to say back", "text", required=True, rest=True)
ECHO = Command(
    "echo", "Say the words back", _echo, (WORDS,), examples=("/paper echo hello there",),
    visibility=Visibility.SHAREABLE, json_handler=_echo_json,
)
ANNOUNCE = Command(
    "announce", "Tell the channel something (admins)", _announce, (WORDS,), access=Access.ADMIN, visibility=Visibility.PUBLIC,
)


@contextlib.contextmanager
def registered(*commands: Command):
    for command in commands:
        REGISTRY.add(command)
    try:
        yield
    finally:
        for command in commands:
            REGISTRY.remove(command.name)


@pytest.fixture
def throwaway():
    with registered(ECHO, ANNOUNCE):
        yield


async def test_the_grammar_and_help_have_it(throwaway):
    request = await read_text("/paper echo hello  there", REGISTRY)
    assert request.command is ECHO and dict(request.args) == {"words": "hello there"}
    assert "/paper echo <words> — Say the words back" in help_reply(REGISTRY).text
    assert "Example: /paper echo hello there" in help_reply(REGISTRY, "echo").text


async def test_the_console_has_it(throwaway, console):
    assert "echo: hello there (1 topics known)" in (await console.say("/paper echo hello there")).text
    assert (await console.say("/paper announce hi")).text == "Announcement: hi"  # the console's user owns the bot


def test_the_command_line_has_a_lookup_with_a_json_form(throwaway, tmp_path, capsys):
    base = ["--db", str(tmp_path / "p.db"), "--config", str(SHIPPED_CONFIG)]
    assert cli.main([*base, "echo", "hello", "there", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"echo": "hello there"}
    assert cli.main([*base, "echo", "hi"]) == 0
    assert "echo: hi" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main([*base, "announce", "hi"])  # no JSON form: chat only
    assert "invalid choice: 'announce'" in capsys.readouterr().err


# --- Slack ----------------------------------------------------------------------------------


def _texts(answers: list[dict]) -> str:
    return "\n".join(answer["text"] for answer in answers)


def _share_values(answers: list[dict]) -> list[str]:
    return [e["value"] for a in answers for b in a.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


async def test_slack_has_it_with_its_visibility_and_share_button(throwaway, tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        answers = await slack.command("echo hello there")
        assert "echo: hello there" in _texts(answers) and answers[0]["response_type"] == "ephemeral"
        assert _share_values(answers) == ["echo hello there"]
        shared = await slack.press_share("echo hello there")
        assert "echo: hello there" in _texts(shared) and shared[0]["response_type"] == "in_channel"


async def test_a_new_admin_command_is_allowed_for_slack_admins_and_refused_to_members(throwaway, tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        allowed = await slack.command("announce lunch at noon", user="U0ADMIN")
        assert _texts(allowed) == "Announcement: lunch at noon" and allowed[0]["response_type"] == "in_channel"
        listed = await slack.command("announce lunch at noon", user="U0LISTED")  # in [slack] admins of the config
        assert _texts(listed) == "Announcement: lunch at noon"
        refused = await slack.command("announce lunch at noon", user="U0MEMBER")
        assert "Only admins can use /paper announce." in _texts(refused) and refused[0]["response_type"] == "ephemeral"
        assert [call.args["user"] for call in fake_slack.calls_to("users.info")] == ["U0ADMIN", "U0MEMBER"]
        not_by_button = await slack.press_share("announce lunch", user="U0ADMIN")
        assert "no longer works" in _texts(not_by_button)


async def test_slack_reads_a_command_once_and_asks_only_for_topic_names(tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        store = slack.bot.store.papers
        calls: list[str] = []
        for name in ("topics", "topic_names"):
            method = getattr(store, name)

            async def counted(*args, _method=method, _name=name, **kwargs):
                calls.append(_name)
                return await _method(*args, **kwargs)

            setattr(store, name, counted)
        for text in ("help", "show 2505.20665", "latest 3", "subscriptions"):
            assert await slack.command(text)
        assert calls == []  # no statistics query, and no names either, to read these
        answers = await slack.command("search driving policy reward-model-vlm 2")
        assert "Search results for “driving policy” in reward-model-vlm" in _texts(answers)
        assert calls == ["topic_names", "topic_names"]  # one to read the text, one to check the topic it named
        calls.clear()
        assert "reward-model-vlm" in _texts(await slack.command("topics"))
        assert calls == ["topics"]


# --- Discord --------------------------------------------------------------------------------


async def test_discord_has_it_in_the_synced_tree_and_answers_it(throwaway, tmp_path, fake_discord):
    async with discord_bot(tmp_path / "paperbot.db", fake_discord):
        [paper] = fake_discord.commands["global"]
        echo = next(option for option in paper["options"] if option["name"] == "echo")
        assert echo["description"] == "Say the words back"
        assert [(o["name"], o["type"], o["required"]) for o in echo["options"]] == [("words", 3, True)]

        record = await fake_discord.slash("echo", {"words": "hello there"})
        await fake_discord.until(lambda: record.answered() and bool(buttons(record.messages[-1])))
        assert "echo: hello there" in record.texts() and record.messages[-1]["flags"] & EPHEMERAL
        assert buttons(record.messages[-1])["Share in channel"]["custom_id"] == "paper:share:1:echo -- hello there"
        click = await fake_discord.click(record.messages[-1], "Share in channel")
        await fake_discord.until(lambda: click.answered())
        assert "echo: hello there" in click.texts() and not click.callbacks[0]["data"].get("flags", 0) & EPHEMERAL

        refused = await fake_discord.slash("announce", {"words": "lunch"}, user=MEMBER_ID)
        await fake_discord.until(lambda: refused.answered())
        assert "Manage Server" in refused.texts() and refused.callbacks[0]["data"]["flags"] & EPHEMERAL
        allowed = await fake_discord.slash("announce", {"words": "lunch"}, user=ADMIN_ID)
        await fake_discord.until(lambda: allowed.answered())
        assert allowed.callbacks[0]["type"] == CHANNEL_MESSAGE and "Announcement: lunch" in allowed.texts()
        assert "Announcement: lunch" in "\n".join(
            m["content"] + json.dumps(m["embeds"]) for m in fake_discord.channel_messages(TEXT_CHANNEL)
        )
