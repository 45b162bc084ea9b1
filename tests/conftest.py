"""Fixtures any test can take by name, and the logging every test leaves as it found it.

Time and waits
- `clock`: a FakeClock at MONDAY 09:00 UTC (tests.support.MONDAY), or at the moment a test or
  module names with `@pytest.mark.now(moment)`; it moves only when the test moves it.
- `sleeps`: an injectable sleep that records every wait and returns at once.

The bot and its store
- `store`: a real SqliteStore in the test's directory on `clock`; `paper_store` is its papers
  part; `store_factory.open(name)` opens more (tests/store/ swaps in every kind of store,
  tests/support/store_factories.py).
- `console`: the console adapter on a store seeded with the bundled example list.
- `config_file(text)`: a config file with that TOML in the test's directory.
- `paperbot(*args, db=...)`: the `paperbot` command in this process (tests.support.CommandLine).

Remote services, each on 127.0.0.1 and closed after the test
- `fake_arxiv`, `fake_openai`, `fake_webhooks`, `fake_slack` (its workspace: slack_harness.PEOPLE),
  `fake_slack_socket` (Socket Mode too), `fake_discord`. The Slack and Discord fakes fail the
  test if the bot sent them anything the platform would refuse.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import pytest
from _pytest.logging import LogCaptureHandler

from adapters.console import ConsoleAdapter
from bot.ports import PaperStore, Store
from tests.support import MONDAY, CommandLine, FakeClock, Sleeps, console_bot
from tests.support.fake_arxiv import FakeArxiv
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_slack import FakeSlack
from tests.support.fake_webhooks import FakeWebhooks
from tests.support.slack_harness import APP_TOKEN, BOT_TOKEN, PEOPLE
from tests.support.store_factories import SqliteFileFactory, StoreFactory

# --- logging: `bot.cli.main` run in-process configures logging for the whole process (root
# handlers, levels, the noisy third-party loggers); a test that runs it must not change what
# the next test logs, or a test's outcome would depend on the order.


def _ours(handler: logging.Handler) -> bool:
    """Not one of pytest's capturing handlers, which pytest adds and removes around each test phase."""
    return not isinstance(handler, LogCaptureHandler) and type(handler).__module__ != "_pytest.logging"


@pytest.fixture(autouse=True)
def logging_left_as_found():
    root = logging.getLogger()
    handlers, filters, level = [h for h in root.handlers if _ours(h)], root.filters[:], root.level
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    yield
    for added in [h for h in root.handlers if _ours(h) and h not in handlers]:
        added.close()  # a log file the test's run opened
    root.handlers[:] = [h for h in root.handlers if not _ours(h)] + handlers
    root.filters[:] = filters
    root.setLevel(level)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


# --- time and waits ---------------------------------------------------------------------------


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    marker = request.node.get_closest_marker("now")
    return FakeClock(marker.args[0] if marker else MONDAY)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


# --- the bot and its store ----------------------------------------------------------------------


@pytest.fixture
async def store_factory(tmp_path: Path, clock: FakeClock) -> AsyncIterator[StoreFactory]:
    factory = SqliteFileFactory(tmp_path, clock)
    try:
        yield factory
    finally:
        await factory.close_all()


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    return await store_factory.open("papers")


@pytest.fixture
def paper_store(store: Store) -> PaperStore:
    return store.papers


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[ConsoleAdapter]:
    async with console_bot(tmp_path / "paperbot.db") as bot:
        yield bot


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "paperbot.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def paperbot(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CommandLine:
    return CommandLine(capsys, monkeypatch)


# --- remote services ------------------------------------------------------------------------------


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv() as server:
        yield server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def fake_webhooks() -> AsyncIterator[FakeWebhooks]:
    server = await FakeWebhooks().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack(BOT_TOKEN).start()
    server.users.update(PEOPLE)
    yield server
    await server.close()
    assert server.violations == [], "messages the fake Slack received break Slack's limits"


@pytest.fixture
async def fake_slack_socket() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack(BOT_TOKEN, app_token=APP_TOKEN).start()
    yield server
    await server.close()
    assert server.violations == [], "messages the fake Slack received break Slack's limits"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    try:
        yield server
    finally:
        await server.close()
    assert server.problems == [], "payloads the fake Discord received break Discord's rules"
