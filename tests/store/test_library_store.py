"""The store's library part (`bot.ports.LibraryStore`): libraries, samples, candidates, stored models.

Everything above the "SQLite specifics" line talks to the store through the
port and runs once per store in `tests.support.store_factories.STORE_FACTORIES`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from bot.models import ChannelRef, DeliveryKey, Library, Notes, Paper, Subscription
from store.sqlite import SqliteStore, schema
from store.sqlite.libraries import any_term_query

PAPERS = ChannelRef("slack", "C1", "T1")
OTHER = ChannelRef("discord", "9", "7", thread="55")


def paper(number: int, *, topics: tuple[str, ...] = (), abstract: str = "", published: str = "2025-05-01", **fields) -> Paper:
    return Paper(
        f"2505.{number:05d}", fields.pop("title", f"Paper {number}"), abstract=abstract or f"Filler words {number}.",
        published=published, topics=topics, **fields,
    )  # fmt: skip


def ids(papers) -> list[str]:
    return [p.arxiv_id for p in papers]


# --- libraries -------------------------------------------------------------------------------


async def test_a_channel_has_at_most_one_library_and_it_can_be_replaced_or_removed(store):
    libraries = store.libraries
    assert await libraries.library(PAPERS) is None and await libraries.libraries() == []
    saved = await libraries.save_library(Library(PAPERS, ("reading", "more"), "chat", "U1"))
    assert saved.updated_at == "2025-06-02T09:00:00Z"
    assert await libraries.library(PAPERS) == saved
    again = await libraries.save_library(Library(PAPERS, ("other",), "config"))
    assert await libraries.libraries() == [again] and again.topics == ("other",) and again.set_by == ""
    await libraries.save_library(Library(OTHER, ("reading",)))
    assert await libraries.library(OTHER) == Library(OTHER, ("reading",), "chat", "", "2025-06-02T09:00:00Z")
    assert await libraries.remove_library(PAPERS) is True
    assert await libraries.remove_library(PAPERS) is False
    assert [lib.channel for lib in await libraries.libraries()] == [OTHER]


async def test_library_papers_are_the_newest_of_its_topics_each_once_and_their_ids_match(store):
    await store.papers.upsert_papers(
        [paper(1, topics=("a",), published="2025-01"), paper(2, topics=("a", "b"), published="2025-03-02"),
         paper(3, topics=("b",), published="2025-02-01"), paper(4, topics=("c",))]
    )  # fmt: skip
    assert ids(await store.libraries.topic_papers(["a", "b"], 10)) == ["2505.00002", "2505.00003", "2505.00001"]
    assert ids(await store.libraries.topic_papers(["a", "b"], 2)) == ["2505.00002", "2505.00003"]
    assert await store.libraries.topic_paper_ids(["a", "b"], 2) == ["2505.00002", "2505.00003"]
    assert await store.libraries.topic_papers(["nothing"], 10) == [] and await store.libraries.topic_paper_ids([], 5) == []


async def test_papers_by_arxiv_ids_keep_the_order_asked_and_leave_unknown_ones_out(store):
    await store.papers.upsert_papers([paper(1, notes=(Notes("zh", headline="奖励模型"),)), paper(2)])
    found = await store.libraries.papers_by_arxiv_ids(["2505.00002", "9999.99999", "2505.00001", "2505.00002"])
    assert ids(found) == ["2505.00002", "2505.00001"] and found[1].notes[0].headline == "奖励模型"


# --- the sample ------------------------------------------------------------------------------


async def test_the_sample_is_distinct_papers_the_same_for_a_seed_and_another_for_another_seed(store):
    await store.papers.upsert_papers(paper(i) for i in range(1, 301))
    first = ids(await store.libraries.sample_papers(40, seed=1))
    assert len(first) == len(set(first)) == 40
    assert ids(await store.libraries.sample_papers(40, seed=1)) == first
    assert ids(await store.libraries.sample_papers(40, seed=2)) != first
    assert (await store.libraries.sample_papers(40, seed=1))[0].abstract.startswith("Filler")  # whole papers


async def test_the_sample_draws_every_paper_about_as_often(store):
    await store.papers.upsert_papers(paper(i) for i in range(1, 101))
    seen: Counter[str] = Counter()
    for seed in range(300):
        seen.update(ids(await store.libraries.sample_papers(10, seed)))
    assert len(seen) == 100
    assert max(seen.values()) < 3 * min(seen.values())  # each is expected 30 times


async def test_a_sample_larger_than_the_store_is_the_whole_store_and_an_empty_store_gives_none(store):
    assert await store.libraries.sample_papers(10, seed=0) == []
    await store.papers.upsert_papers(paper(i) for i in range(1, 6))
    assert sorted(ids(await store.libraries.sample_papers(10, seed=0))) == [f"2505.{i:05d}" for i in range(1, 6)]
    assert await store.libraries.sample_papers(0, seed=0) == []


async def test_store_version_moves_with_new_papers_and_new_memberships_only(store):
    before = await store.libraries.store_version()
    await store.papers.upsert_papers([paper(1)])
    after_paper = await store.libraries.store_version()
    await store.papers.upsert_papers([paper(1, topics=("a",))])
    after_member = await store.libraries.store_version()
    await store.papers.upsert_papers([paper(1, topics=("a",), title="Paper 1, retitled")])
    assert before < after_paper < after_member == await store.libraries.store_version()


# --- candidates ------------------------------------------------------------------------------


async def candidate_store(store) -> None:
    await store.papers.upsert_papers(
        [
            paper(1, title="Reward models for driving", published="2025-01-10", topics=("rm",)),
            paper(2, title="Lattice QCD", abstract="Quarks on a lattice.", published="2025-03-01"),
            paper(3, abstract="A reward model, trained on preferences.", published="2025-05", topics=("rm",)),
            paper(4, title="自动驾驶的世界模型", abstract="", published="2025-04-02"),
            paper(5, title="Driving policies", published="2025-02-03", topics=("other",)),
        ]
    )


async def test_candidates_hold_any_of_the_terms_and_match_words_phrases_and_chinese(store):
    await candidate_store(store)
    found = ids(await store.libraries.candidates(["reward model", "lattice", "驾驶"], 4))
    assert sorted(found) == ["2505.00001", "2505.00002", "2505.00003", "2505.00004"]
    assert set(ids(await store.libraries.candidates(["driving"], 2))) == {"2505.00001", "2505.00005"}  # stemmed like search
    assert ids(await store.libraries.candidates(["driving"], 1)) in (["2505.00001"], ["2505.00005"])
    assert await store.libraries.candidates(["reward"], 0) == []


async def test_when_few_papers_match_the_newest_others_fill_up_the_candidates(store):
    await candidate_store(store)
    found = ids(await store.libraries.candidates(["lattice"], 3))
    assert found == ["2505.00002", "2505.00003", "2505.00004"]  # the match, then the newest two others
    assert ids(await store.libraries.candidates([], 2)) == ["2505.00003", "2505.00004"]
    assert ids(await store.libraries.candidates(["lattice"], 3, topic="rm")) == ["2505.00003", "2505.00001"]


async def test_candidates_filter_by_topic_date_exclusion_and_what_a_channel_was_shown(store):
    await candidate_store(store)
    libraries = store.libraries
    terms = ["reward", "driving", "lattice"]
    assert set(ids(await libraries.candidates(terms, 10, topic="rm"))) == {"2505.00001", "2505.00003"}
    # A month-only date counts as the whole month.
    assert set(ids(await libraries.candidates(terms, 10, since="2025-03-01"))) == {"2505.00002", "2505.00003", "2505.00004"}
    assert set(ids(await libraries.candidates(terms, 10, since="2025-05-20"))) == {"2505.00003"}
    assert "2505.00002" not in ids(await libraries.candidates(terms, 10, exclude=["2505.00002"]))
    subscription = await store.subscriptions.save_subscription(Subscription(id=0, channel=PAPERS, topic="rm"))
    await store.subscriptions.claim_delivery(
        DeliveryKey(subscription.id, "2025-W22"), "2025-06-02T09:00:00Z", PAPERS.key, ("2505.00001",), 1
    )
    assert "2505.00001" not in ids(await libraries.candidates(terms, 10, not_shown_in=PAPERS.key))
    assert "2505.00001" in ids(await libraries.candidates(terms, 10, not_shown_in=OTHER.key))


@pytest.mark.parametrize(
    "terms", [['"; DROP TABLE papers; --'], ["NEAR(a b)", "*", "col:x", "^", "AND", ")"], ["\x00", "\ud800", ""]]
)
async def test_hostile_terms_never_raise(store, terms):
    await candidate_store(store)
    assert isinstance(await store.libraries.candidates(terms, 5), list)


def test_the_any_term_query_quotes_every_term():
    assert any_term_query(["reward model", "driving", 'say "hi"', "驾驶", "自", "  ", "--"]) == (
        '"reward model" OR "driving" OR "say ""hi""" OR search_cjk : "驾驶" OR search_cjk : "自"*'
    )
    assert any_term_query(["", "!!"]) is None


