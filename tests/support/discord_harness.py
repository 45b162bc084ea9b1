"""Starting the real bot against the fake Discord, the way `paperbot run` does (bot.app.run_bot).

`discord_bot()` opens the store, `assemble()`s the bot from a Runtime whose
environment holds DISCORD_TOKEN and DISCORD_API_URL, and runs it inside
`Bot.running()` (adapters, then the scheduler; stopped in reverse), so the
tests exercise the same composition and lifecycle `paperbot run` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path
from typing import AsyncIterator, Awaitable, Callable

from bot.app import Bot, Runtime, assemble, open_store
from bot.config import FileConfig, load_config, parse_config
from bot.models import DeliveryKey
from bot.ports import Clock, SystemClock
from tests.support import OFFLINE_CONFIG
from tests.support.fake_discord import TOKEN, FakeDiscord


def offline_config() -> FileConfig:
    return load_config(OFFLINE_CONFIG, explicit=True)


def config_with(extra_toml: str) -> FileConfig:
    """The offline test config plus some TOML (e.g. [[subscriptions]] tables)."""
    return parse_config(OFFLINE_CONFIG.read_text(encoding="utf-8") + "\n" + extra_toml, "test config")


def discord_env(fake: FakeDiscord, **extra: str) -> dict[str, str]:
    return {"DISCORD_TOKEN": TOKEN, "DISCORD_API_URL": fake.url, **extra}


@contextlib.asynccontextmanager
async def discord_bot(
    db_path: Path,
    fake: FakeDiscord,
    *,
    config: FileConfig | None = None,
    clock: Clock | None = None,
    env: dict[str, str] | None = None,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncIterator[Bot]:
    runtime = Runtime(
        db_path=str(db_path), config=config or offline_config(), clock=clock or SystemClock(), env=env or discord_env(fake),
        sleep=sleep or asyncio.sleep,  # the waits between client restarts
    )
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(), on_step=on_step)
        async with bot.running():
            yield bot

