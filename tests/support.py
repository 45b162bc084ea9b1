"""Shared test helpers: a console bot over a real store in a temp dir, the `paperbot` subprocess, a clock, papers, webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from adapters.console import ConsoleAdapter
from adapters.discord.plugin import is_discord_webhook
from adapters.discord.webhook import discord_webhook
from adapters.slack.webhook import slack_webhook
from adapters.webhook_http import RETRY, WebhookHttp
from bot.app import Runtime, assemble, open_store
from bot.config import FileConfig
from bot.models import Paper
from bot.webhooks import WebhookAdapter, WebhookRoute

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
OFFLINE_CONFIG = FIXTURES / "config" / "offline.toml"


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


def run_paperbot(*args: str, db: Path, input_text: str | None = None, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
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


def make_paper(arxiv_id: str, topics: tuple[str, ...], *, published: str = "2025-06-01", title: str | None = None) -> Paper:
    """A small but complete paper for digest and adapter tests."""
    return Paper(
        arxiv_id=arxiv_id,
        title=title or f"Paper {arxiv_id} on reward models for vision-language agents",
        abstract=f"We propose method {arxiv_id.replace('.', '')} for aligning VLMs with preference data. It improves accuracy by 3%.",
        authors=("Ada Lovelace", "Alan Turing"),
        published=published,
        categories=("cs.CV",),
        topics=topics,
    )


class RecordedSleeps:
    """An injectable async sleep that records each wait and returns at once (arXiv lookups' spacing and backoff)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
