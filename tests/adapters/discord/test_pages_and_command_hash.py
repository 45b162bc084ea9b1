"""Pure pieces of the Discord adapter: search pages, where a command ran, the command-tree hash."""

from __future__ import annotations

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.client import command_hash
from adapters.discord.commands import channel_ref, is_admin
from adapters.discord.render import check_message_limits, render_messages
from adapters.discord.views import paginate
from bot.models import ChannelRef, PaperCard, PaperListReply


def card(number: int, tldr: str = "A short TLDR.") -> PaperCard:
    arxiv_id = f"2506.{number:05d}"
    return PaperCard(arxiv_id, f"Paper {number}", f"https://arxiv.org/abs/{arxiv_id}", "2025-06-01", ("A. Author",), tldr=tldr)


def results(count: int, tldr: str = "A short TLDR.") -> PaperListReply:
    return PaperListReply(header="Search results for “reward”", cards=tuple(card(n, tldr) for n in range(1, count + 1)))


def test_a_short_list_is_one_page_unchanged():
    reply = results(3)
    assert paginate(reply, 5) == [reply]


def test_pages_hold_count_cards_and_say_where_they_are():
    pages = paginate(results(12), 5)
    assert [len(page.cards) for page in pages] == [5, 5, 2]
    assert [page.header for page in pages] == [f"Search results for “reward” · page {n}/3" for n in (1, 2, 3)]
    assert pages[1].footer == ("Papers 6–10 of 12",)
    assert [c.arxiv_id for page in pages for c in page.cards] == [c.arxiv_id for c in results(12).cards]


def test_a_page_that_would_need_two_messages_is_cut_earlier():
    long_tldr = "word " * 700  # ~3500 characters: two such cards exceed 6000 per message
    pages = paginate(results(4, long_tldr), 4)
    assert all(len(render_messages(page)) == 1 for page in pages)
    assert sum(len(page.cards) for page in pages) == 4


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 25), st.integers(1, 25), st.integers(0, 900))
def test_every_page_is_one_valid_message_and_no_card_is_lost(count, per_page, tldr_words):
    reply = results(count, "word " * tldr_words)
    pages = paginate(reply, per_page)
    assert [c for page in pages for c in page.cards] == list(reply.cards)
    for page in pages:
        assert len(page.cards) <= per_page
        [message] = render_messages(page)
        assert check_message_limits(message) == []


def test_channel_ref_for_a_channel_and_a_thread():
    class Thread(discord.Thread):
        def __init__(self) -> None:  # a bare Thread with only a parent
            self.parent_id = 22

    assert channel_ref(11, object(), 22) == ChannelRef("discord", "22", "11")
    assert channel_ref(11, Thread(), 33) == ChannelRef("discord", "22", "11", "33")
    assert channel_ref(None, object(), 22) is None


def test_manage_server_or_administrator_is_admin():
    assert is_admin(discord.Permissions(manage_guild=True))
    assert is_admin(discord.Permissions(administrator=True))
    assert not is_admin(discord.Permissions(send_messages=True, manage_messages=True))


def test_command_hash_changes_with_the_tree_the_target_and_the_application():
    tree = [{"name": "paper", "options": [{"name": "latest"}]}]
    base = command_hash(tree, target="global", application_id=1)
    assert base == command_hash([{"options": [{"name": "latest"}], "name": "paper"}], target="global", application_id=1)
    assert base != command_hash([{"name": "paper", "options": []}], target="global", application_id=1)
    assert base != command_hash(tree, target="guild:5", application_id=1)
    assert base != command_hash(tree, target="global", application_id=2)
