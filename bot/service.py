"""PaperService: the lookups users ask for, validated, independent of any chat platform.

Every entry point (chat commands, the CLI, digests) goes through here so a
count limit, a topic check or an id format is enforced in exactly one place.
It returns domain objects; `bot.presenter` turns them into replies.
"""

from __future__ import annotations

from typing import overload

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import UserError
from bot.models import Figure, Paper, TopicStats
from bot.ports import FullTextStore, PaperStore

DEFAULT_COUNT = 5
MAX_COUNT = 25
MAX_QUERY_CHARS = 300


def check_count(count: int | None) -> int:
    if count is None:
        return DEFAULT_COUNT
    if not 1 <= count <= MAX_COUNT:
        raise UserError(f"count must be between 1 and {MAX_COUNT} (got {count}).")
    return count


class PaperService:
    def __init__(self, store: PaperStore, *, tldr_lang: str = "en", fulltext: FullTextStore | None = None) -> None:
        self.store = store
        self.tldr_lang = tldr_lang
        self.fulltext = fulltext

    async def figure(self, paper: Paper) -> Figure | None:
        """The paper's key figure, when its full text came from an HTML rendering with one."""
        if self.fulltext is None:
            return None
        return (await self.fulltext.figures([paper.arxiv_id])).get(paper.arxiv_id)

    async def topic_names(self) -> list[str]:
        return await self.store.topic_names()

    @overload
    async def check_topic(self, topic: str) -> str: ...
    @overload
    async def check_topic(self, topic: str | None) -> str | None: ...

    async def check_topic(self, topic: str | None) -> str | None:
        """The stored spelling of `topic` (matched case-insensitively); None for no topic."""
        if topic is None:
            return None
        names = await self.topic_names()
        if topic in names:
            return topic
        lowered = {name.lower(): name for name in names}
        if topic.lower() in lowered:
            return lowered[topic.lower()]
        known = ", ".join(names) if names else "none yet"
        raise UserError(f"Unknown topic '{topic}'.", f"Known topics: {known}. See /paper topics.")

    async def latest(self, topic: str | None = None, count: int | None = None) -> list[Paper]:
        limit = check_count(count)
        return await self.store.latest(await self.check_topic(topic), limit)

    async def search(self, query: str, topic: str | None = None, count: int | None = None) -> list[Paper]:
        query = query.strip()
        if not query:
            raise UserError(
                "Search needs some words.", "Usage: /paper search <words> [topic] [count], e.g. /paper search driving"
            )
        if len(query) > MAX_QUERY_CHARS:
            raise UserError(
                f"That search is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}.",
                "Search for a few distinctive words instead.",
            )
        limit = check_count(count)
        return await self.store.search(query, await self.check_topic(topic), limit)

    async def show(self, paper_ref: str) -> Paper:
        parsed = parse_arxiv_id(paper_ref)
        if parsed is None:
            shown = paper_ref if len(paper_ref) <= 60 else paper_ref[:57] + "..."
            raise UserError(
                f"'{shown}' is not an arXiv id.",
                "Try /paper show 2505.20665 (also accepted: 2505.20665v1, arXiv:2505.20665, or an arxiv.org link).",
            )
        paper = await self.store.get(parsed.arxiv_id)
        if paper is None:
            raise UserError(
                f"Paper {parsed.arxiv_id} is not in the store.",
                "Find papers with /paper search <words> or /paper latest.",
            )
        return paper

    async def topics(self) -> list[TopicStats]:
        return await self.store.topics()
