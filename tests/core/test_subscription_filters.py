"""A subscription's filters (`bot.filters`): include/exclude queries and followed authors.

The papers are real arXiv snapshot records (`tests/fixtures/filters/snapshot-names.jsonl`,
six lines copied from arXiv's metadata snapshot: LaTeX accents, initials,
hyphenated and Nordic names), read as `paperbot import` reads them. The digest
tests run the real `DigestEngine` over the SQLite store with the console as
the channel; the config tests read TOML as `paperbot run` does.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.console import ConsoleAdapter
from bot.config import parse_config
from bot.digest import DigestEngine
from bot.errors import ConfigError, UserError
from bot.filters import DigestFilter, check_query, read_authors, same_author
from bot.ingest.snapshot import paper_from_record
from bot.models import ChannelRef, Subscription, Topic
from store.sqlite import SqliteStore
from tests.support import FIXTURES, MONDAY, FakeClock

PAPERS = {p.arxiv_id: p for p in (
    paper_from_record(json.loads(line)) for line in (FIXTURES / "filters" / "snapshot-names.jsonl").read_text().splitlines()
)}  # fmt: skip
CHANNEL = ChannelRef("console", "filtered")


@pytest.mark.parametrize("followed", ["Csaba Balázs", "C. Balázs", "Bal\\'azs, Csaba", "csaba balazs", "Balázs"])
def test_a_followed_author_matches_with_initials_and_accents(followed: str) -> None:
    assert PAPERS["0704.0001"].authors[0] == "C. Balázs"  # the snapshot wrote C. Bal\'azs
    assert DigestFilter(authors=(followed,)).followed_author(PAPERS["0704.0001"]) == followed


@pytest.mark.parametrize(
    ("followed", "author", "same"),
    [
        ("Péter Frenkel", "Péter E. Frenkel", True),
        ("P. E. Frenkel", "Péter E. Frenkel", True),
        ("Paul Frenkel", "Péter E. Frenkel", False),  # another given name
        ("Ricard Tomàs", "R. Tomàs", True),
        ("Tomas", "R. Tomàs", True),
        ("Mikkel Øbro", "Mikkel Øbro", True),
        ("Rastislav Šrámek", "Rastislav Šrámek", True),
        ("R. Sramek", "Rastislav Šrámek", True),
        ("Tomáš Vinař", "Broňa Brejová", False),
        ("C. Balázs", "E. L. Berger", False),
    ],
)
def test_author_names_from_the_snapshot(followed: str, author: str, same: bool) -> None:
    assert same_author(followed, author) is same


def test_include_and_exclude_use_the_arxiv_query_language() -> None:
    surveys = DigestFilter(exclude='ti:survey OR abs:"review"')
    assert not surveys.keeps(PAPERS["0704.0009"])  # "The Spitzer c2d Survey of ..."
    assert surveys.keeps(PAPERS["0704.0001"])
    physics = DigestFilter(include="cat:hep-ph")
    assert [a for a, p in PAPERS.items() if physics.keeps(p)] == ["0704.0001", "0704.0032"]
    kept, pinned = DigestFilter(include="cat:hep-ph", authors=("J. W. F. Valle",)).apply(PAPERS.values())
    assert [p.arxiv_id for p in kept] == ["0704.0001", "0704.0032"] and [(p.arxiv_id, n) for p, n in pinned] == [
        ("0704.0032", "J. W. F. Valle")
    ]


def test_bad_filters_name_the_fix() -> None:
    with pytest.raises(UserError, match="exclude query does not read") as bad:
        check_query('ti:"survey', "exclude")
    assert "arXiv query syntax" in bad.value.hint
    assert check_query("  ", "include") is None
    assert read_authors("Csaba Balázs;  Y. LeCun ; ") == ("Csaba Balázs", "Y. LeCun")
    with pytest.raises(UserError, match="is not a name"):
        read_authors("Csaba Balázs; ...")


def test_the_config_file_sets_filters_and_refuses_bad_ones() -> None:
    base = '[[topics]]\nname = "hep"\n[[subscriptions]]\nadapter = "console"\nchannel = "c"\ntopic = "hep"\n'
    config = parse_config(base + "exclude = 'ti:survey OR abs:\"medical\"'\nauthors = [\"Csaba Balázs\", \"Y. LeCun\"]\n", "test")
    [subscription] = config.subscription_list()
    assert subscription.exclude == 'ti:survey OR abs:"medical"' and subscription.authors == ("Csaba Balázs", "Y. LeCun")
    with pytest.raises(ConfigError, match="exclude"):
        parse_config(base + "exclude = 'ti:(survey'\n", "test")


async def test_a_digest_drops_filtered_papers_from_cards_and_count_and_pins_followed_authors(tmp_path) -> None:
    clock = FakeClock(MONDAY - timedelta(days=2))
    store = await SqliteStore.open(tmp_path / "filters.db", clock=clock)
    try:
        await store.papers.upsert_topics([Topic("news")])
        # Newest first would put 0704.0062 first; the followed author's paper is older.
        dated = {a: f"2025-05-{10 + n:02d}" for n, a in enumerate(sorted(PAPERS))}
        await store.papers.upsert_papers([replace(p, topics=("news",), published=dated[a]) for a, p in PAPERS.items()])
        await store.subscriptions.save_subscription(Subscription(
            id=0, channel=CHANNEL, topic="news", max_papers=2, exclude="ti:survey", authors=("Csaba Balázs",),
        ))  # fmt: skip
        [saved] = await store.subscriptions.subscriptions()
        assert (saved.exclude, saved.authors) == ("ti:survey", ("Csaba Balázs",))  # kept by the store
        console = ConsoleAdapter(router=None, stdout=io.StringIO())  # type: ignore[arg-type]
        engine = DigestEngine(store.subscriptions, store.papers, {"console": console}, {"news": Topic("news")}, clock=clock)
        clock.set(MONDAY + timedelta(minutes=1))
        await engine.run_due()
        [(_, digest)] = console.posted
        assert [c.arxiv_id for c in digest.cards] == ["0704.0001", "0704.0062"]
        assert digest.cards[0].why == "by an author you follow (Csaba Balázs)" and digest.cards[1].why == ""
        assert digest.header.startswith("5 new papers") and "ranked" not in digest.header  # the survey is not counted
        assert digest.footer == ("and 3 more — /paper latest news",)
    finally:
        await store.close()


async def test_admins_set_filters_in_chat_and_anyone_sees_them(tmp_path) -> None:
    from tests.support import console_bot

    async with console_bot(tmp_path / "chat.db") as console:
        router = console.router
        channel = ChannelRef("console", "main")

        async def say(text: str, admin: bool = True):
            return await router.handle_text(text, user="U1", channel=channel, is_admin=admin)

        subscribed = await say(
            "/paper subscribe reward-model-vlm mon 09:00 "
            '--exclude \'ti:survey OR abs:"medical"\' --authors "Csaba Balázs; Y. LeCun"'
        )
        assert "Subscribed: reward-model-vlm" in subscribed.text
        assert (
            'Exclude: ti:survey OR abs:"medical"' in subscribed.text
            and "Followed authors: Csaba Balázs; Y. LeCun" in subscribed.text
        )
        shown = await say("/paper filters reward-model-vlm", admin=False)
        assert "Include: every paper of the topic" in shown.text and "Followed authors: Csaba Balázs; Y. LeCun" in shown.text
        changed = await say("/paper subscribe reward-model-vlm --authors none")  # only that filter changes
        assert "Followed authors: none" in changed.text and "Exclude: ti:survey" in changed.text
        [sub] = await console.router.context.subscriptions.store.subscriptions(channel)
        assert (sub.when, sub.exclude, sub.authors) == ("mon 09:00", 'ti:survey OR abs:"medical"', ())
        refused = await say("/paper subscribe reward-model-vlm --exclude 'ti:(survey'")
        assert "exclude query does not read" in refused.text
        unclosed = await say("/paper subscribe reward-model-vlm --exclude 'ti:survey")
        assert "never closed" in unclosed.text
        member = await say("/paper subscribe reward-model-vlm --exclude ti:survey", admin=False)
        assert "Only admins" in member.text
        [after] = await console.router.context.subscriptions.store.subscriptions(channel)
        assert after == sub  # bad input changed nothing
        missing = await say("/paper filters robots", admin=False)
        assert "not subscribed to 'robots'" in missing.text
