"""Files for a Kaggle community competition: `solution.csv` and `sample_submission.csv` per task."""

import csv
import io
from pathlib import Path

from autograder.scoring.errors import InvalidSubmission, KeysError
from autograder.scoring.formats import (
    KAGGLE_SOLUTION_COLUMNS,
    SAMPLE_SUBMISSION_FILES,
    SUBMISSION_COLUMNS,
    TASKS,
)
from autograder.scoring.keys import Keys, load_keys
from autograder.scoring.submission import parse_submission


def _csv_text(header: tuple[str, ...], rows: list[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def solution_csv(keys: Keys) -> str:
    """Kaggle's solution file: id, expected label (1/0 for verification) and Usage."""
    labels = keys.labels.astype(int) if keys.task == "verification" else keys.labels
    usages = ["Public" if public else "Private" for public in keys.public]
    rows = list(zip(keys.ids, map(str, labels), usages, strict=True))
    return _csv_text(KAGGLE_SOLUTION_COLUMNS[keys.task], rows)


def sample_submission_csv(keys: Keys, comp_dir: Path | None) -> bytes:
    """The competition's own sample submission if it has one (checked against the keys),
    else a constant one generated from the keys (first identity name / score 0.5)."""
    sample = None if comp_dir is None else Path(comp_dir) / SAMPLE_SUBMISSION_FILES[keys.task]
    if sample is not None and sample.is_file():
        try:
            parse_submission(keys, sample)
        except InvalidSubmission as error:
            raise KeysError(f"{sample} does not match the answer keys:\n{error}") from None
        return sample.read_bytes()
    constant = min(keys.label_set) if keys.task == "classification" else "0.5"
    rows = [(row_id, constant) for row_id in keys.ids]
    return _csv_text(SUBMISSION_COLUMNS[keys.task], rows).encode()


def write_kaggle_bundle(keys_dir: Path, out_dir: Path, comp_dir: Path | None = None) -> list[Path]:
    """Write `<out_dir>/<task>/{solution.csv,sample_submission.csv}` for both tasks.

    Returns the paths written. Raises KeysError if the keys (or a sample submission) are bad.
    """
    written = []
    for task in TASKS:
        keys = load_keys(task, keys_dir)
        task_dir = Path(out_dir) / task
        task_dir.mkdir(parents=True, exist_ok=True)
        solution = task_dir / "solution.csv"
        solution.write_text(solution_csv(keys), encoding="utf-8", newline="")
        sample = task_dir / "sample_submission.csv"
        sample.write_bytes(sample_submission_csv(keys, comp_dir))
        written += [solution, sample]
    return written
