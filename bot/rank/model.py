"""One library's trained ranker: scores in [0, 1], a why line per paper, and bytes.

A model is trained once per library (see `bot.rank.train`) and then scores
many candidate lists: a digest's topic, a whole-store recommendation, a
`similar` request. It is kept across restarts as bytes, so it must restore
without the training data and without pickle (bytes read back from a store
must never run code): the format is a NumPy `.npz` archive of plain arrays and
one JSON header, loaded with `allow_pickle=False`.

Three kinds, by how much the library says:

- `empty`: no library, or no text at all; every score is 0 and input order
  is kept, so a caller falls back to newest first.
- `similarity`: a library of 1-3 papers is too few to learn from; a paper's
  score is its TF-IDF cosine similarity to the closest library paper.
- `classifier`: a logistic regression separating the library from a sample
  of the store (and explicit negatives); a paper's score is the classifier's
  probability. (Blending in the similarity to the closest library paper
  ranked worse in `benchmarks/relevance_eval.py`.)

Every score comes from the same fitted vocabulary, weights and formula, so
scores of one model are comparable with each other, and a retrained model of
the same library on a similar store gives close scores to the same paper.

A model never changes once made (a new library, vote or store bucket makes a
new one), and a paper's score and why line depend on that paper alone, not on
the others ranked with it. So a model remembers both per paper
(`PaperMemo`): a thousand digests planned after a fetch, and planned again as
they fire, are mostly the same few topics' papers ranked by the same few
models, and each (model, paper) is worked out once.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Sequence, TypeVar

import numpy as np
from scipy import sparse
from scipy.special import expit

from bot.models import Paper
from bot.rank.fingerprint import Fingerprint
from bot.rank.vectors import TermList, Vocabulary
from bot.rank.why import Why, short_title, top_terms

FORMAT_VERSION = 1
EMPTY, SIMILARITY, CLASSIFIER = "empty", "similarity", "classifier"
# Papers whose score (and why line, when shown) a model remembers: a channel's topics' candidates
# of a week, several times over; ~150 bytes a score, so ~0.6 MB a model when full (and its few why lines).
MEMO_PAPERS = 4096

Value = TypeVar("Value")
_UNKNOWN = object()  # not remembered (None is a value: a paper without a why line)


class ModelFormatError(ValueError):
    """Bytes that are not a ranking model this version can read; the caller retrains."""


@dataclass(frozen=True)
class Ranked:
    """One candidate with its score in [0, 1] and, when the library shares any term with it, why."""

    paper: Paper
    score: float
    why: Why | None = None


@dataclass(frozen=True)
class ModelParts:
    """Everything a model is made of, as plain data: what training produces and bytes restore."""

    kind: str
    fingerprint: Fingerprint
    terms: TermList
    idf: np.ndarray  # float32, one per term
    library_ids: list[str]
    library_titles: list[str]
    library_vectors: sparse.csr_matrix  # float32, one l2-normalised row per library paper
    display: dict[str, str]  # term -> the words it was written as in the library
    coef: np.ndarray | None = None  # float32, one per term (classifier only)
    intercept: float = 0.0
    counts: dict[str, int] | None = None  # what training saw: library, negatives, sample
    # The idf a paper's terms outside the vocabulary count with in its length (see `Vocabulary`); None: not counted.
    unknown_idf: float | None = None


class PaperMemo(Generic[Value]):
    """What a model worked out for a paper, by the paper's content: a bounded map, oldest dropped first.

    Keyed by the arXiv id and the hash of the whole paper (`Paper` is a
    frozen dataclass), not by the paper itself, so the memo keeps no paper
    alive; a paper whose text changed (an edited note, a new version) hashes
    differently and is worked out again. Two contents of one id sharing a
    64-bit hash are as rare as in `bot.rank.vectors`.
    """

    def __init__(self, size: int = MEMO_PAPERS) -> None:
        self.size = size
        self._values: dict[Hashable, Value] = {}

    @staticmethod
    def key(paper: Paper) -> Hashable:
        return (paper.arxiv_id, hash(paper))

    def of(self, papers: Sequence[Paper], work_out: Callable[[list[Paper]], list[Value]]) -> list[Value]:
        """Each paper's value, in order: remembered, or worked out now (the missing papers in one call) and kept."""
        keys = [self.key(paper) for paper in papers]
        values: list = [self._values.get(key, _UNKNOWN) for key in keys]
        missing = [i for i, value in enumerate(values) if value is _UNKNOWN]
        if missing:
            for i, value in zip(missing, work_out([papers[i] for i in missing]), strict=True):
                values[i] = value
                self._values[keys[i]] = value
            while len(self._values) > self.size:
                del self._values[next(iter(self._values))]
        return values

    def __len__(self) -> int:
        return len(self._values)


