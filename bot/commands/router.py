"""Where a `/paper` request becomes an answer: read once, check who may run it, run its handler.

Why this exists: adapters read a request once (`read` for text, `request`
for typed options), look at `request.command` for anything they must decide
before answering (ask the platform whether the user is an admin, defer a
slow answer), then `answer` it. The `Answer` carries everything a platform
needs to show it: the reply, who sees it, whether it can be shared, and its
pages. Every outcome is an answer, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, JsonAnswer, Registry, Visibility
from bot.commands.paging import Fits, fits_anywhere, paginate
from bot.commands.parse import bind, command_text, read_text, read_words
from bot.commands.registry import REGISTRY
from bot.commands.votes import answer_click
from bot.errors import StoreError, UserError
from bot.models import ChannelRef, ErrorReply, PaperListReply, Reply
from bot.ports import ArxivLookup
from bot.service import PaperService
from bot.votes import VoteAction

if TYPE_CHECKING:
    from bot.ask import PaperAsker
    from bot.ranking import Ranking
    from bot.subscriptions import SubscriptionService  # the digest engine: a CLI lookup has none

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = ErrorReply("Something went wrong on our side; the error has been logged.", "Please try again in a moment.")


@dataclass(frozen=True)
class Answer:
    """A request's reply, and how to show it. `request` is None when the text could not be read."""

    reply: Reply
    request: CommandRequest | None = None

    @property
    def failed(self) -> bool:
        return isinstance(self.reply, ErrorReply)

    @property
    def visibility(self) -> Visibility:
        if self.failed or self.request is None:
            return Visibility.PRIVATE
        return self.request.visibility

    @property
    def share_text(self) -> str | None:
        """What a "Share in channel" button re-runs, when the answer has one."""
        if self.visibility is not Visibility.SHAREABLE or self.request is None or not self.request.shareable:
            return None
        return self.request.text

    def pages(self, fits: Fits = fits_anywhere) -> list[Reply]:
        """The reply in pages of the command's page size (one page when it is not paged)."""
        size = self.request.command.page_size if self.request is not None else None
        if size and isinstance(self.reply, PaperListReply):
            return list(paginate(self.reply, size, fits))
        return [self.reply]


def error_reply(error: UserError, action: str) -> ErrorReply:
    if isinstance(error, StoreError):
        # The user cannot fix a full disk or a busy store; the bot's owner reads the log.
        log.error("command %s: %s", action, error)
    return ErrorReply(error.message, error.hint)


def refusal(command: Command) -> ErrorReply:
    task = command.admin_task or f"use {COMMAND_PREFIX} {command.name}"
    return ErrorReply(f"Only admins can {task}.", "Ask a workspace or server admin.")


class CommandRouter:
    """Reads and answers `/paper` requests against the services, with the commands of `registry`."""

    def __init__(
        self, service: PaperService, subscriptions: SubscriptionService | None = None, *, registry: Registry = REGISTRY,
        asker: PaperAsker | None = None,
        arxiv: ArxivLookup | None = None,
        ranking: Ranking | None = None,
    ) -> None:  # fmt: skip
        self.service = service
        self.subscriptions = subscriptions
        self.registry = registry
        self.context = CommandContext(service, subscriptions, registry, asker, arxiv, ranking)

    # --- reading ------------------------------------------------------------------------

    async def read(
        self, text: str, *, user: str = "", channel: ChannelRef | None = None, is_admin: bool = False
    ) -> CommandRequest:
        """The request a text asks for; raises UserError (with usage) for text that does not read."""
        request = await read_text(text, self.registry, self.service.topic_names)
        return replace(request, user=user, channel=channel, is_admin=is_admin)

    async def read_words(self, words: Sequence[str]) -> CommandRequest:
        return await read_words(words, self.registry, self.service.topic_names)

    def request(
        self, command: Command, options: Mapping[str, object], *, user: str = "", channel: ChannelRef | None = None,
        is_admin: bool = False,
    ) -> CommandRequest:  # fmt: skip
        """The request for typed options (a platform's own command form); raises UserError for a mistyped one."""
        args = bind(command, options)
        return CommandRequest(command, args, command_text(command, args), user, channel, is_admin)

    # --- answering ----------------------------------------------------------------------

    def failed(self, error: UserError, what: str = COMMAND_PREFIX) -> Answer:
        return Answer(error_reply(error, what))

    async def answer(self, request: CommandRequest) -> Answer:
        command = request.command
        if request.admin_only and not request.is_admin:
            return Answer(refusal(command), request)
        try:
            reply = await command.handler(self.context, request)
        except UserError as error:
            reply = error_reply(error, command.name)
        except Exception:
            log.exception("command %s failed", command.name)
            reply = SOMETHING_WENT_WRONG
        return Answer(reply, request)

    async def answer_button(
        self, text: str, *, share: bool, user: str = "", channel: ChannelRef | None = None
    ) -> Answer | None:
        """What a button's press re-runs from the command text it carries, as the presser and never as
        an admin: any command anyone may run (to turn its pages), a shareable one to `share` it.
        None when the text is no such command (a button is data, not an authority; or an older
        grammar wrote it)."""
        try:
            request = await self.read(text, user=user, channel=channel)
        except StoreError as error:
            return self.failed(error, "button")
        except UserError:
            return None
        allowed = request.shareable if share else not request.admin_only
        return await self.answer(request) if allowed else None

    async def answer_text(
        self, text: str, *, user: str = "", channel: ChannelRef | None = None, is_admin: bool = False
    ) -> Answer:
        try:
            request = await self.read(text, user=user, channel=channel, is_admin=is_admin)
        except UserError as error:
            return self.failed(error)
        return await self.answer(request)

    async def handle_text(
        self, text: str, *, user: str = "", channel: ChannelRef | None = None, is_admin: bool = False
    ) -> Reply:
        return (await self.answer_text(text, user=user, channel=channel, is_admin=is_admin)).reply

    async def answer_vote(
        self, paper: str, action: VoteAction, *, undo: bool = False, user: str = "", channel: ChannelRef | None = None
    ) -> tuple[Reply, bool]:
        """A vote button's click (or its Undo), for the clicker only; True when the answer should offer an Undo."""
        try:
            return await answer_click(self.context, channel, user, paper, action, undo=undo)
        except UserError as error:
            return error_reply(error, "vote"), False
        except Exception:
            log.exception("vote %s on %s failed", action.value, paper)
            return SOMETHING_WENT_WRONG, False

    async def answer_json(self, request: CommandRequest) -> JsonAnswer:
        """A lookup's `--json` data; a UserError propagates (the CLI prints it and exits 2)."""
        handler = request.command.json_handler
        if handler is None:
            raise UserError(f"{request.name} has no JSON form.")
        return await handler(self.context, request)

