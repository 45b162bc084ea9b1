"""The `/paper` application-command group, built from the core's command objects.

Why this module exists: Discord wants typed, described options and answers
within three seconds; the core wants a `CommandRequest` and gives back an
`Answer`. This module is that translation and nothing else: one subcommand
per registered `Command` (names, descriptions, option types, required
options, choices and autocomplete all come from its `Param`s, so the two
cannot drift), and the answer rules, read from the command:

- a public command (subscribe/unsubscribe) is a quick store write: answered
  directly, public on success, private on error;
- every other command is deferred and answered privately (ephemeral); a
  shareable one gets a "Share in channel" button, and an answer the core
  cuts into pages (`count` results, a page size from the core) gets
  Previous/Next (`adapters.discord.views`: the buttons carry the command
  text, so they work after a restart); cards that take votes get 👍/👎/🔖
  buttons under each message (`adapters.discord.votes`), and a click is
  acknowledged privately with an Undo;
- a command for admins needs Manage Server, checked here at run time (the
  `default_permissions` declaration is only a hint: Discord applies it to
  top-level commands, not to subcommands of a group).
"""

from __future__ import annotations

import inspect
import io
import logging
import re
from typing import Any, Callable, Coroutine, Optional

import discord
from discord import app_commands

from adapters.discord.render import one_line, render_messages, to_send_kwargs
from adapters.discord.views import (
    BUTTON_GONE,
    DEFAULT_TIMEOUT,
    PAGE,
    button_type,
    buttons_view,
    fits_one_message,
    lookup_buttons,
    send_private,
    state_fits,
)
from adapters.discord.votes import VoteButton, message_cards, undo_view, vote_button_type, vote_buttons
from bot.commands import Answer, Command, CommandRouter, Completion, Param, Visibility
from bot.errors import UserError
from bot.models import ChannelRef, ErrorReply, FileReply, Reply
from bot.service import MAX_COUNT, MAX_QUERY_CHARS
from bot.text import shorten
from bot.votes import VoteAction

log = logging.getLogger(__name__)

GROUP_NAME = "paper"
GROUP_DESCRIPTION = "Research papers: lookups, search and weekly digests"
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
MAX_DESCRIPTION = 100  # Discord's limit for command and option descriptions

MAX_ATTACHMENT_BYTES = 8 * 2**20  # what any bot may attach, boosted server or not (Discord allows 10 MiB now)
FOREIGN_VOTE = ErrorReply("This button belongs to another server; nothing was recorded.")
NOT_IN_A_SERVER = ErrorReply("/paper works in server channels only.", "Use it in a channel of a server the bot is in.")
_ID_PREFIX = re.compile(r"^\d{2,4}(\.\d{0,5})?$")


def attachment(reply: Reply) -> dict[str, Any]:
    """discord.py's `file=` for a FileReply (sent as a multipart attachment); nothing for other replies."""
    if not isinstance(reply, FileReply):
        return {}
    return {"file": discord.File(io.BytesIO(reply.content), filename=reply.filename)}


def needs_manage_server(command: Command) -> ErrorReply:
    task = command.admin_task or f"use /paper {command.name}"
    return ErrorReply(f"Only members with the Manage Server permission can {task}.", "Ask a server admin.")


def option_type(param: Param) -> Any:
    """The annotation discord.py turns into the option's type (a bounded integer, or a string)."""
    if param.type is int:
        return app_commands.Range[int, param.bounds[0], param.bounds[1]] if param.bounds else int
    return str


def is_admin(permissions: discord.Permissions) -> bool:
    """Manage Server (or Administrator, which Discord reports with every bit set anyway)."""
    return permissions.manage_guild or permissions.administrator


def channel_ref(guild_id: int | None, channel: Any, channel_id: int | None) -> ChannelRef | None:
    """Where the command ran; in a thread (or forum post) digests go to the thread."""
    if guild_id is None or channel_id is None:
        return None
    parent_id = getattr(channel, "parent_id", None)
    if isinstance(channel, discord.Thread) and parent_id:
        return ChannelRef("discord", str(parent_id), str(guild_id), str(channel_id))
    return ChannelRef("discord", str(channel_id), str(guild_id))


def where(interaction: discord.Interaction) -> ChannelRef | None:
    channel_id = interaction.channel_id or getattr(interaction.channel, "id", None)
    return channel_ref(interaction.guild_id, interaction.channel, channel_id)


def _choice_name(text: str) -> str:
    return shorten(one_line(text), MAX_CHOICE_NAME)


