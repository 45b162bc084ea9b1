"""Text grammar of `/paper ...`: the same for the console, Slack and the CLI, derived from each command's parameters."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import (
    REGISTRY,
    for_command_line,
    help_reply,
    read_text,
    read_words,
    unknown_command_reply,
)
from bot.commands.parse import bind, command_text
from bot.errors import UserError

TOPICS = frozenset({"reward-vlm", "robotics"})


async def topic_names():
    return TOPICS


@pytest.mark.parametrize(
    ("text", "action", "args"),
    [
        ("/paper", "help", {}),
        ("", "help", {}),
        ("/paper help", "help", {}),
        ("/paper help search", "help", {"command": "search"}),
        ("/paper help SEARCH", "help", {"command": "search"}),
        ("/paper latest", "latest", {}),
        ("/PAPER LATEST", "latest", {}),
        ("latest", "latest", {}),
        ("/paper latest 10", "latest", {"count": 10}),
        ("/paper latest reward-vlm", "latest", {"topic": "reward-vlm"}),
        ("/paper latest reward-vlm 7", "latest", {"topic": "reward-vlm", "count": 7}),
        ("/paper latest 7 reward-vlm", "latest", {"topic": "reward-vlm", "count": 7}),
        ("/paper latest --topic robotics --count 3", "latest", {"topic": "robotics", "count": 3}),
        ("/paper latest --TOPIC robotics", "latest", {"topic": "robotics"}),
        ("/paper search driving", "search", {"query": "driving"}),
        ("/paper search reward model", "search", {"query": "reward model"}),
        ("/paper search driving reward-vlm", "search", {"query": "driving", "topic": "reward-vlm"}),
        ("/paper search driving reward-vlm 10", "search", {"query": "driving", "topic": "reward-vlm", "count": 10}),
        ("/paper search driving 10 reward-vlm", "search", {"query": "driving", "topic": "reward-vlm", "count": 10}),
        ("/paper search driving ROBOTICS", "search", {"query": "driving", "topic": "ROBOTICS"}),
        ("/paper search 2024", "search", {"query": "2024"}),
        ("/paper search reward-vlm", "search", {"query": "reward-vlm"}),
        ("/paper search 自动驾驶", "search", {"query": "自动驾驶"}),
        ("/paper search -x a:b NEAR(", "search", {"query": "-x a:b NEAR("}),
        ("/paper search driving --count 3", "search", {"query": "driving", "count": 3}),
        ("/paper search driving robotics --topic reward-vlm", "search", {"query": "driving robotics", "topic": "reward-vlm"}),
        ("/paper search", "search", {"query": ""}),
        # after a bare `--` the words are the query as written
        ("/paper search -- driving robotics 10", "search", {"query": "driving robotics 10"}),
        ("/paper search --count 3 -- --topic x", "search", {"query": "--topic x", "count": 3}),
        ("/paper show 2505.20665", "show", {"paper": "2505.20665"}),
        ("/paper topics", "topics", {}),
        ("/paper subscribe robotics", "subscribe", {"topic": "robotics"}),
        (
            "/paper subscribe robotics mon 09:00 Europe/Berlin",
            "subscribe",
            {"topic": "robotics", "when": "mon 09:00 Europe/Berlin"},
        ),
        ("/paper unsubscribe robotics", "unsubscribe", {"topic": "robotics"}),
        ("/paper digest", "digest", {}),
        ("/paper digest robotics", "digest", {"topic": "robotics"}),
        ("/paper subscriptions", "subscriptions", {}),
    ],
)
async def test_parse(text, action, args):
    request = await read_text(text, REGISTRY, topic_names)
    assert request.name == action and request.command is REGISTRY[action]
    assert dict(request.args) == args


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("/paper latest a b", "latest takes at most a topic and a count."),
        ("/paper show", "show takes exactly one paper id."),
        ("/paper show a b", "show takes exactly one paper id."),
        ("/paper topics extra", "topics takes no arguments."),
        ("/paper subscriptions extra", "subscriptions takes no arguments."),
        ("/paper subscribe", "subscribe needs a topic."),
        ("/paper unsubscribe", "unsubscribe takes exactly one topic."),
        ("/paper unsubscribe a b", "unsubscribe takes exactly one topic."),
        ("/paper digest a b", "digest takes at most one topic."),
        ("/paper help a b", "help takes at most one command."),
        ("/paper latest --count", "--count needs a value."),
        ("/paper latest --count ten", "count must be a whole number between 1 and 25 (got 'ten')."),
        ("/paper search x --topic", "--topic needs a value."),
    ],
)
async def test_parse_errors(text, fragment):
    with pytest.raises(UserError) as raised:
        await read_text(text, REGISTRY, topic_names)
    assert fragment in str(raised.value)


async def test_a_wrong_number_of_words_names_the_usage_and_an_example():
    with pytest.raises(UserError) as raised:
        await read_text("/paper show a b", REGISTRY, topic_names)
    assert raised.value.hint == "Usage: /paper show <paper>, e.g. /paper show 2505.20665"
    with pytest.raises(UserError) as raised:
        await read_text("/paper search x --count", REGISTRY, topic_names)
    assert raised.value.hint == "e.g. /paper search --count 10"


async def test_an_unknown_command_is_an_error_that_suggests_the_closest():
    with pytest.raises(UserError) as raised:
        await read_text("/paper serch driving", REGISTRY, topic_names)
    assert raised.value.message == "Unknown command 'serch'."
    assert raised.value.hint.startswith("Did you mean /paper search?")


async def test_topic_names_are_asked_for_only_when_a_trailing_word_needs_them():
    asked = []

    async def counted():
        asked.append(1)
        return TOPICS

    for text in ("help", "help search", "show 2505.20665", "topics", "latest robotics 5", "subscribe robotics mon 09:00",
                 "search driving", "search driving 10", "search -- driving robotics", "search a b --topic robotics"):
        await read_text(text, REGISTRY, counted)
    assert asked == []
    request = await read_text("search driving 10 robotics", REGISTRY, counted)
    assert asked == [1] and dict(request.args) == {"query": "driving", "count": 10, "topic": "robotics"}


def test_unknown_command_suggests_the_closest_and_lists_help():
    reply = unknown_command_reply(REGISTRY, "serch")
    assert "Unknown command 'serch'" in reply.text
    assert "Did you mean /paper search?" in reply.text
    for name in REGISTRY.names():
        assert f"/paper {name}" in reply.text


def test_unknown_command_without_a_close_match_has_no_guess():
    reply = unknown_command_reply(REGISTRY, "zzzzzz")
    assert "Did you mean" not in reply.text
    assert "/paper latest" in reply.text


def test_help_lists_every_command_and_explains_one():
    overview = help_reply(REGISTRY).text
    for command in REGISTRY:
        assert command.usage in overview
    assert "Options can also be given as --topic TOPIC and --count COUNT." in overview
    detail = help_reply(REGISTRY, "search").text
    assert "Example: /paper search driving" in detail
    assert "query" in detail


async def test_the_command_line_reads_split_words_with_the_same_rules():
    split = await read_words(["search", "reward model", "reward-vlm", "3"], REGISTRY, topic_names)
    text = await read_text("/paper search reward model reward-vlm 3", REGISTRY, topic_names)
    assert (split.command, split.args) == (text.command, text.args)
    with pytest.raises(UserError, match="at most a topic and a count"):
        await read_words(["latest", "robotics", "--topic", "reward-vlm"], REGISTRY, topic_names)


@pytest.mark.parametrize(
    ("chat", "command_line"),
    [
        (
            "Find papers with /paper search <words> or /paper latest.",
            "Find papers with paperbot search <words> or paperbot latest.",
        ),
        ("Known topics: a, b. See /paper topics.", "Known topics: a, b. See paperbot topics."),
        ("Try /paper show 2505.20665 (also accepted: ...)", "Try paperbot show 2505.20665 (also accepted: ...)"),
        # chat-only commands keep their chat form: there is nothing to type instead on the command line
        ("Add one with /paper subscribe reward-vlm", "Add one with /paper subscribe reward-vlm"),
        ("/paper searching", "/paper searching"),
    ],
)
def test_hints_name_the_command_line_form_there(chat, command_line):
    assert for_command_line(chat) == command_line


# --- typed options and the text that says them -------------------------------------------


def test_typed_options_are_checked_against_their_parameters():
    assert bind(REGISTRY["latest"], {"topic": "robotics", "count": 3}) == {"topic": "robotics", "count": 3}
    assert bind(REGISTRY["latest"], {"topic": None}) == {}
    for options, message in (
        ({"count": "five"}, "The count option must be a whole number from 1 to 25."),
        ({"count": True}, "The count option must be a whole number from 1 to 25."),
        ({"topic": ["x"]}, "The topic option must be text."),
    ):
        with pytest.raises(UserError) as raised:
            bind(REGISTRY["latest"], options)
        assert raised.value.message == message and raised.value.hint == "Usage: /paper latest [topic] [count]"


WORDS = st.sampled_from(
    ["driving", "reward", "10", "7", "robotics", "ROBOTICS", "reward-vlm", "--", "--topic", "--count", "-x", "自动驾驶"]
)


@settings(max_examples=200, deadline=None)
@given(
    query=st.lists(WORDS, min_size=1, max_size=5).map(" ".join),
    topic=st.sampled_from([None, "robotics", "reward-vlm", "no-such"]),
    count=st.sampled_from([None, 1, 10, 25, 0, -3]),
)
async def test_command_text_reads_back_to_the_same_search_whatever_the_query(query, topic, count):
    args = {name: value for name, value in {"query": query, "topic": topic, "count": count}.items() if value is not None}
    text = command_text(REGISTRY["search"], args)
    assert text is not None
    request = await read_text(text, REGISTRY, topic_names)
    assert dict(request.args) == args, text


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("latest", {"topic": "7", "count": 3}),
        ("latest", {"count": 3}),
        ("show", {"paper": "arXiv:2505.20665v1"}),
        ("digest", {"topic": "robotics"}),
        ("topics", {}),
        ("subscribe", {"topic": "robotics", "when": "mon 09:00 Europe/Berlin"}),
    ],
)
async def test_command_text_reads_back_for_every_shape(name, args):
    text = command_text(REGISTRY[name], args)
    assert text is not None and dict((await read_text(text, REGISTRY, topic_names)).args) == args


def test_values_no_text_can_say_have_no_command_text():
    assert command_text(REGISTRY["latest"], {"topic": "two words"}) is None
    assert command_text(REGISTRY["show"], {"paper": "--count"}) is None
