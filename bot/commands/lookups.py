"""The read-only lookups: latest, search, show, topics (in chat, and as `paperbot` subcommands with `--json`).

Why this exists: one module per family of commands keeps each command's
definition beside its handler; these four only read the store, which is why
they are also CLI lookups and may be shared in a channel by anyone.
"""

from __future__ import annotations

from bot import jsonout
from bot.arxiv_ids import parse_arxiv_id
from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, Completion, JsonAnswer, Param, Visibility
from bot.commands.params import COUNT, EXAMPLE_TOPIC, PAGE_SIZE, TOPIC
from bot.models import Reply
from bot.presenter import paper_detail, paper_list, topics_notice, version_note


def asked_version(paper_ref: str) -> int | None:
    """The version a `show` argument names (`2505.20665v7` -> 7), if any."""
    parsed = parse_arxiv_id(paper_ref)
    return parsed.version if parsed else None


def _topic(request: CommandRequest) -> str | None:
    topic = request.args.get("topic")
    return str(topic) if topic is not None else None


async def _latest(context: CommandContext, request: CommandRequest) -> Reply:
    topic = _topic(request)
    papers = await context.service.latest(topic, request.args.get("count"))
    where = f" on {topic}" if topic else ""
    return paper_list(
        f"Latest papers{where}",
        papers,
        context.service.tldr_lang,
        empty_text=f"No papers{where} yet." + ("" if topic else " Import a paper list with `paperbot import FILE`."),
        votable=True,
    )


async def _latest_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    papers = await context.service.latest(_topic(request), request.args.get("count"))
    return [jsonout.paper_json(p, context.service.tldr_lang) for p in papers], ()


async def _search(context: CommandContext, request: CommandRequest) -> Reply:
    query = str(request.args.get("query", "")).strip()
    topic = _topic(request)
    papers = await context.service.search(query, topic, request.args.get("count"))
    where = f" in {topic}" if topic else ""
    return paper_list(
        f"Search results for “{query}”{where}",
        papers,
        context.service.tldr_lang,
        empty_text=f"No papers match “{query}”{where}.",
        votable=True,
    )


async def _search_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    papers = await context.service.search(str(request.args.get("query", "")), _topic(request), request.args.get("count"))
    return [jsonout.paper_json(p, context.service.tldr_lang) for p in papers], ()


async def _show(context: CommandContext, request: CommandRequest) -> Reply:
    ref = str(request.args.get("paper", ""))
    paper = await context.service.show(ref)
    return paper_detail(paper, context.service.tldr_lang, asked_version(ref), await context.service.figure(paper))


async def _show_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    ref = str(request.args.get("paper", ""))
    paper = await context.service.show(ref)
    note = version_note(paper, asked_version(ref))
    figure = await context.service.figure(paper)
    return jsonout.paper_detail_json(paper, context.service.tldr_lang, figure), (note,) if note else ()


async def _topics(context: CommandContext, request: CommandRequest) -> Reply:
    return topics_notice(await context.service.topics())


async def _topics_json(context: CommandContext, request: CommandRequest) -> JsonAnswer:
    return jsonout.topics_json(await context.service.topics()), ()


LATEST = Command(
    "latest", "The newest papers, one TLDR each", _latest, (TOPIC, COUNT),
    examples=(f"{COMMAND_PREFIX} latest {EXAMPLE_TOPIC} 10",),
    visibility=Visibility.SHAREABLE, page_size=PAGE_SIZE, json_handler=_latest_json,
)
SEARCH = Command(
    "search", "Ranked search over titles, abstracts, authors and notes (English and Chinese)", _search,
    (Param("query", "Words to search for", "query", required=True, rest=True), TOPIC, COUNT),
    examples=(f"{COMMAND_PREFIX} search driving", f"{COMMAND_PREFIX} search driving {EXAMPLE_TOPIC} 10"),
    visibility=Visibility.SHAREABLE, page_size=PAGE_SIZE, json_handler=_search_json,
)
SHOW = Command(
    "show", "One paper in full: links, abstract, notes and its key figure", _show,
    (Param(
        "paper", "An arXiv id such as 2505.20665, or an arxiv.org link", "paper id",
        required=True, completion=Completion.PAPER, metavar="ID",
    ),),
    examples=(f"{COMMAND_PREFIX} show 2505.20665",),
    visibility=Visibility.SHAREABLE, json_handler=_show_json,
)
TOPICS = Command(
    "topics", "The tracked topics and how many papers each has", _topics,
    examples=(f"{COMMAND_PREFIX} topics",), visibility=Visibility.SHAREABLE, json_handler=_topics_json,
)

COMMANDS = (LATEST, SEARCH, SHOW, TOPICS)
