"""Score a validated submission on the public, private and full test sets."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.scoring.submission import ParsedSubmission, parse_submission
from autograder.scoring.task_metrics import (
    DEFAULT_METRICS,
    MetricError,
    TaskMetric,
    classification_figures,
    verification_figures,
)
from facekit.base.contract import VERIFICATION
from facekit.base.csv_reader import DEFAULT_MAX_BYTES
from facekit.base.keys import Keys, check_task, load_keys
from facekit.base.metrics import equal_error_rate, roc_curves, tar_at_far

TAR_FAR = 1e-3
"""False accept rate at which the true accept rate is reported (as details["tar_at_far_1e-3"])."""


@dataclass(frozen=True)
class TaskScore:
    """A submission's leaderboard scores for one task (higher is better).

    `metric` is the task metric's name (`TaskMetric.name`: "accuracy", "roc_auc", or a weighted
    sum such as "0.5*accuracy + 0.5*(1 - eer)"); `public`, `private` and `overall` are its values.
    `details` (verification): `eer` and `tar_at_far_1e-3` on the full test set, the public and
    private EER, and each figure of a weighted metric on the full test set. `notes` lists
    harmless oddities of the file that were accepted.
    """

    task: str
    metric: str
    public: float
    private: float
    overall: float
    details: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def score_parsed(
    keys: Keys, submission: ParsedSubmission, metric: TaskMetric | None = None
) -> TaskScore:
    """Score a submission already validated by `parse_submission` against the same keys.

    `metric` is the task's metric from the course file (`load_task_metrics`); None: the
    default (accuracy, ROC AUC). Raises MetricError if `metric` belongs to another task.
    """
    metric = metric or DEFAULT_METRICS[keys.task]
    if metric.task != keys.task:
        raise MetricError(f"the metric {metric.name!r} is for {metric.task}, not {keys.task}")
    everyone = np.ones(len(keys), dtype=bool)
    masks = {"public": keys.public, "private": ~keys.public, "overall": everyone}
    if keys.task == VERIFICATION:
        curves = roc_curves(keys.labels, submission.values, masks)
        figures = {
            split: verification_figures(curve, metric.figures) for split, curve in curves.items()
        }
        details = {
            "eer": equal_error_rate(curves["overall"]),
            "tar_at_far_1e-3": tar_at_far(curves["overall"], TAR_FAR),
            "public_eer": equal_error_rate(curves["public"]),
            "private_eer": equal_error_rate(curves["private"]),
        }
    else:
        figures = {
            split: classification_figures(submission.values[mask], keys.labels[mask])
            for split, mask in masks.items()
        }
        details = {}
    if metric != DEFAULT_METRICS[keys.task]:  # a course's own metric: show what it is made of
        details |= {
            name: value for name, value in figures["overall"].items() if name not in details
        }
    return TaskScore(
        task=keys.task,
        metric=metric.name,
        **{split: metric.combine(values) for split, values in figures.items()},
        details=details,
        notes=submission.notes,
    )


def score_submission(
    task: str,
    submission: bytes | Path,
    keys_dir: Path,
    *,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    metric: TaskMetric | None = None,
) -> TaskScore:
    """Validate `submission` (CSV bytes or a path) against the keys in `keys_dir` and score it.

    `filename` names the file in problem messages (default: the path's name, or
    "submission.csv" for bytes); `metric` as in `score_parsed`. Raises InvalidSubmission (every
    problem, before any scoring), KeysError (staff error in the keys) or ValueError (unknown
    task; MetricError, a subclass, for a metric of another task).
    """
    keys = load_keys(check_task(task), keys_dir)
    return score_parsed(
        keys, parse_submission(keys, submission, filename=filename, max_bytes=max_bytes), metric
    )
