"""The `/paper` command registry: parse text, dispatch, return a Reply.

Slack and the console hand us text (`search driving 10`), Discord hands us
typed options; both end up as a `CommandRequest` and go through `dispatch`, so
every platform has the same grammar, the same limits and the same messages.
The registry is data so that adapters (Discord's command tree, help text) are
built from it instead of repeating it.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, replace

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import StoreError, UserError
from bot.digest import digest_reply
from bot.models import ChannelRef, CommandRequest, ErrorReply, NoticeReply, PaperListReply, Reply
from bot.presenter import paper_detail, paper_list, topics_notice
from bot.service import DEFAULT_COUNT, MAX_COUNT, PaperService
from bot.subscriptions import SubscriptionService, describe_last, describe_next

log = logging.getLogger(__name__)

COMMAND_PREFIX = "/paper"
CLI_PREFIX = "paperbot"
# The commands the `paperbot` CLI has too, with the same arguments (it parses them here).
CLI_COMMANDS = ("latest", "search", "show", "topics")
# The topic of the shipped config and the example paper list: examples must name one that exists.
EXAMPLE_TOPIC = "reward-model-vlm"
_CHAT_COMMAND_RE = re.compile(rf"{re.escape(COMMAND_PREFIX)} (?=(?:{'|'.join(CLI_COMMANDS)})\b)")


@dataclass(frozen=True)
class Param:
    """One option of a command; `kind` tells adapters how to type and complete it."""

    name: str
    kind: str  # "text", "topic", "count", "paper", "when", "command"
    description: str
    required: bool = False

    @property
    def usage(self) -> str:
        return f"<{self.name}>" if self.required else f"[{self.name}]"


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    params: tuple[Param, ...] = ()
    example: str = ""
    admin_only: bool = False

    @property
    def usage(self) -> str:
        return " ".join([COMMAND_PREFIX, self.name, *(p.usage for p in self.params)])


TOPIC = Param("topic", "topic", "Only papers of this topic (see /paper topics)")
COUNT = Param("count", "count", f"How many papers, 1-{MAX_COUNT} (default {DEFAULT_COUNT})")
WHEN = Param("when", "when", "When to post: 'mon 09:00', 'daily 08:30', or cron, plus an optional timezone (default mon 09:00)")

REGISTRY: dict[str, Command] = {
    command.name: command
    for command in (
        Command("latest", "The newest papers, one TLDR each", (TOPIC, COUNT), f"/paper latest {EXAMPLE_TOPIC} 10"),
        Command(
            "search",
            "Ranked search over titles, abstracts, authors and notes (English and Chinese)",
            (Param("query", "text", "Words to search for", required=True), TOPIC, COUNT),
            "/paper search driving",
        ),
        Command(
            "show",
            "One paper in full: links, abstract and notes",
            (Param("paper", "paper", "An arXiv id such as 2505.20665, or an arxiv.org link", required=True),),
            "/paper show 2505.20665",
        ),
        Command("topics", "The tracked topics and how many papers each has", (), "/paper topics"),
        Command(
            "subscribe",
            "Post this topic's digest in this channel on a schedule (admins)",
            (Param("topic", "topic", "The topic to follow (see /paper topics)", required=True), WHEN),
            f"/paper subscribe {EXAMPLE_TOPIC} mon 09:00 Europe/Berlin",
            admin_only=True,
        ),
        Command(
            "unsubscribe",
            "Stop this topic's digest in this channel (admins)",
            (Param("topic", "topic", "The topic to stop", required=True),),
            f"/paper unsubscribe {EXAMPLE_TOPIC}",
            admin_only=True,
        ),
        Command("subscriptions", "This channel's digests: schedule, next run, last delivery", (), "/paper subscriptions"),
        Command(
            "digest",
            "Preview the next digest for this channel (only you see it; nothing is recorded)",
            (TOPIC,),
            f"/paper digest {EXAMPLE_TOPIC}",
        ),
        Command(
            "help",
            "What each command does",
            (Param("command", "command", "A command to explain"),),
            "/paper help search",
        ),
    )
}


def for_command_line(text: str) -> str:
    """A message written for chat, with its `/paper latest|search|show|topics` suggestions as
    the `paperbot ...` commands a CLI user types. Hints are written once, in chat form; the CLI
    shows them through this, so each interface names its own commands."""
    return _CHAT_COMMAND_RE.sub(f"{CLI_PREFIX} ", text)


# --- text -> CommandRequest -----------------------------------------------------------


def _parse_count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UserError(f"count must be a whole number between 1 and {MAX_COUNT} (got '{text[:20]}').") from None


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _take_options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Pull `--topic NAME` and `--count N` out of the words, wherever they are."""
    rest: list[str] = []
    options: dict[str, str] = {}
    iterator = iter(words)
    for word in iterator:
        name = word[2:].lower() if word.startswith("--") else None
        if name in ("topic", "count"):
            value = next(iterator, None)
            if value is None:
                raise UserError(f"--{name} needs a value.", f"e.g. /paper latest --{name} {EXAMPLE_TOPIC if name == 'topic' else '10'}")
            options[name] = value
        else:
            rest.append(word)
    return rest, options


