"""Submission CSV validation and scoring: accuracy, ROC AUC, EER, TAR@FAR; grades; Kaggle bundle.

The leaderboard calls `score_submission`; everything it can raise is listed in its docstring.
"""

from autograder.scoring.csv_reader import DEFAULT_MAX_BYTES
from autograder.scoring.errors import InvalidSubmission, KeysError, SubmissionProblem
from autograder.scoring.formats import TASKS
from autograder.scoring.keys import Keys, load_keys
from autograder.scoring.score import TaskScore, score_parsed, score_submission
from autograder.scoring.submission import Submission, parse_submission

__all__ = [
    "DEFAULT_MAX_BYTES",
    "TASKS",
    "InvalidSubmission",
    "Keys",
    "KeysError",
    "Submission",
    "SubmissionProblem",
    "TaskScore",
    "load_keys",
    "parse_submission",
    "score_parsed",
    "score_submission",
]
