"""Task metrics from the course file: parsing, values by hand, the scorer, the CLI, Kaggle text."""

from pathlib import Path

import numpy as np
import pytest

from autograder.scoring import (
    ConfigError,
    MetricError,
    load_task_metrics,
    parse_metric,
    score_submission,
)
from autograder.scoring.kaggle import evaluation_markdown
from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.base.metrics import best_threshold_accuracy, equal_error_rate, roc_curve
from facekit.cli.main import main

VERIFICATION_CSV = (
    b"pair_id,score\np1,0.9\np2,0.1\np3,0.5\np4,0.5\np5,0.3\np6,0.2\np7,0.3\np8,0.7\n"
)
LABELS = np.array([1, 0, 1, 0, 1, 0, 0, 1], dtype=bool)
SCORES = np.array([0.9, 0.1, 0.5, 0.5, 0.3, 0.2, 0.3, 0.7])
PUBLIC = np.array([1, 1, 0, 0, 1, 0, 1, 0], dtype=bool)
HW2P2 = "0.5*accuracy + 0.5*(1 - eer)"


@pytest.mark.parametrize(
    ("task", "text", "name", "best"),
    [
        (CLASSIFICATION, "accuracy", "accuracy", 1.0),
        (VERIFICATION, "roc_auc", "roc_auc", 1.0),
        (VERIFICATION, HW2P2, HW2P2, 1.0),
        (VERIFICATION, "0.5*accuracy+0.5*(1-eer)", HW2P2, 1.0),
        (VERIFICATION, "tar@far=1e-4", "tar@far=1e-4", 1.0),
        (VERIFICATION, "2*roc_auc + (1-eer)", "2*roc_auc + (1 - eer)", 3.0),
    ],
)
def test_metrics_are_parsed(task: str, text: str, name: str, best: float) -> None:
    """Valid metric texts give a normalised name and their best value."""
    metric = parse_metric(task, text)
    assert (metric.task, metric.name, metric.best) == (task, name, best)


@pytest.mark.parametrize(
    ("task", "text", "words"),
    [
        (VERIFICATION, "eer", "lower-is-better; write (1-eer)"),
        (VERIFICATION, "auc", "unknown figure 'auc'"),
        (CLASSIFICATION, "roc_auc", "unknown figure 'roc_auc'"),
        (VERIFICATION, "", "empty metric"),
        (VERIFICATION, "roc_auc - eer", "cannot read"),
        (VERIFICATION, "__import__('os').system('x')", "cannot read"),
        (VERIFICATION, "0*roc_auc", "weights must be positive"),
        (VERIFICATION, "tar@far=2", "between 0 and 1"),
        ("detection", "accuracy", "unknown task"),
    ],
)
def test_bad_metrics_are_refused(task: str, text: str, words: str) -> None:
    """A metric text that is not a metric of its task names what is wrong (never evaluated)."""
    with pytest.raises(MetricError) as caught:
        parse_metric(task, text)
    assert words in str(caught.value)


def test_best_threshold_accuracy_by_loop() -> None:
    """Verification accuracy is the best over every threshold, recomputed by a plain loop."""
    rng = np.random.default_rng(4)
    labels = rng.random(300) < 0.4
    scores = np.round(rng.normal(size=300) + labels, 1)
    candidates = [np.inf, *np.unique(scores)]
    expected = max(np.mean((scores >= t) == labels) for t in candidates)
    assert best_threshold_accuracy(roc_curve(labels, scores)) == pytest.approx(expected, abs=1e-15)


def test_hw2p2_metric_scores_each_split(keys_dir: Path) -> None:
    """0.5*accuracy + 0.5*(1 - EER) on each split, from the figures computed directly."""
    score = score_submission(
        VERIFICATION, VERIFICATION_CSV, keys_dir, metric=parse_metric(VERIFICATION, HW2P2)
    )
    for split, mask in (("public", PUBLIC), ("private", ~PUBLIC), ("overall", slice(None))):
        curve = roc_curve(LABELS[mask], SCORES[mask])
        expected = 0.5 * best_threshold_accuracy(curve) + 0.5 * (1 - equal_error_rate(curve))
        assert getattr(score, split) == pytest.approx(expected, abs=1e-15), split
    assert score.metric == HW2P2
    assert {"accuracy", "eer", "tar_at_far_1e-3"} <= set(score.details)


def test_metric_of_another_task_is_refused(keys_dir: Path) -> None:
    """A verification metric given to a classification score is a MetricError, not a number."""
    with pytest.raises(MetricError, match="is for verification, not classification"):
        score_submission(
            CLASSIFICATION,
            b"id,label\n" + b"".join(b"img_%d.jpg,bob\n" % i for i in range(6)),
            keys_dir,
            metric=parse_metric(VERIFICATION, "roc_auc"),
        )


def test_course_file_metrics_ignore_other_tables(tmp_path: Path) -> None:
    """[metrics] is read from a course file holding other tools' tables; the rest default."""
    course = tmp_path / "course.toml"
    course.write_text(f'[grade_model]\nmax_parameters = 5\n\n[metrics]\nverification = "{HW2P2}"\n')
    metrics = load_task_metrics(course)
    assert metrics[VERIFICATION].name == HW2P2
    assert metrics[CLASSIFICATION].name == "accuracy"
    assert load_task_metrics(None)[VERIFICATION].name == "roc_auc"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[metrics]\ndetection = "accuracy"\n', "[metrics] unknown key 'detection'"),
        ('[metrics]\nverification = "eer"\n', "[metrics] verification: eer is lower-is-better"),
        ("[metrics]\nverification = 1\n", "[metrics] verification: expected a string"),
        ("[metrics\n", "not valid TOML"),
    ],
)
def test_course_file_metric_errors(tmp_path: Path, text: str, words: str) -> None:
    """A bad [metrics] table is a ConfigError naming the file and the key."""
    course = tmp_path / "course.toml"
    course.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_task_metrics(course)
    assert str(course) in str(caught.value) and words in str(caught.value)


def test_cli_scores_with_the_course_metric(keys_dir: Path, tmp_path: Path, capsys) -> None:
    """`facekit score --course` reports the course's metric; a bad one exits 2."""
    submission = tmp_path / "sub.csv"
    submission.write_bytes(VERIFICATION_CSV)
    course = tmp_path / "course.toml"
    course.write_text(f'[metrics]\nverification = "{HW2P2}"\n')
    args = ["score", VERIFICATION, str(submission), "--keys", str(keys_dir)]
    assert main([*args, "--course", str(course)]) == 0
    assert f"sub.csv: verification {HW2P2}" in capsys.readouterr().out
    course.write_text('[metrics]\nverification = "auc"\n')
    assert main([*args, "--course", str(course)]) == 2
    assert "facekit score: " in capsys.readouterr().err


def test_kaggle_description_names_the_metric(keys_dir: Path, tmp_path: Path) -> None:
    """The bundle's evaluation text follows the course metric and says what Kaggle can do."""
    course = tmp_path / "course.toml"
    course.write_text(f'[metrics]\nverification = "{HW2P2}"\n')
    out = tmp_path / "bundle"
    args = ["kaggle-bundle", "--keys", str(keys_dir), "--out", str(out), "--course", str(course)]
    assert main(args) == 0
    text = (out / VERIFICATION / "evaluation.md").read_text()
    assert f"`{HW2P2}`" in text and "eer: the equal error rate" in text
    assert "no built-in metric" in text
    default = evaluation_markdown(load_task_metrics(None)[CLASSIFICATION])
    assert "Categorization Accuracy" in default
