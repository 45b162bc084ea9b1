"""This channel's digests: subscribe, unsubscribe, subscriptions, digest (a preview).

Why this exists: one module per family of commands; these need the channel
the command came from and the subscription service, which the CLI lookups
have neither of. Changing a subscription is for admins and announced to the
channel; listing and previewing are for anyone. The digest engine, the filters
and the query and schedule parsers are imported by the handlers that use them:
every CLI lookup loads this module for the registry and would pay for them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.commands.model import COMMAND_PREFIX, Access, Command, CommandContext, CommandRequest, Completion, Param, Visibility
from bot.commands.params import EXAMPLE_TOPIC, TOPIC
from bot.errors import UserError
from bot.ingest.terms import EXAMPLE as TERMS_EXAMPLE
from bot.models import ChannelRef, NoticeReply, PaperListReply, Reply

if TYPE_CHECKING:
    from bot.subscriptions import SubscriptionService

WHEN = Param(
    "when", "When to post: 'mon 09:00', 'daily 08:30' or cron; timezone optional (default: [digest] default_when)",
    "schedule", rest=True,
)


def _subscriptions(context: CommandContext) -> SubscriptionService:
    if context.subscriptions is None:
        raise UserError("Digests are not available here.", "Run the bot with `paperbot run` to use subscriptions.")
    return context.subscriptions


def _channel(request: CommandRequest) -> ChannelRef:
    if request.channel is None:
        raise UserError("This command needs a channel.", "Use it in the chat channel that should get the digests.")
    return request.channel


async def _subscribe(context: CommandContext, request: CommandRequest) -> Reply:
    from bot.filters import DigestFilter
    from bot.ingest.terms import adopt_terms, read_terms
    from bot.schedule import parse_when
    from bot.subscriptions import describe_next

    subscriptions, channel = _subscriptions(context), _channel(request)
    topic, when = str(request.args.get("topic", "")), request.args.get("when")
    shorthand = read_terms(" ".join(part for part in (topic, when) if part))
    adopted = None
    if shorthand is not None:  # `terms = ["reward model", "vlm"] mon 09:00`: the topic those terms mean
        parse_when(shorthand[1] or subscriptions.default_when, subscriptions.default_timezone)  # a bad schedule makes no topic
        adopted = await adopt_terms(context.service.store, shorthand[0])
        topic, when = adopted.name, shorthand[1] or None
    filters = _filters(request)
    status = await subscriptions.subscribe(channel, topic, when, is_admin=request.is_admin, filters=filters)
    sub = status.subscription
    lines = [
        f"Subscribed: {sub.topic} digests here, {sub.when} {sub.timezone}.",
        f"Next digest: {describe_next(status)}. Preview it with {COMMAND_PREFIX} digest {sub.topic}.",
    ]
    if filters:
        lines += DigestFilter.of(sub).lines()
    if adopted is not None:
        lines.append(f"Topic {adopted.name} follows arXiv's {adopted.query}; new papers come with each arXiv fetch.")
    return NoticeReply(tuple(lines))


def _filters(request: CommandRequest) -> dict[str, Any]:
    """The filters a subscribe sets: each flag given replaces that filter ("none" clears it); the others stay."""
    from bot.filters import check_query, read_authors

    filters: dict[str, Any] = {}
    for name in ("include", "exclude"):
        if request.args.get(name) is not None:
            filters[name] = check_query(_none_word(request.args[name]), name)
    if request.args.get("authors") is not None:
        filters["authors"] = read_authors(_none_word(request.args["authors"]) or "")
    return filters


def _none_word(value: object) -> str | None:
    text = str(value).strip() if value is not None else None
    return None if text is None or text.lower() in ("", "none", "-") else text


async def _filters_shown(context: CommandContext, request: CommandRequest) -> Reply:
    from bot.filters import DigestFilter

    topic = str(request.args.get("topic", ""))
    found = [s for s in await _subscriptions(context).store.subscriptions(_channel(request)) if s.topic == topic]
    if not found:
        raise UserError(f"This channel is not subscribed to '{topic}'.", f"See {COMMAND_PREFIX} subscriptions.")
    return NoticeReply(
        tuple(DigestFilter.of(found[0]).lines())
        + (f'Admins change them with {COMMAND_PREFIX} subscribe {topic} --exclude "ti:survey" --authors "A. Name; B. Name".',),
        title=f"Filters of {topic} here",
    )


async def _unsubscribe(context: CommandContext, request: CommandRequest) -> Reply:
    topic = str(request.args.get("topic", ""))
    await _subscriptions(context).unsubscribe(_channel(request), topic, is_admin=request.is_admin)
    return NoticeReply((f"Unsubscribed: no more {topic} digests here.",))


async def _list(context: CommandContext, request: CommandRequest) -> Reply:
    from bot.subscriptions import describe_last, describe_next

    statuses = await _subscriptions(context).statuses(request.channel)
    if not statuses:
        return NoticeReply(("No subscriptions in this channel.", f"Add one with {SUBSCRIBE.examples[0]}"), title="Subscriptions")
    lines = []
    for status in statuses:
        sub = status.subscription
        line = (
            f"• {sub.topic}: {sub.when} {sub.timezone}; next {describe_next(status)}; last {describe_last(status.last_delivery)}"
        )
        if sub.failing:
            line += f"; FAILING since {sub.failing_since}: {sub.failing}"
        lines.append(line)
    return NoticeReply(tuple(lines), title=f"Subscriptions ({len(statuses)})")


async def _preview(context: CommandContext, request: CommandRequest) -> Reply:
    from bot.digest import digest_reply

    subscriptions = _subscriptions(context)
    topic_name = request.args.get("topic")
    plans = await subscriptions.previews(request.channel, str(topic_name) if topic_name is not None else None)
    if len(plans) > 1:
        topics = ", ".join(plan.subscription.topic for plan in plans)
        raise UserError(
            f"This channel has {len(plans)} subscriptions; preview one at a time.",
            f"Use {COMMAND_PREFIX} digest <topic> with one of: {topics}.",
        )
    plan = plans[0]
    topic = subscriptions.engine.topic(plan.subscription.topic)
    subscription = plan.subscription
    reply = digest_reply(
        topic,
        plan.period,
        plan.papers,
        plan.total,
        subscription.language,
        plan.schedule.cadence,
        whys=plan.whys,
        ranked=plan.ranked,
    )
    note = "Preview only: nothing was posted or recorded."
    if isinstance(reply, PaperListReply):
        return replace(reply, header=f"Preview: {reply.header}", footer=reply.footer + (note,))
    if isinstance(reply, NoticeReply):
        return NoticeReply(reply.lines + (note,), title="Preview")
    return reply


SUBSCRIBE = Command(
    "subscribe",
    "Post this topic's digest in this channel on a schedule (admins)",
    _subscribe,
    (
        Param(
            "topic",
            f"The topic to follow (see /paper topics), or {TERMS_EXAMPLE}",
            "topic",
            required=True,
            completion=Completion.TOPIC,
        ),
        WHEN,
        Param(
            "include", "Only papers matching this arXiv query, e.g. 'cat:cs.CV' (none: clear)", "query", flag=True, flag_only=True
        ),
        Param(
            "exclude",
            "Leave out papers matching this arXiv query, e.g. 'ti:survey' (none: clear)",
            "query",
            flag=True,
            flag_only=True,
        ),
        Param(
            "authors",
            "Followed authors, separated by semicolons: their papers come first (none: clear)",
            "names",
            flag=True,
            flag_only=True,
        ),
    ),
    examples=(
        f"{COMMAND_PREFIX} subscribe {EXAMPLE_TOPIC} mon 09:00 Europe/Berlin",
        f"{COMMAND_PREFIX} subscribe {TERMS_EXAMPLE} daily 08:30",
    ),
    access=Access.ADMIN,
    visibility=Visibility.PUBLIC,
    admin_task="change subscriptions",
)
UNSUBSCRIBE = Command(
    "unsubscribe", "Stop this topic's digest in this channel (admins)", _unsubscribe,
    (Param("topic", "The topic to stop", "topic", required=True, completion=Completion.TOPIC),),
    examples=(f"{COMMAND_PREFIX} unsubscribe {EXAMPLE_TOPIC}",),
    access=Access.ADMIN, visibility=Visibility.PUBLIC, admin_task="change subscriptions",
)
SUBSCRIPTIONS = Command(
    "subscriptions", "This channel's digests: schedule, next run, last delivery", _list,
    examples=(f"{COMMAND_PREFIX} subscriptions",), visibility=Visibility.SHAREABLE,
)
DIGEST = Command(
    "digest", "Preview the next digest for this channel (only you see it; nothing is recorded)", _preview, (TOPIC,),
    examples=(f"{COMMAND_PREFIX} digest {EXAMPLE_TOPIC}",), visibility=Visibility.SHAREABLE,
)

FILTERS = Command(
    "filters", "A subscription's filters in this channel: include, exclude, followed authors", _filters_shown,
    (Param("topic", "The subscribed topic", "topic", required=True, completion=Completion.TOPIC),),
    examples=(f"{COMMAND_PREFIX} filters {EXAMPLE_TOPIC}",), visibility=Visibility.SHAREABLE,
)

COMMANDS = (SUBSCRIBE, UNSUBSCRIBE, SUBSCRIPTIONS, DIGEST, FILTERS)
