"""Adding papers by arXiv id or link (`paperbot add`, `/paper add`): asked from the arXiv API, one write.

Why this exists: the CLI and the chat command take the same words
(`2505.20665`, `arXiv:2505.20665v2`, `https://arxiv.org/abs/hep-th/9901001`)
and must treat them the same way: every word that is not an arXiv id is
named and not sent; the others go to arXiv in `id_list` requests (the
lookup's batching, spacing and retries); an id arXiv does not know, or
refuses, is reported while the others are still added, in one
`upsert_papers` call. With a topic, the papers join it (a topic the store
does not know is registered, named as `--topic` names a list's topic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import UserError
from bot.ingest.paperlist import topic_slug
from bot.models import Topic, UpsertReport
from bot.paper_limits import limit_paper
from bot.ports import ArxivLookup, PaperStore


@dataclass(frozen=True)
class AddReport:
    """What one `add` did: the papers written, and each word that did not become a paper, with why."""

    topic: str | None
    added: tuple[str, ...] = ()
    stored: UpsertReport = UpsertReport()
    not_ids: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def complete(self) -> bool:
        """Every word became a paper."""
        return not (self.not_ids or self.unknown or self.refused)

    def lines(self) -> list[str]:
        where = f" to topic {self.topic}" if self.topic else ""
        listed = f": {', '.join(self.added)}" if self.added else ""
        lines = [
            f"Added {len(self.added)} paper{'s' if len(self.added) != 1 else ''}{where} from arXiv "
            f"({self.stored.counts()}){listed}"
        ]
        if self.unknown:
            lines.append(f"arXiv does not know: {', '.join(self.unknown)}")
        lines += [f"arXiv refused {arxiv_id}: {why}" for arxiv_id, why in self.refused]
        if self.not_ids:
            shown = ", ".join(repr(word if len(word) <= 40 else word[:39] + "…") for word in self.not_ids)
            lines.append(f"Not arXiv ids (not sent): {shown}; an id looks like 2505.20665, hep-th/9901001 or an arxiv.org link")
        return lines


def read_refs(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """(versionless ids in the order given, once each; the words that are not arXiv ids)."""
    ids: list[str] = []
    not_ids: list[str] = []
    for word in words:
        for part in word.replace(",", " ").split():
            parsed = parse_arxiv_id(part)
            if parsed is None:
                not_ids.append(part)
            elif parsed.arxiv_id not in ids:
                ids.append(parsed.arxiv_id)
    return ids, not_ids


async def add_papers(store: PaperStore, arxiv: ArxivLookup, words: Sequence[str], topic: str | None = None) -> AddReport:
    """Fetch the papers `words` name and write them in one transaction (see the module docstring).

    A UserError when no word is an arXiv id (nothing is asked); a RemoteError from the lookup when arXiv cannot answer."""
    ids, not_ids = read_refs(words)
    target = _topic(topic)
    if not ids:
        raise UserError(
            "No arXiv id to add" + (f" ({', '.join(not_ids[:5])} are not ids)." if not_ids else "."),
            "Give ids or links, e.g. 2505.20665 hep-th/9901001 https://arxiv.org/abs/2505.20665v2.",
        )
    found = await arxiv.papers_by_id(ids, target.name if target else "")
    papers = [limit_paper(paper)[0] for paper in found.papers]
    report = None
    if papers:
        known_topics = set(await store.topic_names())
        report = await store.upsert_papers(papers)
        if target is not None and target.name not in known_topics:
            await store.upsert_topics([target])
    return AddReport(
        topic=target.name if target else None,
        added=tuple(paper.arxiv_id for paper in papers),
        stored=report or UpsertReport(),
        not_ids=tuple(not_ids),
        unknown=found.unknown,
        refused=found.refused,
    )


def _topic(topic: str | None) -> Topic | None:
    if topic is None:
        return None
    name = topic_slug(topic)
    if not name:
        raise UserError(f"Topic {topic!r} has no letters or digits to name it by.", "Pass a topic name like reward-models.")
    return Topic(name=name, title=topic.strip())
