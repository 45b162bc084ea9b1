"""The channel's reading list and what a vote button's click answers: save, unsave, saved.

Why this exists: a 🔖 button and `/paper save <id>` do the same thing, and
`paperbot saved --channel ID` reads what both wrote; keeping the three
commands and the click's acknowledgement in one module keeps their wording
one. A click is not a typed command, so `answer_click` is what an adapter
calls with the paper and action its button carries (`CommandRouter.answer_vote`).
"""

from __future__ import annotations

from typing import Any

from bot import jsonout
from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, Completion, JsonAnswer, Param, Visibility
from bot.commands.params import COUNT, PAGE_SIZE
from bot.errors import UserError
from bot.models import ChannelRef, NoticeReply, PaperListReply, Reply
from bot.presenter import paper_list
from bot.votes import SavedPaper, VoteAction, Votes, acknowledgement

PAPER = Param("paper", "An arXiv id, such as 2505.20665", "paper id", required=True, completion=Completion.PAPER, metavar="ID")
MAX_SAVERS_SHOWN = 3


def _votes(context: CommandContext) -> Votes:
    ranking = context.ranking
    if ranking is None or ranking.votes is None:
        raise UserError("Votes and the reading list are not available here.", "Run the bot with `paperbot run`.")
    return Votes(context.service, ranking.votes)


def _channel(request: CommandRequest) -> ChannelRef:
    if request.channel is None:
        raise UserError("This command needs a channel.", "Use it in the chat channel whose reading list it is.")
    return request.channel


async def answer_click(
    context: CommandContext, channel: ChannelRef | None, user: str, paper: str, action: VoteAction, *, undo: bool = False
) -> tuple[Reply, bool]:
    """The requester-only answer to a vote button (or its Undo), and whether it offers an Undo."""
    if channel is None:
        raise UserError("Votes belong to a channel.", "Click the buttons in a channel.")
    votes = _votes(context)
    if undo:
        removed = await votes.undo(channel, user, paper, action)
        said = "Removed from the reading list" if action is VoteAction.SAVE else "Vote taken back"
        return NoticeReply((f"{said}." if removed else "Nothing to undo: that click is no longer yours to take back.",)), False
    recorded, change = await votes.record(channel, user, paper, action)
    return NoticeReply((f"{acknowledgement(change)} · {recorded.arxiv_id}",)), change.changed


async def _save(context: CommandContext, request: CommandRequest) -> Reply:
    reply, _ = await answer_click(context, _channel(request), request.user, str(request.args["paper"]), VoteAction.SAVE)
    return reply


async def _unsave(context: CommandContext, request: CommandRequest) -> Reply:
    reply, _ = await answer_click(
        context, _channel(request), request.user, str(request.args["paper"]), VoteAction.SAVE, undo=True
    )
    return reply


async def _saved_papers(context: CommandContext, request: CommandRequest) -> list[SavedPaper]:
    named = request.args.get("channel")
    if named is not None and request.channel is not None:
        raise UserError("In chat, saved shows this channel's reading list.", f"Use {COMMAND_PREFIX} saved [count].")
    if named is None and request.channel is None:
        raise UserError("Whose reading list?", "Name the channel: paperbot saved --channel C0123456789.")
    return await _votes(context).saved(request.channel or str(named).strip(), request.args.get("count"))


def _by(saved: SavedPaper) -> str:
    shown = ", ".join(saved.saved_by[:MAX_SAVERS_SHOWN]) + (" and others" if len(saved.saved_by) > MAX_SAVERS_SHOWN else "")
    return f"saved by {shown}"


async def _saved(context: CommandContext, request: CommandRequest) -> Reply:
    saved = await _saved_papers(context, request)
    reply: PaperListReply = paper_list(
        "Reading list" if request.channel is None else "This channel's reading list",
        [s.paper for s in saved], context.service.tldr_lang,
        empty_text=f"Nothing saved yet: click 🔖 under a paper, or {COMMAND_PREFIX} save <id>.",
        whys={s.paper.arxiv_id: _by(s) for s in saved}, votable=True,
    )  # fmt: skip
    return reply


async def _saved_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    saved = await _saved_papers(context, request)
    data: list[dict[str, Any]] = [
        {**jsonout.paper_json(s.paper, context.service.tldr_lang), "saved_by": list(s.saved_by), "saved_at": s.saved_at}
        for s in saved
    ]
    return data, ()


SAVE = Command(
    "save", "Add a paper to this channel's reading list (as the 🔖 button does)", _save, (PAPER,),
    examples=(f"{COMMAND_PREFIX} save 2505.20665",), uses_ranking=True,
)  # fmt: skip
UNSAVE = Command(
    "unsave", "Take your save of a paper off this channel's reading list", _unsave, (PAPER,),
    examples=(f"{COMMAND_PREFIX} unsave 2505.20665",), uses_ranking=True,
)  # fmt: skip
SAVED = Command(
    "saved", "This channel's reading list, newest first, with who saved each", _saved,
    (
        COUNT,
        Param("channel", "The channel (or thread) id whose list to show (command line)", "channel", flag=True, metavar="ID"),
    ),
    examples=(f"{COMMAND_PREFIX} saved", f"{COMMAND_PREFIX} saved 20"),
    visibility=Visibility.SHAREABLE, page_size=PAGE_SIZE, json_handler=_saved_json, uses_ranking=True,
)  # fmt: skip

COMMANDS = (SAVE, UNSAVE, SAVED)
