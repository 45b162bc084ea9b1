"""Moving papers in and out from chat: `/paper add <id|url>...` (admins) and `/paper export [topic|saved] [md|bib]`.

Why this exists: one module per family of commands. `add` asks arXiv
(`context.arxiv`, the bot's one arXiv client, so it is spaced with the
scheduled fetch) and writes what it finds; `export` answers with a
`FileReply`, which each adapter uploads (a Slack file, a Discord attachment).
The CLI's `paperbot add` and `paperbot export` do the same through the same
functions (`bot.ingest.by_id`, `bot.export`).
"""

from __future__ import annotations

from bot.commands.model import COMMAND_PREFIX, Access, Command, CommandContext, CommandRequest, Completion, Param, Visibility
from bot.commands.params import EXAMPLE_TOPIC
from bot.errors import RemoteError, UserError
from bot.models import FileReply, NoticeReply, Reply

CHAT_FORMATS = ("md", "bib")
MAX_ADD = 100  # ids in one chat command: one arXiv request


async def _add(context: CommandContext, request: CommandRequest) -> Reply:
    if context.arxiv is None:
        raise UserError("Adding papers needs the arXiv API, which this bot does not use ([fetch] enabled = false).",
                        "Import a paper list or BibTeX file with `paperbot import FILE` instead.")  # fmt: skip
    words = str(request.args.get("papers", "")).split()
    if len(words) > MAX_ADD:
        raise UserError(f"At most {MAX_ADD} papers at a time (got {len(words)}).", "Use `paperbot add` for longer lists.")
    topic = request.args.get("topic")
    from bot.ingest.by_id import add_papers  # the writers and exporters load only when used: lookups stay light

    try:
        report = await add_papers(context.service.store, context.arxiv, words, str(topic) if topic else None)
    except RemoteError as error:
        raise UserError(f"arXiv did not answer ({error.message}); nothing was added.", "Try again in a few minutes.") from None
    return NoticeReply(tuple(report.lines()), title="Added papers" if report.added else "Nothing added")


async def _export(context: CommandContext, request: CommandRequest) -> Reply:
    from bot.export import check_format, export_file, papers_of_topic, saved_papers

    source = str(request.args.get("source") or "")
    fmt = check_format(str(request.args.get("format") or "md"))
    if fmt not in CHAT_FORMATS:
        raise UserError(f"In chat, export as {' or '.join(CHAT_FORMATS)}.", "Use `paperbot export --format csv|json` for those.")
    if not source:
        raise UserError("Export what? Name a topic, or saved for this channel's reading list.", EXPORT.usage_hint())
    store = context.service.store
    if source.lower() == "saved":
        if request.channel is None:
            raise UserError("A reading list belongs to a channel.", "Use it in the channel whose list you want.")
        if context.ranking is None or context.ranking.votes is None:
            raise UserError("Reading lists are not available here.", "Run the bot with `paperbot run`.")
        selection = await saved_papers(context.ranking.votes, request.channel, "this channel")
    else:
        selection = await papers_of_topic(store, source)
    file = export_file(selection, fmt, context.service.tldr_lang)
    return FileReply((file.description + ".",), filename=file.filename, content=file.content, media_type=file.media_type)


ADD = Command(
    "add", "Add papers by arXiv id or link, fetched from arXiv (admins)", _add,
    (
        Param("papers", "arXiv ids or links, e.g. 2505.20665 hep-th/9901001", "paper id", required=True, rest=True),
        Param("topic", "Add them to this topic (made if new)", "topic",
              flag=True, completion=Completion.TOPIC, example=EXAMPLE_TOPIC),
    ),
    examples=(f"{COMMAND_PREFIX} add 2505.20665 https://arxiv.org/abs/2502.14191 --topic {EXAMPLE_TOPIC}",),
    access=Access.ADMIN, visibility=Visibility.PRIVATE, admin_task="add papers",
)
EXPORT = Command(
    "export", "Upload a topic's papers (or this channel's saved list) as a paper list (md) or BibTeX (bib)", _export,
    (
        Param("source", "A topic, or saved for this channel's reading list", "topic",
              completion=Completion.TOPIC, example=EXAMPLE_TOPIC),
        Param("format", "md (a paper list, default) or bib (BibTeX)", "format", example="bib"),
    ),
    examples=(f"{COMMAND_PREFIX} export {EXAMPLE_TOPIC} bib",),
    visibility=Visibility.PUBLIC, uses_ranking=True,  # `export saved`
)

COMMANDS = (ADD, EXPORT)
