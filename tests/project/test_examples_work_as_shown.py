"""Every command the help texts and the README show works as shown.

A new user copies examples; one naming a topic that does not exist (`reward-vlm`
while the shipped topic is `reward-model-vlm`) is the first thing they hit. The
examples are extracted, not listed here, so a new one is checked the day it is
written: chat ones are sent to the bot, `paperbot` ones run through the CLI, both
on the shipped config and the bundled example data.
"""

from __future__ import annotations

import argparse
import re
import shlex
import tomllib

import pytest

from bot import cli
from bot.app import Runtime, build_digest_core, open_store, seed_example_data
from bot.commands import EXAMPLE_TOPIC, REGISTRY, CommandRouter, help_reply
from bot.config import load_config
from bot.models import ChannelRef, ErrorReply
from tests.support import EXAMPLE_LIST, ROOT, SHIPPED_CONFIG

README = ROOT / "README.md"

CHAT_COMMAND = re.compile(r"/paper(?: [^\s`—]+)*")
# Usage lines are not examples: they hold placeholders.
PLACEHOLDER = re.compile(r"[<\[]|\.\.\.|…|\b(?:FILE|QUERY|ID|PATH|NAME|N|TOPIC|COUNT|COMMAND|TARGET|YYYY-MM-DD)\b")
UNKNOWN = ("unknown topic", "unknown command", "invalid choice", "unrecognized arguments")
# Commands that reach the network or run until stopped: checked by parsing only.
NOT_RUN_HERE = ("run", "fetch", "notes", "fulltext", "ask", "add")
# Chat commands that reach the language model or arXiv: read (checked) here, answered against the fakes
# in tests/core/test_ask_questions_about_papers.py and tests/ingest/test_add_papers_by_id_or_link.py.
CHAT_NOT_RUN_HERE = ("ask", "add")


def readme_commands() -> list[str]:
    """Commands in README code blocks (whole lines) and inline code spans."""
    text = README.read_text()
    found = []
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(("/paper ", "paperbot ")):
                found.append(line)
    found += [span for span in re.findall(r"`([^`\n]+)`", text) if span.startswith(("/paper", "paperbot "))]
    return found


def help_commands() -> list[str]:
    """`/paper ...` in the chat help; `paperbot ...` code spans in the CLI's --help texts."""
    chat = "\n".join([help_reply(REGISTRY).text, *(help_reply(REGISTRY, name).text for name in REGISTRY.names())])
    found = [match.group(0).rstrip(".,:;)") for match in CHAT_COMMAND.finditer(chat)]
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for sub in (parser, *subparsers.choices.values()):
        text = " ".join(sub.format_help().split())  # the formatter wraps lines inside spans
        found += [span for span in re.findall(r"`([^`]+)`", text) if span.startswith("paperbot ")]
    return found


def examples(prefix: str) -> list[str]:
    commands = {command for command in readme_commands() + help_commands() if command.startswith(prefix)}
    return sorted(command for command in commands if not PLACEHOLDER.search(command) and command != prefix)


def test_the_extraction_finds_the_examples():
    chat, shell = examples("/paper"), examples("paperbot")
    assert f"/paper latest {EXAMPLE_TOPIC} 10" in chat and f"/paper search driving {EXAMPLE_TOPIC} 10" in chat
    assert f"/paper subscribe {EXAMPLE_TOPIC} mon 09:00 Europe/Berlin" in chat
    assert f"paperbot search driving {EXAMPLE_TOPIC} 10" in shell and "paperbot status" in shell
    assert f"paperbot latest {EXAMPLE_TOPIC} 10" in shell
    broken = [example for example in chat + shell if re.search(r"\w- \w", example)]  # a help text wrapped inside a word
    assert broken == []


async def test_every_chat_example_works_on_the_shipped_config(tmp_path):
    runtime = Runtime(db_path=str(tmp_path / "paperbot.db"), config=load_config(SHIPPED_CONFIG, explicit=True))
    async with open_store(runtime) as store:
        await seed_example_data(store.papers)
        service, _, subscriptions, ranking = await build_digest_core(runtime, store)
        router = CommandRouter(service, subscriptions, ranking=ranking)
        # subscribe first, unsubscribe and turning the library off last, as a user would
        order = {"subscribe": 0, "unsubscribe": 2, "library off": 2}

        def step(text: str) -> int:
            words = text.split()
            return order.get(" ".join(words[1:3]), order.get(words[1], 1))

        for example in sorted(examples("/paper"), key=step):
            if example.split()[1] in CHAT_NOT_RUN_HERE:
                if len(example.split()) > 2:
                    await router.read(example)
                continue
            reply = await router.handle_text(example, channel=ChannelRef("console", "examples"), is_admin=True)
            text = reply.text.lower()
            assert not any(word in text for word in UNKNOWN), (example, reply.text)
            if len(example.split()) > 2:  # an example, not a mention like `/paper subscribe`
                assert not isinstance(reply, ErrorReply), (example, reply.text)


def test_every_command_line_example_works_on_the_shipped_config(tmp_path, capsys):
    db = tmp_path / "paperbot.db"
    base = ["--db", str(db), "--config", str(SHIPPED_CONFIG)]
    assert cli.main([*base, "import", str(EXAMPLE_LIST)]) == 0
    topics = {topic.name for topic in load_config(SHIPPED_CONFIG, explicit=True).topic_list()}
    for example in examples("paperbot"):
        words = shlex.split(example)[1:]
        if words[0] in NOT_RUN_HERE or words[0].startswith("--"):
            try:
                args = cli.build_parser().parse_args(words)
            except SystemExit as exit:
                assert exit.code == 0, example  # --version, --help
                continue
            assert getattr(args, "topic", None) in (None, *topics), example
            continue
        code = cli.main([*base, *words])
        out = capsys.readouterr()
        assert not any(word in (out.out + out.err).lower() for word in UNKNOWN), (example, out)
        if words[0] in ("latest", "search", "show", "topics", "status"):
            assert code == 0, (example, out)


def toml_topic_names(text: str) -> set[str]:
    return set(re.findall(r'^#?\s*(?:topic|name)\s*=\s*"([^"]+)"', text, re.M))


@pytest.mark.parametrize("source", ["README.md", "config/paperbot.toml"])
def test_config_examples_name_the_shipped_topics(source):
    shipped = {topic["name"] for topic in tomllib.loads(SHIPPED_CONFIG.read_text())["topics"]}
    text = (ROOT / source).read_text()
    if source == "README.md":
        text = "\n".join(re.findall(r"```toml\n(.*?)```", text, re.S))
    named = toml_topic_names(text)
    assert named and named <= shipped, named - shipped
    assert EXAMPLE_TOPIC in shipped