class PaperCommands:
    """Runs one `/paper` subcommand invocation (request, answer) and the presses of its buttons."""

    def __init__(self, router: CommandRouter, *, view_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.router = router
        self.service = router.service
        self.view_timeout = view_timeout
        self.button_type = button_type(self)  # the client registers it, so buttons work after a restart
        self.vote_type: type[VoteButton] = vote_button_type(self)  # so does it this one

    # --- invocations -------------------------------------------------------------------

    async def run(self, command: Command, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        if interaction.guild_id is None:
            await send_private(interaction, NOT_IN_A_SERVER)
            return
        try:
            request = self.router.request(
                command, options, user=str(interaction.user.id) if interaction.user else "", channel=where(interaction),
                is_admin=is_admin(interaction.permissions),
            )
        except UserError as error:
            log.info("/paper %s refused: %s", command.name, error.message)
            await send_private(interaction, ErrorReply(error.message, error.hint))
            return
        if request.admin_only and not request.is_admin:
            log.info(
                "/paper %s refused: user %s lacks Manage Server in %s",
                command.name,
                request.user,
                request.channel.key if request.channel else "?",
            )
            await send_private(interaction, needs_manage_server(command))
            return
        if request.visibility is Visibility.PUBLIC:
            await self._answer_directly(interaction, await self.router.answer(request))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._answer(interaction, await self.router.answer(request))

    async def _answer_directly(self, interaction: discord.Interaction, answer: Answer) -> None:
        """The first response itself: public on success, private on error (a deferral would fix one of them).
        An export's file rides on it as an attachment."""
        if isinstance(answer.reply, FileReply) and len(answer.reply.content) > MAX_ATTACHMENT_BYTES:
            too_large = f"{answer.reply.filename} is larger than Discord takes from a bot ({MAX_ATTACHMENT_BYTES // 2**20} MB)."
            answer = Answer(ErrorReply(too_large, "Use `paperbot export` on the server."))
        private = answer.visibility is not Visibility.PUBLIC
        for number, message in enumerate(render_messages(answer.reply)):
            if number == 0:
                kwargs = {**to_send_kwargs(message), **attachment(answer.reply)}
                await interaction.response.send_message(**kwargs, ephemeral=private)
            else:
                await interaction.followup.send(**to_send_kwargs(message), ephemeral=private)

    async def _answer(self, interaction: discord.Interaction, answer: Answer) -> None:
        """Followups after the defer: every message of the first page; buttons under the last."""
        pages = answer.pages(fits_one_message)
        request = answer.request
        text = request.text if request is not None and not request.admin_only else None
        if not state_fits(text, len(pages)):
            text, pages = None, [answer.reply]  # no button can carry it: all pages at once
        share = answer.share_text is not None
        buttons = lookup_buttons(self.button_type, text, 1, len(pages), share=share) if text is not None else []
        guild = str(interaction.guild_id or "")
        messages = render_messages(pages[0])
        for number, message in enumerate(messages):
            kwargs = to_send_kwargs(message)
            paging = buttons if number == len(messages) - 1 else []
            votes = vote_buttons(self.vote_type, guild, message_cards(pages[0], message))
            if paging or votes:
                view = buttons_view([*paging, *votes], timeout=self.view_timeout)
                view.message = await interaction.followup.send(**kwargs, ephemeral=True, view=view, wait=True)
            else:
                await interaction.followup.send(**kwargs, ephemeral=True)

    # --- buttons -----------------------------------------------------------------------

    async def press(self, action: str, page: int, text: str, interaction: discord.Interaction) -> None:
        """Re-run the button's command as the presser and show (or share) page `page` of its answer."""
        answer = await self.router.answer_button(
            text, share=action != PAGE, user=str(interaction.user.id), channel=where(interaction)
        )
        if answer is None:
            await send_private(interaction, BUTTON_GONE)
            return
        if answer.failed:
            await send_private(interaction, answer.reply)
            return
        pages = answer.pages(fits_one_message)
        number = max(1, min(len(pages), page))
        shown: Reply = pages[number - 1]
        if action == PAGE:
            # A page is one message by construction (see bot.commands.paging).
            message = render_messages(shown)[0]
            paging = lookup_buttons(self.button_type, text, number, len(pages), share=answer.share_text is not None)
            votes = vote_buttons(self.vote_type, str(interaction.guild_id or ""), message_cards(shown, message))
            await interaction.response.edit_message(**to_send_kwargs(message), view=buttons_view([*paging, *votes], timeout=None))
            return
        for index, message in enumerate(render_messages(shown)):
            if index == 0:
                await interaction.response.send_message(**to_send_kwargs(message))
            else:
                await interaction.followup.send(**to_send_kwargs(message))

    async def vote(self, action: VoteAction, arxiv_id: str, guild: str, undo: bool, interaction: discord.Interaction) -> None:
        """A 👍/👎/🔖 click (or its Undo), in the server the button was posted to only; answered privately."""
        if interaction.guild_id is None or (guild and str(interaction.guild_id) != guild):
            log.warning("discord: refused a vote from server %s on a button of server %s", interaction.guild_id, guild or "?")
            await send_private(interaction, FOREIGN_VOTE)
            return
        reply, offer_undo = await self.router.answer_vote(
            arxiv_id, action, undo=undo, user=str(interaction.user.id), channel=where(interaction)
        )
        if not offer_undo:
            await send_private(interaction, reply)
            return
        view = undo_view(self.vote_type, action, str(interaction.guild_id), arxiv_id)
        acknowledgement = render_messages(reply)[0]  # one line
        await interaction.response.send_message(**to_send_kwargs(acknowledgement), ephemeral=True, view=view)

    # --- autocomplete ------------------------------------------------------------------

    async def complete_topic(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        text = current.strip().lower()
        choices = []
        for stats in await self.service.topics():
            topic = stats.topic
            if len(topic.name) > MAX_CHOICE_VALUE:
                continue
            if text and text not in topic.name.lower() and text not in topic.display_title.lower():
                continue
            label = topic.name if topic.display_title == topic.name else f"{topic.name} — {topic.display_title}"
            choices.append(app_commands.Choice(name=_choice_name(f"{label} ({stats.paper_count})"), value=topic.name))
            if len(choices) == MAX_CHOICES:
                break
        return choices

    async def complete_paper(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Matching ids first (an exact id, then newest papers whose id starts so), then title/text matches."""
        text = current.strip()[:MAX_QUERY_CHARS]
        papers = []
        if not text:
            papers = await self.service.latest(None, MAX_CHOICES)
        else:
            try:
                papers.append(await self.service.show(text))
            except UserError:
                pass
            if _ID_PREFIX.match(text):
                papers += [p for p in await self.service.latest(None, MAX_COUNT) if p.arxiv_id.startswith(text)]
            try:
                papers += await self.service.search(text, None, MAX_COUNT)
            except UserError:
                pass
        choices, seen = [], set()
        for paper in papers:
            if paper.arxiv_id in seen or len(paper.arxiv_id) > MAX_CHOICE_VALUE:
                continue
            seen.add(paper.arxiv_id)
            choices.append(app_commands.Choice(name=_choice_name(f"{paper.arxiv_id} · {paper.title}"), value=paper.arxiv_id))
            if len(choices) == MAX_CHOICES:
                break
        return choices


# --- building the group ----------------------------------------------------------------


Completer = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]


def _guarded(complete: Completer) -> Completer:
    """Autocomplete must answer within three seconds even when a lookup fails: no choices, logged."""

    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            return await complete(interaction, current)
        except Exception:
            log.exception("autocomplete for /paper failed")
            return []

    return autocomplete


def build_subcommand(spec: Command, handler: PaperCommands) -> app_commands.Command:
    """One subcommand from a command object: its options, their types and descriptions, choices, autocomplete."""

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await handler.run(spec, interaction, options)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for param in spec.params:
        annotation = option_type(param)
        parameters.append(
            inspect.Parameter(
                param.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=annotation if param.required else Optional[annotation],
                default=inspect.Parameter.empty if param.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = spec.name  # a plain function, not a method, to discord.py
    if spec.params:
        app_commands.describe(**{p.name: shorten(p.description, MAX_DESCRIPTION) for p in spec.params})(callback)
    named = [p.name for p in spec.params if p.completion is Completion.COMMAND]
    if named:
        names = [app_commands.Choice(name=name, value=name) for name in handler.router.registry.names()]
        app_commands.choices(**{name: names for name in named})(callback)
    if spec.admin_only:
        # A hint only: Discord ignores default_member_permissions on subcommands (see the module docstring).
        app_commands.default_permissions(manage_guild=True)(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name, description=shorten(spec.description, MAX_DESCRIPTION), callback=callback
    )
    for param in spec.params:
        if param.completion is Completion.TOPIC:
            command.autocomplete(param.name)(_guarded(handler.complete_topic))
        elif param.completion is Completion.PAPER:
            command.autocomplete(param.name)(_guarded(handler.complete_paper))
    return command


def build_group(handler: PaperCommands) -> app_commands.Group:
    """`/paper` with one subcommand per registered command, usable in servers only."""
    group = app_commands.Group(name=GROUP_NAME, description=GROUP_DESCRIPTION, guild_only=True)
    for spec in handler.router.registry:
        group.add_command(build_subcommand(spec, handler))
    return group
