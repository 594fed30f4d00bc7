"""Load the hidden answer keys; any defect in them is a staff error (`KeysError`)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.scoring.csv_reader import CsvRows, plain_columns, read_text
from autograder.scoring.errors import KeysError, ProblemList
from autograder.scoring.formats import KEY_COLUMNS, KEY_FILES, TASKS, USAGES

_NO_SIZE_LIMIT = 1 << 62


@dataclass(frozen=True, eq=False)
class Keys:
    """One task's answer key, in file order.

    `labels` is an object array of identity names (classification) or a bool array, True for
    "same identity" (verification); `public` marks the rows of the public leaderboard.
    """

    task: str
    path: Path
    ids: tuple[str, ...]
    index: dict[str, int]
    labels: np.ndarray
    public: np.ndarray
    label_set: frozenset[str]

    def __len__(self) -> int:
        return len(self.ids)


def check_task(task: str) -> str:
    """Return `task` if it is one of TASKS, else raise ValueError naming the choices."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    return task


def load_keys(task: str, keys_dir: Path) -> Keys:
    """Read `<keys_dir>/cls_test.csv` or `ver_test.csv` and check it can score a submission."""
    check_task(task)
    path = Path(keys_dir) / KEY_FILES[task]
    problems = ProblemList(str(path))
    text = read_text(path, problems, _NO_SIZE_LIMIT)
    columns = None if text is None else plain_columns(text, KEY_COLUMNS[task])
    if columns is None or not _plain_keys_valid(task, *columns):
        columns = _checked_columns(task, text, problems)
    ids, labels, usages = columns
    index = dict(zip(ids, range(len(ids)), strict=True))
    if len(index) != len(ids):  # duplicate ids in a plain file: the checker names them and raises
        _checked_columns(task, text, problems)
    public = np.array(usages) == "Public"
    label_array = (
        np.array(labels) == "1" if task == "verification" else np.array(labels, dtype=object)
    )
    keys = Keys(task, path, tuple(ids), index, label_array, public, frozenset(labels))
    _check_splits(keys)
    return keys


def _plain_keys_valid(task: str, ids: list[str], labels: list[str], usages: list[str]) -> bool:
    """Whether plain key columns are valid, checked in bulk (the fast path of `load_keys`).

    Duplicate ids are checked by the caller when it builds the id index.
    """
    label_set = set(labels)
    allowed_labels = label_set <= {"0", "1"} if task == "verification" else "" not in label_set
    return bool(ids) and allowed_labels and set(usages) <= set(USAGES) and "" not in ids


def _checked_columns(
    task: str, text: str | None, problems: ProblemList
) -> tuple[list[str], list[str], list[str]]:
    """Key columns read row by row; raises KeysError listing every problem."""
    ids: list[str] = []
    labels: list[str] = []
    usages: list[str] = []
    seen: set[str] = set()
    id_column, label_column, usage_column = KEY_COLUMNS[task]
    for line, (row_id, label, usage) in CsvRows(text or "", KEY_COLUMNS[task], problems):
        if not row_id:
            problems.add(line, id_column, "empty id")
        elif row_id in seen:
            problems.add(line, id_column, f"duplicate id {row_id!r}")
        if usage not in USAGES:
            problems.add(line, usage_column, f"expected one of {USAGES}, found {usage!r}")
        if task == "verification" and label not in ("0", "1"):
            problems.add(line, label_column, f"expected 0 or 1, found {label!r}")
        elif not label:
            problems.add(line, label_column, "empty label")
        seen.add(row_id)
        ids.append(row_id)
        labels.append(label)
        usages.append(usage)
    if text is not None and not problems and not ids:
        problems.add(None, None, "no rows: the key must list every test id")
    if problems:
        raise KeysError(f"the answer keys are invalid (a staff error):\n{problems}")
    return ids, labels, usages


def _check_splits(keys: Keys) -> None:
    """Each split must be non-empty and, for ROC AUC, hold both same and different pairs."""
    for usage, mask in (("Public", keys.public), ("Private", ~keys.public)):
        if not mask.any():
            raise KeysError(f"{keys.path}: no {usage} rows; both leaderboard splits are needed")
        if keys.task == "verification" and len(np.unique(keys.labels[mask])) < 2:
            raise KeysError(
                f"{keys.path}: the {usage} rows hold only one label; ROC AUC needs both 0 and 1"
            )
