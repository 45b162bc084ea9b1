"""`bulk_upsert` writes exactly the rows that `upsert_papers` writes, one paper at a time.

The bulk path is tuned for speed (rows made before the transaction, the next
batch prepared while SQLite indexes), so this test pins its output to the
plain path's: every column of `papers`, `paper_topics`, `notes` and `topics`,
the index, and what searches find, on papers made to catch the encodings out
(quotes, backslashes and commas in names, non-ASCII and Chinese text, a
control character, notes in two languages, a paper sent twice in one batch and
again, newer, in a later one). Authors and categories are written by
`store.common.rows.json_strings`, a shortcut that must give the general JSON
encoder's text: checked on every stored row.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from bot.models import Notes, Paper, TextQuality, Topic
from store.common.rows import to_json
from store.sqlite import SqliteStore
from tests.support import FakeClock

CLOCK_START = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
# Every row, by arxiv_id instead of row ids (ids are the store's own business), without the
# membership's `seq` (a counter of commits, which a bulk load makes fewer of).
TABLES = {
    "papers": "SELECT * FROM papers ORDER BY arxiv_id",
    "paper_topics": "SELECT topic, added_at, published, arxiv_id FROM paper_topics ORDER BY arxiv_id, topic",
    "notes": (
        "SELECT p.arxiv_id, n.lang, n.source, n.headline, n.motivation, n.method, n.results, n.takeaways, "
        "n.origin, n.text_quality, n.created_at, n.basis FROM notes n JOIN papers p ON p.id = n.paper_id "
        "ORDER BY p.arxiv_id, n.lang, n.source"
    ),
    "topics": "SELECT name, paper_count FROM topics ORDER BY name",
}
SEARCHES = ("Lovelace", "O'Brien", "zebra", "自动驾驶", "驾驶", "Schrödinger", "giraffe", "reward")


def papers() -> list[list[Paper]]:
    """Three batches of awkward papers."""
    first = [
        Paper(
            arxiv_id=f"2506.{i:05d}",
            title=f"Zebra paper {i} about reward models",
            abstract="An abstract.\nOn two lines, with a tab\there.",
            authors=("Ada Lovelace", 'Jim "the hat" O\'Brien', "Turing, Alan", "back\\slash"),
            published="2025-06-01",
            categories=("cs.LG", "stat.ML"),
            topics=("rm", "rm", "vlm") if i % 2 else (),
        )
        for i in range(1, 8)
    ]
    first += [
        Paper(
            arxiv_id="2506.00100",
            title="自动驾驶的奖励模型",
            abstract="Schrödinger's naïve α-stable abstract\x07 with a bell.",
            authors=("Erdős Pál", "张三"),
            published="2025-06",
            text_quality=TextQuality.REPAIRED,
            notes=(
                Notes("zh", headline="自动驾驶 标题", method="方法", results="结果", origin="list.md"),
                Notes("en", headline="Headline", takeaways="Takeaways", origin="list.md"),
            ),
            topics=("autonomous-driving",),
        ),
        Paper(arxiv_id="2506.00001", title="Zebra paper 1, the same copy again", authors=("Ada Lovelace",)),
    ]
    second = [
        Paper(
            arxiv_id="2506.00001",
            title="Zebra paper 1 giraffe edition",
            version=2,
            abstract="A newer abstract.",
            authors=("Ada Lovelace", "Grace Hopper"),
            published="2025-06-01",
            topics=("vlm",),
            notes=(Notes("zh", headline="新的 标题", origin="other.md"),),
        ),
        Paper(arxiv_id="2506.00200", title="A paper with no authors and no date"),
    ]
    third = [Paper(arxiv_id="2506.00002", title="Zebra paper 2 about reward models", version=3, comment="v3: typos")]
    return [first, second, third]


async def load(path: Path, bulk: bool) -> None:
    store = await SqliteStore.open(path, clock=FakeClock(CLOCK_START))
    try:
        await store.papers.upsert_topics([Topic("rm", "Reward models"), Topic("vlm"), Topic("autonomous-driving")])
        if bulk:
            await store.papers.bulk_upsert(papers())
        else:
            for batch in papers():
                for paper in batch:
                    await store.papers.upsert_papers([paper])
        await store.papers.check_index()
    finally:
        await store.close()


def contents(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        found = {name: conn.execute(sql).fetchall() for name, sql in TABLES.items()}
        ids = dict(conn.execute("SELECT id, arxiv_id FROM papers"))
        found["papers"] = [row[1:] for row in found["papers"]]  # without the row id
        for text in SEARCHES:
            hits = conn.execute("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (f'"{text}"',))
            found[f"search {text}"] = sorted(ids[rowid] for (rowid,) in hits)
        return found
    finally:
        conn.close()


async def test_a_bulk_load_writes_the_rows_of_one_by_one_upserts(tmp_path):
    await load(tmp_path / "bulk.db", bulk=True)
    await load(tmp_path / "one_by_one.db", bulk=False)
    bulk, one_by_one = contents(tmp_path / "bulk.db"), contents(tmp_path / "one_by_one.db")
    assert bulk == one_by_one
    # The comparison is not between two empty stores, and the awkward values went through.
    assert len(bulk["papers"]) == 9 and len(bulk["notes"]) == 3
    assert bulk["search O'Brien"] and bulk["search 驾驶"] == ["2506.00100"] and bulk["search giraffe"] == ["2506.00001"]
    for row in bulk["papers"]:
        assert [to_json(json.loads(row[4])), to_json(json.loads(row[7]))] == [row[4], row[7]]  # authors, categories
    authors = {row[0]: row[4] for row in bulk["papers"]}
    assert authors["2506.00003"] == '["Ada Lovelace","Jim \\"the hat\\" O\'Brien","Turing, Alan","back\\\\slash"]'
    assert authors["2506.00100"] == '["Erdős Pál","张三"]'
