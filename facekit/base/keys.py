"""Load the hidden answer keys; any defect in them is a staff error (`KeysError`)."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from facekit.base.columnar import all_distinct, all_in, plain_columns
from facekit.base.contract import KEY_COLUMNS, KEY_FILES, TASKS, USAGES
from facekit.base.csv_reader import CsvRows, check_bytes, decode_text, read_bytes
from facekit.base.errors import KeysError, ProblemList

_NO_SIZE_LIMIT = 1 << 62


@dataclass(frozen=True, eq=False)
class Keys:
    """One task's answer key, in file order.

    `id_array` holds the N ids (a pyarrow string array: the fast path matches a submission's ids
    against it without a Python object per row); `labels` (N,) is an object array of identity
    names (classification) or a bool array, True for "same identity" (verification); `public`
    (N,) bool marks the rows of the public leaderboard.
    """

    task: str
    path: Path
    id_array: pa.Array
    labels: np.ndarray
    public: np.ndarray
    label_set: frozenset[str]

    def __len__(self) -> int:
        return len(self.id_array)

    @cached_property
    def ids(self) -> tuple[str, ...]:
        """The ids as Python strings, built on first use (the row-by-row checker, Kaggle)."""
        return tuple(self.id_array.to_pylist())

    @cached_property
    def index(self) -> dict[str, int]:
        """`{id: row}`, built on first use."""
        return dict(zip(self.ids, range(len(self)), strict=True))


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
    data = read_bytes(path, problems, _NO_SIZE_LIMIT)
    data = None if data is None else check_bytes(data, problems, [])
    columns = None if data is None else plain_columns(data, KEY_COLUMNS[task])
    if columns is None or not _plain_keys_valid(task, *columns):
        text = None if data is None else decode_text(data, problems)
        columns = [
            pa.array(column, pa.string()) for column in _checked_columns(task, text, problems)
        ]
    ids, labels, usages = columns
    public = pc.equal(usages, "Public").to_numpy(zero_copy_only=False)
    if task == "verification":
        label_array = pc.equal(labels, "1").to_numpy(zero_copy_only=False)
    else:
        label_array = labels.to_numpy(zero_copy_only=False).astype(object)
    label_set = frozenset(pc.unique(labels).to_pylist())
    keys = Keys(task, path, ids, label_array, public, label_set)
    _check_splits(keys)
    return keys


def _plain_keys_valid(task: str, ids: pa.Array, labels: pa.Array, usages: pa.Array) -> bool:
    """Whether plain key columns are valid, checked in bulk (the fast path of `load_keys`)."""
    if not len(ids) or not all_in(usages, pa.array(USAGES)):
        return False
    if task == "verification":
        labels_valid = all_in(labels, pa.array(["0", "1"]))
    else:
        labels_valid = pc.min(pc.utf8_length(labels)).as_py() > 0
    return labels_valid and pc.min(pc.utf8_length(ids)).as_py() > 0 and all_distinct(ids)


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
        same = keys.labels[mask]
        if keys.task == "verification" and (same.all() or not same.any()):
            raise KeysError(
                f"{keys.path}: the {usage} rows hold only one label; ROC AUC needs both 0 and 1"
            )
