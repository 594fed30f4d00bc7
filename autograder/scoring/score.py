"""Score a validated submission on the public, private and full test sets."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.scoring.csv_reader import DEFAULT_MAX_BYTES
from autograder.scoring.formats import METRICS
from autograder.scoring.keys import Keys, check_task, load_keys
from autograder.scoring.metrics import (
    accuracy,
    equal_error_rate,
    roc_auc,
    roc_curve,
    tar_at_far,
)
from autograder.scoring.submission import Submission, parse_submission

TAR_FAR = 1e-3
"""False accept rate at which the true accept rate is reported (as details["tar_at_far_1e-3"])."""


@dataclass(frozen=True)
class TaskScore:
    """A submission's leaderboard scores for one task (higher is better).

    `details` (verification): `eer` and `tar_at_far_1e-3` on the full test set, plus the public
    and private EER. `notes` lists harmless oddities of the file that were accepted.
    """

    task: str
    metric: str
    public: float
    private: float
    overall: float
    details: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _verification_details(labels: np.ndarray, scores: np.ndarray, public: np.ndarray) -> dict:
    curve = roc_curve(labels, scores)
    return {
        "eer": equal_error_rate(curve),
        "tar_at_far_1e-3": tar_at_far(curve, TAR_FAR),
        "public_eer": equal_error_rate(roc_curve(labels[public], scores[public])),
        "private_eer": equal_error_rate(roc_curve(labels[~public], scores[~public])),
    }


def score_parsed(keys: Keys, submission: Submission) -> TaskScore:
    """Score a submission already validated by `parse_submission` against the same keys."""
    if keys.task == "verification":

        def metric(mask: np.ndarray | slice) -> float:
            return roc_auc(roc_curve(keys.labels[mask], submission.values[mask]))

        details = _verification_details(keys.labels, submission.values, keys.public)
    else:

        def metric(mask: np.ndarray | slice) -> float:
            return accuracy(submission.values[mask], keys.labels[mask])

        details = {}
    return TaskScore(
        task=keys.task,
        metric=METRICS[keys.task],
        public=metric(keys.public),
        private=metric(~keys.public),
        overall=metric(slice(None)),
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
) -> TaskScore:
    """Validate `submission` (CSV bytes or a path) against the keys in `keys_dir` and score it.

    `filename` names the file in problem messages (default: the path's name, or
    "submission.csv" for bytes). Raises InvalidSubmission (every problem, before any scoring),
    KeysError (staff error in the keys) or ValueError (unknown task).
    """
    keys = load_keys(check_task(task), keys_dir)
    return score_parsed(
        keys, parse_submission(keys, submission, filename=filename, max_bytes=max_bytes)
    )
