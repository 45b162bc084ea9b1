"""`/paper save|unsave|saved` and `paperbot saved --channel ID [--json]`, as users run them.

Through the console (the command path every chat platform shares) and the real
`paperbot` command in a subprocess, over the project's example paper list.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import AsyncIterator

from adapters.console import CONSOLE_CHANNEL
from bot.app import Runtime, build_ranking, build_service, open_store, seed_example_data
from bot.commands import CommandRouter
from bot.config import FileConfig
from bot.models import ErrorReply, NoticeReply, PaperListReply, Reply
from tests.support import run_paperbot


class Member:
    """One member typing in the console's channel (the command path every platform shares)."""

    def __init__(self, router: CommandRouter, user: str) -> None:
        self.router, self.user = router, user

    async def handle(self, text: str) -> Reply:
        return await self.router.handle_text(text, user=self.user, channel=CONSOLE_CHANNEL)


@contextlib.asynccontextmanager
async def console(db: Path, user: str = "alice") -> AsyncIterator[Member]:
    config = FileConfig()
    async with open_store(Runtime(db_path=str(db), config=config)) as store:
        await seed_example_data(store.papers)
        service = build_service(store.papers, config)
        yield Member(CommandRouter(service, ranking=build_ranking(service, store, config)), user)


async def test_save_unsave_and_the_reading_list_newest_first_with_who_saved(tmp_path) -> None:
    db = tmp_path / "p.db"
    async with console(db) as alice:
        saved = await alice.handle("/paper save 2505.20665")
        assert isinstance(saved, NoticeReply) and "Saved to this channel's reading list" in saved.text
        again = await alice.handle("/paper save arXiv:2505.20665v1")
        assert "Already in this channel's reading list" in again.text
        await alice.handle("/paper save 2502.14191")
        listed = await alice.handle("/paper saved")
        assert isinstance(listed, PaperListReply) and listed.votable
        assert [c.arxiv_id for c in listed.cards] == ["2502.14191", "2505.20665"]
        assert all(c.why == "saved by alice" for c in listed.cards)
        unsaved = await alice.handle("/paper unsave 2502.14191")
        assert "Removed from the reading list" in unsaved.text
        nothing = await alice.handle("/paper unsave 2502.14191")
        assert "Nothing to undo" in nothing.text
        bad = await alice.handle("/paper save 2599.99999")
        assert isinstance(bad, ErrorReply) and "not in the store" in bad.text
        one = await alice.handle("/paper saved 1")
        assert [c.arxiv_id for c in one.cards] == ["2505.20665"]


def test_paperbot_saved_prints_a_channels_reading_list(tmp_path) -> None:
    db = tmp_path / "p.db"

    async def save() -> None:
        async with console(db, "U1") as console_adapter:
            await console_adapter.handle("/paper save 2505.20665")
        async with console(db, "U2") as console_adapter:
            await console_adapter.handle("/paper save 2505.20665")

    asyncio.run(save())
    listed = run_paperbot("saved", "--channel", CONSOLE_CHANNEL.channel, "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    [paper] = json.loads(listed.stdout)
    assert paper["arxiv_id"] == "2505.20665" and paper["saved_by"] == ["U1", "U2"] and paper["saved_at"]
    text = run_paperbot("saved", "--channel", CONSOLE_CHANNEL.channel, db=db)
    assert text.returncode == 0 and "saved by U1, U2" in text.stdout
    empty = run_paperbot("saved", "--channel", "C-nobody", db=db)
    assert empty.returncode == 0 and "Nothing saved yet" in empty.stdout
    missing = run_paperbot("saved", db=db)
    assert missing.returncode == 2 and "paperbot saved --channel" in missing.stdout


def test_paperbot_export_saved_names_the_reading_list_by_key_or_id(tmp_path) -> None:
    db = tmp_path / "p.db"

    async def save() -> None:
        async with console(db) as alice:
            await alice.handle("/paper save 2505.20665")

    asyncio.run(save())
    missing = run_paperbot("export", "--saved", "slack:-:C1", db=db)
    assert missing.returncode == 2 and "no saved reading list for slack:-:C1" in missing.stderr
    for name in (CONSOLE_CHANNEL.key, CONSOLE_CHANNEL.channel):
        exported = run_paperbot("export", "--saved", name, "--format", "json", db=db)
        assert exported.returncode == 0, exported.stderr
        assert [p["arxiv_id"] for p in json.loads(exported.stdout)["papers"]] == ["2505.20665"]
