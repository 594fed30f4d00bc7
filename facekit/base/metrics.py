"""Leaderboard metrics in numpy: accuracy, and ROC AUC / EER / TAR@FAR from one ROC curve.

The ROC AUC equals scikit-learn's `roc_auc_score` (ties included: tied scores form one ROC
point, so the trapezoid over that step counts each tied positive/negative pair as one half).
It is computed here rather than by scikit-learn because one sort yields all three verification
figures; `benchmarks/bench_auc.py` compares speed and value against scikit-learn.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class RocCurve:
    """ROC points in order of decreasing threshold, starting at (0, 0).

    `fpr`, `tpr` and `thresholds` have shape (K + 1,) for K distinct scores; `thresholds[0]` is
    +inf and a sample is predicted "same" when its score is >= the threshold. `false_positives`
    and `true_positives` (K + 1,) int64 are the counts behind `fpr` and `tpr`.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    false_positives: np.ndarray
    true_positives: np.ndarray


def accuracy(predicted: np.ndarray, expected: np.ndarray) -> float:
    """Fraction of rows where `predicted` equals `expected`; both of shape (N,), N > 0."""
    return float(np.mean(predicted == expected))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> RocCurve:
    """The ROC curve of `scores` (N,) float against `labels` (N,) bool (True = positive).

    Needs at least one positive and one negative; scores must be finite.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    # Ties are collapsed into one point below, so an unstable (faster) sort is enough.
    return _roc_of_order(labels, scores, np.argsort(scores)[::-1])


def roc_curves(
    labels: np.ndarray, scores: np.ndarray, masks: dict[str, np.ndarray]
) -> dict[str, RocCurve]:
    """`roc_curve` of the rows selected by each of `masks` ((N,) bool), with one sort in all.

    Filtering the full decreasing order keeps each subset in decreasing order, so the curves are
    exactly those of `roc_curve(labels[mask], scores[mask])`, without sorting each subset again.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores)[::-1]
    return {name: _roc_of_order(labels, scores, order[mask[order]]) for name, mask in masks.items()}


def _roc_of_order(labels: np.ndarray, scores: np.ndarray, order: np.ndarray) -> RocCurve:
    """The ROC curve of the rows `order` lists, which must be in decreasing order of score."""
    sorted_scores = scores[order]
    # Index of the last row of each group of tied scores, in decreasing-score order.
    group_ends = np.append(np.flatnonzero(np.diff(sorted_scores)), order.size - 1)
    true_positives = np.cumsum(labels[order], dtype=np.int64)[group_ends]
    false_positives = group_ends + 1 - true_positives
    num_positives = true_positives[-1]
    num_negatives = false_positives[-1]
    if num_positives == 0 or num_negatives == 0:
        raise ValueError(
            f"ROC needs both classes: got {num_positives} positives and {num_negatives} negatives"
        )
    return RocCurve(
        fpr=np.concatenate(([0.0], false_positives / num_negatives)),
        tpr=np.concatenate(([0.0], true_positives / num_positives)),
        thresholds=np.concatenate(([np.inf], sorted_scores[group_ends])),
        false_positives=np.concatenate(([0], false_positives)),
        true_positives=np.concatenate(([0], true_positives)),
    )


def roc_auc(curve: RocCurve) -> float:
    """Area under the ROC curve by the trapezoid rule, bit for bit scikit-learn's value.

    Like `sklearn.metrics.roc_auc_score`, it first drops the points that lie on a straight
    segment between their neighbours (they add no area but change the floating-point sum).
    """
    false_positives, true_positives = curve.false_positives[1:], curve.true_positives[1:]
    if false_positives.size > 2:
        corners = np.diff(false_positives, 2) != 0
        corners |= np.diff(true_positives, 2) != 0
        kept = np.concatenate(([True], corners, [True]))
        false_positives, true_positives = false_positives[kept], true_positives[kept]
    fpr = np.concatenate(([0.0], false_positives / false_positives[-1]))
    tpr = np.concatenate(([0.0], true_positives / true_positives[-1]))
    return float(np.trapezoid(tpr, fpr))


def equal_error_rate(curve: RocCurve) -> float:
    """The error rate where false accepts equal false rejects (FPR = 1 - TPR).

    Interpolated linearly between the two ROC points where 1 - TPR - FPR changes sign.
    """
    gap = (1.0 - curve.tpr) - curve.fpr  # starts at 1, ends at -1, non-increasing
    crossing = int(np.argmax(gap <= 0.0))
    before, after = gap[crossing - 1], gap[crossing]
    weight = before / (before - after)
    fpr_before, fpr_after = curve.fpr[crossing - 1], curve.fpr[crossing]
    return float(fpr_before + weight * (fpr_after - fpr_before))


def best_threshold_accuracy(curve: RocCurve) -> float:
    """Verification accuracy at the best single threshold: the most pairs decided correctly.

    At each ROC point the correct decisions are the true accepts plus the true rejects.
    """
    negatives, positives = curve.false_positives[-1], curve.true_positives[-1]
    correct = curve.true_positives + (negatives - curve.false_positives)
    return float(correct.max() / (negatives + positives))


def tar_at_far(curve: RocCurve, far: float) -> float:
    """True accept rate at the best threshold whose false accept rate is at most `far`."""
    last_allowed = int(np.searchsorted(curve.fpr, far, side="right")) - 1
    return float(curve.tpr[last_allowed])
