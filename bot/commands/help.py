"""`/paper help`, and the answer to a command that does not exist: both written from the registry.

Why this exists: help is the one command that lists the others, so its text
comes from the `Command` objects (usage, description, parameters, examples)
and a new command appears in it by being registered.
"""

from __future__ import annotations

from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, Completion, Param, Registry
from bot.errors import UserError
from bot.models import ErrorReply, NoticeReply, Reply

HELP_COMMAND = "help"


def help_lines(registry: Registry) -> tuple[str, ...]:
    lines = [f"{command.usage} — {command.description}" for command in registry]
    # Options several commands share; one command's own (recommend --since) are in its own help.
    flags = [param for param in registry.flag_params() if sum(param in command.params for command in registry) > 1]
    if flags:
        options = " and ".join(f"--{param.name} {param.placeholder}" for param in flags)
        lines.append(f"Options can also be given as {options}.")
    return tuple(lines)


def help_reply(registry: Registry, command_name: str | None = None) -> Reply:
    if command_name is None:
        return NoticeReply(help_lines(registry), title="paperbot commands")
    command = registry.get(command_name)
    if command is None:
        return unknown_command_reply(registry, command_name)
    lines = [command.usage, command.description]
    lines.extend(f"  {param.name}: {param.description}" for param in command.params)
    lines.extend(f"Example: {example}" for example in command.examples)
    return NoticeReply(tuple(lines), title=f"{COMMAND_PREFIX} {command.name}")


def unknown_command_error(registry: Registry, name: str) -> UserError:
    import difflib  # only for a command that does not exist

    shown = name if len(name) <= 40 else name[:37] + "..."
    close = difflib.get_close_matches(name.lower(), registry.names(), n=1, cutoff=0.5)
    did_you_mean = f"Did you mean {COMMAND_PREFIX} {close[0]}? " if close else ""
    return UserError(f"Unknown command '{shown}'.", did_you_mean + "Commands:\n" + "\n".join(help_lines(registry)))


def unknown_command_reply(registry: Registry, name: str) -> ErrorReply:
    error = unknown_command_error(registry, name)
    return ErrorReply(error.message, error.hint)


async def _help(context: CommandContext, request: CommandRequest) -> Reply:
    name = request.args.get("command")
    return help_reply(context.registry, str(name) if name else None)


HELP = Command(
    HELP_COMMAND,
    "What each command does",
    _help,
    (Param("command", "A command to explain", "command", completion=Completion.COMMAND),),
    examples=(f"{COMMAND_PREFIX} help search",),
)
