"""What a `/paper` command is: one object every interface derives its part from.

Why this exists: a command used to live in four to six places (the text
parser, a dispatch table, Slack's and Discord's sets of lookups and admin
commands, the CLI). Now a `Command` holds its name, typed parameters, help
and examples, its handler, who may run it, how its answer is shown and how
it is paged; the text grammar (`parse`), Slack, Discord, the console and the
CLI's lookup subcommands all read these fields, so adding a command touches
the core only. A `CommandRequest` is one parsed invocation that knows its
`Command`, so an adapter never re-reads the text to decide anything.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.models import ChannelRef, Reply

if TYPE_CHECKING:  # only for annotations: the model needs no service at run time
    from bot.ask import PaperAsker
    from bot.ports import ArxivLookup
    from bot.ranking import Ranking
    from bot.service import PaperService
    from bot.subscriptions import SubscriptionService

COMMAND_PREFIX = "/paper"


class Access(enum.Enum):
    """Who may run a command. Each platform says who its admins are; the router enforces this."""

    ANYONE = "anyone"
    ADMIN = "admin"


class Visibility(enum.Enum):
    """Who sees a successful answer (an error is always for the requester only)."""

    PRIVATE = "private"  # the requester only
    SHAREABLE = "shareable"  # the requester, with a "Share in channel" button that re-runs it for everyone
    PUBLIC = "public"  # the whole channel: it changed something the channel should know about


class Completion(enum.Enum):
    """What a parameter's value names, so interfaces can offer choices or complete it."""

    NONE = "none"
    TOPIC = "topic"
    PAPER = "paper"
    COMMAND = "command"


@dataclass(frozen=True)
class Param:
    """One parameter of a command.

    In text every parameter can be given as a word in its place; `flag` ones
    also as `--name VALUE` anywhere, and a `rest` one takes all remaining
    words (a query, a schedule). `noun` names the value in messages ("show
    takes exactly one paper id").
    """

    name: str
    description: str
    noun: str
    type: type = str  # str or int
    required: bool = False
    rest: bool = False
    flag: bool = False
    bounds: tuple[int, int] | None = None  # for int parameters: the accepted range, inclusive
    completion: Completion = Completion.NONE
    metavar: str = ""  # how the command line shows it; NAME in capitals unless given
    short_flag: str | None = None  # the command line's one-letter form, e.g. "-n"
    example: str = ""  # a value to show in hints ("--count 10")
    flag_only: bool = False  # only as `--name VALUE`: never a word in its place (it would take a `rest` one's words)

    @property
    def usage(self) -> str:
        return f"<{self.name}>" if self.required else f"[{self.name}]"

    @property
    def placeholder(self) -> str:
        return self.metavar or self.name.upper()

    @property
    def example_value(self) -> str:
        return self.example or self.placeholder

    @property
    def article(self) -> str:
        return "an" if self.noun[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class CommandContext:
    """What handlers work with: the services, the registry (help lists it), and arXiv for `add` (None when off)."""

    service: PaperService
    subscriptions: SubscriptionService | None
    registry: Registry
    asker: PaperAsker | None = None  # questions through the language model, when [notes] is set up
    arxiv: ArxivLookup | None = None  # `/paper add`'s arXiv client, when [fetch] is on
    ranking: Ranking | None = None


Handler = Callable[[CommandContext, "CommandRequest"], Awaitable[Reply]]
# The `paperbot <command> --json` answer: the data, and notes for standard error.
JsonAnswer = tuple[Any, tuple[str, ...]]
JsonHandler = Callable[[CommandContext, "CommandRequest"], Awaitable[JsonAnswer]]


@dataclass(frozen=True)
class Command:
    """One `/paper` subcommand (see the module docstring)."""

    name: str
    description: str
    handler: Handler = field(compare=False)
    params: tuple[Param, ...] = ()
    examples: tuple[str, ...] = ()
    access: Access = Access.ANYONE
    visibility: Visibility = Visibility.PRIVATE
    # List answers are shown this many papers per page where a platform turns pages (Discord).
    page_size: int | None = None
    # What a refused non-admin is told they cannot do ("change subscriptions").
    admin_task: str = ""
    # Set for read-only lookups: they are also `paperbot` subcommands, and this is their `--json`.
    json_handler: JsonHandler | None = field(default=None, compare=False)
    # Parameters that, when given, make a request change something for the channel (`library use
    # <topic>`, where `library` alone only shows): such a request is for admins and answered publicly.
    admin_params: tuple[str, ...] = ()
    # Reads the channel's library or votes (`CommandContext.ranking`): the command line builds a
    # `Ranking` for these only, sparing the other lookups its import (issue 18).
    uses_ranking: bool = False

    @property
    def usage(self) -> str:
        return " ".join([COMMAND_PREFIX, self.name, *(p.usage for p in self.params)])

    @property
    def slots(self) -> list[Param]:
        """The parameters a word can fill by its place (not a `rest` one, not a flag-only one)."""
        return [p for p in self.params if not p.rest and not p.flag_only]

    @property
    def admin_only(self) -> bool:
        return self.access is Access.ADMIN

    @property
    def shareable(self) -> bool:
        """A share button may re-run it for anyone, so only commands anyone may run qualify."""
        return self.visibility is Visibility.SHAREABLE and self.access is Access.ANYONE

    @property
    def on_command_line(self) -> bool:
        return self.json_handler is not None

    def usage_hint(self) -> str:
        example = self.examples[0] if self.examples else ""
        return f"Usage: {self.usage}" + (f", e.g. {example}" if example and example != self.usage else "")


@dataclass(frozen=True)
class CommandRequest:
    """One invocation, parsed once: the command, its typed arguments, who asked and where.

    `text` is the command text that reads back to the same request (a share
    button carries it; None when no text can say it).
    """

    command: Command
    args: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    user: str = ""
    channel: ChannelRef | None = None
    is_admin: bool = False

    @property
    def name(self) -> str:
        return self.command.name

    def as_admin(self, is_admin: bool) -> CommandRequest:
        return replace(self, is_admin=is_admin)

    @property
    def changes_channel(self) -> bool:
        """An otherwise open command given one of its admin parameters."""
        return any(self.args.get(name) is not None for name in self.command.admin_params)

    @property
    def admin_only(self) -> bool:
        return self.command.admin_only or self.changes_channel

    @property
    def visibility(self) -> Visibility:
        return Visibility.PUBLIC if self.changes_channel else self.command.visibility

    @property
    def shareable(self) -> bool:
        return self.command.shareable and not self.changes_channel


class Registry:
    """The commands, in the order help lists them; a test may add a throwaway one for a while."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[str, Command] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"a command named {command.name!r} is already registered")
        self._commands[command.name] = command

    def remove(self, name: str) -> None:
        del self._commands[name]

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def __getitem__(self, name: str) -> Command:
        return self._commands[name]

    def __iter__(self) -> Iterator[Command]:
        return iter(list(self._commands.values()))

    def names(self) -> list[str]:
        return list(self._commands)

    def flag_params(self) -> list[Param]:
        """The `--name VALUE` options any command takes, once each."""
        seen: dict[str, Param] = {}
        for command in self._commands.values():
            for param in command.params:
                if param.flag:
                    seen.setdefault(param.name, param)
        return list(seen.values())
