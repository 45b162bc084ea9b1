"""`/paper` commands as objects: the model, the grammar, the families of handlers, the router.

A command is one `Command` (bot.commands.model); the text grammar
(`parse`), the router, Slack, Discord, the console and the CLI's lookup
subcommands (`command_line`) all derive from it. Handlers live in one module
per family (`lookups`, `channel_digests`, `help`); `registry` lists the
commands paperbot ships. This package re-exports what other modules use.
"""

from bot.commands.command_line import for_command_line
from bot.commands.help import help_reply, unknown_command_reply
from bot.commands.model import (
    COMMAND_PREFIX,
    Access,
    Command,
    CommandContext,
    CommandRequest,
    Completion,
    Param,
    Registry,
    Visibility,
)
from bot.commands.params import EXAMPLE_TOPIC
from bot.commands.parse import read_text, read_words
from bot.commands.registry import REGISTRY
from bot.commands.router import Answer, CommandRouter

__all__ = [
    "COMMAND_PREFIX",
    "EXAMPLE_TOPIC",
    "REGISTRY",
    "Access",
    "Answer",
    "Command",
    "CommandContext",
    "CommandRequest",
    "CommandRouter",
    "Completion",
    "Param",
    "Registry",
    "Visibility",
    "for_command_line",
    "help_reply",
    "read_text",
    "read_words",
    "unknown_command_reply",
]
