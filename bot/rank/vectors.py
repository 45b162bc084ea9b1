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

from typing import Mapping, Sequence, overload

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
        self._data, self._starts = self._encoded(terms)

    @staticmethod
    def _encoded(terms: Sequence[str]) -> tuple[bytes, np.ndarray]:
        encoded = [term.encode("utf-8") for term in terms]
        lengths = np.fromiter((len(t) + 1 for t in encoded), dtype=np.int64, count=len(encoded))
        return b"\n".join(encoded), np.concatenate(([0], np.cumsum(lengths)))

    def extended(self, more: Sequence[str]) -> "TermList":
        """These terms, then `more`, without encoding these again (a similarity model per request)."""
        if not more:
            return self
        data, starts = self._encoded(more)
        joined = TermList([])
        joined._data = self._data + b"\n" + data if self._data else data
        joined._starts = np.concatenate((self._starts, self._starts[-1] + starts[1:]))
        return joined

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
    """A fixed list of terms with their idf: turns papers into l2-normalised TF-IDF rows.

    The weighting is scikit-learn's `TfidfTransformer(sublinear_tf=True)`
    (1 + ln tf, times idf, rows scaled to length 1), which `fit` uses; scoring
    computes the same numbers straight from the term arrays (`weights`),
    because building the transformer's input matrix was most of a digest's
    ranking time.
    """

    def __init__(
        self, terms: TermList, idf: np.ndarray, hashes: np.ndarray | None = None, *, unknown_idf: float | None = None
    ) -> None:
        """`unknown_idf`: a paper's terms outside the vocabulary still count in its length, with this
        idf (a term no training paper had is at least as rare as the rarest they had); a vocabulary
        fitted on only a sample of the store would otherwise make a paper full of words it never
        saw look as close to the library as one about the library's subject alone."""
        self.terms = terms
        self.idf = idf
        self.unknown_idf = unknown_idf
        if hashes is None:
            hashes = np.fromiter(map(hash, terms.as_list()), dtype=np.int64, count=len(terms))
        self._order = np.argsort(hashes, kind="stable")
        self._sorted_hashes = hashes[self._order]

    def weights(self, papers: Sequence[Paper]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each known term of each paper as (row, column, TF-IDF weight), unsorted and not yet
        normalised, and each row's length (0 for a paper sharing no term with the vocabulary)."""
        per_paper = [term_counts(paper) for paper in papers]
        rows, columns, counts, unknown = _known_entries(per_paper, self._sorted_hashes, self._order)
        weights = (1.0 + np.log(counts)) * self.idf[columns]
        squares = np.bincount(rows, weights * weights, minlength=len(papers))
        if self.unknown_idf is not None and len(unknown[0]):
            unknown_weights = (1.0 + np.log(unknown[1])) * self.unknown_idf
            squares = squares + np.bincount(unknown[0], unknown_weights * unknown_weights, minlength=len(papers))
            # Sharing no term with the vocabulary still scores 0 (a length, but nothing in common).
        return rows, columns, weights, np.sqrt(squares)

    def vectors(self, papers: Sequence[Paper]) -> sparse.csr_matrix:
        rows, columns, weights, norms = self.weights(papers)
        data = (weights / norms[rows]).astype(np.float32)
        matrix = sparse.csr_matrix((data, (rows, columns)), shape=(len(papers), len(self.terms)))
        matrix.sort_indices()
        return matrix

    @classmethod
    def fit(
        cls, papers: Sequence[Paper], min_df: int, known: Mapping[int, str] | None = None
    ) -> tuple["Vocabulary", sparse.csr_matrix]:
        """The vocabulary of terms in at least `min_df` of `papers`, and their vectors.

        Term counts come from the cache (`term_counts`); a kept term's text is
        looked up in `known` (hash -> term: the store sample's, `Background.names`)
        and only otherwise read from the papers, in order, until every term is
        named: so papers whose terms `known` covers are not cut into terms again.
        """
        per_paper = [term_counts(paper) for paper in papers]
        all_hashes = np.concatenate([hashes for hashes, _ in per_paper]) if per_paper else np.zeros(0, np.int64)
        distinct, document_frequency = np.unique(all_hashes, return_counts=True)
        kept = set(distinct[document_frequency >= min_df].tolist())
        if not kept:
            raise EmptyVocabulary("no term in enough papers")
        names = {h: name for h in kept if (name := (known or {}).get(h)) is not None}
        missing = kept - names.keys()
        for paper in papers:
            if not missing:
                break
            its_terms = paper_terms(paper)
            found = dict(zip(map(hash, its_terms), its_terms, strict=True))
            named = missing & found.keys()
            names.update((h, found[h]) for h in named)
            missing -= named
        # Columns in term order, so a model trained on the same papers is the same in any process.
        terms = sorted(names[h] for h in kept)
        hashes = np.fromiter(map(hash, terms), dtype=np.int64, count=len(terms))
        order = np.argsort(hashes, kind="stable")
        counts = _count_matrix(per_paper, hashes[order], order, len(terms))
        weighting = TfidfTransformer(sublinear_tf=True).fit(counts)
        vocabulary = cls(TermList(terms), weighting.idf_.astype(np.float32), hashes)
        return vocabulary, weighting.transform(counts)


def _known_entries(
    per_paper: list[tuple[np.ndarray, np.ndarray]], sorted_hashes: np.ndarray, columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(row, column, count) of every term of the papers that is in the vocabulary, and (row, count)
    of every term that is not."""
    nothing = np.zeros(0, np.int64)
    if not per_paper:
        return nothing, nothing, np.zeros(0, np.float32), (nothing, np.zeros(0, np.float32))
    hashes = np.concatenate([h for h, _ in per_paper])
    counts = np.concatenate([c for _, c in per_paper]).astype(np.float32)
    lengths = np.fromiter((len(h) for h, _ in per_paper), dtype=np.int64, count=len(per_paper))
    rows = np.repeat(np.arange(len(per_paper)), lengths)
    if not len(sorted_hashes):
        return nothing, nothing, np.zeros(0, np.float32), (rows, counts)
    position = np.minimum(np.searchsorted(sorted_hashes, hashes), len(sorted_hashes) - 1)
    known = sorted_hashes[position] == hashes
    return rows[known], columns[position[known]], counts[known], (rows[~known], counts[~known])


def _count_matrix(
    per_paper: list[tuple[np.ndarray, np.ndarray]], sorted_hashes: np.ndarray, columns: np.ndarray, width: int
) -> sparse.csr_matrix:
    rows = len(per_paper)
    if not rows or not width:
        return sparse.csr_matrix((rows, width), dtype=np.float32)
    row_of, column_of, counts, _ = _known_entries(per_paper, sorted_hashes, columns)
    matrix = sparse.csr_matrix((counts, (row_of, column_of)), shape=(rows, width))
    matrix.sort_indices()
    return matrix
