"""Files for a Kaggle community competition: solution, sample submission and evaluation text."""

from pathlib import Path

from autograder.scoring.submission import parse_submission
from autograder.scoring.task_metrics import DEFAULT_METRICS, TaskMetric, describe_metric
from facekit.base.contract import (
    CLASSIFICATION,
    KAGGLE_SOLUTION_COLUMNS,
    SAMPLE_SUBMISSION_FILES,
    SUBMISSION_COLUMNS,
    TASKS,
    VERIFICATION,
)
from facekit.base.csv_files import csv_text
from facekit.base.errors import InvalidSubmission, KeysError
from facekit.base.keys import Keys, load_keys

KAGGLE_METRICS = {"accuracy": "Categorization Accuracy", "roc_auc": "AUC"}
"""Kaggle's built-in metric for each metric that has one."""


def solution_csv(keys: Keys) -> str:
    """Kaggle's solution file: id, expected label (1/0 for verification) and Usage."""
    labels = keys.labels.astype(int) if keys.task == VERIFICATION else keys.labels
    usages = ["Public" if public else "Private" for public in keys.public]
    rows = list(zip(keys.ids, map(str, labels), usages, strict=True))
    return csv_text(KAGGLE_SOLUTION_COLUMNS[keys.task], rows)


def sample_submission_csv(keys: Keys, comp: Path | None) -> bytes:
    """The competition's own sample submission if it has one (checked against the keys),
    else a constant one generated from the keys (first identity name / score 0.5)."""
    sample = None if comp is None else Path(comp) / SAMPLE_SUBMISSION_FILES[keys.task]
    if sample is not None and sample.is_file():
        try:
            parse_submission(keys, sample)
        except InvalidSubmission as error:
            raise KeysError(f"{sample} does not match the answer keys:\n{error}") from None
        return sample.read_bytes()
    constant = min(keys.label_set) if keys.task == CLASSIFICATION else "0.5"
    rows = [(row_id, constant) for row_id in keys.ids]
    return csv_text(SUBMISSION_COLUMNS[keys.task], rows).encode()


def evaluation_markdown(metric: TaskMetric) -> str:
    """The "Evaluation" section of the competition's description for `metric`, and the Kaggle
    metric to pick (or the note that Kaggle has none for a weighted sum)."""
    lines = [
        f"## Evaluation ({metric.task})",
        "",
        f"Submissions are scored with `{metric.name}` on the hidden test set (higher is better),",
        "where",
        "",
        *(f"- {line}" for line in describe_metric(metric)),
        "",
        "The public leaderboard shows the score on part of the test set; the final ranking",
        "uses the rest (the private part).",
        "",
    ]
    kaggle_metric = KAGGLE_METRICS.get(metric.name)
    if kaggle_metric:
        lines.append(f"<!-- staff: choose Kaggle's '{kaggle_metric}' metric, Usage column -->")
    else:
        lines.append(
            "<!-- staff: Kaggle has no built-in metric for this sum; score it with "
            "`facekit leaderboard` or a custom Kaggle metric -->"
        )
    return "\n".join(lines) + "\n"


def write_kaggle_bundle(
    keys_dir: Path,
    out_dir: Path,
    comp: Path | None = None,
    metrics: dict[str, TaskMetric] | None = None,
) -> list[Path]:
    """Write `<out_dir>/<task>/{solution.csv,sample_submission.csv,evaluation.md}` per task.

    `metrics` (from `load_task_metrics`; None: the defaults) decide the evaluation text.
    Returns the paths written. Raises KeysError if the keys (or a sample submission) are bad.
    """
    metrics = metrics or DEFAULT_METRICS
    written = []
    for task in TASKS:
        keys = load_keys(task, keys_dir)
        task_dir = Path(out_dir) / task
        task_dir.mkdir(parents=True, exist_ok=True)
        solution = task_dir / "solution.csv"
        solution.write_text(solution_csv(keys), encoding="utf-8", newline="")
        sample = task_dir / "sample_submission.csv"
        sample.write_bytes(sample_submission_csv(keys, comp))
        evaluation = task_dir / "evaluation.md"
        evaluation.write_text(evaluation_markdown(metrics[task]), encoding="utf-8")
        written += [solution, sample, evaluation]
    return written