def parse_command_text(text: str, known_topics: frozenset[str] = frozenset()) -> CommandRequest:
    """`[/paper] <command> [args]` -> CommandRequest; raises UserError for bad input.

    Trailing positional arguments of `search` are read as a count (a number)
    and a topic (an exact topic name) only when query words remain, so
    `/paper search driving reward-model-vlm 10` and `/paper search 2024` both work.
    """
    return parse_command_words(text.split(), known_topics)


def parse_command_words(words: list[str], known_topics: frozenset[str] = frozenset()) -> CommandRequest:
    """`parse_command_text` for words already split, as the `paperbot` CLI gets them."""
    if words and words[0].lower() in (COMMAND_PREFIX, COMMAND_PREFIX.lstrip("/")):
        words = words[1:]
    if not words:
        return CommandRequest("help")
    action, rest = words[0].lower(), words[1:]
    if action not in REGISTRY:
        return CommandRequest("unknown", {"name": words[0]})

    if action == "search":
        query_words, options = _take_options(rest)
        args: dict[str, object] = {}
        lowered_topics = {name.lower() for name in known_topics}
        for _ in range(2):
            if len(query_words) > 1 and "count" not in options and _is_int(query_words[-1]):
                options["count"] = query_words.pop()
            elif len(query_words) > 1 and "topic" not in options and query_words[-1].lower() in lowered_topics:
                options["topic"] = query_words.pop()
        args["query"] = " ".join(query_words)
        if "topic" in options:
            args["topic"] = options["topic"]
        if "count" in options:
            args["count"] = _parse_count(options["count"])
        return CommandRequest("search", args)

    if action == "latest":
        positional, options = _take_options(rest)
        args = {}
        for word in positional:
            if _is_int(word) and "count" not in options:
                options["count"] = word
            elif "topic" not in options:
                options["topic"] = word
            else:
                raise UserError("latest takes at most a topic and a count.", f"Usage: {REGISTRY['latest'].usage}")
        if "topic" in options:
            args["topic"] = options["topic"]
        if "count" in options:
            args["count"] = _parse_count(options["count"])
        return CommandRequest("latest", args)

    if action == "show":
        if len(rest) != 1:
            raise UserError("show takes exactly one paper id.", f"Usage: {REGISTRY['show'].usage}, e.g. /paper show 2505.20665")
        return CommandRequest("show", {"paper": rest[0]})

    if action in ("topics", "subscriptions"):
        if rest:
            raise UserError(f"{action} takes no arguments.", f"Usage: /paper {action}")
        return CommandRequest(action)

    if action in ("subscribe", "unsubscribe"):
        if not rest:
            raise UserError(f"{action} needs a topic.", f"Usage: {REGISTRY[action].usage}, e.g. {REGISTRY[action].example}")
        if action == "unsubscribe" and len(rest) > 1:
            raise UserError("unsubscribe takes one topic.", f"Usage: {REGISTRY['unsubscribe'].usage}")
        args = {"topic": rest[0]}
        if len(rest) > 1:
            args["when"] = " ".join(rest[1:])
        return CommandRequest(action, args)

    if action == "digest":
        if len(rest) > 1:
            raise UserError("digest takes at most one topic.", f"Usage: {REGISTRY['digest'].usage}")
        return CommandRequest("digest", {"topic": rest[0]} if rest else {})

    # help
    return CommandRequest("help", {"command": rest[0].lower()} if rest else {})


