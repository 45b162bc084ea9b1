"""A model remembers each paper's score and why line (`bot.rank.model.PaperMemo`), and that changes nothing.

Planning a thousand digests ranks the same few topics' papers with the same
few models over and over; a model works each paper out once. What it
remembers must be exactly what it would work out again: for papers seen
before, papers seen with others, and a paper whose text changed under the
same id. Papers are the real ones of `tests/fixtures/rank/two_topics.jsonl`.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.rank import RankModel, train
from bot.rank.model import PaperMemo
from tests.unit.test_ranker import DISEASE, GAMES, STORE


def fresh(model: RankModel) -> RankModel:
    """The same model with nothing remembered."""
    return RankModel.from_bytes(model.to_bytes())


@pytest.mark.parametrize("library", [DISEASE[:1], DISEASE[:6]], ids=["similarity", "classifier"])
def test_ranking_papers_seen_before_gives_what_a_model_without_memory_gives(library):
    model = train(library, STORE, seed=2)
    first = model.rank(GAMES[:5] + DISEASE[6:], limit=3)
    # Half of these were scored above, a few explained; the rest are new to the model.
    mixed = list(reversed(STORE))
    assert model.rank(mixed) == fresh(model).rank(mixed)
    assert model.rank(mixed, limit=4) == fresh(model).rank(mixed, limit=4)
    assert model.rank(GAMES[:5] + DISEASE[6:], limit=3) == first
    assert model.score(STORE) == fresh(model).score(STORE)


def test_a_paper_whose_text_changed_under_the_same_id_is_worked_out_again():
    model = train(DISEASE[:5], STORE, seed=1)
    game = GAMES[6]
    [before] = model.rank([game])
    # A new version of the paper, now about what the library is about.
    edited = replace(game, version=2, title=DISEASE[6].title, abstract=DISEASE[6].abstract)
    [after] = model.rank([edited])
    assert after == fresh(model).rank([edited])[0]
    assert after.score > before.score and after.why != before.why


def test_the_memo_holds_at_most_its_size_and_lets_the_oldest_go_first():
    memo: PaperMemo[str | None] = PaperMemo(size=2)
    asked: list[list[str]] = []

    def work_out(papers: list) -> list[str | None]:
        asked.append([p.arxiv_id for p in papers])
        return [None if p is DISEASE[1] else p.title for p in papers]  # None is a value too (no why line)

    assert memo.of(DISEASE[:3], work_out) == [DISEASE[0].title, None, DISEASE[2].title]
    assert len(memo) == 2
    assert memo.of(DISEASE[:3], work_out) == [DISEASE[0].title, None, DISEASE[2].title]
    assert asked == [[p.arxiv_id for p in DISEASE[:3]], [DISEASE[0].arxiv_id]]  # the oldest went; None was kept
    assert PaperMemo.key(replace(DISEASE[0], abstract="other words")) != PaperMemo.key(DISEASE[0])
