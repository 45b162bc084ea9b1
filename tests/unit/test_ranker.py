"""The relevance ranker (bot/rank): scores, why lines, bytes, fingerprints and thin input.

The fixture `rank/two_topics.jsonl` holds 16 real papers (title, the first
two abstract sentences, the Chinese headline of their notes) from two real
paper lists: eight on rare-disease diagnosis and eight on vision-language
models and games.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Notes, Paper
from bot.rank import Fingerprint, ModelFormatError, RankModel, RankSettings, Why, store_bucket, train
from bot.rank.features import cjk_bigrams, paper_terms, surface_words
from bot.rank.model import CLASSIFIER, EMPTY, SIMILARITY
from bot.rank.vectors import TermList
from bot.rank.why import short_title
from tests.support import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "rank" / "two_topics.jsonl"


def load_fixture() -> dict[str, list[Paper]]:
    topics: dict[str, list[Paper]] = {}
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        notes = (Notes("zh", headline=record["headline_zh"]),) if record.get("headline_zh") else ()
        paper = Paper(
            record["arxiv_id"], record["title"], abstract=record["abstract"], published=record["published"],
            topics=(record["topic"],), notes=notes,
        )  # fmt: skip
        topics.setdefault(record["topic"], []).append(paper)
    return topics


TOPICS = load_fixture()
DISEASE, GAMES = TOPICS["rare-disease"], TOPICS["vlm-games"]
STORE = DISEASE + GAMES


def paper(arxiv_id: str, title: str, abstract: str = "", notes: tuple[Notes, ...] = ()) -> Paper:
    return Paper(arxiv_id, title, abstract=abstract, published="2025-06", notes=notes)


def ids(ranked) -> list[str]:
    return [r.paper.arxiv_id for r in ranked]


# --- ranking by taste --------------------------------------------------------------------


def test_a_library_about_rare_disease_ranks_rare_disease_papers_above_game_papers():
    library, held_out = DISEASE[:5], DISEASE[5:]
    model = train(library, STORE, seed=1)
    assert model.kind == CLASSIFIER
    ranked = model.rank(held_out + GAMES)
    assert set(ids(ranked[: len(held_out)])) == {p.arxiv_id for p in held_out}


def test_a_library_about_games_ranks_game_papers_first_too():
    library, held_out = GAMES[:5], GAMES[5:]
    ranked = train(library, STORE, seed=1).rank(DISEASE + held_out)
    assert set(ids(ranked[: len(held_out)])) == {p.arxiv_id for p in held_out}


def test_a_library_of_two_papers_ranks_by_similarity_to_them():
    model = train(GAMES[3:5], STORE)
    assert model.kind == SIMILARITY
    ranked = model.rank(DISEASE + GAMES[5:])
    # The three remaining game papers share more words with the two library papers than any disease paper.
    assert [r.paper.topics for r in ranked[:3]] == [("vlm-games",)] * 3


def test_scores_are_between_zero_and_one_for_every_kind():
    for library in ([], DISEASE[:1], DISEASE[:6]):
        model = train(library, STORE)
        scores = model.score(STORE)
        assert len(scores) == len(STORE)
        assert all(0.0 <= s <= 1.0 for s in scores), (model.kind, scores)


def test_training_is_deterministic_for_a_seed_whatever_the_order_of_the_store():
    small = RankSettings(sample_size=6)
    first = train(DISEASE[:4], STORE, seed=3, settings=small)
    again = train(DISEASE[:4], list(reversed(STORE)), seed=3, settings=small)
    assert first.to_bytes() == again.to_bytes()
    assert first.score(STORE) == again.score(STORE)
    other_seed = train(DISEASE[:4], STORE, seed=4, settings=small)
    assert other_seed.score(STORE) != first.score(STORE)  # a different negative sample


def test_explicit_negatives_push_papers_like_them_down():
    library = DISEASE[:4]
    disliked, like_disliked = GAMES[4], GAMES[5]  # VideoGameBench and VideoGameQA-Bench
    plain = train(library, STORE, seed=0)
    taught = train(library, STORE, [disliked], seed=0)
    assert taught.counts["negatives"] == 1
    assert taught.score([like_disliked])[0] < plain.score([like_disliked])[0]


def test_rank_keeps_input_order_on_ties_limits_and_leaves_out_the_library_when_asked():
    model = train(DISEASE[:5], STORE)
    assert len(model.rank(STORE, limit=3)) == 3
    assert model.rank(STORE, limit=0) == []
    without_library = ids(model.rank(STORE, exclude_library=True))
    assert not set(without_library) & {p.arxiv_id for p in DISEASE[:5]}
    assert len(without_library) == len(STORE) - 5
    empty = train([], STORE)
    assert ids(empty.rank(STORE)) == [p.arxiv_id for p in STORE]


# --- why ---------------------------------------------------------------------------------


def test_the_why_line_names_a_library_paper_and_the_terms_that_weighed_most():
    library = DISEASE[:5]
    titles = {p.arxiv_id: p.title for p in library}
    top = train(library, STORE).rank(DISEASE[5:] + GAMES)[0]
    assert top.why is not None
    assert top.why.like_id in titles
    assert titles[top.why.like_id].startswith(top.why.like_title.rstrip("…"))
    assert 1 <= len(top.why.terms) <= 2
    assert top.why.text == f"like {top.why.like_title} · {', '.join(top.why.terms)}"
    # Terms are written as the library wrote them, not as stems.
    for term in top.why.terms:
        assert any(term in (p.title + " " + p.abstract).lower() or term in str(p.notes) for p in library), term


def test_why_in_the_similarity_kind_names_the_closest_library_paper():
    library = [GAMES[4]]  # VideoGameBench
    ranked = train(library, STORE).rank([GAMES[5], DISEASE[0]])
    assert ranked[0].paper.arxiv_id == GAMES[5].arxiv_id
    assert ranked[0].why == Why(GAMES[4].arxiv_id, "VideoGameBench", ranked[0].why.terms)
    assert ranked[0].why.terms


def test_a_paper_sharing_no_term_with_the_library_has_no_why():
    model = train([paper("1", "Quantum chromodynamics lattice")], STORE)
    stranger = paper("2", "Gardening tomatoes")
    assert model.rank([stranger])[0].why is None
    assert model.score([stranger]) == [0.0]


def test_why_prefers_a_two_word_term_over_its_own_words():
    library = [paper(str(i), f"Reward model study {i}", "A reward model for driving policies.") for i in range(4)]
    store = library + [paper(f"n{i}", f"Protein folding {i}", "Molecules fold.") for i in range(8)]
    why = train(library, store).rank([paper("c", "A reward model", "Reward model training for driving.")])[0].why
    assert "reward model" in why.terms or "reward models" in why.terms
    assert "reward" not in why.terms and "model" not in why.terms


def test_short_titles():
    assert short_title("DriveRX: A Vision-Language Reasoning Model for Cross-Task Autonomous Driving") == "DriveRX"
    assert short_title("Vision Language Models are Biased") == "Vision Language Models are Biased"
    long = "Conditional diffusion models for guided anomaly detection in brain images"
    assert short_title(long) == "Conditional diffusion models for guided…"
    assert Why("1", "X").text == "like X"


def test_top_terms_are_words_people_read():
    terms = train(GAMES[:6], STORE).top_terms(5)
    assert len(terms) == 5
    assert any("game" in t for t in terms), terms
    assert train([], STORE).top_terms() == []


# --- bytes and fingerprints --------------------------------------------------------------


@pytest.mark.parametrize("library", [[], GAMES[:1], GAMES[:6]], ids=["empty", "similarity", "classifier"])
def test_a_model_restored_from_bytes_gives_identical_scores_and_why_lines(library):
    model = train(library, STORE, seed=2)
    restored = RankModel.from_bytes(model.to_bytes())
    assert restored.kind == model.kind
    assert restored.fingerprint == model.fingerprint
    assert restored.score(STORE) == model.score(STORE)
    assert restored.rank(STORE) == model.rank(STORE)
    assert restored.to_bytes() == model.to_bytes()


@pytest.mark.parametrize("data", [b"", b"not a model", b"PK\x03\x04broken zip"])
def test_bytes_that_are_not_a_model_say_retrain(data):
    with pytest.raises(ModelFormatError, match="retrain"):
        RankModel.from_bytes(data)


def test_a_model_of_another_format_version_says_retrain(monkeypatch):
    import bot.rank.model as model_module

    data = train(GAMES[:2], STORE).to_bytes()
    monkeypatch.setattr(model_module, "FORMAT_VERSION", 99)
    with pytest.raises(ModelFormatError, match="format 1.*reads 99: retrain"):
        RankModel.from_bytes(data)


def test_the_fingerprint_is_the_library_and_the_store_bucket():
    model = train(DISEASE[:4], STORE, store_size=1000)
    ids_ = [p.arxiv_id for p in DISEASE[:4]]
    assert model.fingerprint == Fingerprint.of(reversed(ids_), 1000)
    assert model.fingerprint != Fingerprint.of(ids_[:3], 1000)
    assert model.fingerprint != Fingerprint.of(ids_, 1000, negative_ids=["x"])
    assert Fingerprint.parse(model.fingerprint.text) == model.fingerprint
    # Without a store size, the papers training saw are counted.
    assert train(DISEASE[:4], STORE).fingerprint == Fingerprint.of(ids_, len(STORE))


def test_store_buckets_grow_by_a_quarter():
    assert store_bucket(0) == 0 and store_bucket(1) == 1
    assert [store_bucket(n) for n in (1000, 1000 * 1.25**2)] == [store_bucket(1000), store_bucket(1000) + 2]
    assert all(store_bucket(n) <= store_bucket(n + 1) for n in range(1, 5000))


# --- thin and odd input: nothing raises ---------------------------------------------------


def test_an_empty_library_gives_zero_scores():
    model = train([], STORE)
    assert model.kind == EMPTY
    assert model.score(STORE) == [0.0] * len(STORE)
    assert all(r.why is None for r in model.rank(STORE))


def test_a_library_of_one_paper_and_an_empty_store():
    model = train(DISEASE[:1], [])
    assert model.kind == SIMILARITY
    assert model.counts == {"library": 1, "negatives": 0, "sample": 0}
    assert model.rank(DISEASE[1:])[0].score > 0


def test_a_large_library_with_an_empty_store_falls_back_to_similarity():
    model = train(DISEASE, [])
    assert model.kind == SIMILARITY
    assert ids(model.rank(GAMES + DISEASE[:1]))[0] == DISEASE[0].arxiv_id


def test_fewer_store_papers_than_the_sample_asks_for_uses_them_all():
    model = train(DISEASE[:4], STORE, settings=RankSettings(sample_size=1000))
    assert model.counts["sample"] == len(STORE) - 4


def test_a_library_larger_than_the_sample_still_learns():
    model = train(DISEASE, STORE, settings=RankSettings(sample_size=2))
    assert model.kind == CLASSIFIER
    assert model.counts == {"library": 8, "negatives": 0, "sample": 2}
    scores = model.score(STORE)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_papers_without_any_text_give_an_empty_model_and_score_zero():
    blank = [paper(str(i), "") for i in range(5)]
    model = train(blank, blank + [paper("9", "", "")])
    assert model.kind == EMPTY
    textless, on_subject = train(DISEASE[:4], STORE).score([paper("x", ""), DISEASE[5]])
    assert 0.0 <= textless < on_subject


def test_non_english_and_empty_abstracts_rank_without_raising():
    chinese = paper("c1", "罕见病诊断的大语言模型", "我们提出一个罕见病诊断智能体。")
    russian = paper("r1", "Диагностика редких заболеваний", "Мы предлагаем систему диагностики.")
    no_abstract = paper("e1", "Rare disease diagnosis")
    model = train(DISEASE[:5], STORE)
    ranked = model.rank([chinese, russian, no_abstract, GAMES[0]])
    assert len(ranked) == 4 and all(0.0 <= r.score <= 1.0 for r in ranked)
    # The rare-disease library's Chinese notes share bigrams with the Chinese paper.
    assert model.score([chinese])[0] > model.score([GAMES[0]])[0]
    assert train([chinese], [russian, no_abstract]).rank([chinese])[0].score == pytest.approx(1.0)


def test_duplicates_in_the_library_and_library_papers_in_the_store_count_once():
    model = train(DISEASE[:4] + DISEASE[:2], STORE)
    assert model.counts["library"] == 4
    assert model.counts["sample"] == len(STORE) - 4


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.tuples(st.text(max_size=60), st.text(max_size=200)), min_size=0, max_size=8),
    split=st.integers(min_value=0, max_value=8),
)
def test_any_text_trains_and_ranks_within_bounds(texts, split):
    papers = [paper(f"p{i}", title, abstract) for i, (title, abstract) in enumerate(texts)]
    model = train(papers[:split], papers[split:])
    restored = RankModel.from_bytes(model.to_bytes())
    for ranked in (model.rank(papers), restored.rank(papers)):
        assert len(ranked) == len(papers)
        assert all(0.0 <= r.score <= 1.0 for r in ranked)
    assert restored.score(papers) == model.score(papers)


# --- the terms ---------------------------------------------------------------------------


def test_terms_are_stems_pairs_and_chinese_bigrams_with_the_title_counted_twice():
    terms = paper_terms(
        paper("1", "Driving Models", "We propose reward models for driving, in 2024.", (Notes("zh", headline="自动驾驶"),))
    )
    assert terms.count("drive") == 3 and terms.count("drive model") == 2
    assert "reward model" in terms and "model drive" in terms
    assert {"自动", "动驾", "驾驶"} <= set(terms)
    assert not {"we", "propos", "for", "2024", "in"} & set(terms)


def test_cjk_bigrams_and_mixed_script_words():
    assert cjk_bigrams("自动驾驶") == ["自动", "动驾", "驾驶"]
    assert cjk_bigrams("驾") == ["驾"]
    assert {"grpo", "算法"} <= set(paper_terms(paper("1", "GRPO算法")))


def test_a_term_list_reads_back_every_term_including_chinese_ones():
    terms = ["drive", "reward model", "自动", "驾驶", "ünïcode"]
    listed = TermList(terms)
    assert len(listed) == 5 and list(listed) == terms and listed[-1] == "ünïcode" and listed[1:3] == terms[1:3]
    assert TermList.from_text(listed.text).as_list() == terms
    assert len(TermList([])) == 0 and TermList.from_text("").as_list() == []
    with pytest.raises(IndexError):
        listed[5]


def test_surface_words_map_stems_back_to_what_was_written():
    shown = surface_words(paper("1", "Autonomous driving", "Reward models matter."))
    assert shown["drive"] == "driving"
    assert shown["autonom drive"] == "autonomous driving"
    assert shown["reward model"] == "reward models"


# --- the offline evaluation's arithmetic ---------------------------------------------------


def load_eval():
    spec = importlib.util.spec_from_file_location("relevance_eval", ROOT / "benchmarks" / "relevance_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_ndcg_and_recall_at_ten():
    evaluation = load_eval()
    assert evaluation.ndcg_at_k(["a", "b", "x"], {"a", "b"}) == pytest.approx(1.0)
    assert evaluation.ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / 1.5849625007211563)
    assert evaluation.ndcg_at_k(["x"] * 10 + ["a"], {"a"}) == 0.0
    assert evaluation.recall_at_k([str(i) for i in range(20)], {"1", "15"}) == 0.5


def test_the_evaluation_counts_each_set_of_papers_once_and_skips_short_lists():
    evaluation = load_eval()
    lists = {"a.md": list("abcdefghij"), "b.md": list("jihgfedcba"), "c.md": list("abc")}
    assert list(evaluation.distinct_lists(lists, 10)) == ["a.md"]
    papers = {i: paper(i, i) for i in "abcdefghij"}
    cases = evaluation.make_cases({"a.md": list("abcdefghij")}, papers, list(papers.values()), 1, 3, timed=False)
    assert len(cases) == 3
    for case in cases:
        library = {p.arxiv_id for p in case.library}
        assert len(library) == 5 and not library & case.targets
        assert {p.arxiv_id for p in case.candidates} == case.targets
    timed = evaluation.make_cases({"a.md": list("jihgfedcba")}, papers, list(papers.values()), 0, 1, timed=True)
    assert [p.arxiv_id for p in timed[0].library] == list("abcde")
