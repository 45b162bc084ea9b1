"""Votes and saves from chat: what a click means, and how a channel's votes combine.

Why this exists: a group teaches its ranker where it already talks. A click
on 👍 *Relevant*, 👎 *Not for us* or 🔖 *Save* under a paper card records
(channel, paper, user, action); the store keeps the rows (`VoteStore`), this
module decides what they mean:

- A user has at most one vote per paper and channel (👍 or 👎): clicking the
  same again changes nothing, switching replaces it. A save is separate (a
  user may 👍 and 🔖 the same paper). Undo removes only that user's click, and
  only if it is still the one they made.
- A channel's votes combine per paper, each member counted once: 👍 or 🔖 is
  +1, 👎 is -1 (a 👎 wins over the same member's 🔖). A paper above 0 is a
  positive of the channel's library, below 0 a negative (`bot.ranking`),
  so two 👎 and one 👍 make a negative.
- The reading list is the channel's saved papers, newest first, with who saved each.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from bot.errors import UserError
from bot.models import ChannelRef, Paper
from bot.service import check_count

if TYPE_CHECKING:
    from bot.ports import VoteStore
    from bot.service import PaperService

log = logging.getLogger(__name__)


class VoteAction(str, enum.Enum):
    UP = "up"
    DOWN = "down"
    SAVE = "save"

    @property
    def kind(self) -> str:
        """The slot a click fills: a user's one vote (👍/👎), or their save."""
        return "save" if self is VoteAction.SAVE else "vote"

    @property
    def label(self) -> str:
        return {VoteAction.UP: "👍 Relevant", VoteAction.DOWN: "👎 Not for us", VoteAction.SAVE: "🔖 Save"}[self]


def read_action(text: str) -> VoteAction | None:
    try:
        return VoteAction(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class VoteChange:
    """What a click did: `before` is the user's earlier value in that slot (None: none)."""

    action: VoteAction
    before: VoteAction | None

    @property
    def changed(self) -> bool:
        return self.before is not self.action


@dataclass(frozen=True)
class SavedPaper:
    """One paper of a channel's reading list."""

    paper: Paper
    saved_by: tuple[str, ...]  # user ids, first saver first
    saved_at: str  # the newest save


@dataclass(frozen=True)
class ChannelVotes:
    """A channel's votes combined per paper (see the module docstring)."""

    positives: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    up: int = 0  # papers with at least one 👍
    down: int = 0
    saved: int = 0

    def __bool__(self) -> bool:
        return bool(self.positives or self.negatives)


def combine(rows: Iterable[tuple[str, str, str]]) -> ChannelVotes:
    """(arxiv_id, user, value) rows -> the channel's positives and negatives, each member counted once."""
    by_member: dict[tuple[str, str], set[str]] = defaultdict(set)
    for arxiv_id, user, value in rows:
        by_member[(arxiv_id, user)].add(value)
    net: dict[str, int] = defaultdict(int)
    kinds: dict[str, set[str]] = defaultdict(set)
    for (arxiv_id, _), values in by_member.items():
        kinds[arxiv_id] |= values
        net[arxiv_id] += -1 if VoteAction.DOWN.value in values else 1
    return ChannelVotes(
        positives=tuple(sorted(a for a, n in net.items() if n > 0)),
        negatives=tuple(sorted(a for a, n in net.items() if n < 0)),
        up=sum(VoteAction.UP.value in k for k in kinds.values()),
        down=sum(VoteAction.DOWN.value in k for k in kinds.values()),
        saved=sum(VoteAction.SAVE.value in k for k in kinds.values()),
    )


def acknowledgement(change: VoteChange, channel_name: str = "this channel") -> str:
    """The ephemeral line a click gets (the adapter adds the Undo button)."""
    if change.action is VoteAction.SAVE:
        return f"Saved to {channel_name}'s reading list" if change.changed else f"Already in {channel_name}'s reading list"
    said = "relevant" if change.action is VoteAction.UP else "not for us"
    if not change.changed:
        return f"You already marked this {said}; nothing changed"
    return (
        f"Marked {said}"
        + (" (your earlier vote is replaced)" if change.before is not None else "")
        + ": it shapes this channel's ranking"
    )


class Votes:
    """Clicks, undos and the reading list, over the paper service (which checks ids) and the `VoteStore`."""

    def __init__(self, service: PaperService, store: VoteStore) -> None:
        self.service = service
        self.store = store

    async def record(self, channel: ChannelRef, user: str, paper_ref: str, action: VoteAction) -> tuple[Paper, VoteChange]:
        paper = await self.service.show(paper_ref)
        change = await self.store.record_vote(channel, paper.arxiv_id, user, action)
        if change is None:  # removed between the check and the write
            raise UserError(f"Paper {paper.arxiv_id} is not in the store.", "Find papers with /paper search <words>.")
        if change.changed:
            log.info(
                "vote in %s: %s %s (was %s)",
                channel.key,
                action.value,
                paper.arxiv_id,
                change.before.value if change.before else "-",
            )
        return paper, change

    async def undo(self, channel: ChannelRef, user: str, paper_ref: str, action: VoteAction) -> bool:
        paper = await self.service.show(paper_ref)
        removed = await self.store.remove_vote(channel, paper.arxiv_id, user, action)
        if removed:
            log.info("vote in %s: %s %s undone", channel.key, action.value, paper.arxiv_id)
        return removed

    async def saved(self, channel: ChannelRef | str, count: int | None = None) -> list[SavedPaper]:
        return await self.store.saved(channel, check_count(count))

    async def channel_votes(self, channel: ChannelRef) -> ChannelVotes:
        return combine(await self.store.channel_votes(channel))
