"""Load the hidden answer keys; any defect in them is a staff error (`KeysError`)."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from facekit.base.columnar import all_distinct, all_in, plain_columns
from facekit.base.contract import KEY_COLUMNS, KEY_FILES, TASKS, USAGES, VERIFICATION
from facekit.base.csv_reader import CsvRows, check_bytes, decode_text, read_bytes
from facekit.base.errors import KeysError, ProblemList
from facekit.base.id_match import SortedIds

NO_SIZE_LIMIT = 1 << 62
"""Staff files (keys, the competition's own CSVs) are read whatever their size."""


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

    @cached_property
    def sorted_ids(self) -> SortedIds | None:
        """The ids ready for `columnar.positions`' fast match, built on first use."""
        return SortedIds.of(self.id_array)


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
    data = read_bytes(path, problems, NO_SIZE_LIMIT)
    data = None if data is None else check_bytes(data, problems, [])
    columns = None if data is None else plain_columns(data, KEY_COLUMNS[task])
    if columns is None or not _plain_keys_valid(task, *columns):
        text = None if data is None else decode_text(data, problems)
        rows = key_rows(task, text, problems)
        if problems:
            raise KeysError(f"the answer keys are invalid (a staff error):\n{problems}")
        columns = [pa.array(column, pa.string()) for column in list(zip(*rows, strict=True))[1:]]
    ids, labels, usages = columns
    public = pc.equal(usages, USAGES[0]).to_numpy(zero_copy_only=False)
    if task == VERIFICATION:
        label_array = pc.equal(labels, "1").to_numpy(zero_copy_only=False)
    else:
        label_array = labels.to_numpy(zero_copy_only=False).astype(object)
    label_set = frozenset(pc.unique(labels).to_pylist())
    keys = Keys(task, path, ids, label_array, public, label_set)
    for problem in split_problems(task, keys.labels, keys.public):
        raise KeysError(f"{path}: {problem}")
    return keys


def _plain_keys_valid(task: str, ids: pa.Array, labels: pa.Array, usages: pa.Array) -> bool:
    """Whether plain key columns are valid, checked in bulk (the fast path of `load_keys`)."""
    if not len(ids) or not all_in(usages, pa.array(USAGES)):
        return False
    if task == VERIFICATION:
        labels_valid = all_in(labels, pa.array(["0", "1"]))
    else:
        labels_valid = pc.min(pc.utf8_length(labels)).as_py() > 0
    return labels_valid and pc.min(pc.utf8_length(ids)).as_py() > 0 and all_distinct(ids)


def key_rows(task: str, text: str | None, problems: ProblemList) -> list[tuple[int, str, str, str]]:
    """The rows of a key file's `text` as (physical line, id, label, usage), read row by row.

    Records every defect in `problems` (wrong header, empty or repeated id, usage, label, no
    rows); the scorer refuses keys with any, `facekit data check` lists them all. Rows with the
    wrong number of fields are left out, every other row is returned.
    """
    rows: list[tuple[int, str, str, str]] = []
    seen: set[str] = set()
    id_column, label_column, usage_column = KEY_COLUMNS[task]
    for line, (row_id, label, usage) in CsvRows(text or "", KEY_COLUMNS[task], problems):
        if not row_id:
            problems.add(line, id_column, "empty id")
        elif row_id in seen:
            problems.add(line, id_column, f"duplicate id {row_id!r}")
        if usage not in USAGES:
            problems.add(line, usage_column, f"expected one of {USAGES}, found {usage!r}")
        if task == VERIFICATION and label not in ("0", "1"):
            problems.add(line, label_column, f"expected 0 or 1, found {label!r}")
        elif not label:
            problems.add(line, label_column, "empty label")
        seen.add(row_id)
        rows.append((line, row_id, label, usage))
    if text is not None and not problems and not rows:
        problems.add(None, None, "no rows: the key must list every test id")
    return rows


def split_problems(task: str, labels: np.ndarray, public: np.ndarray) -> list[str]:
    """What keeps valid rows from scoring both leaderboard splits: a split without rows, or (for
    ROC AUC) a verification split holding one label only. `labels` (N,) as in `Keys`."""
    problems = []
    for usage, mask in zip(USAGES, (public, ~public), strict=True):
        if not mask.any():
            problems.append(f"no {usage} rows; both leaderboard splits are needed")
            continue
        same = labels[mask]
        if task == VERIFICATION and (same.all() or not same.any()):
            problems.append(f"the {usage} rows hold only one label; ROC AUC needs both 0 and 1")
    return problems