# --- stored models ---------------------------------------------------------------------------


async def test_a_model_is_kept_with_its_fingerprint_and_replaced_by_a_newer_one(store):
    assert await store.libraries.load_model("topics:a") is None
    await store.libraries.save_model("topics:a", "f1:f2:3", b"\x00model bytes\xff")
    assert await store.libraries.load_model("topics:a") == ("f1:f2:3", b"\x00model bytes\xff")
    await store.libraries.save_model("topics:a", "g1:g2:4", b"newer")
    assert await store.libraries.load_model("topics:a") == ("g1:g2:4", b"newer")


async def test_libraries_and_models_survive_a_reopen(persistent_store_factory):
    store = await persistent_store_factory.open("kept")
    await store.libraries.save_library(Library(PAPERS, ("reading",)))
    await store.libraries.save_model("topics:reading", "a:b:1", b"bytes")
    await store.close()
    reopened = await persistent_store_factory.open("kept")
    assert (await reopened.libraries.library(PAPERS)).topics == ("reading",)
    assert await reopened.libraries.load_model("topics:reading") == ("a:b:1", b"bytes")


# --- SQLite specifics ------------------------------------------------------------------------


async def test_a_version_4_store_upgrades_keeping_its_subscriptions_and_gains_min_score(tmp_path, clock):
    path = tmp_path / "old.db"
    old = await SqliteStore.open(path, clock=clock, migrations=schema.MIGRATIONS[:4])
    await old.db.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO subscriptions (adapter, workspace, channel, thread, topic, schedule, timezone, language, max_papers, "
        "post_empty, webhook_env, source, created_at) "
        "VALUES ('slack', 'T1', 'C1', '', 'rm', 'mon 09:00', 'UTC', 'en', 10, 0, NULL, 'chat', 'x')"
    )
    conn.commit()
    conn.close()
    async with await SqliteStore.open(path, clock=clock) as store:
        [subscription] = await store.subscriptions.subscriptions()
        assert subscription.topic == "rm" and subscription.min_score is None
        saved = await store.subscriptions.save_subscription(Subscription(id=0, channel=PAPERS, topic="rm", min_score=0.25))
        assert saved.min_score == 0.25 and (await store.subscriptions.get_subscription(saved.id)).min_score == 0.25
        assert await store.libraries.libraries() == []


