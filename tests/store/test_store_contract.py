"""Contract tests for the store ports (`bot.ports.Store` and its parts `PaperStore`,
`SubscriptionStore`, `NotesStore`).

Everything above the "SQLite specifics" line talks to the store only through
the ports, via the `store` and `store_factory` fixtures, and runs once per
store in `tests.support.store_factories.STORE_FACTORIES`; another implementation plugs
in by adding a factory there. The SQLite-only part checks what the ports
cannot express: schema versioning, WAL, and that the newest-slice search
plan (`store.sqlite.search.WindowedSearch`) returns what plain FTS5 bm25 returns.
Digest behaviour over time (periods, coalescing, exactly-once across
failures) is tested end to end in tests/core/test_digest_periods_and_exactly_once.py; here are the ports'
own promises, one call at a time. The rules themselves are unit-tested in
tests/unit/test_merge_rules.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sqlite3
from pathlib import Path

import pytest

from bot.models import ChannelRef, DeliveryKey, Notes, Paper, Subscription, TextQuality, Topic, UpsertReport
from store.sqlite import SqliteStore, schema
from store.sqlite import search as search_plan
from store.sqlite.query import build_match_query
from store.sqlite.search import RANK_EXPRESSION

CLEAN, REPAIRED, DAMAGED = TextQuality.CLEAN, TextQuality.REPAIRED, TextQuality.DAMAGED


def paper(arxiv_id: str, **fields) -> Paper:
    values = dict(
        title=f"Paper {arxiv_id}",
        abstract="An abstract about nothing in particular.",
        authors=("Ada Lovelace",),
        published="2025-06-01",
        categories=("cs.LG",),
    )
    values.update(fields)
    return Paper(arxiv_id=arxiv_id, **values)


def ids(papers) -> list[str]:
    return [p.arxiv_id for p in papers]


# --- upsert rules ----------------------------------------------------------------------


async def test_a_new_paper_round_trips_with_topics_and_notes(store):
    note = Notes("zh", headline="标题", method="方法", results="结果", origin="list.md")
    original = paper(
        "2506.00001",
        version=2,
        authors=("Ada Lovelace", "Turing, Alan"),
        categories=("cs.LG", "cs.AI"),
        comment="12 pages",
        doi="10.1/x",
        code_url="https://github.com/x/y",
        topics=("rm", "vlm"),
        notes=(note,),
    )
    report = await store.papers.upsert_papers([original])
    assert report == UpsertReport(new=1, updated=0, unchanged=0, new_ids=("2506.00001",))
    stored = await store.papers.get("2506.00001")
    assert stored.added_at == "2025-06-02T09:00:00Z"
    assert dataclasses.replace(stored, added_at=None, notes=()) == dataclasses.replace(original, notes=())
    assert [dataclasses.replace(n, created_at=None) for n in stored.notes] == [note]
    assert await store.papers.get("2506.99999") is None
    assert await store.papers.get("2506.00001v2") is None  # the port is keyed by the versionless id
    assert await store.papers.get(None) is None  # type: ignore[arg-type]


async def test_papers_are_keyed_by_versionless_id_and_the_newest_version_wins(store):
    await store.papers.upsert_papers([paper("2506.00002", version=1, title="First title", doi="10.1/old", comment="v1")])
    report = await store.papers.upsert_papers([paper("2506.00002", version=3, title="Third title", doi="10.1/new", comment="v3")])
    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    older = await store.papers.upsert_papers([paper("2506.00002", version=2, title="Second title", doi="10.1/mid", comment="v2")])
    assert (older.new, older.updated, older.unchanged) == (0, 0, 1)
    stored = await store.papers.get("2506.00002")
    assert (stored.version, stored.title, stored.doi, stored.comment) == (3, "Third title", "10.1/new", "v3")
    assert await store.papers.paper_count() == 1


async def test_the_outcome_does_not_depend_on_the_order_versions_arrive_in(store_factory):
    copies = [
        paper("2506.00003", version=1, title="One", code_url="https://one", published="2025-06"),
        paper("2506.00003", version=2, title="Two", published="2025-06-03"),
        paper("2506.00003", version=3, title="Three", categories=("cs.CV",), text_quality=REPAIRED, published="2025-06"),
    ]
    results = []
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        store = await store_factory.open(f"order{''.join(map(str, order))}")
        for index in order:
            await store.papers.upsert_papers([copies[index]])
        results.append(dataclasses.replace(await store.papers.get("2506.00003"), added_at=None))
    assert results[0] == results[1] == results[2]
    # Text follows the better copy (clean v2 beats repaired v3), metadata the newest version.
    assert (results[0].title, results[0].version, results[0].categories) == ("Two", 3, ("cs.CV",))
    assert results[0].published == "2025-06-03" and results[0].code_url == "https://one"


@pytest.mark.parametrize("worse", [REPAIRED, DAMAGED])
async def test_a_worse_copy_never_overwrites_a_clean_one_even_when_newer(store, worse):
    await store.papers.upsert_papers([paper("2506.00004", version=1, title="Clean title", abstract="Clean abstract.")])
    await store.papers.upsert_papers(
        [paper("2506.00004", version=2, title="Clâ€™ean title", abstract="Damaged Ã© abstract.", text_quality=worse)]
    )
    stored = await store.papers.get("2506.00004")
    assert (stored.title, stored.abstract, stored.text_quality) == ("Clean title", "Clean abstract.", CLEAN)
    assert stored.version == 2  # the version's metadata still counts
    assert ids(await store.papers.search("Damaged")) == []  # and the index holds the clean text
    assert ids(await store.papers.search("Clean abstract")) == ["2506.00004"]


async def test_a_better_copy_replaces_a_worse_one(store):
    await store.papers.upsert_papers([paper("2506.00005", title="Broken â€œtitle", text_quality=DAMAGED)])
    await store.papers.upsert_papers([paper("2506.00005", title="Repaired title", text_quality=REPAIRED)])
    assert (await store.papers.get("2506.00005")).title == "Repaired title"
    await store.papers.upsert_papers([paper("2506.00005", title="Damaged again", text_quality=DAMAGED)])
    assert (await store.papers.get("2506.00005")).title == "Repaired title"
    await store.papers.upsert_papers([paper("2506.00005", title="Clean title", text_quality=CLEAN)])
    stored = await store.papers.get("2506.00005")
    assert (stored.title, stored.text_quality) == ("Clean title", CLEAN)
    assert ids(await store.papers.search("broken")) == [] and ids(await store.papers.search("clean title")) == ["2506.00005"]


async def test_damaged_notes_never_replace_clean_notes_of_the_same_language_and_source(store):
    clean = Notes("en", headline="Clean headline", method="Clean method")
    await store.papers.upsert_papers([paper("2506.00006", notes=(clean,))])
    damaged = Notes("en", headline="Dâ€amaged", text_quality=DAMAGED)
    other_source = Notes("en", headline="Machine headline", source="llm", origin="model-x")
    report = await store.papers.upsert_papers([paper("2506.00006", notes=(damaged, other_source))])
    assert report.updated == 1
    stored = await store.papers.get("2506.00006")
    by_source = {n.source: n for n in stored.notes}
    assert by_source["paperlist"].headline == "Clean headline"
    assert by_source["llm"].headline == "Machine headline"


async def test_writing_the_same_papers_again_changes_nothing(store, clock):
    batch = [paper(f"2506.1{i:04d}", topics=("rm",), notes=(Notes("en", headline=f"h{i}"),)) for i in range(20)]
    assert (await store.papers.upsert_papers(batch)).new == 20
    before = [await store.papers.get(p.arxiv_id) for p in batch]
    clock.advance(days=1)
    report = await store.papers.upsert_papers(batch)
    assert (report.new, report.updated, report.unchanged, report.new_ids) == (0, 0, 20, ())
    assert [await store.papers.get(p.arxiv_id) for p in batch] == before  # added_at included
    assert [(s.topic.name, s.paper_count) for s in await store.papers.topics()] == [("rm", 20)]


async def test_topics_are_added_never_removed(store, clock):
    await store.papers.upsert_papers([paper("2506.00007", topics=("rm",))])
    clock.advance(hours=1)
    report = await store.papers.upsert_papers([paper("2506.00007", topics=("vlm",))])
    assert report.updated == 1
    assert (await store.papers.get("2506.00007")).topics == ("rm", "vlm")
    assert ids(await store.papers.latest("vlm")) == ["2506.00007"]


@pytest.mark.parametrize(
    "bad",
    [
        paper("2506.00009", text_quality="not-a-quality"),  # refused before the transaction
        paper("2506.00009", notes=(Notes(None, headline="x"),)),  # refused by the notes table, after papers and index
    ],
    ids=["bad-quality", "bad-notes"],
)
async def test_one_batch_is_all_or_nothing(store, bad):
    await store.papers.upsert_papers([paper("2506.00008", title="Kept", topics=("rm",))])
    with pytest.raises(Exception):  # noqa: B017 - each store and bad row fails its own way; the batch must not half-land
        await store.papers.upsert_papers(
            [paper("2506.00010", title="Fresh"), paper("2506.00008", version=2, title="Changed", topics=("vlm",)), bad]
        )
    assert await store.papers.paper_count() == 1
    kept = await store.papers.get("2506.00008")
    assert (kept.title, kept.version, kept.topics) == ("Kept", 1, ("rm",))
    assert await store.papers.get("2506.00010") is None
    assert ids(await store.papers.search("Changed")) == [] and ids(await store.papers.search("Fresh")) == []
    assert ids(await store.papers.search("Kept")) == ["2506.00008"]
    assert [(s.topic.name, s.paper_count) for s in await store.papers.topics()] == [("rm", 1)]
    assert (await store.papers.upsert_papers([paper("2506.00010", title="Fresh")])).new == 1  # the store still works
    assert (await store.papers.upsert_papers([])) == UpsertReport()


async def test_a_batch_holding_two_versions_of_one_paper_keeps_the_newer(store):
    report = await store.papers.upsert_papers(
        [paper("2506.00011", version=2, title="Newer"), paper("2506.00011", version=1, title="Older")]
    )
    assert (report.new, report.updated, report.unchanged) == (1, 0, 1)
    assert (await store.papers.get("2506.00011")).title == "Newer"


# --- bulk loading ----------------------------------------------------------------------


async def test_bulk_upsert_follows_the_same_rules_as_upsert_papers(store):
    batches = [
        [paper(f"2506.2{i:04d}", title=f"Bulk paper {i} zebra", topics=("rm",)) for i in range(0, 50)],
        [paper(f"2506.2{i:04d}", title=f"Bulk paper {i} zebra", topics=("rm",)) for i in range(50, 100)],
        [],  # an empty batch is skipped
        # a newer version of one paper of the first batch, plus one it already wrote
        [
            paper("2506.20003", version=2, title="Bulk paper 3 giraffe", topics=("rm",)),
            paper("2506.20004", title="Bulk paper 4 zebra", topics=("rm",)),
        ],
    ]

    async def as_async(items):
        for item in items:
            yield item

    report = await store.papers.bulk_upsert(as_async(batches))
    assert (report.new, report.updated, report.unchanged) == (100, 1, 1)
    assert len(report.new_ids) == 100
    assert await store.papers.paper_count() == 100
    assert (await store.papers.get("2506.20003")).title == "Bulk paper 3 giraffe"
    assert ids(await store.papers.search("giraffe")) == ["2506.20003"]
    assert len(await store.papers.search("zebra", limit=1000)) == 99
    assert [(s.topic.name, s.paper_count) for s in await store.papers.topics()] == [("rm", 100)]
    again = await store.papers.bulk_upsert(batches)  # a plain iterable works too
    assert (again.new, again.updated, again.unchanged) == (0, 0, 102)
    assert "2506.20004" in ids(await store.papers.search("zebra", limit=1000))
    if hasattr(store.papers, "check_index"):
        await store.papers.check_index()


async def test_bulk_upsert_keeps_the_batches_written_before_a_bad_one(store):
    good = [paper(f"2506.3{i:04d}") for i in range(10)]
    bad = [paper("2506.39999", text_quality="nope")]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.papers.bulk_upsert([good, bad])
    assert await store.papers.paper_count() == 10
    assert ids(await store.papers.search("Paper 2506.30003")) == ["2506.30003"]


# --- reads ------------------------------------------------------------------------------


async def test_latest_is_newest_first_then_by_id_with_topic_filter_and_count(store):
    await store.papers.upsert_papers(
        [
            paper("2505.00001", published="2025-05-20", topics=("rm",)),
            paper("2506.00002", published="2025-06-02", topics=("vlm",)),
            paper("2506.00001", published="2025-06-02", topics=("rm",)),
            paper("2506.00003", published="2025-06-01", topics=("rm", "vlm")),
            paper("2504.00009", published="2025-04-30"),
        ]
    )
    everything = ["2506.00002", "2506.00001", "2506.00003", "2505.00001", "2504.00009"]
    assert ids(await store.papers.latest(limit=10)) == everything
    assert ids(await store.papers.latest()) == everything  # default 5
    assert ids(await store.papers.latest(limit=2)) == everything[:2]
    assert ids(await store.papers.latest("rm", 10)) == ["2506.00001", "2506.00003", "2505.00001"]
    assert ids(await store.papers.latest("vlm", 1)) == ["2506.00002"]
    assert await store.papers.latest("no-such-topic", 5) == []
    assert await store.papers.latest(None, 0) == [] and await store.papers.latest(None, -3) == []
    assert len(await store.papers.latest(None, 10**12)) == 5


async def test_latest_follows_a_changed_published_date(store):
    await store.papers.upsert_papers(
        [paper("2506.00001", published="2025-06", topics=("rm",)), paper("2506.00002", published="2025-06-10", topics=("rm",))]
    )
    await store.papers.upsert_papers([paper("2506.00001", published="2025-06-20")])  # more precise: kept
    assert ids(await store.papers.latest("rm", 2)) == ["2506.00001", "2506.00002"]
    assert ids(await store.papers.latest(None, 2)) == ["2506.00001", "2506.00002"]


async def test_topics_list_every_topic_with_counts(store):
    await store.papers.upsert_topics([Topic("empty", "Nothing yet", "cat:cs.XX", ("cs.XX",)), Topic("rm", "Reward models")])
    await store.papers.upsert_papers(
        [
            paper("2506.00001", topics=("rm",), published="2025-06-05"),
            paper("2506.00002", topics=("rm", "vlm"), published="2025-06-07"),
        ]
    )
    stats = {s.topic.name: s for s in await store.papers.topics()}
    assert sorted(stats) == ["empty", "rm", "vlm"] == await store.papers.topic_names()
    assert (stats["rm"].paper_count, stats["rm"].newest_published, stats["rm"].topic.title) == (2, "2025-06-07", "Reward models")
    assert (stats["vlm"].paper_count, stats["empty"].paper_count, stats["empty"].newest_published) == (1, 0, None)
    assert stats["empty"].topic == Topic("empty", "Nothing yet", "cat:cs.XX", ("cs.XX",))
    await store.papers.upsert_topics([Topic("rm", "Reward modelling")])  # updates the definition, keeps the count
    stats = {s.topic.name: s for s in await store.papers.topics()}
    assert (stats["rm"].topic.title, stats["rm"].paper_count) == ("Reward modelling", 2)
    assert await store.papers.paper_count() == 2


async def test_a_topic_defined_without_a_title_keeps_the_title_an_import_gave_it(store):
    await store.papers.upsert_topics([Topic("agent-plan", "Agent+Plan")])  # a paper list's heading
    await store.papers.upsert_topics([Topic("agent-plan", "", "ti:agent")])  # a [[topics]] entry without `title`
    [stats] = await store.papers.topics()
    assert (stats.topic.title, stats.topic.query) == ("Agent+Plan", "ti:agent")


async def test_meta_values(store):
    assert await store.papers.get_meta("cursor") is None
    await store.papers.set_meta("cursor", "2025-06-01")
    await store.papers.set_meta("cursor", "2025-06-02")
    await store.papers.set_meta("κλειδί", "значение ✓")
    assert await store.papers.get_meta("cursor") == "2025-06-02"
    assert await store.papers.get_meta("κλειδί") == "значение ✓"


async def test_meta_values_survive_a_reopen(persistent_store_factory):
    first = await persistent_store_factory.open("meta")
    await first.papers.set_meta("fetch.cursor", "42")
    await first.close()
    again = await persistent_store_factory.open("meta")
    assert await again.papers.get_meta("fetch.cursor") == "42"


# --- search -----------------------------------------------------------------------------

FILLER = "We study a method and report results on several benchmarks with careful ablations. " * 6


async def test_a_title_hit_ranks_above_an_abstract_only_hit(store):
    await store.papers.upsert_papers(
        [
            paper("2506.00001", title="Hyperbolic embeddings for trees", abstract=FILLER),
            # newer, and the word twice, but only in the abstract
            paper(
                "2506.00002",
                title="Graph learning",
                abstract="Hyperbolic space. " + FILLER + " Hyperbolic.",
                published="2025-06-09",
            ),
        ]
    )
    assert ids(await store.papers.search("hyperbolic")) == ["2506.00001", "2506.00002"]


async def test_authors_notes_and_stemmed_english_are_searchable(store):
    await store.papers.upsert_papers(
        [
            paper("2506.00001", title="Learning to drive", authors=("Grace Hopper", "Edsger Dijkstra")),
            paper(
                "2506.00002",
                title="Tokenizers",
                notes=(Notes("en", headline="Surprising quokka result", takeaways="Use fewer tokens"),),
            ),
        ]
    )
    assert ids(await store.papers.search("Dijkstra")) == ["2506.00001"]
    assert ids(await store.papers.search("hopper grace")) == ["2506.00001"]
    assert ids(await store.papers.search("quokka")) == ["2506.00002"]
    assert ids(await store.papers.search("driving")) == ["2506.00001"]  # porter: driving -> drive
    assert ids(await store.papers.search("learned drives")) == ["2506.00001"]
    assert ids(await store.papers.search("dijkstra quokka")) == []  # terms are ANDed


async def test_chinese_is_searchable_by_two_character_words(store):
    await store.papers.upsert_papers(
        [
            paper("2506.00001", title="DriveRX", notes=(Notes("zh", headline="自动驾驶汽车的推理模型", method="强化学习。"),)),
            paper("2506.00002", title="Robots", notes=(Notes("zh", headline="机器人控制", method="模仿学习"),)),
            paper("2506.00003", title="自动驾驶 survey", abstract="Mixed text 自动化工具"),
        ]
    )
    assert ids(await store.papers.search("自动驾驶")) == ["2506.00003", "2506.00001"]  # title weighted up
    assert ids(await store.papers.search("驾驶")) == ["2506.00003", "2506.00001"]
    assert ids(await store.papers.search("推理模型")) == ["2506.00001"]
    assert ids(await store.papers.search("汽车驾驶")) == []  # its bigram 车驾 is nowhere
    assert sorted(ids(await store.papers.search("学习"))) == ["2506.00001", "2506.00002"]
    assert sorted(ids(await store.papers.search("控"))) == ["2506.00002"]  # one character: a prefix query
    assert sorted(ids(await store.papers.search("车"))) == ["2506.00001"]  # the last character of a run
    assert ids(await store.papers.search("自动 robots")) == []
    assert ids(await store.papers.search("机器人 Robots")) == ["2506.00002"]  # CJK and Latin in one query


async def test_search_topic_filter_and_count(store):
    await store.papers.upsert_papers(
        [paper(f"2506.{i:05d}", title=f"Zebra study {i}", topics=("rm",) if i % 2 else ("vlm",)) for i in range(1, 13)]
    )
    assert len(await store.papers.search("zebra")) == 5  # default count
    assert len(await store.papers.search("zebra", limit=25)) == 12
    in_rm = await store.papers.search("zebra", topic="rm", limit=25)
    assert sorted(ids(in_rm)) == [f"2506.{i:05d}" for i in range(1, 13, 2)]
    assert all("rm" in p.topics for p in in_rm)
    assert await store.papers.search("zebra", topic="no-such-topic") == []
    assert await store.papers.search("zebra", limit=0) == []
    assert await store.papers.search("   ") == [] and await store.papers.search("") == []


async def test_search_results_are_full_papers(store):
    await store.papers.upsert_papers([paper("2506.00001", title="Zebra", topics=("rm",), notes=(Notes("en", headline="H"),))])
    (found,) = await store.papers.search("zebra")
    assert found == await store.papers.get("2506.00001")


# --- subscriptions and deliveries -------------------------------------------------------

HERE = ChannelRef("slack", "C1", "T1")
THERE = ChannelRef("slack", "C2", "T1")


async def subscribe(store, topic: str, channel: ChannelRef = HERE, **options) -> Subscription:
    return await store.subscriptions.save_subscription(Subscription(id=0, channel=channel, topic=topic, **options))


async def test_save_get_list_and_remove_subscriptions(store, clock):
    first = await subscribe(store, "rm", when="mon 09:00", timezone="Europe/Paris")
    assert first.id > 0 and first.created_at == "2025-06-02T09:00:00Z"
    assert await store.subscriptions.get_subscription(first.id) == first
    clock.advance(days=1)
    updated = await subscribe(store, "rm", when="daily 08:00", max_papers=3)  # same (channel, topic): an update
    assert (updated.id, updated.when, updated.max_papers, updated.created_at) == (first.id, "daily 08:00", 3, first.created_at)
    in_thread = await subscribe(store, "rm", ChannelRef("slack", "C1", "T1", "1700.1"))
    elsewhere = await subscribe(store, "vlm", THERE)
    assert len({first.id, in_thread.id, elsewhere.id}) == 3
    assert [s.id for s in await store.subscriptions.subscriptions(HERE)] == [first.id]
    assert [s.id for s in await store.subscriptions.subscriptions()] == [first.id, in_thread.id, elsewhere.id]
    assert await store.subscriptions.get_subscription(9999) is None
    assert await store.subscriptions.remove_subscription(THERE, "rm") is False
    assert await store.subscriptions.remove_subscription(HERE, "rm") is True
    assert await store.subscriptions.remove_subscription(HERE, "rm") is False
    assert [s.id for s in await store.subscriptions.subscriptions()] == [in_thread.id, elsewhere.id]


async def test_subscription_failure_keeps_its_first_time_until_cleared(store):
    sub = await subscribe(store, "rm")
    await store.subscriptions.set_subscription_failure(sub.id, "channel_not_found", "2025-06-02T09:00:00Z")
    await store.subscriptions.set_subscription_failure(sub.id, "still not found", "2025-06-09T09:00:00Z")
    failing = await store.subscriptions.get_subscription(sub.id)
    assert (failing.failing, failing.failing_since) == ("still not found", "2025-06-02T09:00:00Z")
    await store.subscriptions.set_subscription_failure(sub.id, None, "2025-06-16T09:00:00Z")
    cleared = await store.subscriptions.get_subscription(sub.id)
    assert (cleared.failing, cleared.failing_since) == (None, None)


async def test_a_period_is_claimed_once_then_recorded(store):
    sub = await subscribe(store, "rm")
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm",)), paper("2506.00002", topics=("rm",))])
    key = DeliveryKey(sub.id, "2025-W23")
    assert await store.subscriptions.claim_delivery(key, "2025-06-02T09:00:00Z", HERE.key, ("2506.00001", "2506.00002"), 2)
    assert not await store.subscriptions.claim_delivery(key, "2025-06-02T09:00:00Z", HERE.key, ("2506.00001",), 1)
    claimed = await store.subscriptions.delivery(sub.id, "2025-W23")
    assert (claimed.state, claimed.paper_ids, claimed.total, claimed.message_ids) == (
        "claimed",
        ("2506.00001", "2506.00002"),
        2,
        (),
    )
    assert [d.key for d in await store.subscriptions.pending_deliveries()] == [key]
    await store.subscriptions.note_delivery_attempt(key)
    await store.subscriptions.note_delivery_attempt(key)
    await store.subscriptions.record_delivery(key, ("m1", "m2"), "2025-06-02T09:00:05Z")
    sent = await store.subscriptions.delivery(sub.id, "2025-W23")
    assert (sent.state, sent.message_ids, sent.sent_at, sent.attempts) == ("sent", ("m1", "m2"), "2025-06-02T09:00:05Z", 2)
    assert await store.subscriptions.pending_deliveries() == []
    assert (await store.subscriptions.last_delivery(sub.id)).key == key
    assert await store.subscriptions.last_delivery(sub.id, before="2025-06-02T09:00:00Z") is None


async def test_release_undoes_a_claim_so_the_period_can_be_retried(store, clock):
    sub = await subscribe(store, "rm")
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm",))])
    since, until = "2025-06-01T00:00:00Z", clock.advance(minutes=1).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = DeliveryKey(sub.id, "2025-W23")
    assert await store.subscriptions.claim_delivery(key, until, HERE.key, ("2506.00001",), 1)
    assert await store.subscriptions.digest_candidates("rm", HERE.key, since, until, 10) == ([], 0)
    await store.subscriptions.release_delivery(key)
    assert await store.subscriptions.delivery(sub.id, "2025-W23") is None and await store.subscriptions.pending_deliveries() == []
    papers, total = await store.subscriptions.digest_candidates("rm", HERE.key, since, until, 10)
    assert (ids(papers), total) == (["2506.00001"], 1)
    assert await store.subscriptions.claim_delivery(key, until, HERE.key, ("2506.00001",), 1)


async def test_a_paper_claimed_for_a_channel_is_taken_for_every_topic_there_but_not_elsewhere(store, clock):
    rm, vlm, other = await subscribe(store, "rm"), await subscribe(store, "vlm"), await subscribe(store, "vlm", THERE)
    await store.papers.upsert_papers(
        [paper("2506.00001", topics=("rm", "vlm")), paper("2506.00002", topics=("vlm",), published="2025-06-02")]
    )
    since, until = "2025-06-01T00:00:00Z", clock.advance(minutes=1).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await store.subscriptions.claim_delivery(DeliveryKey(rm.id, "W23"), until, HERE.key, ("2506.00001",), 1)
    papers, total = await store.subscriptions.digest_candidates("vlm", HERE.key, since, until, 10)
    assert (ids(papers), total) == (["2506.00002"], 1)
    papers, total = await store.subscriptions.digest_candidates("vlm", THERE.key, since, until, 1)
    assert (ids(papers), total) == (["2506.00002"], 2)  # newest first, limited, total counts all
    assert await store.subscriptions.claim_delivery(
        DeliveryKey(other.id, "W23"), until, THERE.key, ("2506.00001", "2506.00002"), 2
    )
    assert await store.subscriptions.claim_delivery(DeliveryKey(vlm.id, "W23"), until, HERE.key, ("2506.00002",), 1)
    assert await store.subscriptions.digest_candidates("vlm", HERE.key, since, until, 10) == ([], 0)
    assert await store.subscriptions.digest_candidates("rm", HERE.key, since, until, 10) == ([], 0)


async def test_removing_a_subscription_frees_the_papers_of_its_unsent_claim_only(store, clock):
    rm, vlm = await subscribe(store, "rm"), await subscribe(store, "vlm")
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm", "vlm")), paper("2506.00002", topics=("rm", "vlm"))])
    since, until = "2025-06-01T00:00:00Z", clock.advance(minutes=1).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent, unsent = DeliveryKey(rm.id, "W22"), DeliveryKey(rm.id, "W23")
    assert await store.subscriptions.claim_delivery(sent, until, HERE.key, ("2506.00002",), 1)
    await store.subscriptions.record_delivery(sent, ("m1",), until)
    assert await store.subscriptions.claim_delivery(unsent, until, HERE.key, ("2506.00001",), 1)
    assert await store.subscriptions.digest_candidates("vlm", HERE.key, since, until, 10) == ([], 0)
    assert await store.subscriptions.remove_subscription(HERE, "rm")
    assert await store.subscriptions.pending_deliveries() == [] and await store.subscriptions.delivery(rm.id, "W22") is None
    papers, total = await store.subscriptions.digest_candidates("vlm", HERE.key, since, until, 10)
    assert (ids(papers), total) == (["2506.00001"], 1)  # the posted paper stays posted
    assert [s.id for s in await store.subscriptions.subscriptions()] == [vlm.id]


async def test_skipped_periods_are_recorded_once_and_do_not_close_a_window(store):
    sub = await subscribe(store, "rm")
    assert await store.subscriptions.claim_delivery(
        DeliveryKey(sub.id, "W22"), "2025-05-26T09:00:00Z", HERE.key, (), 0, state="empty"
    )
    await store.subscriptions.record_skipped(sub.id, "W23", "2025-06-02T09:00:00Z", "too late")
    await store.subscriptions.record_skipped(sub.id, "W23", "2025-06-02T09:00:00Z", "again")
    skipped = await store.subscriptions.delivery(sub.id, "W23")
    assert (skipped.state, skipped.note) == ("skipped", "too late")
    assert (await store.subscriptions.last_delivery(sub.id)).period == "W22"
    assert not await store.subscriptions.claim_delivery(DeliveryKey(sub.id, "W23"), "2025-06-02T09:00:00Z", HERE.key, (), 0)


async def test_a_retired_subscription_keeps_its_history_and_is_revived_by_saving_it_again(store, clock):
    subs = store.subscriptions
    sub = await subscribe(store, "rm", when="mon 09:00")
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm",)), paper("2506.00002", topics=("rm",))])
    sent, unsent = DeliveryKey(sub.id, "W22"), DeliveryKey(sub.id, "W23")
    assert await subs.claim_delivery(sent, "2025-05-26T09:00:00Z", HERE.key, ("2506.00002",), 1)
    await subs.record_delivery(sent, ("m1",), "2025-05-26T09:00:05Z")
    assert await subs.claim_delivery(unsent, "2025-06-02T09:00:00Z", HERE.key, ("2506.00001",), 1)
    assert await subs.retire_subscription(HERE, "rm", "2025-06-02T10:00:00Z")
    assert await subs.retire_subscription(HERE, "rm", "2025-06-02T10:00:00Z") is False  # already retired
    assert await subs.subscriptions() == [] and await subs.get_subscription(sub.id) is None
    assert [d.period for d in await subs.deliveries(sub.id)] == ["W22"]  # the unsent claim was given back
    papers, total = await subs.digest_candidates("rm", HERE.key, None, None, 10)
    assert (ids(papers), total) == (["2506.00001"], 1)
    clock.advance(days=7)
    back = await subscribe(store, "rm", when="daily 08:00")
    assert (back.id, back.when, back.created_at) == (sub.id, "daily 08:00", "2025-06-09T09:00:00Z")
    assert [d.period for d in await subs.deliveries(sub.id)] == ["W22"]


async def test_memberships_are_numbered_in_commit_order_and_bound_digest_windows(store):
    subs = store.subscriptions
    assert await subs.membership_sequence() == 0
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm",), published="2025-06-05")])
    first = await subs.membership_sequence()
    await store.papers.upsert_papers([paper("2506.00002", topics=("rm", "vlm"), published="2025-06-01")])
    await store.papers.upsert_papers([paper("2506.00001", version=2, title="A new version is not news")])
    second = await subs.membership_sequence()
    assert 0 < first < second
    window = await subs.digest_candidates("rm", HERE.key, None, None, 10, after_seq=first, upto_seq=second)
    assert (ids(window[0]), window[1]) == (["2506.00002"], 1)
    everything = await subs.digest_candidates("rm", HERE.key, None, None, 10, upto_seq=second)
    assert (ids(everything[0]), everything[1]) == (["2506.00001", "2506.00002"], 2)  # newest published first
    assert await subs.digest_candidates("rm", HERE.key, None, None, 10, upto_seq=0) == ([], 0)
    sub = await subscribe(store, "rm")
    assert await subs.claim_delivery(
        DeliveryKey(sub.id, "W23"), "2025-06-02T09:00:00Z", HERE.key, ("2506.00001",), 1, until_seq=second
    )
    assert (await subs.delivery(sub.id, "W23")).until_seq == second


# --- machine notes: candidates, failures, the daily budget -------------------------------------


async def test_papers_needing_notes_come_never_tried_newest_first_then_failed_fewest_attempts_first(store, clock):
    notes = store.notes
    await store.papers.upsert_papers(
        [paper(f"2506.0000{i}", published=f"2025-06-0{i}", topics=("rm",) if i % 2 else ("vlm",)) for i in range(1, 6)]
    )
    assert ids(await notes.papers_needing_notes("en")) == ["2506.00005", "2506.00004", "2506.00003", "2506.00002", "2506.00001"]
    await notes.record_notes_failure("2506.00005", "en", "the model refused", "2025-06-02T09:00:00Z")
    await notes.record_notes_failure("2506.00004", "en", "no JSON", "2025-06-02T09:01:00Z")
    await notes.record_notes_failure("2506.00005", "en", "refused again", "2025-06-02T09:02:00Z")
    await notes.record_notes_failure("2599.99999", "en", "an unknown paper is ignored", "2025-06-02T09:03:00Z")
    assert await notes.notes_failures("en") == {"2506.00004": (1, "no JSON"), "2506.00005": (2, "refused again")}
    assert await notes.notes_failures("zh") == {}
    assert ids(await notes.papers_needing_notes("en")) == ["2506.00003", "2506.00002", "2506.00001", "2506.00004", "2506.00005"]
    assert ids(await notes.papers_needing_notes("en", limit=4)) == ["2506.00003", "2506.00002", "2506.00001", "2506.00004"]
    assert ids(await notes.papers_needing_notes("en", topic="rm")) == ["2506.00003", "2506.00001", "2506.00005"]
    assert await notes.papers_needing_notes("en", limit=0) == []
    assert len(await notes.papers_needing_notes("zh")) == 5  # failures count per language


async def test_usable_notes_in_the_language_take_a_paper_off_the_list_and_damaged_ones_do_not(store):
    await store.papers.upsert_papers(
        [
            paper("2506.00001", notes=(Notes("en", headline="Human headline"),)),
            paper("2506.00002", notes=(Notes("en", headline="Dâ€", text_quality=DAMAGED),)),
            paper("2506.00003", notes=(Notes("zh", headline="中文"),)),
        ]
    )
    assert sorted(ids(await store.notes.papers_needing_notes("en"))) == ["2506.00002", "2506.00003"]
    assert sorted(ids(await store.notes.papers_needing_notes("zh"))) == ["2506.00001", "2506.00002"]


async def test_added_notes_go_beside_human_ones_are_searchable_and_clear_the_failures(store):
    human = Notes("en", headline="Human headline", origin="list.md")
    await store.papers.upsert_papers([paper("2506.00001", title="Kept title", topics=("rm",), notes=(human,))])
    await store.notes.record_notes_failure("2506.00001", "en", "no JSON", "2025-06-02T09:00:00Z")
    machine = Notes("en", headline="Machine quokka headline", source="llm", origin="model-x", created_at="2025-06-02T09:05:00Z")
    assert await store.notes.add_notes("2506.00001", machine)
    stored = await store.papers.get("2506.00001")
    assert {(n.source, n.headline) for n in stored.notes} == {("paperlist", "Human headline"), ("llm", "Machine quokka headline")}
    assert (stored.title, stored.topics, stored.version) == ("Kept title", ("rm",), 1)  # nothing else changed
    assert ids(await store.papers.search("quokka")) == ["2506.00001"]
    assert await store.notes.notes_failures("en") == {}
    assert await store.notes.add_notes("2599.99999", machine) is False
    assert await store.papers.get("2599.99999") is None


async def test_the_daily_budget_is_counted_given_back_and_dropped_the_next_day(store):
    notes = store.notes
    assert [await notes.take_notes_budget("2025-06-02", 2) for _ in range(3)] == [True, True, False]
    assert await notes.notes_budget_spent("2025-06-02") == 2
    await notes.return_notes_budget("2025-06-02")
    assert await notes.notes_budget_spent("2025-06-02") == 1
    assert await notes.take_notes_budget("2025-06-02", 2) and not await notes.take_notes_budget("2025-06-02", 2)
    assert await notes.take_notes_budget("2025-06-03", 2)
    assert await notes.notes_budget_spent("2025-06-02") == 0  # an earlier day's counter is dropped
    await notes.return_notes_budget("2025-06-04")  # nothing taken: nothing to give back
    assert await notes.notes_budget_spent("2025-06-04") == 0


async def test_two_connections_taking_one_budget_never_overspend_it(persistent_store_factory):
    first, second = await persistent_store_factory.open("budget"), await persistent_store_factory.open("budget")
    taken = await asyncio.gather(
        *(store.notes.take_notes_budget("2025-06-02", 5) for _ in range(6) for store in (first, second))
    )
    assert taken.count(True) == 5 and await first.notes.notes_budget_spent("2025-06-02") == 5


# --- SQLite specifics -------------------------------------------------------------------


def pragma(path: Path, name: str):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def table_names(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}


async def test_open_creates_the_schema_at_the_newest_version_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "dir" / "new.db"
    store = await SqliteStore.open(path)
    await store.close()
    assert pragma(path, "user_version") == len(schema.MIGRATIONS)
    assert pragma(path, "journal_mode") == "wal"
    assert {
        "papers",
        "papers_fts",
        "topics",
        "paper_topics",
        "notes",
        "meta",
        "subscriptions",
        "deliveries",
        "channel_papers",
    } <= table_names(path)


async def test_open_migrates_an_older_database_forward_and_keeps_its_data(tmp_path):
    path = tmp_path / "v1.db"
    v1 = await SqliteStore.open(path, migrations=schema.MIGRATIONS[:1])
    await v1.papers.upsert_papers([paper("2506.00001", title="Zebra crossings", topics=("rm",))])
    await v1.papers.set_meta("fetch.cursor", "7")
    await v1.close()
    assert pragma(path, "user_version") == 1
    assert "subscriptions" not in table_names(path)

    store = await SqliteStore.open(path)
    try:
        assert pragma(path, "user_version") == len(schema.MIGRATIONS)
        assert ids(await store.papers.search("zebra")) == ["2506.00001"]
        assert await store.papers.get_meta("fetch.cursor") == "7"
        sub = await subscribe(store, "rm")
        assert [s.id for s in await store.subscriptions.subscriptions()] == [sub.id]
        await store.papers.check_index()
    finally:
        await store.close()


async def test_a_v1_database_written_by_plain_sqlite3_is_migrated(tmp_path):
    path = tmp_path / "raw-v1.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(schema.MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
    store = await SqliteStore.open(path)
    try:
        assert pragma(path, "user_version") == len(schema.MIGRATIONS)
        assert (await store.papers.upsert_papers([paper("2506.00001", topics=("rm",))])).new == 1
        assert await subscribe(store, "rm")
    finally:
        await store.close()


async def test_a_failing_migration_step_leaves_the_database_at_the_last_good_version(tmp_path):
    path = tmp_path / "fail.db"
    await (await SqliteStore.open(path)).close()
    broken = [*schema.MIGRATIONS, "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);"]
    with pytest.raises(sqlite3.OperationalError):
        await SqliteStore.open(path, migrations=broken)
    assert pragma(path, "user_version") == len(schema.MIGRATIONS)
    assert "half_done" not in table_names(path)
    await (await SqliteStore.open(path)).close()


async def test_a_database_from_a_newer_paperbot_is_refused_and_not_migrated(tmp_path):
    path = tmp_path / "future.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(schema.SchemaVersionError, match="99"):
        await SqliteStore.open(path)
    assert pragma(path, "user_version") == 99 and table_names(path) == set()


# The newest-slice plan against plain bm25: whenever the plan ranks everything, the
# store must return what one direct FTS5 query returns; when it ranks a slice, the
# exact bm25 top of a newest slice. Scores are compared rather than ids, so papers
# with equal scores may come in either order.

WORDS = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma".split()
CORPUS_SIZE = 1200


def corpus(count: int) -> list[Paper]:
    """Papers whose word frequencies vary with position: `omega` only in the oldest 40,
    `burst` only in one cluster of 100 papers a third of the way down from the newest."""
    papers = []
    for i in range(count):
        words = [WORDS[(i * 7 + k * 3) % 10] for k in range(5 + i % 4)]
        if i % 3 == 0:
            words.append("common")
        if i % 97 == 0:
            words.append("rare")
        if i < 40:
            words.append("omega")
        if 400 <= i < 500:
            words.append("burst")
        papers.append(
            paper(
                f"2506.{i:05d}",
                title=" ".join(words[: 3 + i % 3]),
                abstract=" ".join(reversed(words)) + " common" * (i % 2) + " pad" * (i % 23),
                topics=("even",) if i % 2 == 0 else ("odd",),
            )
        )
    return papers


def all_matches(path: Path, text: str, topic: str | None = None) -> list[tuple[int, str, float]]:
    """(rowid, arxiv_id, bm25) of every match, best first, straight from sqlite3."""
    source = "papers_fts JOIN papers AS p ON p.id = papers_fts.rowid"
    params: tuple = (build_match_query(text),)
    if topic is not None:
        source += " JOIN paper_topics AS t ON t.paper_id = p.id AND t.topic = ?"
        params = (topic, *params)
    sql = f"SELECT p.id, p.arxiv_id, {RANK_EXPRESSION} AS score FROM {source} WHERE papers_fts MATCH ? ORDER BY score"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql, params))


@pytest.fixture
async def ranked_store(tmp_path):
    path = tmp_path / "ranked.db"
    store = await SqliteStore.open(path)
    papers = corpus(CORPUS_SIZE)
    await store.papers.bulk_upsert([papers[i : i + 300] for i in range(0, CORPUS_SIZE, 300)])
    yield store, path
    await store.close()


QUERIES = ["common", "alpha", "alpha beta", "rare", "omega", "burst", "sigma common", "nothing"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("topic", [None, "odd"])
async def test_a_small_store_is_ranked_exactly_like_plain_bm25(ranked_store, query, topic):
    store, path = ranked_store
    matches = all_matches(path, query, topic)
    score = {arxiv_id: value for _, arxiv_id, value in matches}
    found = ids(await store.papers.search(query, topic=topic, limit=25))
    assert [score[i] for i in found] == [value for _, _, value in matches[:25]]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("topic", [None, "even"])
async def test_the_newest_slice_plan_returns_the_exact_top_of_a_newest_slice(ranked_store, monkeypatch, query, topic):
    """With a tiny probe and pool the plan must slice this 1,200-paper store."""
    store, path = ranked_store
    monkeypatch.setattr(search_plan, "PROBE_ROWS", 50)
    monkeypatch.setattr(search_plan, "RANKED_POOL", 30)
    limit = 10
    matches = all_matches(path, query, topic)
    score = {arxiv_id: value for _, arxiv_id, value in matches}
    found = ids(await store.papers.search(query, topic=topic, limit=limit))
    assert len(found) == min(limit, len(matches))  # widening: never fewer than there are
    got = [score[i] for i in found]
    if len(matches) <= 30:  # selective: ranked over the whole store, like plain bm25
        assert got == [value for _, _, value in matches[:limit]]
        return
    slice_tops = {tuple(value for rowid, _, value in matches if rowid >= start)[:limit] for start, _, _ in matches}
    assert tuple(got) in slice_tops


async def test_a_common_word_is_ranked_among_its_newest_matches(ranked_store, monkeypatch):
    store, path = ranked_store
    monkeypatch.setattr(search_plan, "PROBE_ROWS", 50)
    monkeypatch.setattr(search_plan, "RANKED_POOL", 30)
    found = await store.papers.search("common", limit=10)
    newest = {arxiv_id for rowid, arxiv_id, _ in all_matches(path, "common") if rowid > CORPUS_SIZE - 200}
    assert len(found) == 10 and set(ids(found)) <= newest


async def test_matches_only_among_the_oldest_papers_are_still_found(ranked_store, monkeypatch):
    store, path = ranked_store
    monkeypatch.setattr(search_plan, "PROBE_ROWS", 50)
    monkeypatch.setattr(search_plan, "RANKED_POOL", 30)
    matches = all_matches(path, "omega")
    score = {arxiv_id: value for _, arxiv_id, value in matches}
    found = ids(await store.papers.search("omega", limit=25))
    assert len(matches) == 40 and [score[i] for i in found] == [value for _, _, value in matches[:25]]


# --- opening: read-only, locations, one server -------------------------------------------------


async def test_a_read_only_open_changes_nothing_and_refuses_every_write(tmp_path):
    from bot.errors import StoreError

    path = tmp_path / "ro.db"
    writable = await SqliteStore.open(path)
    await writable.papers.upsert_papers([paper("2501.00001", topics=("t",))])
    await writable.close()
    before = path.read_bytes()
    reader = await SqliteStore.open(path, read_only=True)
    try:
        assert reader.read_only and [p.arxiv_id for p in await reader.papers.latest()] == ["2501.00001"]
        with pytest.raises(StoreError, match="cannot write to .*ro.db"):
            await reader.papers.upsert_papers([paper("2501.00002")])
        with pytest.raises(StoreError, match="cannot write to"):
            await reader.papers.set_meta("k", "v")
    finally:
        await reader.close()
    assert path.read_bytes() == before


async def test_a_read_only_open_of_a_missing_or_empty_file_says_so(tmp_path):
    from bot.errors import StoreError

    with pytest.raises(StoreError, match="there is no store at .* yet"):
        await SqliteStore.open(tmp_path / "none.db", read_only=True)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreError, match="is not a paperbot store"):
        await SqliteStore.open(empty, read_only=True)
    assert empty.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


async def test_parent_directories_are_created_only_when_asked(tmp_path):
    from bot.errors import StoreError

    with pytest.raises(StoreError, match="does not exist"):
        await SqliteStore.open(tmp_path / "typo" / "p.db", create_parent=False)
    assert not (tmp_path / "typo").exists()
    await (await SqliteStore.open(tmp_path / "made" / "p.db")).close()
    assert (tmp_path / "made" / "p.db").is_file()


async def test_only_one_serving_open_per_store(tmp_path):
    from bot.errors import StoreError

    path = tmp_path / "served.db"
    first = await SqliteStore.open(path, serving=True)
    try:
        with pytest.raises(StoreError, match=rf"another `paperbot run` \(pid {os.getpid()}\) is already serving"):
            await SqliteStore.open(path, serving=True)
        reader = await SqliteStore.open(path, read_only=True)  # lookups and imports are not locked out
        await reader.close()
        await (await SqliteStore.open(path)).close()
    finally:
        await first.close()
    await (await SqliteStore.open(path, serving=True)).close()  # released at close


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        (sqlite3.SQLITE_BUSY, "the store is busy: another paperbot process is writing to P; try again when it finishes"),
        (sqlite3.SQLITE_FULL, "the disk holding P is full; free some space"),
        (sqlite3.SQLITE_READONLY, "cannot write to P: the file or its directory is read-only"),
        (sqlite3.SQLITE_NOTADB, "P is not a paperbot store"),
        (sqlite3.SQLITE_CORRUPT, "P is damaged"),
        (sqlite3.SQLITE_IOERR_WRITE, "could not read or write P"),
    ],
)
def test_sqlite_errors_become_one_sentence_naming_the_path(code, fragment):
    from store.errors import from_sqlite

    error = sqlite3.OperationalError("sqlite says so")
    error.sqlite_errorcode = code
    translated = from_sqlite(error, "P")
    assert translated is not None and fragment in str(translated) and translated.path == "P"
    plain = sqlite3.OperationalError("no such table: papers")
    plain.sqlite_errorcode = sqlite3.SQLITE_ERROR
    assert from_sqlite(plain, "P") is None  # a bug stays a traceback
