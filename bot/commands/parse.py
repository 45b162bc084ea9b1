"""The `/paper` text grammar, and typed options, read into a `CommandRequest`, from each command's parameters.

Why this exists: Slack and the console hand us text (`search driving 10`),
the CLI hands us argv words, Discord hands us typed options. All of them are
read here, once per request, by rules that follow from a command's `Param`s,
so a new command gets its grammar, its messages and its usage by declaring
parameters:

- Words after the command fill its parameters in order; a number goes to
  the first open whole-number parameter (so `latest 10 robotics` and
  `latest robotics 10` agree), other words to the first open text one; a
  `rest` parameter takes all the remaining words. `--name VALUE` sets a
  `flag` parameter from anywhere in the text.
- A command whose first parameter is a `rest` one (search) reads its trailing
  words as a number (a whole-number parameter) or an exact topic name (a
  topic parameter) while other words remain, so `search driving robotics 10`
  and `search 2024` both work. Only this rule needs the topic names, and
  they are asked for (a names-only query) only when it has to decide on a
  word. A bare `--` ends the options: the words after it are the text as
  written (`command_text` uses it so a share button reads back exactly).
- Too many or too few words: "<command> takes ..." with the usage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from bot.commands.help import HELP_COMMAND, unknown_command_error
from bot.commands.model import COMMAND_PREFIX, Command, CommandRequest, Completion, Param, Registry
from bot.errors import UserError

TopicNames = Callable[[], Awaitable[Collection[str]]]
END_OF_OPTIONS = "--"


async def no_topics() -> Collection[str]:
    return ()


async def read_text(text: str, registry: Registry, topic_names: TopicNames = no_topics) -> CommandRequest:
    """`[/paper] <command> [args]` -> CommandRequest; raises UserError for bad input."""
    return await read_words(text.split(), registry, topic_names)


async def read_words(words: Sequence[str], registry: Registry, topic_names: TopicNames = no_topics) -> CommandRequest:
    """`read_text` for words already split, as the `paperbot` CLI gets them."""
    words = list(words)
    if words and words[0].lower() in (COMMAND_PREFIX, COMMAND_PREFIX.lstrip("/")):
        words = words[1:]
    if not words:
        return CommandRequest(registry[HELP_COMMAND], {}, text=HELP_COMMAND)
    command = registry.get(words[0].lower())
    if command is None:
        raise unknown_command_error(registry, words[0])
    args = await _read_args(command, words[1:], topic_names)
    return CommandRequest(command, args, text=" ".join(words))


def bind(command: Command, options: Mapping[str, object]) -> dict[str, Any]:
    """Typed options (Discord's) -> arguments, each checked against its parameter's type.

    A platform passes values through as its client sent them; a stale
    command list can send a string for a number. The value is not echoed.
    """
    args: dict[str, Any] = {}
    for param in command.params:
        value = options.get(param.name)
        if value is None:
            continue
        if param.type is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise UserError(
                    f"The {param.name} option must be {_whole_number(param, 'from {} to {}')}.", f"Usage: {command.usage}"
                )
        elif not isinstance(value, str):
            raise UserError(f"The {param.name} option must be text.", f"Usage: {command.usage}")
        args[param.name] = value
    return args


def command_text(command: Command, args: Mapping[str, Any]) -> str | None:
    """Text that `read_words` reads back to these arguments, whatever the topic names are; None if none can."""
    words = [command.name]
    rest_first = bool(command.params) and command.params[0].rest
    tail: list[str] = []
    for param in command.params:
        value = args.get(param.name)
        if value is None:
            continue
        text = str(value)
        if param.rest:
            rest_words = text.split()
            if rest_first and (len(rest_words) > 1 or text.startswith(END_OF_OPTIONS)):
                tail = [END_OF_OPTIONS, *rest_words]
            else:
                tail = rest_words
            continue
        if len(text.split()) != 1 or text != text.strip() or text.startswith(END_OF_OPTIONS):
            return None  # a parameter's value is one word in text
        if param.flag:
            words += [f"--{param.name}", text]
        elif rest_first:
            return None  # only flags can be said unambiguously before a leading text
        else:
            words.append(text)
    words += tail
    if not rest_first:  # a number-like value may land elsewhere: read it back to be sure
        try:
            read_back = _place(command, *_take_flags(command, words[1:]))
        except UserError:
            return None
        if read_back != {name: str(value) for name, value in args.items() if value is not None}:
            return None
    return " ".join(words)


# --- reading words ---------------------------------------------------------------------


def _is_int(word: str) -> bool:
    return word.lstrip("+-").isdigit()


def _whole_number(param: Param, between: str) -> str:
    return "a whole number" + (" " + between.format(*param.bounds) if param.bounds else "")


async def _read_args(command: Command, words: list[str], topic_names: TopicNames) -> dict[str, Any]:
    rest_first = bool(command.params) and command.params[0].rest
    literal: list[str] | None = None
    if rest_first and END_OF_OPTIONS in words:
        cut = words.index(END_OF_OPTIONS)
        words, literal = words[:cut], words[cut + 1:]
    words, given = _take_flags(command, words)
    if rest_first:
        if literal is None:
            await _peel(command, words, given, topic_names)
        text_words = words + (literal or [])
        rest = command.params[0]
        if text_words or rest.required:
            given[rest.name] = " ".join(text_words)
    else:
        given = _place(command, words, given)
    return {param.name: _typed(param, given[param.name]) for param in command.params if param.name in given}


def _take_flags(command: Command, words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Pull `--name VALUE` of the command's flag parameters out of the words, wherever they are."""
    flags = {p.name: p for p in command.params if p.flag}
    rest: list[str] = []
    given: dict[str, str] = {}
    iterator = iter(words)
    for word in iterator:
        name = word[2:].lower() if word.startswith("--") else None
        param = flags.get(name) if name else None
        if param is None:
            rest.append(word)
            continue
        value = next(iterator, None)
        if value is None:
            raise UserError(
                f"--{param.name} needs a value.", f"e.g. {COMMAND_PREFIX} {command.name} --{param.name} {param.example_value}"
            )
        given[param.name] = _quoted(value, iterator)
    return rest, given


_CLOSING_QUOTES = {'"': '"”', "“": '”"', "'": "'’", "‘": "’'"}


def _quoted(first: str, words: Iterator[str]) -> str:
    """A flag's value: one word, or several in quotes (`--exclude 'ti:survey OR abs:"medical"'`), quotes removed."""
    closing = _CLOSING_QUOTES.get(first[:1])
    if closing is None:
        return first
    taken = [first]
    while not (taken[-1][-1:] in closing and (len(taken) > 1 or len(first) > 1)):
        word = next(words, None)
        if word is None:
            raise UserError(
                f"A quote opened in {first[:20]} is never closed.", "Close it, e.g. --exclude 'ti:survey OR abs:medical'."
            )
        taken.append(word)
    return " ".join(taken)[1:-1].strip()


async def _peel(command: Command, words: list[str], given: dict[str, str], topic_names: TopicNames) -> None:
    """Trailing words that are surely a number or a topic name become those parameters, while other words remain."""
    slots = command.slots
    known: set[str] | None = None
    for _ in slots:
        if len(words) < 2:
            return
        last = words[-1]
        target = next((p for p in slots if p.type is int and p.name not in given), None) if _is_int(last) else None
        if target is None:
            topic_slot = next((p for p in slots if p.completion is Completion.TOPIC and p.name not in given), None)
            if topic_slot is not None:
                if known is None:
                    known = {name.lower() for name in await topic_names()}
                if last.lower() in known:
                    target = topic_slot
        if target is None:
            return
        given[target.name] = words.pop()


def _place(command: Command, words: list[str], given: dict[str, str]) -> dict[str, str]:
    """Words into parameters in order: a number to an open whole-number one, else to the next open text one."""
    placed = dict(given)
    slots = command.slots
    rest = next((p for p in command.params if p.rest), None)
    for index, word in enumerate(words):
        open_slots = [p for p in slots if p.name not in placed]
        target = next((p for p in open_slots if p.type is int), None) if _is_int(word) else None
        target = target or next((p for p in open_slots if p.type is str), None)
        if target is not None:
            placed[target.name] = word
            continue
        if rest is not None and rest.name not in placed:
            placed[rest.name] = " ".join(words[index:])
            break
        raise arity_error(command)
    missing = [p for p in slots if p.required and p.name not in placed]
    if missing:
        if rest is not None:
            raise UserError(f"{command.name} needs {missing[0].article} {missing[0].noun}.", command.usage_hint())
        raise arity_error(command)
    return placed


def _typed(param: Param, raw: str) -> Any:
    if param.type is int:
        try:
            return int(raw)
        except ValueError:
            between = _whole_number(param, "between {} and {}")
            raise UserError(f"{param.name} must be {between} (got '{raw[:20]}').") from None
    if param.completion is Completion.COMMAND:
        return raw.lower()
    return raw


def grammar_note(command: Command) -> str:
    """The reading rules of this command's words in a sentence, for help texts ("" when there is nothing to say)."""
    params = command.params
    if params and params[0].rest:
        peelable = [p for p in params[1:] if p.type is int or p.completion is Completion.TOPIC]
        if not peelable:
            return ""
        what = " and ".join(
            f"{p.article} {p.noun} ({'a number' if p.type is int else 'an exact topic name'})" for p in peelable
        )
        return f"Trailing words are read as {what} when other words remain, as in chat."
    if len(params) > 1 and not any(p.rest for p in params):
        listed = " and ".join(f"{p.article} {p.noun}" for p in params)
        return f"{listed[0].upper()}{listed[1:]} can be given as words, as in chat."
    return ""


def arity_error(command: Command) -> UserError:
    """The answer to too many or too few words, e.g. `show takes exactly one paper id.`, with the usage."""
    slots = command.slots
    required = [p for p in slots if p.required]
    optional = [p for p in slots if not p.required]

    def listed(params: list[Param]) -> str:
        return " and ".join(f"{p.article} {p.noun}" for p in params)

    if not slots:
        accepted = "no arguments"
    elif len(slots) == 1:
        accepted = f"{'exactly' if required else 'at most'} one {slots[0].noun}"
    elif not optional:
        accepted = f"exactly {listed(required)}"
    elif not required:
        accepted = f"at most {listed(optional)}"
    else:
        accepted = f"{listed(required)} and at most {listed(optional)}"
    return UserError(f"{command.name} takes {accepted}.", command.usage_hint())
