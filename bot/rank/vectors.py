"""Papers to TF-IDF vectors over one model's vocabulary, fast enough for every digest.

scikit-learn's vectorizers count terms in a Python loop per token, which
costs ~80 ms for a 1,000-paper digest; the budget for ranking one is 50 ms.
Here each paper's distinct terms are kept as (hash, count) arrays (cached in
`bot.rank.features.term_counts`), and a vocabulary maps hashes to columns
with one `searchsorted` over the whole digest. Weighting and normalisation
stay scikit-learn's (`TfidfTransformer`: sublinear tf, smoothed idf, l2).

Hashes are Python's `hash` of the term strings: stable within a process and
never stored (a model keeps its terms as text), 64 bits wide, so a term
outside the vocabulary taking a vocabulary term's column is vanishingly rare.
"""

from __future__ import annotations

from typing import Sequence, overload

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from bot.models import Paper
from bot.rank.features import paper_terms, term_counts


class TermList(Sequence[str]):
    """A model's terms held as one UTF-8 string: a str object per term costs ~70 bytes, 2 MB a model.

    (UTF-8, because one Chinese term would make a joined `str` four bytes a
    character.) Only a why line's few terms are ever read one at a time;
    hashing and saving take them all at once (`as_list`, `text`).
    """

    def __init__(self, terms: Sequence[str]) -> None:
        encoded = [term.encode("utf-8") for term in terms]
        self._data = b"\n".join(encoded)
        lengths = np.fromiter((len(t) + 1 for t in encoded), dtype=np.int64, count=len(encoded))
        self._starts = np.concatenate(([0], np.cumsum(lengths)))

    @property
    def text(self) -> str:
        return self._data.decode("utf-8")

    @classmethod
    def from_text(cls, text: str) -> "TermList":
        return cls(text.split("\n") if text else [])

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return self._data[self._starts[index] : self._starts[index + 1] - 1].decode("utf-8")

    def as_list(self) -> list[str]:
        return self.text.split("\n") if self._data else []


class EmptyVocabulary(ValueError):
    """No term left to learn from: papers without text, or no term in enough of them."""


class Vocabulary:
    """A fixed list of terms with their idf: turns papers into l2-normalised TF-IDF rows."""

    def __init__(self, terms: TermList, idf: np.ndarray) -> None:
        self.terms = terms
        self.idf = idf
        hashes = np.fromiter(map(hash, terms.as_list()), dtype=np.int64, count=len(terms))
        self._order = np.argsort(hashes, kind="stable")
        self._sorted_hashes = hashes[self._order]
        self._weighting = TfidfTransformer(sublinear_tf=True)
        self._weighting.idf_ = idf

    def counts(self, papers: Sequence[Paper]) -> sparse.csr_matrix:
        """How often each vocabulary term occurs in each paper (float32, one row a paper)."""
        per_paper = [term_counts(paper) for paper in papers]
        return _count_matrix(per_paper, self._sorted_hashes, self._order, len(self.terms))

    def vectors(self, papers: Sequence[Paper]) -> sparse.csr_matrix:
        return self._weighting.transform(self.counts(papers))

    @classmethod
    def fit(cls, papers: Sequence[Paper], min_df: int) -> tuple["Vocabulary", sparse.csr_matrix]:
        """The vocabulary of terms in at least `min_df` of `papers`, and their vectors."""
        per_paper = [term_counts(paper) for paper in papers]
        all_hashes = np.concatenate([hashes for hashes, _ in per_paper]) if per_paper else np.zeros(0, np.int64)
        distinct, document_frequency = np.unique(all_hashes, return_counts=True)
        kept = set(distinct[document_frequency >= min_df].tolist())
        if not kept:
            raise EmptyVocabulary("no term in enough papers")
        names: dict[int, str] = {}
        for paper in papers:
            terms = paper_terms(paper)
            names.update(zip(map(hash, terms), terms))
        # Columns in term order, so a model trained on the same papers is the same in any process.
        terms = sorted(names[h] for h in kept)
        hashes = np.fromiter(map(hash, terms), dtype=np.int64, count=len(terms))
        order = np.argsort(hashes, kind="stable")
        counts = _count_matrix(per_paper, hashes[order], order, len(terms))
        weighting = TfidfTransformer(sublinear_tf=True).fit(counts)
        vocabulary = cls(TermList(terms), weighting.idf_.astype(np.float32))
        return vocabulary, vocabulary._weighting.transform(counts)


def _count_matrix(
    per_paper: list[tuple[np.ndarray, np.ndarray]], sorted_hashes: np.ndarray, columns: np.ndarray, width: int
) -> sparse.csr_matrix:
    rows = len(per_paper)
    if not rows or not width:
        return sparse.csr_matrix((rows, width), dtype=np.float32)
    hashes = np.concatenate([h for h, _ in per_paper])
    counts = np.concatenate([c for _, c in per_paper]).astype(np.float32)
    lengths = np.fromiter((len(h) for h, _ in per_paper), dtype=np.int64, count=rows)
    position = np.minimum(np.searchsorted(sorted_hashes, hashes), width - 1)
    known = sorted_hashes[position] == hashes
    row_of = np.repeat(np.arange(rows), lengths)[known]
    matrix = sparse.csr_matrix((counts[known], (row_of, columns[position[known]])), shape=(rows, width))
    matrix.sort_indices()
    return matrix
