"""The group's taste: similar, recommend (also `paperbot` subcommands with `--json`) and library.

Why this exists: one module per family of commands; these three rank papers
by a library (`bot.ranking`), which the other families never need. `similar`
and `recommend` only read, so anyone may run and share them; `library` shows
what the channel's taste is built from, and `library use <topic>` / `library
off` change it, for admins only, announced to the channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import jsonout
from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, Completion, JsonAnswer, Param, Visibility
from bot.commands.params import COUNT, EXAMPLE_TOPIC, PAGE_SIZE, TOPIC
from bot.errors import UserError
from bot.models import ChannelRef, NoticeReply, Reply
from bot.presenter import ranked_list
from bot.text import shorten

if TYPE_CHECKING:
    from bot.rank import Ranked, RankModel
    from bot.ranking import Ranking, SimilarAnswer, Taste

TITLE_CHARS = 60
TOP_TERMS = 10


def _ranking(context: CommandContext) -> Ranking:
    if context.ranking is None:
        raise UserError("Ranking is not available here.", "Run the bot with `paperbot run`, or use `paperbot similar`.")
    return context.ranking


def _topic(request: CommandRequest) -> str | None:
    topic = request.args.get("topic")
    return str(topic) if topic is not None else None


# --- similar ---------------------------------------------------------------------------------


async def _similar_answer(context: CommandContext, request: CommandRequest) -> SimilarAnswer:
    refs = str(request.args.get("papers", "")).split()
    return await _ranking(context).similar(refs, _topic(request), request.args.get("count"))


def _left_out(answer: SimilarAnswer) -> tuple[str, ...]:
    notes = []
    if answer.unknown:
        notes.append(f"Not in the store, left out: {', '.join(answer.unknown)}.")
    if answer.invalid:
        notes.append(f"Not arXiv ids, left out: {', '.join(shorten(word, 40) for word in answer.invalid)}.")
    return tuple(notes)


async def _similar(context: CommandContext, request: CommandRequest) -> Reply:
    answer = await _similar_answer(context, request)
    asked = answer.asked
    like = f"“{shorten(asked[0].title, TITLE_CHARS)}” ({asked[0].arxiv_id})" if len(asked) == 1 else f"these {len(asked)} papers"
    topic = _topic(request)
    where = f" in {topic}" if topic else ""
    return ranked_list(
        f"Papers like {like}{where}", answer.ranked, context.service.tldr_lang,
        empty_text=f"No other paper{where} shares enough words with {'it' if len(asked) == 1 else 'them'}.",
        footer=_left_out(answer),
    )  # fmt: skip


async def _similar_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    answer = await _similar_answer(context, request)
    return _ranked_json(answer.ranked, context.service.tldr_lang), _left_out(answer)


# --- recommend -------------------------------------------------------------------------------


async def _recommended(context: CommandContext, request: CommandRequest) -> tuple[str, RankModel, list[Ranked]]:
    """What the request recommends from, the model, and the papers."""
    ranking = _ranking(context)
    named = request.args.get("library")
    if named is not None:
        topics = await ranking.check_topics(str(named))
        source = f"library {', '.join(topics)}"
    else:
        library = await ranking.library(request.channel) if request.channel is not None else None
        if library is None:
            in_chat = request.channel is not None
            raise UserError(
                "This channel has no library to recommend from." if in_chat else "Recommend from which library?",
                f"Name one with {COMMAND_PREFIX} recommend --library <topic>"
                + (f", or an admin sets this channel's with {COMMAND_PREFIX} library use <topic>." if in_chat else "."),
            )
        topics, source = library.topics, "this channel's library"
    since = request.args.get("since")
    model, ranked = await ranking.recommend(
        topics, channel=request.channel, topic=_topic(request), since=str(since) if since is not None else None,
        count=request.args.get("count"), channel_votes=named is None,
    )  # fmt: skip
    return source, model, ranked


async def _recommend(context: CommandContext, request: CommandRequest) -> Reply:
    source, model, ranked = await _recommended(context, request)
    shown = " or shown in this channel" if request.channel is not None else ""
    return ranked_list(
        f"Recommended by {source}", ranked, context.service.tldr_lang,
        empty_text="Nothing in the store matches its words yet.",
        footer=(f"From the whole store, best first; not the library's own {model.counts.get('library', 0)} papers{shown}.",),
    )  # fmt: skip


async def _recommend_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    _, _, ranked = await _recommended(context, request)
    return _ranked_json(ranked, context.service.tldr_lang), ()


def _ranked_json(ranked: list[Ranked] | tuple[Ranked, ...], lang: str) -> list[dict[str, Any]]:
    return [jsonout.ranked_json(r.paper, r.score, r.why, lang) for r in ranked]


# --- library ---------------------------------------------------------------------------------


def _channel(request: CommandRequest) -> ChannelRef:
    if request.channel is None:
        raise UserError("This command needs a channel.", "Use it in the chat channel whose library it is.")
    return request.channel


async def _library(context: CommandContext, request: CommandRequest) -> Reply:
    ranking = _ranking(context)
    channel = _channel(request)
    action = request.args.get("action")
    if action is None:
        if request.args.get("topics"):
            raise UserError(
                "Say what to do with those topics.", f"To make them this channel's library: {COMMAND_PREFIX} library use <topic>."
            )
        return _taste_notice(await ranking.taste(channel))
    action = str(action).lower()
    if action == "use":
        library = await ranking.use_library(channel, str(request.args.get("topics") or ""), request.user)
        counts = [f"{source} ({count} papers)" for source, count in await ranking.sources(library.topics)]
        return NoticeReply(
            (
                f"Library set: this channel's taste is now the papers of {', '.join(counts)}.",
                f"Digests here are ranked by it from the next one; {COMMAND_PREFIX} library shows what it learned.",
            ),
        )
    if action == "off":
        await ranking.stop_library(channel)
        return NoticeReply(("Library removed: digests here are newest first again.",))
    raise UserError(
        f"Unknown library action '{shorten(action, 30)}'.", LIBRARY.usage_hint() + f", or {COMMAND_PREFIX} library off."
    )


def _taste_notice(taste: Taste | None) -> NoticeReply:
    if taste is None:
        return NoticeReply(
            (
                "This channel has no library, so its digests are newest first.",
                f"An admin can set one: {COMMAND_PREFIX} library use <topic>, a topic whose papers stand for what this "
                "channel reads (import a reading list with `paperbot import FILE --topic NAME`).",
            ),
            title="Library",
        )
    model, library = taste.model, taste.library
    lines = [f"• {source}: {count} paper{'s' if count != 1 else ''}" for source, count in taste.sources]
    if library is not None:
        origin = "the config file" if library.source == "config" else f"chat{f' by {library.set_by}' if library.set_by else ''}"
        lines.append(f"Set in {origin}, {library.updated_at[:10]}.")
    votes = taste.votes
    if votes.up or votes.down or votes.saved:
        lines.append(
            f"Votes here: {votes.up} paper{'s' if votes.up != 1 else ''} 👍, {votes.down} 👎, {votes.saved} saved "
            f"(each member once per paper: {len(votes.positives)} count for it, {len(votes.negatives)} against)."
        )
    counts = model.counts
    if model.empty:
        lines.append("Nothing to learn from yet: no paper of it has any text. Digests stay newest first.")
    elif model.kind == "classifier":
        lines.append(
            f"Learned from its {counts.get('library', 0)} papers against {counts.get('sample', 0):,} random papers of the store"
            + (f" and {counts['negatives']} 👎 papers." if counts.get("negatives") else ".")
        )
    else:
        papers = counts.get("library", 0)
        plural = "s" if papers != 1 else ""
        lines.append(f"Ranks by similarity to its {papers} paper{plural} (from 4 papers on, it learns from them).")
    terms = model.top_terms(TOP_TERMS)
    if terms:
        lines.append("Top terms: " + ", ".join(terms))
    if not model.empty:
        lines.append("Digests here show the best papers first, each with why.")
    return NoticeReply(tuple(lines), title="This channel's library")


SIMILAR = Command(
    "similar", "Papers most like the given ones (several are taken together), best first, with why", _similar,
    (
        Param(
            "papers", "arXiv ids, such as 2505.20665; several are taken together", "paper id",
            required=True, rest=True, completion=Completion.PAPER, metavar="ID",
        ),
        TOPIC, COUNT,
    ),
    examples=(f"{COMMAND_PREFIX} similar 2505.20665", f"{COMMAND_PREFIX} similar 2505.20665 10"),
    visibility=Visibility.SHAREABLE, page_size=PAGE_SIZE, json_handler=_similar_json, uses_ranking=True,
)  # fmt: skip
RECOMMEND = Command(
    "recommend", "The best papers for this channel's library that it was never shown, with why", _recommend,
    (
        COUNT, TOPIC,
        Param(
            "library", "Recommend for this topic's papers instead of the channel's library", "library",
            flag=True, completion=Completion.TOPIC, metavar="NAME", example=EXAMPLE_TOPIC,
        ),
        Param(
            "since", "Only papers published on or after this date", "date", flag=True, metavar="YYYY-MM-DD",
            example="2025-06-01",
        ),
    ),
    examples=(f"{COMMAND_PREFIX} recommend", f"{COMMAND_PREFIX} recommend 10"),
    visibility=Visibility.SHAREABLE, page_size=PAGE_SIZE, json_handler=_recommend_json, uses_ranking=True,
)  # fmt: skip
LIBRARY = Command(
    "library", "What this channel's taste is built from; admins: `use <topic>` sets it, `off` stops it", _library,
    (
        Param("action", "use: set the library (admins); off: stop ranking (admins); leave out to see it", "action"),
        Param("topics", "The topics whose papers make the library", "topic", rest=True, completion=Completion.TOPIC),
    ),
    examples=(f"{COMMAND_PREFIX} library", f"{COMMAND_PREFIX} library use {EXAMPLE_TOPIC}"),
    visibility=Visibility.SHAREABLE, admin_task="change this channel's library", admin_params=("action",),
    uses_ranking=True,
)  # fmt: skip

COMMANDS = (SIMILAR, RECOMMEND, LIBRARY)
