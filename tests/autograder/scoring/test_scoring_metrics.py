"""ROC AUC, EER, TAR@FAR and accuracy against scikit-learn and hand-computed values."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from facekit.base.metrics import (
    accuracy,
    equal_error_rate,
    roc_auc,
    roc_curve,
    roc_curves,
    tar_at_far,
)


def _random_case(seed: int, size: int, tie_levels: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.random(size) < rng.uniform(0.05, 0.95)
    labels[:2] = [True, False]  # both classes present
    scores = rng.normal(size=size) + labels * rng.uniform(0, 2)
    if tie_levels is not None:
        scores = np.floor(scores * tie_levels / 4) / tie_levels
    return labels, scores


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("tie_levels", [None, 1, 3, 20], ids=["no-ties", "t1", "t3", "t20"])
@pytest.mark.parametrize("size", [2, 7, 100, 5000])
def test_roc_auc_equals_sklearn(seed: int, tie_levels: int | None, size: int) -> None:
    """Does our AUC equal roc_auc_score, bit for bit, on random and tie-heavy inputs?"""
    labels, scores = _random_case(seed, size, tie_levels)
    expected = roc_auc_score(labels, scores)
    got = roc_auc(roc_curve(labels, scores))
    assert got == expected, f"ours {got!r} vs sklearn {expected!r}"


def test_all_scores_tied_give_half() -> None:
    """A constant score carries no information: AUC 0.5, as in scikit-learn."""
    labels = np.array([True, False, True, False, False])
    assert roc_auc(roc_curve(labels, np.zeros(5))) == 0.5 == roc_auc_score(labels, np.zeros(5))


def test_auc_counts_tied_pairs_as_half_by_loop() -> None:
    """AUC equals the pairwise definition P(pos > neg) + 0.5 P(pos == neg), by a plain loop."""
    labels, scores = _random_case(seed=3, size=60, tie_levels=2)
    positives, negatives = scores[labels], scores[~labels]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    expected = wins / (len(positives) * len(negatives))
    assert abs(roc_auc(roc_curve(labels, scores)) - expected) < 1e-12


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("tie_levels", [None, 3])
def test_roc_points_and_tar_match_sklearn(seed: int, tie_levels: int | None) -> None:
    """Are our ROC points sklearn's (drop_intermediate=False), and TAR@FAR the best TPR there?"""
    labels, scores = _random_case(seed, 3000, tie_levels)
    curve = roc_curve(labels, scores)
    fpr, tpr, _ = sklearn_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr, atol=1e-15)
    np.testing.assert_allclose(curve.tpr, tpr, atol=1e-15)
    for far in (0.0, 1e-3, 0.01, 0.1, 0.5, 1.0):
        assert tar_at_far(curve, far) == tpr[fpr <= far].max()


def test_equal_error_rate_by_hand() -> None:
    """Two points around the crossing: EER interpolates where FPR = 1 - TPR."""
    # 2 positives (0.9, 0.4), 2 negatives (0.6, 0.1): at 0.6, FPR=0.5 and FNR=0.5 exactly.
    labels = np.array([True, False, True, False])
    scores = np.array([0.9, 0.6, 0.4, 0.1])
    assert equal_error_rate(roc_curve(labels, scores)) == pytest.approx(0.5)
    perfect = roc_curve(labels, np.array([0.9, 0.2, 0.8, 0.1]))
    assert equal_error_rate(perfect) == 0.0
    assert tar_at_far(perfect, 1e-3) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_equal_error_rate_lies_between_roc_neighbours(seed: int) -> None:
    """EER sits between FPR and FNR of the ROC points on either side of the crossing."""
    labels, scores = _random_case(seed, 2000, None)
    curve = roc_curve(labels, scores)
    eer = equal_error_rate(curve)
    fnr = 1 - curve.tpr
    crossing = np.argmax(fnr <= curve.fpr)
    assert curve.fpr[crossing - 1] <= eer <= curve.fpr[crossing] + 1e-12
    assert fnr[crossing] - 1e-12 <= eer <= fnr[crossing - 1]


def test_roc_needs_both_classes() -> None:
    """One class only: a ValueError that names the counts."""
    with pytest.raises(ValueError, match="3 positives and 0 negatives"):
        roc_curve(np.ones(3, dtype=bool), np.arange(3.0))


def test_accuracy() -> None:
    """Accuracy is the fraction of equal labels."""
    predicted = np.array(["a", "b", "c", "a"], dtype=object)
    expected = np.array(["a", "b", "a", "b"], dtype=object)
    assert accuracy(predicted, expected) == 0.5


@pytest.mark.parametrize("tie_levels", [None, 3])
def test_one_sort_curves_equal_each_splits_own(tie_levels: int | None) -> None:
    """roc_curves (one sort for every split) gives exactly each split's own roc_curve."""
    labels, scores = _random_case(5, 2000, tie_levels)
    public = np.random.default_rng(6).random(2000) < 0.5
    curves = roc_curves(labels, scores, {"public": public, "private": ~public})
    for name, mask in (("public", public), ("private", ~public)):
        alone = roc_curve(labels[mask], scores[mask])
        for field in ("fpr", "tpr", "thresholds", "false_positives", "true_positives"):
            np.testing.assert_array_equal(getattr(curves[name], field), getattr(alone, field))