class RankModel:
    """Scores candidate papers against one library; see the module docstring for the kinds."""

    def __init__(self, parts: ModelParts, vocabulary: Vocabulary | None = None) -> None:
        """`vocabulary`: the one `parts.terms` and `parts.idf` make, when the caller has it already."""
        self.parts = parts
        self.kind = parts.kind
        self.fingerprint = parts.fingerprint
        self.library_ids = frozenset(parts.library_ids)
        self._vocabulary: Vocabulary | None = None
        if parts.kind != EMPTY:
            self._vocabulary = vocabulary or Vocabulary(parts.terms, parts.idf, unknown_idf=parts.unknown_idf)
        self._scores: PaperMemo[float] = PaperMemo()
        self._whys: PaperMemo[Why | None] = PaperMemo()

    @property
    def empty(self) -> bool:
        """Nothing to learn from (no library, or no text): every score 0, input order kept."""
        return self.kind == EMPTY

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.parts.counts or {})

    # --- scoring -----------------------------------------------------------------------

    def _scored(self, papers: Sequence[Paper]) -> np.ndarray:
        """Each paper's score (zeros for an empty model): remembered ones, and the rest worked out together."""
        if self._vocabulary is None or not papers:
            return np.zeros(len(papers))
        return np.array(self._scores.of(papers, self._worked_out), dtype=np.float64)

    def _worked_out(self, papers: Sequence[Paper]) -> list[float]:
        assert self._vocabulary is not None
        if self.parts.coef is None:
            scores = self._closest(self._vocabulary.vectors(papers))[1]
        else:
            scores = self._probabilities(papers, self.parts.coef)
        return scores.tolist()

    def _probabilities(self, papers: Sequence[Paper], coef: np.ndarray) -> np.ndarray:
        """The logistic regression's probability for each paper, computed on the papers' term
        arrays directly: what scikit-learn's TF-IDF rows (sublinear tf, l2) and `predict_proba`
        give, without building a sparse matrix, which was most of a digest's ranking time."""
        assert self._vocabulary is not None
        rows, columns, weights, norms = self._vocabulary.weights(papers)
        dots = np.bincount(rows, weights * coef[columns], minlength=len(papers))
        known = norms > 0
        scores = np.zeros(len(papers))
        scores[known] = expit(dots[known] / norms[known] + self.parts.intercept)
        # A paper with no known term would get the intercept's probability, above many real
        # candidates; having nothing in common with the library is a score of 0.
        return scores

    def _closest(self, vectors: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the index of the most similar library paper, and that cosine similarity."""
        similarities = (vectors @ self.parts.library_vectors.T).toarray()
        closest = similarities.argmax(axis=1)
        return closest, np.clip(similarities[np.arange(len(closest)), closest], 0.0, 1.0)

    def score(self, papers: Sequence[Paper]) -> list[float]:
        """Each paper's score in [0, 1], in input order."""
        return [float(s) for s in self._scored(papers)]

    def rank(self, papers: Sequence[Paper], limit: int | None = None, exclude_library: bool = False) -> list[Ranked]:
        """Papers best first (ties keep input order), each with its score and why; at most `limit`.

        `exclude_library` leaves out the library's own papers (for `similar`
        and `recommend`, which must not offer what the group already has).
        Only the papers returned are explained, so a digest that shows ten of
        a thousand candidates pays for ten why lines.
        """
        if exclude_library:
            papers = [p for p in papers if p.arxiv_id not in self.library_ids]
        scores = self._scored(papers)
        order = np.argsort(-scores, kind="stable")
        if limit is not None:
            order = order[: max(limit, 0)]
        if self._vocabulary is None or not len(order):
            return [Ranked(papers[i], float(scores[i])) for i in order]
        whys = self._whys.of([papers[i] for i in order], self._explained)
        return [Ranked(papers[i], float(scores[i]), why) for i, why in zip(order, whys, strict=True)]

    def _explained(self, papers: Sequence[Paper]) -> list[Why | None]:
        assert self._vocabulary is not None
        shown = self._vocabulary.vectors(papers)
        closest, closeness = self._closest(shown)
        return [self._why(shown, row, int(closest[row]), closeness[row]) for row in range(len(papers))]

    def _why(self, vectors: sparse.csr_matrix, row: int, closest: int, closeness: float) -> Why | None:
        if closeness <= 0:
            return None
        start, end = vectors.indptr[row], vectors.indptr[row + 1]
        indices, values = vectors.indices[start:end], vectors.data[start:end]
        if self.parts.coef is not None:
            weights = self.parts.coef[indices]
        else:
            weights = self.parts.library_vectors[closest].toarray().ravel()[indices]
        terms = top_terms(indices, values * weights, self.parts.terms, self.parts.display)
        return Why(self.parts.library_ids[closest], short_title(self.parts.library_titles[closest]), terms)

    def _term_weights(self) -> np.ndarray | None:
        """How much each term speaks for the library: the classifier's weights, else the library's mean vector."""
        if self.kind == EMPTY:
            return None
        if self.parts.coef is not None:
            return self.parts.coef
        return np.asarray(self.parts.library_vectors.mean(axis=0)).ravel()

    def top_terms(self, count: int = 10) -> list[str]:
        """The terms that weigh most for this library, as words: for `/paper library`."""
        weights = self._term_weights()
        if weights is None:
            return []
        indices = np.arange(len(weights))
        return list(top_terms(indices, weights, self.parts.terms, self.parts.display, count))

    def query_terms(self, count: int = 12) -> list[str]:
        """The single words (and Chinese two-character words) that weigh most, as the library wrote them:
        what a search for whole-store candidates asks the index for. Word pairs are left out: a
        phrase query reads both words' positions, and each of its words is among the terms anyway."""
        weights = self._term_weights()
        if weights is None or count <= 0:
            return []
        deepest = min(len(weights), count * 8)  # pairs outnumber words among the strongest terms
        strongest = np.argpartition(-weights, deepest - 1)[:deepest] if deepest < len(weights) else np.arange(len(weights))
        chosen: list[str] = []
        for index in strongest[np.argsort(-weights[strongest], kind="stable")]:
            term = self.parts.terms[int(index)]
            if weights[index] <= 0:
                break
            if " " not in term:
                chosen.append(self.parts.display.get(term, term))
                if len(chosen) == count:
                    break
        return chosen

    # --- bytes ---------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The model as bytes for the store; `from_bytes` restores a model with identical scores."""
        p = self.parts
        header = {
            "format": FORMAT_VERSION,
            "kind": p.kind,
            "fingerprint": p.fingerprint.text,
            "intercept": p.intercept,
            "counts": p.counts or {},
            "unknown_idf": p.unknown_idf,
            "library_ids": p.library_ids,
            "library_titles": p.library_titles,
            "display": p.display,
        }
        vectors = p.library_vectors
        arrays = {
            "header": _text_array(json.dumps(header, ensure_ascii=False)),
            "terms": _text_array(p.terms.text),
            "idf": p.idf,
            "coef": p.coef if p.coef is not None else np.zeros(0, dtype=np.float32),
            "vectors_data": vectors.data,
            "vectors_indices": vectors.indices,
            "vectors_indptr": vectors.indptr,
            "vectors_shape": np.array(vectors.shape, dtype=np.int64),
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "RankModel":
        """Restore a model from `to_bytes`; `ModelFormatError` for anything else (retrain then)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            header = json.loads(_array_text(arrays["header"]))
            if header.get("format") != FORMAT_VERSION:
                raise ModelFormatError(
                    f"ranking model format {header.get('format')!r}, this version reads {FORMAT_VERSION}: retrain it"
                )
            coef = arrays["coef"]
            parts = ModelParts(
                kind=header["kind"],
                fingerprint=Fingerprint.parse(header["fingerprint"]),
                terms=TermList.from_text(_array_text(arrays["terms"])),
                idf=arrays["idf"],
                library_ids=list(header["library_ids"]),
                library_titles=list(header["library_titles"]),
                library_vectors=sparse.csr_matrix(
                    (arrays["vectors_data"], arrays["vectors_indices"], arrays["vectors_indptr"]),
                    shape=tuple(int(n) for n in arrays["vectors_shape"]),
                ),
                display=dict(header["display"]),
                coef=coef if coef.size else None,
                intercept=float(header["intercept"]),
                counts=dict(header["counts"]),
                unknown_idf=header.get("unknown_idf"),
            )
        except ModelFormatError:
            raise
        except Exception as error:  # a truncated or foreign blob: zip, JSON or key errors alike
            raise ModelFormatError(f"not a ranking model ({type(error).__name__}: {error}); retrain it") from error
        return cls(parts)


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _array_text(array: np.ndarray) -> str:
    return array.tobytes().decode("utf-8")
