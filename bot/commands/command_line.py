"""The `paperbot` lookup subcommands, derived from the commands that have a `--json` form.

Why this exists: the CLI's lookups are the chat lookups run against the
store, so their arguments are built from the same `Param`s and read with the
same grammar (`paperbot search driving reward-model-vlm 10` reads as it does
in chat), and hints written in chat form name the `paperbot` command here.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Callable
from typing import Any

from bot.commands.model import COMMAND_PREFIX, Command, Registry
from bot.commands.parse import grammar_note
from bot.commands.registry import REGISTRY

CLI_PREFIX = "paperbot"

AddParser = Callable[..., argparse.ArgumentParser]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's wrapping, without breaking a word at a hyphen: an example's topic name stays one piece to copy."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
        )


def for_command_line(text: str, registry: Registry = REGISTRY) -> str:
    """A message written for chat, with its `/paper <lookup>` suggestions as the `paperbot ...`
    commands a CLI user types. Hints are written once, in chat form; the CLI shows them through
    this, so each interface names its own commands (chat-only ones keep their chat form)."""
    names = "|".join(re.escape(command.name) for command in registry if command.on_command_line)
    if not names:
        return text
    return re.sub(rf"{re.escape(COMMAND_PREFIX)} (?=(?:{names})\b)", f"{CLI_PREFIX} ", text)


def add_lookup_parsers(add_parser: AddParser, registry: Registry = REGISTRY, *, only: str | None = None) -> None:
    """One subcommand per lookup (`only`: that one alone): its words as in chat, its flag parameters as options, and --json."""
    for command in registry:
        if not command.on_command_line or only not in (None, command.name):
            continue
        summary = command.description[:1].lower() + command.description[1:]
        sub = add_parser(
            command.name, help=summary, description=_description(command, registry), formatter_class=HelpFormatter
        )
        sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
        _add_words(sub, command, registry)
        for param in command.params:
            if param.flag:
                names = [param.short_flag] if param.short_flag else []
                sub.add_argument(
                    *names, f"--{param.name}", dest=param.name, metavar=param.placeholder, type=param.type,
                    help=for_command_line(param.description, registry),
                )


def lookup_words(args: argparse.Namespace, registry: Registry = REGISTRY) -> list[str]:
    """A lookup's arguments as chat words, so they are read with the chat grammar."""
    command = registry[args.command]
    words = [command.name]
    given: Any = getattr(args, "words", None)
    if isinstance(given, str):
        words.append(given)
    elif given:
        words += list(given)
    for param in command.params:
        value = getattr(args, param.name, None) if param.flag else None
        if value is not None:
            words += [f"--{param.name}", str(value)]
    return words


def _description(command: Command, registry: Registry) -> str:
    parts = [f"{command.description}.", grammar_note(command), "Reads the store without changing it."]
    examples = [for_command_line(example, registry) for example in command.examples if example != command.usage]
    if examples:
        parts.append("Example" + ("s: " if len(examples) > 1 else ": ") + ", ".join(f"`{e}`" for e in examples) + ".")
    return " ".join(part for part in parts if part)


def _add_words(sub: argparse.ArgumentParser, command: Command, registry: Registry) -> None:
    params = command.params
    if not params:
        return
    first = params[0]
    if first.rest:
        sub.add_argument("words", nargs="+" if first.required else "*", metavar=first.placeholder, help=first.description)
    elif len(params) == 1:
        sub.add_argument(
            "words", nargs=None if first.required else "?", metavar=first.placeholder,
            help=for_command_line(first.description, registry),
        )
    else:
        sub.add_argument(
            "words", nargs="*", metavar="|".join(p.placeholder for p in params),
            help=" and/or ".join(f"{p.article} {p.noun}" for p in params),
        )
