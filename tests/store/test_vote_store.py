"""The store's vote part (`bot.ports.VoteStore`) and how a channel's votes combine (`bot.votes`).

Runs through the port, once per store in `tests.support.store_factories.STORE_FACTORIES`.
"""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.models import ChannelRef, Paper
from bot.service import PaperService
from bot.votes import ChannelVotes, VoteAction, Votes, combine
from tests.support import FakeClock

PAPERS = ChannelRef("slack", "C1")
THREAD = ChannelRef("discord", "9", "7", thread="55")
UP, DOWN, SAVE = VoteAction.UP, VoteAction.DOWN, VoteAction.SAVE


async def _with_papers(store, count: int = 3) -> None:
    await store.papers.upsert_papers([Paper(f"2505.{n:05d}", f"Paper {n}", published="2025-05-01") for n in range(1, count + 1)])


async def test_a_double_click_records_once_and_a_switch_replaces_only_that_users_vote(store) -> None:
    await _with_papers(store)
    votes = store.votes
    first = await votes.record_vote(PAPERS, "2505.00001", "U1", UP)
    assert first is not None and first.changed and first.before is None
    version = await votes.votes_version()
    again = await votes.record_vote(PAPERS, "2505.00001", "U1", UP)
    assert again is not None and not again.changed
    assert await votes.votes_version() == version  # nothing changed, so nothing retrains
    await votes.record_vote(PAPERS, "2505.00001", "U2", UP)
    switched = await votes.record_vote(PAPERS, "2505.00001", "U1", DOWN)
    assert switched is not None and switched.before is UP
    assert sorted(await votes.channel_votes(PAPERS)) == [("2505.00001", "U1", "down"), ("2505.00001", "U2", "up")]
    assert await votes.votes_version() > version


async def test_a_save_is_its_own_slot_and_undo_touches_only_that_click(store) -> None:
    await _with_papers(store)
    votes = store.votes
    await votes.record_vote(PAPERS, "2505.00002", "U1", UP)
    await votes.record_vote(PAPERS, "2505.00002", "U1", SAVE)
    await votes.record_vote(PAPERS, "2505.00002", "U2", SAVE)
    assert not await votes.remove_vote(PAPERS, "2505.00002", "U1", DOWN)  # not what U1 voted
    version = await votes.votes_version()
    assert await votes.remove_vote(PAPERS, "2505.00002", "U1", SAVE)
    assert await votes.votes_version() > version  # an undo counts as a change
    assert sorted(await votes.channel_votes(PAPERS)) == [("2505.00002", "U1", "up"), ("2505.00002", "U2", "save")]


async def test_votes_belong_to_their_channel_and_an_unknown_paper_records_nothing(store) -> None:
    await _with_papers(store)
    votes = store.votes
    await votes.record_vote(THREAD, "2505.00001", "U1", DOWN)
    assert await votes.channel_votes(PAPERS) == []
    assert await votes.channel_votes(THREAD) == [("2505.00001", "U1", "down")]
    assert await votes.record_vote(PAPERS, "2599.99999", "U1", UP) is None
    assert await votes.channel_votes(PAPERS) == []


async def test_the_reading_list_is_newest_save_first_with_who_saved(store, clock: FakeClock) -> None:
    await _with_papers(store)
    votes = store.votes
    await votes.record_vote(PAPERS, "2505.00001", "U1", SAVE)
    clock.advance(minutes=1)
    await votes.record_vote(PAPERS, "2505.00003", "U2", SAVE)
    clock.advance(minutes=1)
    await votes.record_vote(PAPERS, "2505.00001", "U3", SAVE)
    await votes.record_vote(PAPERS, "2505.00002", "U3", UP)  # a vote is not a save
    await votes.record_vote(THREAD, "2505.00002", "U3", SAVE)  # another channel's
    saved = await votes.saved(PAPERS, 10)
    assert [(s.paper.arxiv_id, s.saved_by) for s in saved] == [("2505.00001", ("U1", "U3")), ("2505.00003", ("U2",))]
    assert [s.paper.arxiv_id for s in await votes.saved(PAPERS, 1)] == ["2505.00001"]
    # The CLI names a channel (or thread) by its id alone.
    assert [s.paper.arxiv_id for s in await votes.saved("C1", 10)] == ["2505.00001", "2505.00003"]
    assert [s.paper.arxiv_id for s in await votes.saved("55", 10)] == ["2505.00002"]


async def test_undo_and_a_bad_id_through_the_core(store) -> None:
    await _with_papers(store)
    votes = Votes(PaperService(store.papers), store.votes)
    paper, change = await votes.record(PAPERS, "U1", "arXiv:2505.00001v2", SAVE)
    assert paper.arxiv_id == "2505.00001" and change.changed
    assert await votes.undo(PAPERS, "U1", "2505.00001", SAVE)
    assert await votes.saved(PAPERS) == []
    with pytest.raises(UserError, match="not in the store"):
        await votes.record(PAPERS, "U1", "2599.99999", UP)
    with pytest.raises(UserError, match="not an arXiv id"):
        await votes.record(PAPERS, "U1", "hello", UP)
    assert await store.votes.channel_votes(PAPERS) == []


def test_each_member_counts_once_and_votes_combine_per_paper() -> None:
    rows = [
        ("A", "U1", "down"), ("A", "U2", "down"), ("A", "U3", "up"),  # two 👎 and one 👍: negative
        ("B", "U1", "up"), ("B", "U1", "save"),  # one member's 👍 and 🔖 count once
        ("B", "U2", "down"),  # ... so one 👍+🔖 against one 👎 is neither
        ("C", "U1", "save"),  # a save alone is a positive
        ("D", "U1", "down"), ("D", "U1", "save"),  # a member's 👎 wins over their own 🔖
    ]  # fmt: skip
    assert combine(rows) == ChannelVotes(positives=("C",), negatives=("A", "D"), up=2, down=3, saved=3)
    assert not combine([])