async def test_the_sample_reads_rows_by_id_not_the_whole_table(tmp_path, clock):
    async with await SqliteStore.open(tmp_path / "s.db", clock=clock) as store:
        await store.papers.upsert_papers(paper(i) for i in range(1, 2001))
        statements: list[str] = []
        async with store.db.locked() as conn:
            await conn.set_trace_callback(statements.append)
        await store.libraries.sample_papers(20, seed=3)
        async with store.db.locked() as conn:
            await conn.set_trace_callback(None)
        assert not any("random()" in sql.lower() for sql in statements)
        plans = []
        async with store.db.locked() as conn:
            for sql in statements:
                if sql.lstrip().upper().startswith("SELECT") and "FROM papers" in sql and "json_each" in sql:
                    async with conn.execute("EXPLAIN QUERY PLAN " + sql) as cursor:
                        plans += [row[-1] for row in await cursor.fetchall()]
        assert plans and not any(plan.startswith("SCAN papers") for plan in plans), plans


async def test_rows_missing_from_the_id_range_are_drawn_again(tmp_path, clock):
    async with await SqliteStore.open(tmp_path / "gaps.db", clock=clock) as store:
        await store.papers.upsert_papers(paper(i) for i in range(1, 401))
        async with store.db.transaction() as conn:
            await conn.execute("DELETE FROM papers WHERE id % 3 = 0")  # a third of the range is gaps
        sample = await store.libraries.sample_papers(100, seed=4)
        assert len(set(ids(sample))) == 100
