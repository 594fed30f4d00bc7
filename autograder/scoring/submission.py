"""Validate a submission CSV against the answer keys and align its values to the keys' rows."""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from facekit.base.columnar import all_in, plain_columns, positions
from facekit.base.contract import SUBMISSION_COLUMNS, VERIFICATION
from facekit.base.csv_reader import (
    DEFAULT_MAX_BYTES,
    CsvRows,
    check_bytes,
    decode_text,
    read_bytes,
)
from facekit.base.errors import InvalidSubmission, ProblemList
from facekit.base.keys import Keys

_EXAMPLES_SHOWN = 5


@dataclass(frozen=True, eq=False)
class ParsedSubmission:
    """A valid submission: `values` (N,) in the keys' row order.

    Classification: object array of identity names; verification: float64 scores.
    `notes` are harmless oddities that were accepted (e.g. a UTF-8 byte-order mark).
    """

    task: str
    values: np.ndarray
    notes: tuple[str, ...] = ()


def _parse_score(text: str) -> tuple[float | None, str | None]:
    """The finite float in `text`, or None and the reason it is not one."""
    if not text:
        return None, "empty score"
    try:
        value = float(text)
    except ValueError:
        return None, f"not a number: {text!r}"
    if not math.isfinite(value):
        return None, f"score must be a finite number, found {text!r}"
    return value, None


def _quote_examples(ids: list[str]) -> str:
    shown = ", ".join(repr(row_id) for row_id in ids[:_EXAMPLES_SHOWN])
    return shown + (", ..." if len(ids) > _EXAMPLES_SHOWN else "")


def parse_submission(
    keys: Keys,
    source: bytes | Path,
    *,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedSubmission:
    """Check `source` against `keys` and return its values in key order.

    Raises InvalidSubmission listing every problem found (file, line, column, what is wrong):
    size, encoding, header, field counts, empty/unknown/duplicate/missing ids, and values
    (labels outside the key's label set; empty, non-numeric, NaN or infinite scores).
    """
    if filename is None:
        filename = source.name if isinstance(source, Path) else "submission.csv"
    problems = ProblemList(filename)
    notes: list[str] = []
    data = read_bytes(source, problems, max_bytes)
    data = None if data is None else check_bytes(data, problems, notes)
    if data is None:
        raise InvalidSubmission(problems.problems, problems.omitted)
    values = _plain_values(keys, data)
    if values is None:
        text = decode_text(data, problems)
        if text is None:
            raise InvalidSubmission(problems.problems, problems.omitted)
        values = _checked_values(keys, text, problems)
    return ParsedSubmission(keys.task, values, tuple(notes))


def _plain_values(keys: Keys, data: bytes) -> np.ndarray | None:
    """Values in key order when the file is plain and every id and value is valid, else None.

    Checked on whole columns (see `columnar`); None sends the file to `_checked_values`.
    """
    is_verification = keys.task == VERIFICATION
    header = SUBMISSION_COLUMNS[keys.task]
    types = {header[1]: pa.float64()} if is_verification else None
    columns = plain_columns(data, header, types)
    if columns is None:
        return None
    ids, raw_values = columns
    order = positions(ids, keys.id_array, keys.sorted_ids)
    if order is None:
        return None
    if is_verification:
        parsed = raw_values.to_numpy()
        if not np.isfinite(parsed).all():
            return None
        values = np.empty(len(keys), dtype=np.float64)
    else:
        if not all_in(raw_values, pa.array(sorted(keys.label_set))):
            return None
        parsed = raw_values.to_numpy(zero_copy_only=False).astype(object)
        values = np.empty(len(keys), dtype=object)
    values[order] = parsed
    return values


def _checked_values(keys: Keys, text: str, problems: ProblemList) -> np.ndarray:
    """Values in key order, row by row; raises InvalidSubmission listing every problem."""
    header = SUBMISSION_COLUMNS[keys.task]
    id_column, value_column = header
    is_verification = keys.task == VERIFICATION
    values = np.zeros(len(keys)) if is_verification else np.empty(len(keys), dtype=object)
    first_line = [0] * len(keys)  # 0 = not seen yet
    rows = CsvRows(text, header, problems)
    for line, (row_id, value) in rows:
        row = keys.index.get(row_id)
        if not row_id:
            problems.add(line, id_column, "empty id")
        elif row is None:
            problems.add(line, id_column, f"unknown id {row_id!r}: not in the test set")
        elif first_line[row]:
            problems.add(
                line, id_column, f"duplicate id {row_id!r} (first on line {first_line[row]})"
            )
            row = None
        else:
            first_line[row] = line
        if is_verification:
            score, reason = _parse_score(value)
            if reason:
                problems.add(line, value_column, reason)
            elif row is not None:
                values[row] = score
        elif not value:
            problems.add(line, value_column, "empty label")
        elif value not in keys.label_set:
            problems.add(line, value_column, f"label {value!r} is not a known identity")
        elif row is not None:
            values[row] = value

    missing = np.flatnonzero(np.array(first_line) == 0)
    if rows.complete and missing.size:
        missing_ids = [keys.ids[row] for row in missing[: _EXAMPLES_SHOWN + 1]]
        problems.add(
            None,
            id_column,
            f"{missing.size} of {len(keys)} ids missing: {_quote_examples(missing_ids)}",
        )
    if problems:
        raise InvalidSubmission(problems.problems, problems.omitted)
    return values
