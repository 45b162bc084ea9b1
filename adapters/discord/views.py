"""Buttons under `/paper` answers: turn search pages, and share a private answer in the channel.

Why this module exists: lookup answers are ephemeral (only the asker sees
them, so a search does not flood the channel); these views let the asker
page through search results and post what they found for everyone. The
page-splitting rule (`paginate`) is a pure function so it is tested without
Discord; the view only keeps an index into those pages.

Rules: only the person who ran the command may press the buttons (others get
a private note, and nothing changes); the view times out (buttons removed)
after `timeout` seconds; every message goes out with `allowed_mentions` none,
as everything from `adapters.discord.render` does.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import discord

from adapters.discord.render import render_messages, to_send_kwargs
from bot.models import ErrorReply, PaperListReply, Reply

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # ten minutes; ephemeral messages can be edited for fifteen
NOT_YOURS = ErrorReply("These buttons belong to the person who ran the command.", "Run /paper yourself to get your own.")


def paginate(reply: PaperListReply, per_page: int) -> list[PaperListReply]:
    """Pages of at most `per_page` cards, each of which renders as ONE Discord message.

    A page that would need two messages (very long TLDRs) is cut earlier, so
    turning a page is always one message edit. Page headers say `page i/n`,
    footers `Papers a–b of n`. (A single card too big for one message, which
    needs a TLDR over ~5,500 characters, would show its first message only;
    TLDRs are a few sentences.)
    """
    per_page = max(1, per_page)
    if len(reply.cards) <= per_page and len(render_messages(reply)) == 1:
        return [reply]
    total = len(reply.cards)

    def page(cards: tuple, number: int | str, pages: int | str, first: int | str, last: int | str) -> PaperListReply:
        return dataclasses.replace(
            reply,
            header=f"{reply.header} · page {number}/{pages}",
            cards=cards,
            footer=reply.footer + (f"Papers {first}–{last} of {total}",),
        )

    # Fit with the longest labels any page can get, so the real (shorter or equal) ones fit too.
    widest = str(total)
    chunks: list[tuple] = []
    rest = list(reply.cards)
    while rest:
        size = min(per_page, len(rest))
        while size > 1 and len(render_messages(page(tuple(rest[:size]), widest, widest, widest, widest))) > 1:
            size -= 1
        chunks.append(tuple(rest[:size]))
        rest = rest[size:]
    pages = []
    first = 1
    for number, cards in enumerate(chunks, 1):
        last = first + len(cards) - 1
        pages.append(page(cards, number, len(chunks), first, last))
        first = last + 1
    return pages


async def send_private(interaction: discord.Interaction, reply: Reply) -> None:
    """A short ephemeral answer to a component or command interaction (first response or followup)."""
    for message in render_messages(reply):
        if interaction.response.is_done():
            await interaction.followup.send(**to_send_kwargs(message), ephemeral=True)
        else:
            await interaction.response.send_message(**to_send_kwargs(message), ephemeral=True)


class LookupView(discord.ui.View):
    """Under an ephemeral lookup answer: Previous/Next when there are pages, and Share in channel."""

    def __init__(self, requester_id: int, pages: Sequence[Reply], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.requester_id = requester_id
        self.pages = list(pages)
        self.index = 0
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None
        if len(self.pages) < 2:
            self.remove_item(self.previous_page)
            self.remove_item(self.next_page)
        self._refresh_buttons()

    @property
    def page(self) -> Reply:
        return self.pages[self.index]

    def _refresh_buttons(self) -> None:
        self.previous_page.disabled = self.index == 0
        self.next_page.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.requester_id:
            return True
        await send_private(interaction, NOT_YOURS)
        return False

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._refresh_buttons()
        # A page is one message by construction (see paginate).
        message = render_messages(self.page)[0]
        await interaction.response.edit_message(**to_send_kwargs(message), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary, row=0)
    async def previous_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, row=0)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, +1)

    @discord.ui.button(label="Share in channel", style=discord.ButtonStyle.primary, row=0)
    async def share(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        """Posts the page on screen for everyone, as the bot's answer to this button press."""
        for number, message in enumerate(render_messages(self.page)):
            if number == 0:
                await interaction.response.send_message(**to_send_kwargs(message))
            else:
                await interaction.followup.send(**to_send_kwargs(message))

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit(view=None)
        except discord.HTTPException as error:
            log.debug("could not remove the buttons of an expired answer: %s", error)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        log.error("button %r failed: %s", getattr(item, "label", item), error, exc_info=error)
        try:
            await send_private(interaction, ErrorReply("Something went wrong on our side; the error has been logged."))
        except discord.HTTPException:
            pass
