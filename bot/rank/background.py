"""The store's word statistics, fitted once, for similarity models made per request.

Why this exists: a similarity model (a library of 1-3 papers, or `similar`
asked about any papers) weighs words by how rare they are in the store, which
takes document frequencies from a sample of it. Fitting a vocabulary over a
2,000-paper sample takes over a second, too slow for a chat answer; and the
sample is the same for every request until the store grows a size bucket. So
the sample's statistics are fitted once (`Background.fit`) and each model only
adds its library's own terms (`Background.vocabulary_with`): milliseconds.

Terms in only one sample paper are left out of the statistics (they are most
of its distinct terms, mostly typos, names and one-off word pairs); a library
term missing from the statistics counts as found in the library alone, so a
word rare in the store weighs most, as it should.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bot.models import Paper
from bot.rank.features import paper_terms, term_counts
from bot.rank.vectors import TermList, Vocabulary

MIN_SAMPLE_DF = 2


class Background:
    """Document frequencies of the terms found in at least `MIN_SAMPLE_DF` papers of a store sample."""

    def __init__(self, terms: list[str], df: np.ndarray, documents: int, store_size: int) -> None:
        self.terms = terms
        self.df = df
        self.documents = documents
        self.store_size = store_size
        self._index = {term: i for i, term in enumerate(terms)}
        self._terms = TermList(terms)
        self._hashes = np.fromiter(map(hash, terms), dtype=np.int64, count=len(terms))
        # hash -> term, for training on this sample without cutting its papers into terms again.
        self.names: dict[int, str] = dict(zip(self._hashes.tolist(), terms, strict=True))

    @classmethod
    def fit(cls, sample: Sequence[Paper], store_size: int) -> "Background":
        names: dict[int, str] = {}
        per_paper = []
        for paper in sample:  # each paper cut into terms once: its counts are cached from its terms
            its_terms = paper_terms(paper)
            names.update(zip(map(hash, its_terms), its_terms, strict=True))
            per_paper.append(term_counts(paper))
        hashes = np.concatenate([h for h, _ in per_paper]) if per_paper else np.zeros(0, np.int64)
        distinct, df = np.unique(hashes, return_counts=True)
        kept = df >= MIN_SAMPLE_DF
        found = {names[h]: count for h, count in zip(distinct[kept].tolist(), df[kept].tolist(), strict=True)}
        # Sorted by term, so two processes fitting the same sample build the same vocabulary.
        terms = sorted(found)
        return cls(terms, np.array([found[t] for t in terms], dtype=np.float64), len(sample), store_size)

    def vocabulary_with(self, library: Sequence[Paper]) -> Vocabulary:
        """These statistics plus `library`'s own papers as documents: the vocabulary of a similarity model.

        IDF as scikit-learn's smoothed formula computes it over the sample and
        the library together, so scores match what `Vocabulary.fit` over those
        papers would give for every term the statistics keep.
        """
        in_library: dict[str, int] = {}
        for paper in library:
            for term in set(paper_terms(paper)):
                in_library[term] = in_library.get(term, 0) + 1
        df = self.df.copy()
        extra: list[str] = []
        extra_df: list[float] = []
        for term, count in in_library.items():
            index = self._index.get(term)
            if index is None:
                extra.append(term)
                extra_df.append(count)
            else:
                df[index] += count
        documents = self.documents + len(library)
        all_df = np.concatenate([df, np.asarray(extra_df, dtype=np.float64)])
        idf = (np.log((1 + documents) / (1 + all_df)) + 1).astype(np.float32)
        hashes = np.concatenate([self._hashes, np.fromiter(map(hash, extra), dtype=np.int64, count=len(extra))])
        # A candidate's term missing here was in at most one sample paper: weigh it as found in one.
        unknown_idf = float(np.log((1 + documents) / 2) + 1)
        return Vocabulary(self._terms.extended(extra), idf, hashes, unknown_idf=unknown_idf)