def asked_version(paper_ref: str) -> int | None:
    """The version a `show` argument names (`2505.20665v7` -> 7), if any."""
    parsed = parse_arxiv_id(paper_ref)
    return parsed.version if parsed else None


# --- dispatch --------------------------------------------------------------------------


def help_lines() -> tuple[str, ...]:
    lines = [f"{command.usage} — {command.description}" for command in REGISTRY.values()]
    lines.append("Options can also be given as --topic NAME and --count N.")
    return tuple(lines)


def help_reply(command_name: str | None = None) -> Reply:
    if command_name is None:
        return NoticeReply(help_lines(), title="paperbot commands")
    command = REGISTRY.get(command_name)
    if command is None:
        return unknown_command_reply(command_name)
    lines = [command.usage, command.description]
    lines.extend(f"  {param.name}: {param.description}" for param in command.params)
    if command.example:
        lines.append(f"Example: {command.example}")
    return NoticeReply(tuple(lines), title=f"/paper {command.name}")


def error_reply(error: UserError, action: str) -> ErrorReply:
    if isinstance(error, StoreError):
        # The user cannot fix a full disk or a busy store; the bot's owner reads the log.
        log.error("command %s: %s", action, error)
    return ErrorReply(error.message, error.hint)


def unknown_command_reply(name: str) -> ErrorReply:
    shown = name if len(name) <= 40 else name[:37] + "..."
    close = difflib.get_close_matches(name.lower(), list(REGISTRY), n=1, cutoff=0.5)
    did_you_mean = f"Did you mean /paper {close[0]}? " if close else ""
    return ErrorReply(f"Unknown command '{shown}'.", did_you_mean + "Commands:\n" + "\n".join(help_lines()))


