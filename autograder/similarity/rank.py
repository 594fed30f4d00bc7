"""Rank every pair of a class's notebooks by shared fingerprints, cheaply and all at once.

A pair's score is the larger of its two shared fractions: the share of A's fingerprints also in
B, and the share of B's also in A. So a student who copied a neighbour's whole notebook into a
longer one still scores high. Each fingerprint weighs 1 / (number of notebooks holding it): code
only this pair shares is the strongest evidence, code a few students happen to write alike (the
same habits meeting the same contract) weighs less, and a ring of three copies still scores 1.
All pairs come from one sparse product (notebooks x fingerprints), so 400 notebooks (80,000
pairs) cost milliseconds; copydetect's exact, region-level comparison is run only for the pairs
that get a side-by-side page.

Fingerprints found in the handout (starter code) are removed before anything is compared, and so
are those in more than `max_common` notebooks: MOSS's rule that what most of a class writes
(the idiomatic way to declare a conv layer) is not evidence of copying.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from autograder.similarity.fingerprint import Fingerprint, drop_hashes


@dataclass(frozen=True)
class PairScore:
    """How much two notebooks share: fingerprints in common and each side's shared fraction."""

    student_a: str
    student_b: str
    shared: int
    fraction_a: float  # share of A's fingerprints (weighted by rarity) found in B
    fraction_b: float

    @property
    def score(self) -> float:
        return max(self.fraction_a, self.fraction_b)


def drop_common(fingerprints: list[Fingerprint], max_common: int) -> int:
    """Remove fingerprints held by more than `max_common` notebooks; returns how many went."""
    counts = Counter(h for fingerprint in fingerprints for h in fingerprint.hashes)
    common = {h for h, count in counts.items() if count > max_common}
    for fingerprint in fingerprints:
        drop_hashes(fingerprint, common)
    return len(common)


def rank_pairs(fingerprints: list[Fingerprint]) -> list[PairScore]:
    """Every pair sharing at least one fingerprint, most similar first (ties by name)."""
    vocabulary: dict[int, int] = {}
    rows, columns = [], []
    for row, fingerprint in enumerate(fingerprints):
        for h in fingerprint.hashes:
            rows.append(row)
            columns.append(vocabulary.setdefault(h, len(vocabulary)))
    shape = (len(fingerprints), max(1, len(vocabulary)))
    holds = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
    weight = 1.0 / np.maximum(np.asarray(holds.sum(axis=0)).ravel(), 1.0)  # 1 / notebooks
    weighted = holds @ sparse.diags(weight)
    shared_weight = sparse.triu(weighted @ holds.T, k=1).tocoo()
    shared_count = sparse.triu(holds @ holds.T, k=1).tocsr()
    totals = np.asarray(weighted.sum(axis=1)).ravel()
    pairs = [
        PairScore(
            fingerprints[a].student,
            fingerprints[b].student,
            int(shared_count[a, b]),
            float(value / totals[a]),
            float(value / totals[b]),
        )
        for a, b, value in zip(
            shared_weight.row, shared_weight.col, shared_weight.data, strict=True
        )
        if value > 0
    ]
    pairs.sort(key=lambda pair: (-pair.score, -pair.shared, pair.student_a, pair.student_b))
    return pairs
