"""Shared test helpers: a real store in a temp dir, seeded with the example list, and a console bot."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, timedelta
import os
import subprocess
import sys
from pathlib import Path
from typing import AsyncIterator

from adapters.console import ConsoleAdapter
from bot.app import Runtime, build_service, open_store, seed_example_data
from bot.commands import CommandRouter
from bot.config import FileConfig
from bot.models import Paper

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OFFLINE_CONFIG = FIXTURES / "config" / "offline.toml"


@contextlib.asynccontextmanager
async def console_bot(db_path: Path, config: FileConfig | None = None, *, seed: bool = True) -> AsyncIterator[ConsoleAdapter]:
    config = config or FileConfig()
    async with open_store(Runtime(db_path=str(db_path), config=config)) as store:
        if seed:
            await seed_example_data(store.papers)
        yield ConsoleAdapter(CommandRouter(build_service(store.papers, config)), stdout=io.StringIO())


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
