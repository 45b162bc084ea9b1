"""Training a library's ranker: which papers are positives and negatives, and the fit.

Positives are the library's papers. Negatives are a seeded random sample of
the other papers the caller passes (the store, or a sample of it) plus any
explicit negatives (papers the group said are not for it), which weigh more
than a random paper because someone chose them. The vocabulary and IDF come
from the same training papers, so a model needs nothing but itself to score.

Nothing here raises on thin input: an empty library (or one without any
text) gives an `empty` model, a library of 1-3 papers or a store with no
other papers gives a `similarity` model, and a library larger than the sample
still trains (the classes are balanced by weight, not by count).

`train_similar` makes a similarity model against a `Background` (the store
sample's word statistics, fitted once) instead of fitting a vocabulary over
the sample: what `similar` and a small library use, in milliseconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import AbstractSet, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

from bot.models import Paper
from bot.rank.background import Background
from bot.rank.features import surface_words
from bot.rank.fingerprint import Fingerprint
from bot.rank.model import CLASSIFIER, EMPTY, SIMILARITY, ModelParts, RankModel
from bot.rank.vectors import EmptyVocabulary, TermList, Vocabulary


@dataclass(frozen=True)
class RankSettings:
    """The ranker's knobs; the defaults are what `benchmarks/relevance_eval.py` chose on its dev seed."""

    sample_size: int = 2000  # random store papers drawn as negatives
    min_classifier_library: int = 4  # fewer library papers than this: similarity to them
    regularization: float = 1.0  # LogisticRegression's C (inverse strength)
    negative_weight: float = 3.0  # an explicit negative counts this many random ones
    min_df: int = 3  # a term in fewer training papers is noise (and model size); small sets keep all


DEFAULT_SETTINGS = RankSettings()
SMALL_TRAINING_SET = 100


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _distinct(papers: Iterable[Paper], skip: AbstractSet[str] = frozenset()) -> list[Paper]:
    seen: dict[str, Paper] = {}
    for paper in papers:
        if paper.arxiv_id not in skip:
            seen.setdefault(paper.arxiv_id, paper)
    return list(seen.values())


def sample_negatives(background: Iterable[Paper], skip: set[str], size: int, seed: int) -> list[Paper]:
    """Up to `size` distinct papers of `background` not in `skip`, drawn with `seed` whatever their order."""
    pool = sorted(_distinct(background, skip), key=lambda p: p.arxiv_id)
    if len(pool) <= size:
        return pool
    return random.Random(seed).sample(pool, size)


def train(
    library: Sequence[Paper],
    background: Iterable[Paper] = (),
    negatives: Sequence[Paper] = (),
    *,
    store_size: int | None = None,
    seed: int = 0,
    settings: RankSettings = DEFAULT_SETTINGS,
    known_terms: Mapping[int, str] | None = None,
) -> RankModel:
    """A model of what sets `library` apart from `background` (and from `negatives`).

    `background` is the store or a random sample of it; the library's own
    papers in it are skipped. `store_size` (the store's paper count) goes into
    the fingerprint; without it the papers seen here are counted.
    `known_terms`: the background's terms by hash (`Background.names`), so
    retraining on the same sample does not cut its papers into terms again.
    """
    positives = _distinct(library)
    library_ids = {p.arxiv_id for p in positives}
    explicit = _distinct(negatives, library_ids)
    explicit_ids = {p.arxiv_id for p in explicit}
    sample = sample_negatives(background, library_ids | explicit_ids, settings.sample_size, seed)
    seen = len(positives) + len(explicit) + len(sample)
    fingerprint = Fingerprint.of(library_ids, seen if store_size is None else store_size, explicit_ids)
    counts = {"library": len(positives), "negatives": len(explicit), "sample": len(sample)}
    empty = _empty(fingerprint, counts)
    if not positives:
        return empty

    documents = positives + explicit + sample
    negative_count = len(explicit) + len(sample)
    learns = len(positives) >= settings.min_classifier_library and negative_count > 0
    # Similarity needs each library paper's own rare words; few papers cannot have shared ones.
    min_df = settings.min_df if learns and len(documents) >= SMALL_TRAINING_SET else 1
    try:
        vocabulary, matrix = Vocabulary.fit(documents, min_df, known_terms)
    except EmptyVocabulary:
        return empty
    terms = vocabulary.terms
    library_vectors = matrix[: len(positives)]
    parts = dict(
        fingerprint=fingerprint,
        terms=terms,
        idf=vocabulary.idf,
        library_ids=[p.arxiv_id for p in positives],
        library_titles=[p.title for p in positives],
        library_vectors=library_vectors,
        counts=counts,
    )
    if not learns:
        return RankModel(ModelParts(SIMILARITY, display=_display(positives, set(terms.as_list())), **parts), vocabulary)

    labels = np.r_[np.ones(len(positives)), np.zeros(negative_count)]
    weights = np.r_[np.ones(len(positives)), np.full(len(explicit), settings.negative_weight), np.ones(len(sample))]
    classifier = LogisticRegression(C=settings.regularization, class_weight="balanced", max_iter=1000)
    # One BLAS thread: the fit is small, and on a busy two-core host OpenBLAS's waiting
    # threads made each L-BFGS step 25 times slower.
    with _blas().limit(limits=1, user_api="blas"):
        classifier.fit(matrix, labels, sample_weight=weights)
    coef = classifier.coef_.ravel().astype(np.float32)
    shown = {terms[int(i)] for i in np.flatnonzero(coef > 0)}
    return RankModel(
        ModelParts(
            CLASSIFIER,
            display=_display(positives, shown),
            coef=coef,
            intercept=float(classifier.intercept_[0]),
            **parts,
        ),
        vocabulary,
    )


def train_similar(library: Sequence[Paper], background: Background, negatives: Sequence[Paper] = ()) -> RankModel:
    """A `similarity` model of `library`, with word weights from `background` (see the module docstring).

    `negatives` only enter the fingerprint: similarity has nothing to learn from them.
    """
    positives = _distinct(library)
    library_ids = [p.arxiv_id for p in positives]
    explicit_ids = {p.arxiv_id for p in _distinct(negatives, set(library_ids))}
    fingerprint = Fingerprint.of(library_ids, background.store_size, explicit_ids)
    counts = {"library": len(positives), "negatives": len(explicit_ids), "sample": background.documents}
    vocabulary = background.vocabulary_with(positives)
    library_vectors = vocabulary.vectors(positives)
    if not positives or library_vectors.nnz == 0:
        return _empty(fingerprint, counts)
    library_terms = {vocabulary.terms[i] for i in np.unique(library_vectors.indices)}
    return RankModel(
        ModelParts(
            SIMILARITY, fingerprint, vocabulary.terms, vocabulary.idf, library_ids, [p.title for p in positives],
            library_vectors, _display(positives, library_terms), counts=counts, unknown_idf=vocabulary.unknown_idf,
        ),
        vocabulary,
    )


def _empty(fingerprint: Fingerprint, counts: dict[str, int]) -> RankModel:
    """The model of a library with nothing to learn from: every score 0, input order kept."""
    nothing = sparse.csr_matrix((0, 0))
    return RankModel(ModelParts(EMPTY, fingerprint, TermList([]), np.zeros(0, np.float32), [], [], nothing, {}, counts=counts))


def _display(library: Sequence[Paper], terms: set[str]) -> dict[str, str]:
    """How the library wrote each term that can appear in a why line, where that differs from the term."""
    display: dict[str, str] = {}
    for paper in library:
        for term, written in surface_words(paper).items():
            if term in terms and term not in display and written != term:
                display[term] = written
    return display
