"""Fixtures any test can take by name, and the logging every test leaves as it found it.

Time and waits
- `clock`: a FakeClock at MONDAY 09:00 UTC (tests.support.MONDAY), or at the moment a test or
  module names with `@pytest.mark.now(moment)`; it moves only when the test moves it.
- `sleeps`: an injectable sleep that records every wait and returns at once.

The bot and its store
- `store`: a real SqliteStore in the test's directory on `clock`; `paper_store` is its papers
  part; `store_factory.open(name)` opens more (tests/store/ swaps in every kind of store,
  tests/support/store_factories.py). A module that needs papers in it extends `store` or
  `paper_store` with a fixture of the same name that asks for this one and seeds it.
- `console`: the console adapter on a store seeded with the bundled example list.
- `config_file(text)`: a config file with that TOML in the test's directory.
- `paperbot(*args, db=...)`: the `paperbot` command in this process (tests.support.CommandLine).

Remote services, each on 127.0.0.1 and closed after the test (tests/support/local_server.py:
a fake outside these fixtures is `async with FakeSlack(...) as fake:` or `with FakeOpenAI() as fake:`)
- `fake_arxiv`, `fake_openai`, `fake_webhooks`, `fake_slack` (its workspace: slack_harness.PEOPLE),
  `fake_slack_socket` (Socket Mode too), `fake_discord`. The Slack and Discord fakes fail the
  test if the bot sent them anything the platform would refuse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import pytest

from adapters.console import ConsoleAdapter
from bot.ports import PaperStore, Store
from tests.support import MONDAY, CommandLine, FakeClock, Sleeps, console_bot, logging_kept
from tests.support.fake_arxiv import FakeArxiv
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_slack import FakeSlack
from tests.support.fake_webhooks import FakeWebhooks
from tests.support.slack_harness import APP_TOKEN, BOT_TOKEN, PEOPLE
from tests.support.store_factories import SqliteFileFactory, StoreFactory


@pytest.fixture(autouse=True)
def logging_left_as_found() -> Iterator[None]:
    """A test that runs `bot.cli.main` in this process must not change what the next test logs."""
    with logging_kept():
        yield


@pytest.fixture(autouse=True, scope="session")
def config_stamps_kept_here(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Commands stamp the config files the model accepted (`bot.settings`) under XDG_CACHE_HOME:
    the suite's, and its subprocesses', go to a folder of this run, not the user's ~/.cache."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


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
    async with FakeWebhooks() as server:
        yield server


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(BOT_TOKEN) as server:
        server.users.update(PEOPLE)
        yield server
    assert server.violations == [], "messages the fake Slack received break Slack's limits"


@pytest.fixture
async def fake_slack_socket() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(BOT_TOKEN, app_token=APP_TOKEN) as server:
        yield server
    assert server.violations == [], "messages the fake Slack received break Slack's limits"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server
    assert server.problems == [], "payloads the fake Discord received break Discord's rules"


@pytest.fixture(scope="session")
def postgres_server():
    """The run's one throwaway PostgreSQL server (`tests.support.pg_server`), started on first use; never skipped."""
    from tests.support.pg_server import shared_server

    return shared_server()
