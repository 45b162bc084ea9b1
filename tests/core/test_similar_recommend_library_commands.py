"""`/paper similar`, `/paper recommend`, `/paper library` and `paperbot similar|recommend`, as users run them.

Through the console (the command path every chat platform shares), the real
`paperbot` command (in this process; `run` also in a subprocess), the real slack-bolt app against the fake
Slack, and discord.py against the fake Discord. The store holds the project's
example paper list (twelve papers on reward models and VLMs, topic
`reward-model-vlm`) and, as the library `reading-list`, four of them
(`tests/fixtures/paperlists/clean.md`).
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path
from subprocess import CompletedProcess
from typing import AsyncIterator, Callable

import pytest

from adapters.console import CONSOLE_CHANNEL, ConsoleAdapter
from bot.app import Runtime, build_ranking, build_service, open_store, seed_example_data
from bot.commands import REGISTRY, CommandRouter
from bot.config import FileConfig, parse_config
from bot.errors import ConfigError
from bot.ingest.paperlist import import_paperlist
from bot.models import Library, NoticeReply, PaperListReply
from tests.support import FIXTURES, ROOT, Finished, run_paperbot
from tests.support.discord_harness import config_with, discord_bot
from tests.support.fake_discord import ADMIN_ID, CHANNEL_MESSAGE, EPHEMERAL, MEMBER_ID
from tests.support.slack_harness import CHANNEL, running_slack_bot

READING_LIST = FIXTURES / "paperlists" / "clean.md"
EXAMPLE = ROOT / "bot" / "data" / "example-paper-list.md"
READING_IDS = {"2505.20665", "2502.14191", "2305.18290", "1706.03741"}


@contextlib.asynccontextmanager
async def console(db: Path, *, is_admin: bool = True, config: FileConfig | None = None) -> AsyncIterator[ConsoleAdapter]:
    config = config or FileConfig()
    async with open_store(Runtime(db_path=str(db), config=config)) as store:
        await seed_example_data(store.papers)
        await import_paperlist(store.papers, READING_LIST, "reading-list")
        service = build_service(store.papers, config)
        router = CommandRouter(service, ranking=build_ranking(service, store, config))
        yield ConsoleAdapter(router, stdout=io.StringIO(), is_admin=is_admin)


def card_ids(reply) -> list[str]:
    assert isinstance(reply, PaperListReply), reply.text
    return [card.arxiv_id for card in reply.cards]


# --- the console ---------------------------------------------------------------------------


async def test_similar_ranks_other_papers_with_why_and_names_the_ids_it_left_out(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        reply = await bot.say("/paper similar 2505.20665 2501.99999 nonsense 3")
        assert reply.header.startswith("Papers like “DriveRX") and len(reply.cards) == 3
        assert "2505.20665" not in card_ids(reply) and all(card.why.startswith("like DriveRX") for card in reply.cards)
        assert reply.footer == ("Not in the store, left out: 2501.99999.", "Not arXiv ids, left out: nonsense.")
        several = await bot.say("/paper similar 2505.20665 2502.14191 --count 25")
        assert several.header == "Papers like these 2 papers" and not {"2505.20665", "2502.14191"} & set(card_ids(several))
        assert 5 <= len(several.cards) <= 10  # the store has twelve papers: fewer than asked, no complaint


async def test_similar_bad_input_gets_a_clear_answer(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        nothing = await bot.say("/paper similar 2501.99999 9999.00001")
        assert nothing.text.startswith("None of these papers is in the store: 2501.99999, 9999.00001.")
        assert "/paper search" in nothing.text
        assert "count must be between 1 and 25" in (await bot.say("/paper similar 2505.20665 --count 99")).text
        assert (await bot.say("/paper similar")).text.startswith("similar needs a paper id.")
        assert "Unknown topic 'nope'" in (await bot.say("/paper similar 2505.20665 --topic nope")).text


async def test_library_shows_sets_and_stops_the_channels_taste(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        none = await bot.say("/paper library")
        assert isinstance(none, NoticeReply) and "no library" in none.text and "/paper library use <topic>" in none.text
        no_library = await bot.say("/paper recommend")
        assert "This channel has no library to recommend from." in no_library.text
        set_it = await bot.say("/paper library use reading-list")
        assert set_it.text.startswith("Library set: this channel's taste is now the papers of topic reading-list (4 papers).")
        shown = await bot.say("/paper library")
        assert shown.title == "This channel's library"
        assert "• topic reading-list: 4 papers" in shown.lines and "Set in chat by console" in shown.text
        assert "Learned from its 4 papers against 8 random papers of the store." in shown.lines
        assert any(line.startswith("Top terms: ") for line in shown.lines)
        recommended = await bot.say("/paper recommend 5")
        assert recommended.header == "Recommended by this channel's library"
        assert card_ids(recommended) and not READING_IDS & set(card_ids(recommended))
        assert all(card.why for card in recommended.cards)
        assert (await bot.say("/paper library off")).text == "Library removed: digests here are newest first again."
        assert "no library" in (await bot.say("/paper library off")).text


async def test_library_bad_input_changes_nothing(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        assert "Unknown topic 'nope'" in (await bot.say("/paper library use nope")).text
        assert "Name the topic" in (await bot.say("/paper library use")).text
        assert "Unknown library action 'nonsense'" in (await bot.say("/paper library nonsense")).text
        # A platform form (Discord's options) can give topics without saying what to do with them.
        request = bot.router.request(REGISTRY["library"], {"topics": "reading-list"}, channel=CONSOLE_CHANNEL)
        assert (await bot.router.answer(request)).reply.message == "Say what to do with those topics."
        assert "no library" in (await bot.say("/paper library")).text


async def test_members_may_look_but_only_admins_change_the_library(tmp_path):
    async with console(tmp_path / "p.db", is_admin=False) as bot:
        assert "no library" in (await bot.say("/paper library")).text
        refused = await bot.say("/paper library use reading-list")
        assert refused.text.startswith("Only admins can change this channel's library.")
        assert "no library" in (await bot.say("/paper library")).text


async def test_a_library_set_in_the_config_file_is_changed_there_not_in_chat(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        libraries = bot.router.context.ranking.libraries
        await libraries.save_library(Library(CONSOLE_CHANNEL, ("reading-list",), "config"))
        for text in ("/paper library use reward-model-vlm", "/paper library off"):
            refused = await bot.say(text)
            assert "is set in the config file" in refused.text and "[[subscriptions]]" in refused.text
        assert (await libraries.library(CONSOLE_CHANNEL)).topics == ("reading-list",)
        assert "Set in the config file" in (await bot.say("/paper library")).text


async def test_recommend_names_a_library_and_filters_by_topic_and_date(tmp_path):
    async with console(tmp_path / "p.db") as bot:
        named = await bot.say("/paper recommend --library reading-list --since 2024-01-01 10")
        assert named.header == "Recommended by library reading-list"
        assert card_ids(named) and all(card.published >= "2024" for card in named.cards)
        assert "'yesterday' is not a date" in (await bot.say("/paper recommend --library reading-list --since yesterday")).text
        empty = await bot.say("/paper recommend --library reading-list --topic reading-list")
        assert empty.cards == () and "Nothing in the store" in empty.text


async def test_help_lists_the_new_commands():
    from bot.commands import help_reply

    text = help_reply(REGISTRY).text
    for usage in ("/paper similar <papers> [topic] [count]", "/paper recommend [count] [topic] [library] [since]",
                  "/paper library [action] [topics]"):  # fmt: skip
        assert usage in text
    assert "Options can also be given as --topic TOPIC and --count COUNT." in text


# --- the command line ------------------------------------------------------------------------


def fill(paperbot: Callable[..., Finished | CompletedProcess], db: Path) -> None:
    """The example list and the reading list imported, by `paperbot` in this process or in another."""
    assert paperbot("import", str(EXAMPLE), db=db).returncode == 0
    imported = paperbot("import", str(READING_LIST), "--topic", "reading-list", db=db)
    assert imported.returncode == 0, imported.stderr


def test_paperbot_similar_and_recommend_print_scores_and_why_in_json(paperbot, tmp_path):
    db = tmp_path / "p.db"
    fill(paperbot, db)
    similar = paperbot("similar", "2505.20665", "2502.14191", "2501.99999", "--count", "3", "--json", db=db)
    assert similar.returncode == 0, similar.stderr
    papers = json.loads(similar.stdout)
    assert len(papers) == 3 and not {"2505.20665", "2502.14191"} & {p["arxiv_id"] for p in papers}
    assert all({"arxiv_id", "title", "tldr", "score", "why"} <= set(p) for p in papers)
    assert [p["score"] for p in papers] == sorted((p["score"] for p in papers), reverse=True)
    assert set(papers[0]["why"]) == {"like", "like_title", "terms", "text"} and papers[0]["why"]["like"] in {
        "2505.20665",
        "2502.14191",
    }
    assert "note: Not in the store, left out: 2501.99999." in similar.stderr

    recommended = paperbot("recommend", "--library", "reading-list", "--since", "2023-01-01", "-n", "5", "--json", db=db)
    assert recommended.returncode == 0, recommended.stderr
    found = json.loads(recommended.stdout)
    assert found and not READING_IDS & {p["arxiv_id"] for p in found} and all(p["published"] >= "2023" for p in found)
    text = paperbot("recommend", "--library", "reading-list", "--topic", "reward-model-vlm", db=db)
    assert text.returncode == 0 and "Why: like " in text.stdout


def test_paperbot_lookups_by_taste_write_nothing_and_exit_2_on_bad_input(paperbot, tmp_path):
    db = tmp_path / "p.db"
    fill(paperbot, db)
    before = db.stat().st_mtime_ns, (tmp_path / "p.db-wal").exists() and (tmp_path / "p.db-wal").stat().st_size
    assert paperbot("recommend", "--library", "reading-list", db=db).returncode == 0
    assert paperbot("similar", "2505.20665", db=db).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM rank_models").fetchone() == (0,)  # trained, used, not kept
    assert (db.stat().st_mtime_ns, (tmp_path / "p.db-wal").exists() and (tmp_path / "p.db-wal").stat().st_size) == before
    missing = paperbot("recommend", db=db)
    assert missing.returncode == 2 and "Recommend from which library?" in missing.stdout
    assert "paperbot recommend --library <topic>" in missing.stdout
    none_known = paperbot("similar", "2501.99999", "--json", db=db)
    assert none_known.returncode == 2 and "None of these papers is in the store: 2501.99999." in none_known.stderr
    bad_date = paperbot("recommend", "--library", "reading-list", "--since", "June", db=db)
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stdout


# --- Slack and Discord -----------------------------------------------------------------------


def texts(answers: list[dict]) -> str:
    return "\n".join(answer["text"] for answer in answers)


async def test_slack_asks_who_is_admin_only_to_change_the_library_and_announces_it(tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        looked = await slack.command("library", user="U0MEMBER")
        assert "no library" in texts(looked) and looked[0]["response_type"] == "ephemeral"
        assert fake_slack.calls_to("users.info") == []  # looking needs no admin check
        refused = await slack.command("library use reward-model-vlm", user="U0MEMBER")
        assert "Only admins can change this channel's library." in texts(refused) and refused[0]["response_type"] == "ephemeral"
        allowed = await slack.command("library use reward-model-vlm", user="U0ADMIN")
        assert "Library set" in texts(allowed) and allowed[0]["response_type"] == "in_channel"
        assert [call.args["user"] for call in fake_slack.calls_to("users.info")] == ["U0MEMBER", "U0ADMIN"]
        [library] = await slack.bot.store.libraries.libraries()
        assert library.topics == ("reward-model-vlm",) and library.set_by == "U0ADMIN" and library.channel.channel == CHANNEL
        similar = await slack.command("similar 2505.20665 2", user="U0MEMBER")
        assert "Papers like" in texts(similar) and "_Why: like DriveRX" in json.dumps(similar)


async def test_discord_has_the_commands_and_checks_manage_server_to_change_the_library(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "paperbot.db", fake_discord, config=config_with("")):
        [group] = fake_discord.commands["global"]
        names = {option["name"] for option in group["options"]}
        assert {"similar", "recommend", "library"} <= names
        refused = await fake_discord.slash("library", {"action": "use", "topics": "reward-model-vlm"}, user=MEMBER_ID)
        await fake_discord.until(lambda: refused.answered())
        assert "Manage Server" in refused.texts() and refused.callbacks[0]["data"]["flags"] & EPHEMERAL
        allowed = await fake_discord.slash("library", {"action": "use", "topics": "reward-model-vlm"}, user=ADMIN_ID)
        await fake_discord.until(lambda: allowed.answered())
        assert allowed.callbacks[0]["type"] == CHANNEL_MESSAGE and "Library set" in allowed.texts()
        shown = await fake_discord.slash("library", {}, user=MEMBER_ID)
        await fake_discord.until(lambda: shown.answered() and bool(shown.messages))
        assert "This channel's library" in shown.texts()


# --- the config file -------------------------------------------------------------------------

SUBSCRIPTION = '[[subscriptions]]\nadapter = "console"\nchannel = "{channel}"\ntopic = "reward-model-vlm"\n{extra}\n'


def test_a_subscription_names_its_library_and_min_score():
    config = parse_config(SUBSCRIPTION.format(channel="papers", extra='library = ["reading-list"]\nmin_score = 0.3'), "c.toml")
    [subscription] = config.subscription_list()
    assert subscription.min_score == 0.3
    [library] = config.library_list()
    assert library.topics == ("reading-list",) and library.source == "config" and library.channel == subscription.channel


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("min_score = 1.5", "c.toml: subscriptions[0].min_score: Input should be less than or equal to 1"),
        ('library = "reading-list"', "c.toml: subscriptions[0].library: Input should be a valid list"),
    ],
)
def test_bad_library_settings_name_the_key(extra, expected):
    with pytest.raises(ConfigError) as raised:
        parse_config(SUBSCRIPTION.format(channel="papers", extra=extra), "c.toml")
    assert str(raised.value).startswith(expected)


def test_a_channel_has_one_library_in_the_config_file_too():
    text = SUBSCRIPTION.format(channel="papers", extra='library = ["a"]') + SUBSCRIPTION.format(
        channel="papers", extra='library = ["b"]'
    )
    with pytest.raises(ConfigError, match=r"c.toml: \[\[subscriptions\]\] #2.library: channel papers already has the library"):
        parse_config(text, "c.toml")
    same = SUBSCRIPTION.format(channel="papers", extra='library = ["a", "b"]') + SUBSCRIPTION.format(
        channel="papers", extra='library = ["b", "a"]'
    )
    assert len(parse_config(same, "c.toml").library_list()) == 1
    other_channel = SUBSCRIPTION.format(channel="papers", extra='library = ["a"]') + SUBSCRIPTION.format(
        channel="news", extra='library = ["b"]'
    )
    assert len(parse_config(other_channel, "c.toml").library_list()) == 2


def test_an_unknown_library_topic_stops_the_start_before_a_store_is_made(paperbot, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        "example_data = true\n[fetch]\nenabled = false\n" + SUBSCRIPTION.format(channel="papers", extra='library = ["nope"]')
    )
    result = paperbot("--config", str(config), "run", db=tmp_path / "new.db", input_text="")
    assert result.returncode == 2 and "[[subscriptions]] #1: unknown library topic 'nope'" in result.stderr
    assert not (tmp_path / "new.db").exists()


@pytest.mark.subprocess
def test_run_syncs_the_config_files_libraries_and_ranks_by_them(tmp_path):
    db, config = tmp_path / "p.db", tmp_path / "c.toml"
    fill(run_paperbot, db)
    settings = 'library = ["reading-list"]\nmin_score = 0.01'
    config.write_text("example_data = true\n[fetch]\nenabled = false\n" + SUBSCRIPTION.format(channel="console", extra=settings))
    ran = run_paperbot(
        "--config", str(config), "run", db=db, input_text="/paper library\n/paper library off\n/paper digest reward-model-vlm\n"
    )
    assert ran.returncode == 0, ran.stderr
    assert "• topic reading-list: 4 papers" in ran.stdout and "Set in the config file" in ran.stdout
    assert "is set in the config file" in ran.stdout
    assert "ranked by this channel's library" in ran.stdout and "Why: like " in ran.stdout  # the preview is ranked
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT min_score FROM subscriptions").fetchall() == [(0.01,)]
    config.write_text("example_data = true\n[fetch]\nenabled = false\n" + SUBSCRIPTION.format(channel="console", extra=""))
    again = run_paperbot("--config", str(config), "run", db=db, input_text="/paper library\n")
    assert "This channel has no library" in again.stdout  # gone from the file: gone from the store
