"""Libraries' models (`bot.ranking.Ranking`): when they are retrained, kept, restored, and thin input.

Real papers (`tests/fixtures/rank/two_topics.jsonl`) in a real SQLite store;
a retrain is seen in the log line `Ranking` writes for each one.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.errors import UserError
from bot.models import ChannelRef, Library, Paper
from bot.rank import RankSettings
from bot.rank.background import Background
from bot.rank.model import CLASSIFIER, EMPTY, SIMILARITY
from bot.rank.train import train, train_similar
from bot.ranking import Ranking
from bot.service import PaperService
from store.sqlite import SqliteStore
from tests.unit.test_ranker import DISEASE, GAMES, STORE, paper

CHANNEL = ChannelRef("slack", "C1", "T1")


def in_topic(papers: list[Paper], topic: str) -> list[Paper]:
    return [replace(p, topics=(topic,)) for p in papers]


def filler(start: int, count: int) -> list[Paper]:
    """Store papers on neither subject, to make the store grow."""
    return [
        paper(f"2401.{n:05d}", f"Filler paper {n} about soil chemistry", "Soil samples and nitrogen.")
        for n in range(start, start + count)
    ]


@pytest.fixture
async def store(store):
    """The shared store (tests/conftest.py) with a reading library of five papers and others in the news."""
    await store.papers.upsert_papers(in_topic(DISEASE[:5], "reading") + in_topic(DISEASE[5:] + GAMES, "news"))
    return store


def ranking(store: SqliteStore, **options) -> Ranking:
    return Ranking(PaperService(store.papers), store.libraries, **options)


def trainings(caplog) -> int:
    return sum("trained" in record.getMessage() for record in caplog.records if record.name == "bot.ranking")


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger="bot.ranking")
    return caplog


async def test_a_model_is_retrained_only_when_its_library_changes_or_the_store_outgrows_its_bucket(store, log):
    served = ranking(store)
    first = await served.model_of(["reading"])
    assert first.kind == CLASSIFIER and trainings(log) == 1
    assert await served.model_of(["reading"]) is first
    await store.papers.upsert_papers(filler(1, 1))  # the store grows a little: same bucket
    assert await served.model_of(["reading"]) is first and trainings(log) == 1
    await store.papers.upsert_papers(in_topic([DISEASE[5]], "reading"))  # the library changed
    second = await served.model_of(["reading"])
    assert second is not first and trainings(log) == 2 and DISEASE[5].arxiv_id in second.library_ids
    await store.papers.upsert_papers(filler(2, 10))  # 18 -> 28 papers: a quarter more and then some
    assert (await served.model_of(["reading"])).fingerprint.store_bucket > second.fingerprint.store_bucket
    assert trainings(log) == 3


async def test_a_model_is_kept_across_restarts_and_restored_not_retrained(store, log):
    trained = await ranking(store).model_of(["reading", "reading"])
    restarted = ranking(store)  # a new process: nothing in memory
    restored = await restarted.model_of(["reading"])
    assert trainings(log) == 1
    assert restored.to_bytes() == trained.to_bytes() and restored.score(STORE) == trained.score(STORE)


async def test_an_unreadable_stored_model_is_retrained_without_a_fuss(store, log):
    trained = await ranking(store).model_of(["reading"])
    await store.libraries.save_model("topics:reading", trained.fingerprint.text, b"not a model at all")
    again = await ranking(store).model_of(["reading"])
    assert again.score(STORE) == trained.score(STORE) and trainings(log) == 2
    assert "unusable" in log.text


async def test_a_read_only_store_uses_its_stored_models_and_trains_without_saving(store, tmp_path, log):
    await ranking(store).model_of(["reading"])
    reader = await SqliteStore.open(store.db.path, read_only=True)
    try:
        served = ranking(reader, save_models=False)
        await served.model_of(["reading"])
        assert trainings(log) == 1  # restored
        model = await served.model_of(["news"])  # never trained: trained now, not saved
        assert model.kind == CLASSIFIER and trainings(log) == 2
        assert await reader.libraries.load_model("topics:news") is None
    finally:
        await reader.close()


async def test_a_model_that_cannot_be_saved_still_serves_and_says_so(store, tmp_path, log):
    reader = await SqliteStore.open(store.db.path, read_only=True)
    try:
        model = await ranking(reader).model_of(["reading"])  # saving is on, but the store refuses writes
        assert model.kind == CLASSIFIER and "not saved" in log.text
    finally:
        await reader.close()


async def test_thin_libraries_never_raise(store):
    served = ranking(store)
    assert (await served.model_of(["no-such-papers"])).kind == EMPTY
    await store.papers.upsert_papers(in_topic([DISEASE[0]], "one"))
    one = await served.model_of(["one"])
    top = one.rank(DISEASE[5:] + GAMES, limit=3)
    assert one.kind == SIMILARITY and {r.paper.arxiv_id for r in top} & {p.arxiv_id for p in DISEASE[5:]}
    big = await ranking(store, settings=RankSettings(sample_size=4)).model_of(["reading"])  # larger than the sample
    assert big.kind == CLASSIFIER and 0 < big.counts["sample"] < big.counts["library"] == 5


async def test_the_channel_model_is_none_without_a_library_or_anything_to_learn(store):
    served = ranking(store)
    assert await served.channel_model(CHANNEL) is None
    await store.libraries.save_library(Library(CHANNEL, ("no-such-papers",)))
    assert await served.channel_model(CHANNEL) is None
    await store.libraries.save_library(Library(CHANNEL, ("reading",)))
    assert (await served.channel_model(CHANNEL)).kind == CLASSIFIER


# --- similar and recommend ------------------------------------------------------------------


async def test_similar_names_unknown_ids_ranks_with_the_rest_and_never_returns_the_asked_papers(store):
    answer = await ranking(store).similar(
        [DISEASE[0].arxiv_id, "2501.99999", "not-an-id", f"arXiv:{DISEASE[1].arxiv_id}v2"], count=4
    )
    assert answer.unknown == ("2501.99999",) and answer.invalid == ("not-an-id",)
    assert [p.arxiv_id for p in answer.asked] == [DISEASE[0].arxiv_id, DISEASE[1].arxiv_id]
    found = [r.paper.arxiv_id for r in answer.ranked]
    assert len(found) == 4 and not {DISEASE[0].arxiv_id, DISEASE[1].arxiv_id} & set(found)
    assert len(set(found) & {p.arxiv_id for p in DISEASE}) >= 2  # half of them on rare diseases, like the two asked
    assert all(0 <= r.score <= 1 and r.why is not None for r in answer.ranked)


async def test_similar_with_no_known_paper_says_so_and_names_them(store):
    with pytest.raises(UserError, match=r"None of these papers is in the store: 2501\.99999, junk\."):
        await ranking(store).similar(["2501.99999", "junk"])


async def test_similar_limits_candidates_to_a_topic_and_to_what_the_store_has(store):
    answer = await ranking(store).similar([GAMES[0].arxiv_id], topic="reading", count=25)
    assert answer.ranked and all(r.paper.arxiv_id in {p.arxiv_id for p in DISEASE[:5]} for r in answer.ranked)
    with pytest.raises(UserError, match="Unknown topic 'nope'"):
        await ranking(store).similar([GAMES[0].arxiv_id], topic="nope")


async def test_similar_and_recommend_take_chinese_and_empty_abstracts(store):
    chinese = paper("2507.00001", "罕见病诊断的大语言模型智能体", "我们提出一个罕见病诊断智能体。")
    bare = paper("2507.00002", "Rare disease diagnosis")
    await store.papers.upsert_papers([chinese, bare])
    served = ranking(store)
    for asked in ([chinese.arxiv_id], [bare.arxiv_id]):
        answer = await served.similar(asked, count=5)
        assert all(0 <= r.score <= 1 for r in answer.ranked)
    _, recommended = await served.recommend(["reading"], count=25)
    assert len(recommended) <= len(STORE) and all(r.paper.arxiv_id not in {p.arxiv_id for p in DISEASE[:5]} for r in recommended)


async def test_recommend_leaves_out_the_library_and_what_the_channel_was_shown(store):
    served = ranking(store)
    _, first = await served.recommend(["reading"], count=3)
    assert {r.paper.arxiv_id for r in first} <= {p.arxiv_id for p in DISEASE[5:]}
    shown = first[0].paper.arxiv_id
    from bot.models import DeliveryKey, Subscription

    subscription = await store.subscriptions.save_subscription(Subscription(id=0, channel=CHANNEL, topic="news"))
    await store.subscriptions.claim_delivery(
        DeliveryKey(subscription.id, "2025-W23"), "2025-06-02T09:00:00Z", CHANNEL.key, (shown,), 1
    )
    _, again = await served.recommend(["reading"], channel=CHANNEL, count=3)
    assert shown not in {r.paper.arxiv_id for r in again}
    _, elsewhere = await served.recommend(["reading"], channel=ChannelRef("slack", "C2", "T1"), count=3)
    assert shown in {r.paper.arxiv_id for r in elsewhere}


async def test_recommend_from_an_empty_library_and_with_a_bad_date_says_what_to_do(store):
    served = ranking(store)
    with pytest.raises(UserError, match=r"no papers with text to learn from yet.*paperbot import FILE --topic empty"):
        await served.recommend(["empty"])
    with pytest.raises(UserError, match="'last week' is not a date"):
        await served.recommend(["reading"], since="last week")
    _, recent = await served.recommend(["reading"], since="2025-06-15", count=10)
    assert all(r.paper.published >= "2025-06" for r in recent)


# --- the store sample's word statistics -------------------------------------------------------


def test_a_similarity_model_on_the_background_ranks_like_one_fitted_on_the_same_papers():
    background = Background.fit(STORE, len(STORE))
    fast = train_similar(GAMES[3:5], background)
    fitted = train(GAMES[3:5], STORE)
    assert fast.kind == fitted.kind == SIMILARITY
    candidates = DISEASE + GAMES[5:]
    assert [r.paper.arxiv_id for r in fast.rank(candidates)[:3]] == [r.paper.arxiv_id for r in fitted.rank(candidates)[:3]]
    assert fast.fingerprint == train(GAMES[3:5], STORE, store_size=len(STORE)).fingerprint


def test_background_statistics_count_terms_in_at_least_two_papers_and_never_raise():
    background = Background.fit(STORE, len(STORE))
    assert "game" in background.terms and background.documents == len(STORE)
    assert all(df >= 2 for df in background.df)
    empty = Background.fit([], 0)
    assert train_similar([], empty).kind == EMPTY and train_similar([paper("1", "")], empty).kind == EMPTY
    assert train_similar([DISEASE[0]], empty).rank(DISEASE[1:3])[0].score > 0


def test_query_terms_are_the_strongest_single_words_as_the_library_wrote_them():
    model = train(GAMES[:6], STORE)
    terms = model.query_terms(8)
    assert len(terms) == 8 and all(" " not in term for term in terms)
    assert any(term.startswith("game") for term in terms), terms
    assert train([], STORE).query_terms() == [] and model.query_terms(0) == []
