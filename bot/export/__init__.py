"""Exports: a topic's papers, a reading list or chosen ids, as md, bib, csv or json, as one file's bytes.

Why this exists: `paperbot export` and `/paper export` hand out the same
files, so what is exported (`papers_of_topic`, `papers_by_ids`,
`saved_papers`, `library_papers`) and how (`export_file`, by format) is
decided here once; the writers (`markdown`, `bibtex`, `tables`) are pure.
Papers come newest first (`published`, then id, as `/paper latest` orders
them) or in the order ids were given, so exporting the same papers twice
gives the same bytes.

Reading lists (`/paper save`) come from the store's `VoteStore` part.
Libraries are kept by a part of the store that may not offer it yet; until it
offers `library_papers(name)`, asking for one says so instead of exporting nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from bot.errors import UserError
from bot.export.bibtex import write_bibtex
from bot.export.markdown import write_markdown
from bot.export.tables import write_csv, write_json
from bot.ingest.by_id import read_refs
from bot.ingest.paperlist import topic_slug
from bot.models import ChannelRef, Paper, Topic
from bot.ports import PaperStore, VoteStore

MAX_SAVED = 100_000  # a reading list is exported whole

FORMATS = {
    "md": ("text/markdown", "paper-list markdown"),
    "bib": ("application/x-bibtex", "BibTeX"),
    "csv": ("text/csv", "CSV"),
    "json": ("application/json", "JSON"),
}


@dataclass(frozen=True)
class Selection:
    """The papers to export, what they are (for messages and the file name), and their topic if one."""

    papers: list[Paper]
    label: str  # "topic reward-model-vlm", "3 papers by id", "the reading list of #papers"
    stem: str  # the file name without its extension
    topic: Topic | None = None


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    media_type: str
    papers: int
    description: str  # "12 papers of topic reward-model-vlm as BibTeX"


def check_format(name: str) -> str:
    fmt = name.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UserError(f"Unknown export format '{name[:20]}'.", f"Use one of: {', '.join(FORMATS)}.")
    return fmt


def export_file(selection: Selection, fmt: str, lang: str = "en") -> ExportFile:
    """The file for `selection` in format `fmt` (md, bib, csv, json)."""
    fmt = check_format(fmt)
    papers = selection.papers
    if fmt == "md":
        text = write_markdown(papers, selection.topic, lang)
    elif fmt == "bib":
        text = write_bibtex(papers)
    elif fmt == "csv":
        text = write_csv(papers, lang)
    else:
        text = write_json(papers, selection.topic, lang)
    media_type, name = FORMATS[fmt]
    count = f"{len(papers)} paper{'s' if len(papers) != 1 else ''}"
    description = f"{count} of {selection.label} as {name}"
    return ExportFile(f"{selection.stem}.{fmt}", text.encode("utf-8"), media_type, len(papers), description)


async def papers_of_topic(store: PaperStore, name: str) -> Selection:
    """Every paper of a known topic, newest first; a UserError naming the known topics otherwise."""
    stats = {item.topic.name: item for item in await store.topics()}
    found = stats.get(name) or next((item for key, item in stats.items() if key.lower() == name.lower()), None)
    if found is None:
        known = ", ".join(sorted(stats)) or "none yet"
        raise UserError(f"Unknown topic '{name}'.", f"Known topics: {known}.")
    papers = await store.latest(found.topic.name, limit=max(found.paper_count, 1)) if found.paper_count else []
    return Selection(papers, f"topic {found.topic.name}", found.topic.name, found.topic)


async def papers_by_ids(store: PaperStore, words: Sequence[str]) -> Selection:
    """The stored papers the words name, in that order; a UserError naming the ones that are not ids or not stored."""
    ids, not_ids = read_refs(words)
    if not_ids:
        raise UserError(f"Not arXiv ids: {', '.join(not_ids[:5])}.", "Give ids like 2505.20665 or hep-th/9901001, or links.")
    papers = [await store.get(arxiv_id) for arxiv_id in ids]
    missing = [arxiv_id for arxiv_id, paper in zip(ids, papers, strict=True) if paper is None]
    if missing:
        raise UserError(f"Not in the store: {', '.join(missing[:10])}.", "Add them first with `paperbot add ID...`.")
    return Selection([p for p in papers if p is not None], "the ids given", "papers")


async def saved_papers(votes: VoteStore, channel: ChannelRef | str, shown: str | None = None) -> Selection:
    """A channel's reading list (newest save first); a UserError when it has none."""
    papers = [saved.paper for saved in await votes.saved(channel, MAX_SAVED)]
    where = shown or (channel.key if isinstance(channel, ChannelRef) else channel)
    if not papers:
        raise UserError(
            f"There is no saved reading list for {where}: nothing has been saved there.",
            "Export a topic instead (/paper export <topic>), or save papers to the list first.",
        )
    return Selection(papers, f"the reading list of {where}", f"saved-{topic_slug(where) or 'list'}")


async def library_papers(store: PaperStore, name: str) -> Selection:
    reader: Any = getattr(store, "library_papers", None)
    papers: list[Paper] = list(await reader(name)) if reader is not None else []
    if not papers:
        raise UserError(f"There is no library named '{name}' in this store.", "Export a topic (--topic NAME) or ids instead.")
    return Selection(papers, f"library {name}", f"library-{topic_slug(name) or 'papers'}")
