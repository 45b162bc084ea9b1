"""The bot as a user meets it: one line in, one reply out (errbot style), on the example data."""

import pytest

from bot.app import example_topic
from bot.config import parse_config
from tests.support import console_bot


@pytest.mark.parametrize(
    ("line", "phrases"),
    [
        pytest.param("/paper search driving", ["DriveRX"], id="search"),
        pytest.param("/paper search 自动驾驶", ["DriveRX"], id="search-in-chinese"),
        pytest.param("/paper search", ["Search needs some words"], id="empty-search-is-a-usage-message"),
        pytest.param("/paper show 2101.00001", ["2101.00001 is not in the store"], id="show-unknown-id"),
        pytest.param("/paper show banana", ["is not an arXiv id"], id="show-not-an-id"),
        pytest.param("/paper show 2505.20665v" + "9" * 5000, ["is not an arXiv id"], id="show-absurdly-long-version"),
        pytest.param("/paper topics", ["paper", "Topics (1)"], id="topics-lists-the-example-topic-with-its-count"),
        pytest.param(
            "/paper latest no-such-topic", ["Unknown topic 'no-such-topic'", "Known topics:"], id="unknown-topic-lists-known-ones"
        ),
        pytest.param("/paper help", ["/paper search"], id="help"),
        pytest.param("/paper lates", ["Did you mean /paper latest?"], id="unknown-subcommand"),
        pytest.param("hello", ["Commands start with /paper"], id="lines-without-the-prefix-get-a-hint"),
    ],
)
async def test_a_line_gets_a_reply_that_says(console, line, phrases):
    text = (await console.say(line)).text
    for phrase in phrases:
        assert phrase in text, text


async def test_show_accepts_every_id_spelling(console):
    for spelling in ("2505.20665", "2505.20665v1", "arXiv:2505.20665", "https://arxiv.org/abs/2505.20665", "http://arxiv.org/pdf/2505.20665v1"):
        text = (await console.say(f"/paper show {spelling}")).text
        assert "DriveRX" in text, spelling
        assert "https://arxiv.org/abs/2505.20665" in text


async def test_latest_is_newest_first_with_default_count(console):
    reply = await console.say("/paper latest")
    assert len(reply.cards) == 5
    keys = [(card.published, card.arxiv_id) for card in reply.cards]
    assert keys == sorted(keys, reverse=True)
    assert all(card.tldr for card in reply.cards)


@pytest.mark.parametrize("count", ["0", "26", "-3", "1000000000000"])
async def test_counts_out_of_range(console, count):
    assert "count must be between 1 and 25" in (await console.say(f"/paper latest {count}")).text
    assert "count must be between 1 and 25" in (await console.say(f"/paper search driving {count}")).text


@pytest.mark.parametrize(
    "query",
    ['"', "AND", "-x", "a:b", "NEAR(", "*", "\x00", "x" * 10_000, "🚗🚗", "' OR 1=1; --", "title:driving", "OR OR"],
)
async def test_hostile_search_strings_get_an_answer_not_an_exception(console, query):
    reply = await console.say(f"/paper search {query}")
    assert "went wrong" not in reply.text


async def test_chat_hints_name_chat_commands(console):
    text = (await console.say("/paper show 9999.99999")).text
    assert "/paper search <words> or /paper latest" in text and "paperbot search" not in text


async def test_show_says_which_version_it_shows(console):
    text = (await console.say("/paper show 2505.20665v3")).text
    assert "DriveRX" in text and "v3 of 2505.20665 is not stored; this is v1, the version the store has." in text
    assert "is not stored" not in (await console.say("/paper show 2505.20665v1")).text


async def test_subscribing_without_a_schedule_takes_the_configured_default_when(tmp_path):
    config = parse_config("[digest]\ndefault_when = 'daily 07:15'", "paperbot.toml")
    async with console_bot(tmp_path / "paperbot.db", config) as console:
        topic = example_topic()
        await console.say(f"/paper subscribe {topic}")
        assert "daily 07:15" in (await console.say("/paper subscriptions")).text
