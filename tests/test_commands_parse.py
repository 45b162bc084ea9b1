"""Text grammar of `/paper ...`: the same for the console, Slack and the CLI."""

import pytest

from bot.commands import REGISTRY, for_command_line, help_reply, parse_command_text, parse_command_words, unknown_command_reply
from bot.errors import UserError

TOPICS = frozenset({"reward-vlm", "robotics"})


@pytest.mark.parametrize(
    ("text", "action", "args"),
    [
        ("/paper", "help", {}),
        ("", "help", {}),
        ("/paper help", "help", {}),
        ("/paper help search", "help", {"command": "search"}),
        ("/paper latest", "latest", {}),
        ("/PAPER LATEST", "latest", {}),
        ("latest", "latest", {}),
        ("/paper latest 10", "latest", {"count": 10}),
        ("/paper latest reward-vlm", "latest", {"topic": "reward-vlm"}),
        ("/paper latest reward-vlm 7", "latest", {"topic": "reward-vlm", "count": 7}),
        ("/paper latest 7 reward-vlm", "latest", {"topic": "reward-vlm", "count": 7}),
        ("/paper latest --topic robotics --count 3", "latest", {"topic": "robotics", "count": 3}),
        ("/paper search driving", "search", {"query": "driving"}),
        ("/paper search reward model", "search", {"query": "reward model"}),
        ("/paper search driving reward-vlm", "search", {"query": "driving", "topic": "reward-vlm"}),
        ("/paper search driving reward-vlm 10", "search", {"query": "driving", "topic": "reward-vlm", "count": 10}),
        ("/paper search driving 10 reward-vlm", "search", {"query": "driving", "topic": "reward-vlm", "count": 10}),
        ("/paper search 2024", "search", {"query": "2024"}),
        ("/paper search reward-vlm", "search", {"query": "reward-vlm"}),
        ("/paper search 自动驾驶", "search", {"query": "自动驾驶"}),
        ("/paper search -x a:b NEAR(", "search", {"query": "-x a:b NEAR("}),
        ("/paper search driving --count 3", "search", {"query": "driving", "count": 3}),
        ("/paper search", "search", {"query": ""}),
        ("/paper show 2505.20665", "show", {"paper": "2505.20665"}),
        ("/paper topics", "topics", {}),
        ("/paper serch driving", "unknown", {"name": "serch"}),
    ],
)
def test_parse(text, action, args):
    request = parse_command_text(text, TOPICS)
    assert request.action == action
    assert dict(request.args) == args


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("/paper latest a b", "at most a topic and a count"),
        ("/paper show", "exactly one paper id"),
        ("/paper show a b", "exactly one paper id"),
        ("/paper topics extra", "no arguments"),
        ("/paper latest --count", "--count needs a value"),
        ("/paper latest --count ten", "whole number"),
        ("/paper search x --topic", "--topic needs a value"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(UserError) as raised:
        parse_command_text(text, TOPICS)
    assert fragment in str(raised.value)


def test_unknown_command_suggests_the_closest_and_lists_help():
    reply = unknown_command_reply("serch")
    assert "Unknown command 'serch'" in reply.text
    assert "Did you mean /paper search?" in reply.text
    for name in REGISTRY:
        assert f"/paper {name}" in reply.text


def test_unknown_command_without_a_close_match_has_no_guess():
    reply = unknown_command_reply("zzzzzz")
    assert "Did you mean" not in reply.text
    assert "/paper latest" in reply.text


def test_help_lists_every_command_and_explains_one():
    overview = help_reply().text
    for command in REGISTRY.values():
        assert command.usage in overview
    detail = help_reply("search").text
    assert "Example: /paper search driving" in detail
    assert "query" in detail


def test_the_command_line_reads_split_words_with_the_same_rules():
    assert parse_command_words(["search", "reward model", "reward-vlm", "3"], TOPICS) == parse_command_text(
        "/paper search reward model reward-vlm 3", TOPICS
    )
    with pytest.raises(UserError, match="at most a topic and a count"):
        parse_command_words(["latest", "robotics", "--topic", "reward-vlm"], TOPICS)


@pytest.mark.parametrize(
    ("chat", "command_line"),
    [
        ("Find papers with /paper search <words> or /paper latest.", "Find papers with paperbot search <words> or paperbot latest."),
        ("Known topics: a, b. See /paper topics.", "Known topics: a, b. See paperbot topics."),
        ("Try /paper show 2505.20665 (also accepted: ...)", "Try paperbot show 2505.20665 (also accepted: ...)"),
        # chat-only commands keep their chat form: there is nothing to type instead on the command line
        ("Add one with /paper subscribe reward-vlm", "Add one with /paper subscribe reward-vlm"),
        ("/paper searching", "/paper searching"),
    ],
)
def test_hints_name_the_command_line_form_there(chat, command_line):
    assert for_command_line(chat) == command_line
