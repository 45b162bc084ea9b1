"""One paper, three importers (arXiv API, snapshot, paper list): the store keeps the same text.

Each path gets the paper in its own shape: the API as Atom with an entity
arXiv escaped twice, the snapshot as JSON with the entity literal, the list as
markdown; all three with decomposed (NFD) accents, a Chinese title and hard
line wraps. Every path normalises through `bot.text.normalize`, so what the
store holds must not depend on the path.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from bot.config import FetchConfig
from bot.ingest.arxiv import ArxivFetcher, RequestLimiter
from bot.ingest.paperlist import import_paperlist
from bot.ingest.snapshot import import_snapshot
from bot.models import Topic
from bot.ports import PaperStore
from tests.support.fake_arxiv import FakeArxiv, FakePaper, utc

NOW = datetime(2025, 6, 8, 12, tzinfo=timezone.utc)
ARXIV_ID = "2506.04242"
TOPIC = Topic("drive", query='abs:"driving"')

# What every path must store: NFC, entities decoded, one line; LaTeX's `&` (no semicolon) kept.
TITLE = "Café & 自动驾驶： Évaluation of Reward Models"
ABSTRACT = "We study <5% of naïve drivers in 北京 with $a & b$ and R&D budgets."
AUTHORS = ("José García", "Zoë Ångström")

NFD = {"é": "e\u0301", "É": "E\u0301", "ï": "i\u0308", "ë": "e\u0308", "Å": "A\u030a", "í": "i\u0301"}


def decomposed(text: str) -> str:
    for composed, parts in NFD.items():
        text = text.replace(composed, parts)
    return text


# As each source writes them: decomposed accents, hard wraps, an entity for `&` and `<`.
RAW_TITLE = decomposed("Café &amp; 自动驾驶：\n  Évaluation of Reward Models")
RAW_ABSTRACT = decomposed("We study &lt;5% of naïve drivers\n in 北京 with $a & b$ and R&D budgets.")


pytestmark = pytest.mark.now(NOW)


async def open_store(store_factory, name: str) -> PaperStore:
    store = await store_factory.open(name)
    await store.papers.upsert_topics([TOPIC])
    return store.papers


async def through_the_api(store: PaperStore, fake: FakeArxiv, clock) -> None:
    xml_escaped = {"&": "&amp;", "<": "&lt;"}
    # arXiv escapes some entities twice: `&amp;amp;` in the feed is a literal `&amp;` after XML parsing.
    title_xml = "".join(xml_escaped.get(c, c) for c in RAW_TITLE)
    summary_xml = "".join(xml_escaped.get(c, c) for c in RAW_ABSTRACT)
    paper = FakePaper(
        ARXIV_ID, title_xml=title_xml, summary_xml=summary_xml, authors=tuple(decomposed(a) for a in AUTHORS),
        published=utc(2025, 6, 1, 12),
    )
    fake.add(paper)
    fetcher = ArxivFetcher(
        store, FetchConfig(delay_seconds=0, backoff_seconds=0.001, retries=0, timeout_seconds=5.0), fake.url,
        clock=clock, limiter=RequestLimiter(), jitter=0,
    )  # fmt: skip
    try:
        report = await fetcher.fetch_topic(TOPIC, since=date(2025, 5, 30))
    finally:
        fetcher.close()
    assert report.ok and report.stored.new == 1, report


async def through_the_snapshot(store: PaperStore, tmp_path) -> None:
    record = {
        "id": ARXIV_ID,
        "title": RAW_TITLE,
        "abstract": RAW_ABSTRACT,
        "authors": ", ".join(decomposed(a) for a in AUTHORS),
        "categories": "cs.CV",
        "versions": [{"version": "v1", "created": "Sun, 1 Jun 2025 12:00:00 GMT"}],
    }
    path = tmp_path / "snapshot.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = await import_snapshot(store, path, [TOPIC])
    assert report.papers == 1, report


async def through_the_paper_list(store: PaperStore, tmp_path) -> None:
    title = RAW_TITLE.replace("\n  ", " ")  # an item's title is one line of markdown
    abstract_lines = RAW_ABSTRACT.split("\n")
    text = "\n".join([
        "# Paper List of Terms(drive)",
        f"- [25/06] **{title}**  ",
        f"[[Paper](http://arxiv.org/pdf/{ARXIV_ID}v1)] [[Code/Page]()] [[TLDR/Notes](#notes)]",
        "# TLDR/Notes",
        "## notes",
        "### Abstract",
        *abstract_lines,
        "",
    ])  # fmt: skip
    path = tmp_path / "drive.md"
    path.write_text(text, encoding="utf-8")
    report = await import_paperlist(store, path, TOPIC.name)
    assert report.stored.new == 1, report


async def test_the_same_paper_stores_the_same_text_whichever_path_brought_it(store_factory, fake_arxiv, clock, tmp_path):
    api, snapshot, paper_list = [await open_store(store_factory, name) for name in ("api", "snapshot", "list")]
    await through_the_api(api, fake_arxiv, clock)
    await through_the_snapshot(snapshot, tmp_path)
    await through_the_paper_list(paper_list, tmp_path)

    stored = {name: await store.get(ARXIV_ID) for name, store in (("api", api), ("snapshot", snapshot), ("list", paper_list))}
    for name, paper in stored.items():
        assert (paper.title, paper.abstract) == (TITLE, ABSTRACT), name
    # A paper list names no authors; the two arXiv sources agree on them.
    assert stored["api"].authors == stored["snapshot"].authors == AUTHORS
    # The search index sees the same text too: the Chinese title is found by a two-character word.
    for name, store in (("api", api), ("snapshot", snapshot), ("list", paper_list)):
        assert [p.arxiv_id for p in await store.search("驾驶")] == [ARXIV_ID], name
