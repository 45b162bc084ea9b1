"""👍/👎/🔖 buttons under paper cards on Discord, and the Undo under a click's acknowledgement.

Why this module exists: a vote must work whenever it is clicked, days after
the digest and across restarts, so a button carries everything in its
`custom_id`: `paper:vote:<action>:<server id>:<arxiv id>` (Undo:
`paper:undo:...`). discord.py's `DynamicItem` turns any such id back into a
button (the client registers the adapter's type at start), as the paging
buttons of `adapters.discord.views` do. The server id is the one the message
was posted to: a click arriving from another server is refused.

Layout: a message holds at most `VOTE_EMBEDS` embeds when its cards take votes
(`render_messages` packs them so), so its buttons fit in three rows, one per
action, one button per card, labelled with the card's arXiv id (shown on the
card); row 0 stays free for the paging buttons.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import discord

from adapters.discord.render import DiscordMessage, link_target
from adapters.discord.views import answer_press, buttons_view
from bot.models import PaperListReply, Reply
from bot.votes import VoteAction

VOTE, UNDO = "vote", "undo"
VOTE_TEMPLATE = r"paper:(?P<op>vote|undo):(?P<action>up|down|save):(?P<guild>[0-9]{0,20}):(?P<paper>[^\s]{1,60})"
EMOJI = {VoteAction.UP: "👍", VoteAction.DOWN: "👎", VoteAction.SAVE: "🔖"}
FIRST_ROW = 1  # row 0 is the paging buttons'


def vote_custom_id(op: str, action: VoteAction, guild: str, arxiv_id: str) -> str:
    return f"paper:{op}:{action.value}:{guild}:{arxiv_id}"


class VotePresses(Protocol):
    """What runs a click: the adapter's command handler."""

    async def vote(self, action: VoteAction, arxiv_id: str, guild: str, undo: bool, interaction: discord.Interaction) -> None: ...


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_TEMPLATE):
    """One 👍/👎/🔖 (or Undo) button; subclassed per adapter by `vote_button_type`."""

    presses: ClassVar[VotePresses | None] = None

    def __init__(self, op: str, action: VoteAction, guild: str, arxiv_id: str, *, label: str, row: int | None = None) -> None:
        style = discord.ButtonStyle.secondary if op == VOTE else discord.ButtonStyle.danger
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=vote_custom_id(op, action, guild, arxiv_id), row=row)
        )
        self.op, self.action, self.guild, self.arxiv_id = op, action, guild, arxiv_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        label = getattr(item, "label", None) or ""
        return cls(match["op"], VoteAction(match["action"]), match["guild"], match["paper"], label=label)

    async def callback(self, interaction: discord.Interaction) -> None:
        presses = self.presses
        press = (lambda: presses.vote(self.action, self.arxiv_id, self.guild, self.op == UNDO, interaction)) if presses else None
        await answer_press(interaction, f"vote {self.item.custom_id}", press)


def vote_button_type(presses: VotePresses) -> type[VoteButton]:
    """The vote button class whose clicks `presses` runs; register it with `Client.add_dynamic_items`."""

    class PaperVoteButton(VoteButton, template=VOTE_TEMPLATE):
        pass

    PaperVoteButton.presses = presses
    return PaperVoteButton


def message_cards(reply: Reply, message: DiscordMessage) -> list[str]:
    """The arXiv ids of the votable cards that start in this message (their linked embed is in it)."""
    if not isinstance(reply, PaperListReply) or not reply.votable:
        return []
    urls = {embed.get("url") for embed in message.get("embeds") or ()}
    return [card.arxiv_id for card in reply.cards if link_target(card.url) in urls]


def vote_buttons(kind: type[VoteButton], guild: str, arxiv_ids: Sequence[str]) -> list[VoteButton]:
    """One row per action, one button per card."""
    return [
        kind(VOTE, action, guild, arxiv_id, label=f"{EMOJI[action]} {arxiv_id}", row=FIRST_ROW + row)
        for row, action in enumerate(VoteAction)
        for arxiv_id in arxiv_ids
    ]


def votes_view(kind: type[VoteButton], guild: str, arxiv_ids: Sequence[str]) -> discord.ui.View | None:
    """A view of a message's vote buttons (no timeout: the buttons live as long as the message), or None."""
    if not arxiv_ids:
        return None
    return buttons_view(vote_buttons(kind, guild, arxiv_ids), timeout=None)


def undo_view(kind: type[VoteButton], action: VoteAction, guild: str, arxiv_id: str) -> discord.ui.View:
    return buttons_view([kind(UNDO, action, guild, arxiv_id, label="Undo")], timeout=None)
