"""Score a validated submission on the public, private and full test sets."""

from dataclasses import dataclass, field
from pathlib import Path

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


def score_parsed(keys: Keys, submission: Submission) -> TaskScore:
    """Score a submission already validated by `parse_submission` against the same keys."""
    masks = {"public": keys.public, "private": ~keys.public, "overall": slice(None)}
    if keys.task == "verification":
        curves = {
            split: roc_curve(keys.labels[mask], submission.values[mask])
            for split, mask in masks.items()
        }
        scores = {split: roc_auc(curve) for split, curve in curves.items()}
        details = {
            "eer": equal_error_rate(curves["overall"]),
            "tar_at_far_1e-3": tar_at_far(curves["overall"], TAR_FAR),
            "public_eer": equal_error_rate(curves["public"]),
            "private_eer": equal_error_rate(curves["private"]),
        }
    else:
        scores = {
            split: accuracy(submission.values[mask], keys.labels[mask])
            for split, mask in masks.items()
        }
        details = {}
    return TaskScore(
        task=keys.task,
        metric=METRICS[keys.task],
        **scores,
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
