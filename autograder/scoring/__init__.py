"""Submission CSV validation and scoring: accuracy, ROC AUC, EER, TAR@FAR; grades; Kaggle bundle.

The leaderboard calls `score_submission` (or `parse_submission` + `score_parsed`); everything it
can raise is listed in its docstring. A course's task metrics come from `load_task_metrics(course
file)[task]`, passed as `metric=`.
"""

from autograder.scoring.course_config import load_task_metrics
from autograder.scoring.score import TaskScore, score_parsed, score_submission
from autograder.scoring.submission import ParsedSubmission, parse_submission
from autograder.scoring.task_metrics import DEFAULT_METRICS, MetricError, TaskMetric, parse_metric
from facekit.base.contract import TASKS
from facekit.base.csv_reader import DEFAULT_MAX_BYTES
from facekit.base.errors import ConfigError, InvalidSubmission, KeysError, SubmissionProblem
from facekit.base.keys import Keys, load_keys

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_METRICS",
    "TASKS",
    "ConfigError",
    "InvalidSubmission",
    "Keys",
    "KeysError",
    "MetricError",
    "ParsedSubmission",
    "SubmissionProblem",
    "TaskMetric",
    "TaskScore",
    "load_keys",
    "load_task_metrics",
    "parse_metric",
    "parse_submission",
    "score_parsed",
    "score_submission",
]
