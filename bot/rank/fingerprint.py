"""What a ranking model was trained on, cheap to compute without the model.

A model is retrained only when its library changed or the store grew (or
shrank) beyond a margin; the caller computes a `Fingerprint` from ids and a
count, compares it with the stored model's, and retrains only on a mismatch.
Store sizes fall into buckets a factor `STORE_GROWTH` apart, so a store that
gains a few papers a day keeps its models and one that grew by a quarter
retrains them (its word statistics and negative sample have moved).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Iterable

STORE_GROWTH = 1.25


def store_bucket(store_size: int) -> int:
    """The bucket of a store of `store_size` papers: 0 for an empty store, then one per factor 1.25."""
    if store_size <= 0:
        return 0
    return 1 + int(math.log(store_size) / math.log(STORE_GROWTH))


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """The library's ids, the explicit negatives' ids (hashed) and the store size bucket."""

    library: str
    negatives: str
    store_bucket: int

    @classmethod
    def of(cls, library_ids: Iterable[str], store_size: int, negative_ids: Iterable[str] = ()) -> "Fingerprint":
        return cls(_digest(library_ids), _digest(negative_ids), store_bucket(store_size))

    @property
    def text(self) -> str:
        """One string for storing beside the model: `library:negatives:bucket`."""
        return f"{self.library}:{self.negatives}:{self.store_bucket}"

    @classmethod
    def parse(cls, text: str) -> "Fingerprint":
        library, negatives, bucket = text.split(":")
        return cls(library, negatives, int(bucket))
