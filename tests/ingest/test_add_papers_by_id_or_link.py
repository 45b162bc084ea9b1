"""`paperbot add` and `/paper add`: papers by id or link, fetched from the fake arXiv through the real client.

The fake answers `id_list` as arXiv does: ids it does not know are left out
silently, a malformed one is refused with a 400 error feed. Words that are
not ids never reach it.
"""

from __future__ import annotations

import pytest

from bot.commands import CommandRouter
from bot.config import FetchConfig, parse_config
from bot.ingest.arxiv import ArxivFetcher, RequestLimiter
from bot.ingest.by_id import read_refs
from bot.models import ErrorReply, NoticeReply
from bot.service import PaperService
from store.sqlite import SqliteStore
from tests.support import Sleeps, run_paperbot
from tests.support.discord_harness import discord_bot
from tests.support.fake_arxiv import FakePaper, utc
from tests.support.fake_discord import ADMIN_ID, MEMBER_ID

PAPERS = (
    FakePaper("2505.20665", title="DriveRX: A Vision-Language Reasoning Model", published=utc(2025, 5, 27)),
    FakePaper("hep-th/9901001", version=2, title="An old-style paper", primary_category="hep-th", published=utc(1999, 1, 4)),
    FakePaper("2502.14191", title="Multimodal RewardBench", published=utc(2025, 2, 20)),
)


@pytest.fixture
def arxiv(fake_arxiv):
    fake_arxiv.add(*PAPERS)
    return fake_arxiv


@pytest.fixture
async def router(tmp_path, arxiv):
    store = await SqliteStore.open(tmp_path / "p.db")
    fetch = FetchConfig(delay_seconds=0, retries=0)
    client = ArxivFetcher(store.papers, fetch, arxiv.url, sleep=Sleeps(), limiter=RequestLimiter())
    yield CommandRouter(PaperService(store.papers), arxiv=client)
    client.close()
    await store.close()


def test_words_become_versionless_ids_once_each():
    ids, not_ids = read_refs(["2505.20665v2", "arXiv:2505.20665,https://arxiv.org/abs/hep-th/9901001v1", "nonsense"])
    assert ids == ["2505.20665", "hep-th/9901001"] and not_ids == ["nonsense"]


async def test_admins_add_papers_and_unknown_ids_are_named(router, arxiv):
    reply = await router.handle_text("/paper add 2505.20665 hep-th/9901001v1 2501.99999 hello --topic driving", is_admin=True)

    assert isinstance(reply, NoticeReply) and reply.title == "Added papers"
    assert reply.lines[0] == (
        "Added 2 papers to topic driving from arXiv (2 new, 0 updated, 0 unchanged): 2505.20665, hep-th/9901001"
    )
    assert reply.lines[1] == "arXiv does not know: 2501.99999"
    assert reply.lines[2].startswith("Not arXiv ids (not sent): 'hello'")
    assert [r.params["id_list"] for r in arxiv.requests] == ["2505.20665,hep-th/9901001,2501.99999"]
    old = await router.service.show("hep-th/9901001")
    assert (old.version, old.published, old.topics) == (2, "1999-01-04", ("driving",))
    assert "driving" in await router.service.topic_names()


async def test_members_are_refused_and_arxiv_failures_add_nothing(router, arxiv):
    refused = await router.handle_text("/paper add 2505.20665")
    assert isinstance(refused, ErrorReply) and refused.message == "Only admins can add papers."
    assert arxiv.requests == []

    arxiv.fail(503, times=5)
    failed = await router.handle_text("/paper add 2505.20665", is_admin=True)
    assert isinstance(failed, ErrorReply) and failed.message.startswith("arXiv did not answer (HTTP 503")
    assert await router.service.store.paper_count() == 0

    nothing = await router.handle_text("/paper add hello world", is_admin=True)
    assert isinstance(nothing, ErrorReply) and nothing.message == "No arXiv id to add (hello, world are not ids)."


async def test_without_arxiv_the_command_says_why(tmp_path):
    store = await SqliteStore.open(tmp_path / "p.db")
    try:
        reply = await CommandRouter(PaperService(store.papers)).handle_text("/paper add 2505.20665", is_admin=True)
    finally:
        await store.close()
    assert isinstance(reply, ErrorReply) and "[fetch] enabled = false" in reply.message


@pytest.mark.subprocess
def test_cli_add_exit_status_says_whether_everything_was_added(tmp_path, arxiv):
    config = tmp_path / "online.toml"
    config.write_text(f'arxiv_api_url = "{arxiv.url}"\n[fetch]\ndelay_seconds = 0\nretries = 0\n')
    db = tmp_path / "p.db"
    done = run_paperbot("--config", str(config), "add", "2505.20665", "https://arxiv.org/pdf/2502.14191v1", db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Added 2 papers from arXiv (2 new, 0 updated, 0 unchanged)")

    partly = run_paperbot("--config", str(config), "add", "2505.20665", "abc", "0808.05394", db=db)
    assert partly.returncode == 2
    assert "(0 new, 0 updated, 1 unchanged)" in partly.stdout and "arXiv does not know: 0808.05394" in partly.stdout
    assert "Not arXiv ids (not sent): 'abc'" in partly.stdout

    offline = run_paperbot("add", "2505.20665", db=tmp_path / "other.db")  # the test config turns fetching off
    assert offline.returncode == 2 and "fetching from arXiv is disabled" in offline.stderr


async def test_discord_admins_add_through_the_bots_own_arxiv_client(tmp_path, fake_discord, arxiv):
    config = parse_config(f'arxiv_api_url = "{arxiv.url}"\nexample_data = false\n[fetch]\ndelay_seconds = 0\nretries = 0\n'
                          'schedule = "daily 06:00"\n', "test config")  # fmt: skip
    async with discord_bot(tmp_path / "p.db", fake_discord, config=config) as bot:
        refused = await fake_discord.slash("add", {"papers": "2505.20665"}, user=MEMBER_ID)
        await fake_discord.until(lambda: refused.answered())
        assert "Manage Server" in refused.texts()

        record = await fake_discord.slash("add", {"papers": "2505.20665 hep-th/9901001", "topic": "picks"}, user=ADMIN_ID)
        await fake_discord.until(lambda: record.answered())
        assert "Added 2 papers to topic picks from arXiv" in record.texts()
        assert await bot.store.papers.get("2505.20665") is not None
