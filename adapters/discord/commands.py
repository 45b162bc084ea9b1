"""The `/paper` application-command group, built from the core's command registry.

Why this module exists: Discord wants typed, described options and answers
within three seconds; the core wants a `CommandRequest` and gives back a
`Reply`. This module is that translation and nothing else: one subcommand per
`bot.commands.REGISTRY` entry (names, descriptions, required options and
option kinds all come from there, so the two cannot drift), autocomplete for
topics and papers, and the answer rules:

- lookups (latest, search, show, topics) are deferred, answered privately
  (ephemeral) with a "Share in channel" button; search results come in pages
  with Previous/Next (the search runs once, for up to 25 results, and `count`
  is the page size);
- help, subscriptions and digest previews are private, without buttons;
- subscribe/unsubscribe need Manage Server, checked here at run time (the
  `default_permissions` declaration is only a hint: Discord applies it to
  top-level commands, not to subcommands of a group); they are quick store
  writes, so they answer directly: public on success, private on error.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import re
from typing import Any, Awaitable, Callable, Optional

import discord
from discord import app_commands

from adapters.discord.render import one_line, render_messages, to_send_kwargs
from adapters.discord.views import DEFAULT_TIMEOUT, LookupView, paginate, send_private
from bot.commands import REGISTRY, Command, CommandRouter
from bot.errors import UserError
from bot.models import ChannelRef, CommandRequest, ErrorReply, PaperListReply, Reply
from bot.service import DEFAULT_COUNT, MAX_COUNT, MAX_QUERY_CHARS
from bot.text import shorten

log = logging.getLogger(__name__)

GROUP_NAME = "paper"
GROUP_DESCRIPTION = "Research papers: lookups, search and weekly digests"
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
MAX_DESCRIPTION = 100  # Discord's limit for command and option descriptions

LOOKUPS = frozenset({"latest", "search", "show", "topics"})
ADMIN_ONLY = frozenset(name for name, command in REGISTRY.items() if command.admin_only)
NEEDS_MANAGE_SERVER = ErrorReply(
    "Only members with the Manage Server permission can change this channel's digests.",
    "Ask a server admin; anyone can see them with /paper subscriptions.",
)
NOT_IN_A_SERVER = ErrorReply("/paper works in server channels only.", "Use it in a channel of a server the bot is in.")
_ID_PREFIX = re.compile(r"^\d{2,4}(\.\d{0,5})?$")

OPTION_TYPES: dict[str, Any] = {
    "text": str,
    "topic": str,
    "paper": str,
    "when": str,
    "command": str,
    "count": app_commands.Range[int, 1, MAX_COUNT],
}


def option_type_problem(spec: Command, options: dict[str, Any]) -> ErrorReply | None:
    """An option whose value is not of its declared type (a client or a stale command list sent it): which, and the usage.

    discord.py passes option values through as Discord sent them; the core
    would fail on them with a bug's "something went wrong". The value itself
    is not echoed.
    """
    for param in spec.params:
        value = options.get(param.name)
        if value is None:
            continue
        if param.kind == "count":
            if isinstance(value, int) and not isinstance(value, bool):
                continue
            expected = f"a whole number from 1 to {MAX_COUNT}"
        elif isinstance(value, str):
            continue
        else:
            expected = "text"
        return ErrorReply(f"The {param.name} option must be {expected}.", f"Usage: {spec.usage}")
    return None


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


def command_request(action: str, options: dict[str, Any], interaction: discord.Interaction) -> CommandRequest:
    """The neutral request for one invocation: typed options as args, who, where, and admin or not."""
    args = {name: value for name, value in options.items() if value is not None}
    channel_id = interaction.channel_id or getattr(interaction.channel, "id", None)
    return CommandRequest(
        action,
        args,
        user=str(interaction.user.id) if interaction.user else "",
        channel=channel_ref(interaction.guild_id, interaction.channel, channel_id),
        is_admin=is_admin(interaction.permissions),
    )


def _choice_name(text: str) -> str:
    return shorten(one_line(text), MAX_CHOICE_NAME)


class PaperCommands:
    """Runs one `/paper` subcommand invocation: request, dispatch, answer."""

    def __init__(self, router: CommandRouter, *, view_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.router = router
        self.service = router.service
        self.view_timeout = view_timeout

    # --- invocations -------------------------------------------------------------------

    async def run(self, action: str, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        if interaction.guild_id is None:
            await send_private(interaction, NOT_IN_A_SERVER)
            return
        mistyped = option_type_problem(REGISTRY[action], options)
        if mistyped is not None:
            log.info("/paper %s refused: %s", action, mistyped.message)
            await send_private(interaction, mistyped)
            return
        request = command_request(action, options, interaction)
        if action in ADMIN_ONLY:
            await self._run_admin(request, interaction)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if action == "search":
            reply, pages = await self._search(request)
        else:
            reply = await self.router.dispatch(request)
            pages = [reply]
        share = action in LOOKUPS and not isinstance(reply, ErrorReply)
        await self._answer(interaction, pages, share=share)

    async def _run_admin(self, request: CommandRequest, interaction: discord.Interaction) -> None:
        if not request.is_admin:
            log.info("/paper %s refused: user %s lacks Manage Server in %s", request.action, request.user, request.channel.key if request.channel else "?")
            await send_private(interaction, NEEDS_MANAGE_SERVER)
            return
        reply = await self.router.dispatch(request)
        private = isinstance(reply, ErrorReply)
        for number, message in enumerate(render_messages(reply)):
            if number == 0:
                await interaction.response.send_message(**to_send_kwargs(message), ephemeral=private)
            else:
                await interaction.followup.send(**to_send_kwargs(message), ephemeral=private)

    async def _search(self, request: CommandRequest) -> tuple[Reply, list[Reply]]:
        """One search for up to 25 results, shown `count` per page."""
        per_page = request.args.get("count", DEFAULT_COUNT)
        if not isinstance(per_page, int) or not 1 <= per_page <= MAX_COUNT:
            reply = await self.router.dispatch(request)  # the core phrases the range error
            return reply, [reply]
        reply = await self.router.dispatch(dataclasses.replace(request, args={**request.args, "count": MAX_COUNT}))
        if not isinstance(reply, PaperListReply):
            return reply, [reply]
        return reply, list(paginate(reply, per_page))

    async def _answer(self, interaction: discord.Interaction, pages: list[Reply], *, share: bool) -> None:
        """Followups after the defer: every message of the first page; buttons under the last."""
        paged = len(pages) > 1
        view = LookupView(interaction.user.id, pages, timeout=self.view_timeout) if share or paged else None
        messages = render_messages(pages[0])
        for number, message in enumerate(messages):
            last = number == len(messages) - 1
            kwargs = to_send_kwargs(message)
            if last and view is not None:
                view.message = await interaction.followup.send(**kwargs, ephemeral=True, view=view, wait=True)
            else:
                await interaction.followup.send(**kwargs, ephemeral=True)

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


def _guarded(complete: Callable[[discord.Interaction, str], Awaitable[list]]) -> Callable[[discord.Interaction, str], Awaitable[list]]:
    """Autocomplete must answer within three seconds even when a lookup fails: no choices, logged."""

    async def autocomplete(interaction: discord.Interaction, current: str) -> list:
        try:
            return await complete(interaction, current)
        except Exception:
            log.exception("autocomplete for /paper failed")
            return []

    return autocomplete


def build_subcommand(spec: Command, handler: PaperCommands) -> app_commands.Command:
    """One subcommand from a registry entry: its options, their types and descriptions, autocomplete."""

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await handler.run(spec.name, interaction, options)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for param in spec.params:
        annotation = OPTION_TYPES[param.kind]
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
    if any(p.kind == "command" for p in spec.params):
        names = [app_commands.Choice(name=name, value=name) for name in REGISTRY]
        app_commands.choices(**{p.name: names for p in spec.params if p.kind == "command"})(callback)
    if spec.admin_only:
        # A hint only: Discord ignores default_member_permissions on subcommands (see the module docstring).
        app_commands.default_permissions(manage_guild=True)(callback)
    command = app_commands.Command(name=spec.name, description=shorten(spec.description, MAX_DESCRIPTION), callback=callback)
    for param in spec.params:
        if param.kind == "topic":
            command.autocomplete(param.name)(_guarded(handler.complete_topic))
        elif param.kind == "paper":
            command.autocomplete(param.name)(_guarded(handler.complete_paper))
    return command


def build_group(handler: PaperCommands) -> app_commands.Group:
    """`/paper` with one subcommand per registry entry, usable in servers only."""
    group = app_commands.Group(name=GROUP_NAME, description=GROUP_DESCRIPTION, guild_only=True)
    for spec in REGISTRY.values():
        group.add_command(build_subcommand(spec, handler))
    return group
