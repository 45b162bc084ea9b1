"""Buttons under `/paper` answers: turn pages, and share a private answer in the channel.

Why this module exists: lookup answers are ephemeral (only the asker sees
them, so a search does not flood the channel); these buttons let the asker
turn the pages of a long answer and post what they found for everyone.

A button carries its state in its `custom_id`: `paper:page:<n>:<command
text>` shows page n, `paper:share:<n>:<command text>` posts page n to the
channel. A press re-runs the command from that text (as Slack's share button
does) and the pages come from the core (`bot.commands.paging`), cut so each
renders as ONE Discord message, so turning a page is one message edit.
Nothing lives only in memory, so buttons keep working after a restart:
discord.py's `DynamicItem` turns any `custom_id` matching the template back
into a button (the client registers the adapter's button type at start). An
answer whose state would not fit Discord's 100 characters gets no buttons
and shows all its pages at once, as Slack and the console do.

Rules: only the person who ran the command may press the buttons (others get
a private note, and nothing changes); the buttons sent with an answer are
removed after `timeout` seconds by that answer's view (a tidy-up while the
answer can still be edited; until then they work, across restarts too);
every message goes out with `allowed_mentions` none, as everything from
`adapters.discord.render` does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol

import discord

from adapters.discord.render import render_messages, to_send_kwargs
from bot.commands.paging import paginate as paginate_reply
from bot.models import ErrorReply, PaperListReply, Reply

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0  # ten minutes; ephemeral messages can be edited for fifteen
MAX_CUSTOM_ID = 100  # Discord's limit
PAGE, SHARE = "page", "share"
CUSTOM_ID_TEMPLATE = r"paper:(?P<action>page|share):(?P<page>[0-9]{1,4}):(?P<text>.+)"
NOT_YOURS = ErrorReply("These buttons belong to the person who ran the command.", "Run /paper yourself to get your own.")
BUTTON_GONE = ErrorReply("This button no longer works; run the command again.")
SOMETHING_WENT_WRONG = ErrorReply("Something went wrong on our side; the error has been logged.")


def fits_one_message(page: PaperListReply) -> bool:
    return len(render_messages(page)) == 1


def paginate(reply: PaperListReply, per_page: int) -> list[PaperListReply]:
    """The core's pages of at most `per_page` cards, each of which renders as ONE Discord message.

    (A single card too big for one message, which needs a TLDR over ~5,500
    characters, would show its first message only; TLDRs are a few sentences.)
    """
    return paginate_reply(reply, per_page, fits_one_message)


def custom_id(action: str, page: int, text: str) -> str:
    return f"paper:{action}:{page}:{text}"


def state_fits(text: str | None, pages: int) -> bool:
    """Whether every button of an answer with this many pages can carry `text`."""
    return text is not None and "\n" not in text and len(custom_id(SHARE, pages + 1, text)) <= MAX_CUSTOM_ID


async def send_private(interaction: discord.Interaction, reply: Reply) -> None:
    """A short ephemeral answer to a component or command interaction (first response or followup)."""
    for message in render_messages(reply):
        if interaction.response.is_done():
            await interaction.followup.send(**to_send_kwargs(message), ephemeral=True)
        else:
            await interaction.response.send_message(**to_send_kwargs(message), ephemeral=True)


class ButtonPresses(Protocol):
    """What runs a press: the adapter's command handler (it re-runs the command from the text)."""

    async def press(self, action: str, page: int, text: str, interaction: discord.Interaction) -> None: ...


class LookupButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    """Previous, Next or Share in channel, with the command and the page in its custom_id.

    Subclassed per adapter by `button_type`, so a press reaches that adapter's handler.
    """

    presses: ClassVar[ButtonPresses | None] = None

    def __init__(self, action: str, page: int, text: str, *, label: str, disabled: bool = False) -> None:
        style = discord.ButtonStyle.primary if action == SHARE else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=custom_id(action, page, text), disabled=disabled, row=0)
        )
        self.action, self.page, self.text = action, page, text

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> LookupButton:
        label = getattr(item, "label", None) or ""
        return cls(
            match["action"], int(match["page"]), match["text"], label=label, disabled=bool(getattr(item, "disabled", False))
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        metadata = interaction.message.interaction_metadata if interaction.message is not None else None
        if metadata is None or metadata.user.id == interaction.user.id:
            return True
        await send_private(interaction, NOT_YOURS)
        return False

    async def callback(self, interaction: discord.Interaction) -> None:
        presses = self.presses
        press = (lambda: presses.press(self.action, self.page, self.text, interaction)) if presses is not None else None
        await answer_press(interaction, repr(self.item.label), press)


async def answer_press(interaction: discord.Interaction, what: str, press: Callable[[], Awaitable[None]] | None) -> None:
    """Run a button's press (None: no handler, the button no longer works); a failure is logged and the
    presser told privately, never left with Discord's "interaction failed"."""
    try:
        if press is None:
            await send_private(interaction, BUTTON_GONE)
            return
        await press()
    except Exception as error:
        log.error("button %s failed: %s", what, error, exc_info=error)
        try:
            await send_private(interaction, SOMETHING_WENT_WRONG)
        except discord.HTTPException:
            pass


def button_type(presses: ButtonPresses) -> type[LookupButton]:
    """The button class whose presses `presses` runs; register it with `Client.add_dynamic_items`."""

    class PaperButton(LookupButton, template=CUSTOM_ID_TEMPLATE):
        pass

    PaperButton.presses = presses
    return PaperButton


def lookup_buttons(kind: type[LookupButton], text: str, page: int, pages: int, *, share: bool) -> list[LookupButton]:
    """The buttons under page `page` of `pages`: Previous/Next when there are pages, and Share in channel."""
    buttons = []
    if pages > 1:
        buttons.append(kind(PAGE, page - 1, text, label="Previous", disabled=page <= 1))
        buttons.append(kind(PAGE, page + 1, text, label="Next", disabled=page >= pages))
    if share:
        buttons.append(kind(SHARE, page, text, label="Share in channel"))
    return buttons


def buttons_view(buttons: Sequence[discord.ui.Item[Any]], *, timeout: float | None) -> LookupView:
    view = LookupView(timeout=timeout)
    for button in buttons:
        view.add_item(button)
    return view


class LookupView(discord.ui.View):
    """The buttons sent with an answer; `on_timeout` removes them from the answer."""

    def __init__(self, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.message: discord.InteractionMessage | discord.WebhookMessage | None = None

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit(view=None)
        except discord.HTTPException as error:
            log.debug("could not remove the buttons of an expired answer: %s", error)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]) -> None:
        log.error("button %r failed: %s", getattr(item, "label", item), error, exc_info=error)
