"""Helpers the tests share: paths, a console bot on the example data, `paperbot` in this
process or in a subprocess, the injected clock and sleep, and a small paper.

The fakes of remote services and the harnesses that start the bot against them are the
other modules of this package; tests/conftest.py turns the common ones into fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from _pytest.logging import LogCaptureHandler

from adapters.console import ConsoleAdapter
from adapters.discord.plugin import is_discord_webhook
from adapters.discord.webhook import discord_webhook
from adapters.slack.webhook import slack_webhook
from adapters.webhook_http import RETRY, WebhookHttp
from bot import cli
from bot.app import Runtime, assemble, open_store
from bot.config import FileConfig
from bot.models import Paper
from bot.webhooks import WebhookAdapter, WebhookRoute

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OFFLINE_CONFIG = FIXTURES / "config" / "offline.toml"
SHIPPED_CONFIG = ROOT / "config" / "paperbot.toml"
EXAMPLE_LIST = ROOT / "bot" / "data" / "example-paper-list.md"
MONDAY = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)  # a fire time of "mon 09:00"; the `clock` fixture starts here


@contextlib.asynccontextmanager
async def console_bot(db_path: Path, config: FileConfig | None = None) -> AsyncIterator[ConsoleAdapter]:
    """The console adapter of the bot `paperbot run` assembles (the example list seeded), inside `Bot.running()`
    without its scheduler; no token from this process's environment reaches it."""
    runtime = Runtime(db_path=str(db_path), config=config or FileConfig(), env={})
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO())
        async with bot.running(schedule=False):
            yield bot.adapters["console"]


def webhook_adapter(
    env: dict[str, str], *, attempts: int = 3, backoff: float = 0.01, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> WebhookAdapter:
    """The `webhook` adapter over both platforms' posters, as `paperbot run` builds it, with a short retry policy."""
    def http() -> WebhookHttp:
        return WebhookHttp(retry=replace(RETRY, attempts=attempts, first_backoff=backoff), sleep=sleep)

    return WebhookAdapter(env, [
        WebhookRoute("discord-webhook", is_discord_webhook, discord_webhook(http())),
        WebhookRoute("slack-webhook", None, slack_webhook(http())),
    ])


def run_paperbot(
    *args: str, db: Path, input_text: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run the real `paperbot` entry point (python -m bot) in a subprocess, offline unless `env` says otherwise."""
    full_env = {**os.environ, "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=input_text,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
    )


def _not_pytests(handler: logging.Handler) -> bool:
    """Not one of pytest's capturing handlers, which pytest adds and removes around each test phase."""
    return not isinstance(handler, LogCaptureHandler) and type(handler).__module__ != "_pytest.logging"


@contextlib.contextmanager
def logging_kept() -> Iterator[None]:
    """Logging as it was before the block: `bot.cli.main` sets it up for a whole process (root
    handlers, levels, the noisy third-party loggers), which in this process would leave the rest
    of a test, or the next test, logging differently (or past pytest's caplog)."""
    root = logging.getLogger()
    handlers, filters, level = [h for h in root.handlers if _not_pytests(h)], root.filters[:], root.level
    loggers = logging.root.manager.loggerDict
    levels = {name: logger.level for name, logger in loggers.items() if isinstance(logger, logging.Logger)}
    try:
        yield
    finally:
        for added in [h for h in root.handlers if _not_pytests(h) and h not in handlers]:
            added.close()  # a log file the block opened
        pytests = [h for h in root.handlers if not _not_pytests(h)]
        root.handlers[:] = pytests + handlers
        root.filters[:] = filters
        root.setLevel(level)
        for name, logger in list(loggers.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


@dataclass
class Finished:
    """What a `paperbot` run left: the shape of subprocess.CompletedProcess, so either kind of run reads the same."""

    returncode: int
    stdout: str
    stderr: str


class CommandLine:
    """`paperbot ARGS` through `bot.cli.main` in this process, offline unless `env` says otherwise.

    The same environment as `run_paperbot` (PAPERBOT_DB, the offline PAPERBOT_CONFIG, `env`), set
    for the one call; output is what the command wrote to stdout and stderr, logging included.
    A run costs milliseconds instead of a Python start-up; the subprocess stays for what only a
    process shows (signals, exit on a kill, the installed entry point, stdio encodings).
    """

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(
        self, *args: str, db: Path, env: dict[str, str] | None = None, input_text: str = "", timeout: float = 60
    ) -> Finished:
        self.capsys.readouterr()  # what the test printed before is not the command's
        handlers = logging.getLogger().handlers[:]  # pytest's caplog handlers too: the call is within one test phase
        with self.monkeypatch.context() as patch, logging_kept():
            for name, value in {"PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG), **(env or {})}.items():
                patch.setenv(name, value)
            patch.setattr(sys, "stdin", io.StringIO(input_text))
            try:
                with returns_within(timeout):  # a hang fails the test, as run_paperbot's timeout does
                    code = cli.main(list(args))
            except SystemExit as exit_:  # argparse: usage errors, --help, --version
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        logging.getLogger().handlers[:] = handlers
        out = self.capsys.readouterr()
        return Finished(code, out.out, out.err)


class FakeClock:
    """The Clock port under the test's control: time moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> datetime:
        self.current = moment
        return moment


class Sleeps:
    """An injectable sleep that records every wait; it really waits only when `real`."""

    def __init__(self, real: bool = False) -> None:
        self.real = real
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real else 0)


@contextlib.contextmanager
def returns_within(seconds: float) -> Iterator[None]:
    """Turn a hang into a failure: a schedule search that loops forever must fail its test, not stall the suite."""

    def stop(signum: int, frame: object) -> None:
        raise AssertionError(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def make_paper(arxiv_id: str, topics: tuple[str, ...], *, published: str = "2025-06-01", title: str | None = None) -> Paper:
    """A small but complete paper for digest and adapter tests."""
    return Paper(
        arxiv_id=arxiv_id,
        title=title or f"Paper {arxiv_id} on reward models for vision-language agents",
        abstract=(
            f"We propose method {arxiv_id.replace('.', '')} for aligning VLMs with preference data. It improves accuracy by 3%."
        ),
        authors=("Ada Lovelace", "Alan Turing"),
        published=published,
        categories=("cs.CV",),
        topics=topics,
    )
