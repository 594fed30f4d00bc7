"""Plain CSV files the kit writes and reads itself (the competition's public files, submissions,
grade exports).

Trusted files only: a CSV a person hands in goes through `csv_reader`, which checks sizes and
encodings and locates every problem by its physical line. Cells that came from people (names,
ids, reasons) are passed through `facekit.base.spreadsheet.inert_cell` by the caller, so a
spreadsheet opening the file never runs them as a formula (CSV injection).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """CSV text with `header` then `rows`, '\\n' line endings (stable bytes for checksums),
    quoting only where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write `csv_text(header, rows)` to `path` (its folder made if missing)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(csv_text(header, rows), encoding="utf-8", newline="")


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dicts of strings; blank lines are skipped, short rows
    padded with "" (so a missing field reads as empty, never as an absent key)."""
    with Path(path).open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        padding = [""] * len(header)
        return [dict(zip(header, row + padding, strict=False)) for row in reader if row]