class CommandRouter:
    """Runs `/paper` requests against the services; every outcome is a Reply, never an exception."""

    def __init__(self, service: PaperService, subscriptions: SubscriptionService | None = None) -> None:
        self.service = service
        self.subscriptions = subscriptions

    async def handle_text(
        self, text: str, *, user: str = "", channel: ChannelRef | None = None, is_admin: bool = False
    ) -> Reply:
        try:
            known = frozenset(await self.service.topic_names())
            request = parse_command_text(text, known)
        except UserError as error:
            return error_reply(error, COMMAND_PREFIX)
        return await self.dispatch(
            CommandRequest(request.action, request.args, user=user, channel=channel, is_admin=is_admin)
        )

    async def dispatch(self, request: CommandRequest) -> Reply:
        if request.action == "unknown":
            return unknown_command_reply(str(request.args.get("name", "")))
        handler = getattr(self, f"_{request.action}", None) if request.action in REGISTRY else None
        if handler is None:
            return unknown_command_reply(request.action)
        try:
            return await handler(request)
        except UserError as error:
            return error_reply(error, request.action)
        except Exception:
            log.exception("command %s failed", request.action)
            return ErrorReply("Something went wrong on our side; the error has been logged.", "Please try again in a moment.")

    # --- lookups ----------------------------------------------------------------------

    async def _latest(self, request: CommandRequest) -> Reply:
        topic = request.args.get("topic")
        papers = await self.service.latest(topic, request.args.get("count"))
        where = f" on {topic}" if topic else ""
        return paper_list(
            f"Latest papers{where}",
            papers,
            self.service.tldr_lang,
            empty_text=f"No papers{where} yet." + ("" if topic else " Import a paper list with `paperbot import FILE`."),
        )

    async def _search(self, request: CommandRequest) -> Reply:
        query = str(request.args.get("query", "")).strip()
        topic = request.args.get("topic")
        papers = await self.service.search(query, topic, request.args.get("count"))
        where = f" in {topic}" if topic else ""
        return paper_list(
            f"Search results for “{query}”{where}",
            papers,
            self.service.tldr_lang,
            empty_text=f"No papers match “{query}”{where}.",
        )

    async def _show(self, request: CommandRequest) -> Reply:
        ref = str(request.args.get("paper", ""))
        paper = await self.service.show(ref)
        return paper_detail(paper, self.service.tldr_lang, asked_version(ref))

    async def _topics(self, request: CommandRequest) -> Reply:
        return topics_notice(await self.service.topics())

    async def _help(self, request: CommandRequest) -> Reply:
        command = request.args.get("command")
        return help_reply(str(command) if command else None)

    # --- subscriptions ----------------------------------------------------------------

    def _subscriptions_service(self) -> SubscriptionService:
        if self.subscriptions is None:
            raise UserError("Digests are not available here.", "Run the bot with `paperbot run` to use subscriptions.")
        return self.subscriptions

    @staticmethod
    def _channel(request: CommandRequest) -> ChannelRef:
        if request.channel is None:
            raise UserError("This command needs a channel.", "Use it in the chat channel that should get the digests.")
        return request.channel

    async def _subscribe(self, request: CommandRequest) -> Reply:
        status = await self._subscriptions_service().subscribe(
            self._channel(request), str(request.args.get("topic", "")), request.args.get("when"), is_admin=request.is_admin
        )
        sub = status.subscription
        return NoticeReply(
            (
                f"Subscribed: {sub.topic} digests here, {sub.when} {sub.timezone}.",
                f"Next digest: {describe_next(status)}. Preview it with /paper digest {sub.topic}.",
            ),
        )

    async def _unsubscribe(self, request: CommandRequest) -> Reply:
        topic = str(request.args.get("topic", ""))
        await self._subscriptions_service().unsubscribe(self._channel(request), topic, is_admin=request.is_admin)
        return NoticeReply((f"Unsubscribed: no more {topic} digests here.",))

    async def _subscriptions(self, request: CommandRequest) -> Reply:
        statuses = await self._subscriptions_service().statuses(request.channel)
        if not statuses:
            return NoticeReply(("No subscriptions in this channel.", f"Add one with {REGISTRY['subscribe'].example}"), title="Subscriptions")
        lines = []
        for status in statuses:
            sub = status.subscription
            line = f"• {sub.topic}: {sub.when} {sub.timezone}; next {describe_next(status)}; last {describe_last(status.last_delivery)}"
            if sub.failing:
                line += f"; FAILING since {sub.failing_since}: {sub.failing}"
            lines.append(line)
        return NoticeReply(tuple(lines), title=f"Subscriptions ({len(statuses)})")

    async def _digest(self, request: CommandRequest) -> Reply:
        subscriptions = self._subscriptions_service()
        plans = await subscriptions.previews(request.channel, request.args.get("topic"))
        if len(plans) > 1:
            topics = ", ".join(plan.subscription.topic for plan in plans)
            raise UserError(f"This channel has {len(plans)} subscriptions; preview one at a time.", f"Use /paper digest <topic> with one of: {topics}.")
        plan = plans[0]
        topic = subscriptions.engine.topic(plan.subscription.topic)
        reply = digest_reply(topic, plan.period, plan.papers, plan.total, plan.subscription.language, plan.schedule.cadence)
        note = "Preview only: nothing was posted or recorded."
        if isinstance(reply, PaperListReply):
            return replace(reply, header=f"Preview: {reply.header}", footer=reply.footer + (note,))
        return NoticeReply(reply.lines + (note,), title="Preview")
