"""Does a submitted CSV reproduce what the student's own checkpoint predicts?

Row by row, with tolerances for honest numerical noise (another device, another batch
composition, TF32 convolutions, scores rounded to 6 decimals), never for different predictions:
- classification: each submitted label is the recomputed arg-max, or a near tie with it (its
  logit within `logit_tolerance`, relative, of the largest logit);
- verification: each submitted score is within `score_tolerance` of the recomputed cosine.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from autograder.scoring import Keys, ParsedSubmission, score_parsed
from facekit.base.contract import CLASSIFICATION, VERIFICATION


@dataclass(frozen=True)
class Agreement:
    """How a submitted CSV compares with the recomputed predictions (keys' row order)."""

    task: str
    submitted_overall: float
    recomputed_overall: float
    rows: int
    differing_rows: int  # rows outside the tolerance: 0 means the CSV reproduces
    label_agreement: float | None = None  # classification: fraction of identical labels
    near_ties: int | None = None  # classification: other labels accepted as near ties
    max_abs_diff: float | None = None  # verification: largest score difference
    spearman: float | None = None  # verification: rank correlation of the scores

    @property
    def reproduces(self) -> bool:
        return self.differing_rows == 0

    def describe(self) -> str:
        """One line for a person."""
        if self.task == CLASSIFICATION:
            detail = f"labels agree on {self.label_agreement:.2%} ({self.near_ties} near ties)"
        else:
            detail = f"max |score diff| {self.max_abs_diff:.3g}, Spearman {self.spearman:.6f}"
        verdict = (
            "reproduces"
            if self.reproduces
            else (f"DOES NOT REPRODUCE: {self.differing_rows} of {self.rows} rows differ")
        )
        return (
            f"{self.task} submission: overall {self.submitted_overall:.6f} vs recomputed "
            f"{self.recomputed_overall:.6f}; {detail}; {verdict}"
        )


def compare_classification(
    keys: Keys,
    submitted: ParsedSubmission,
    recomputed: ParsedSubmission,
    top_logits: torch.Tensor,
    top_classes: torch.Tensor,
    class_names: list[str],
    logit_tolerance: float,
) -> Agreement:
    """`top_logits`/`top_classes` (N, K) are in the keys' row order, like the submissions."""
    same = recomputed.values == submitted.values
    index_of = {name: index for index, name in enumerate(class_names)}
    near = 0
    for row in np.flatnonzero(~same):
        wanted = index_of.get(submitted.values[row], -1)
        hits = (top_classes[row] == wanted).nonzero()
        if len(hits):
            top = float(top_logits[row, 0])
            gap = top - float(top_logits[row, int(hits[0, 0])])
            if gap <= logit_tolerance * max(1.0, abs(top)):
                near += 1
    differing = int((~same).sum()) - near
    return Agreement(
        CLASSIFICATION,
        score_parsed(keys, submitted).overall,
        score_parsed(keys, recomputed).overall,
        rows=len(same),
        differing_rows=differing,
        label_agreement=float(same.mean()),
        near_ties=near,
    )


def compare_verification(
    keys: Keys, submitted: ParsedSubmission, recomputed: ParsedSubmission, score_tolerance: float
) -> Agreement:
    """Scores compared pair by pair (both in the keys' row order)."""
    diff = np.abs(recomputed.values - submitted.values)
    constant = np.ptp(recomputed.values) == 0 or np.ptp(submitted.values) == 0
    spearman = (
        float("nan")  # undefined for constant scores
        if constant
        else pd.Series(recomputed.values).corr(pd.Series(submitted.values), method="spearman")
    )
    return Agreement(
        VERIFICATION,
        score_parsed(keys, submitted).overall,
        score_parsed(keys, recomputed).overall,
        rows=len(diff),
        differing_rows=int((diff > score_tolerance).sum()),
        max_abs_diff=float(diff.max()),
        spearman=float(spearman),
    )
