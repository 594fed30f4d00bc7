"""Plain CSV files the kit writes and reads itself (the competition's public files, submissions).

Trusted files only: a CSV a person hands in goes through `csv_reader`, which checks sizes and
encodings and locates every problem by its physical line.
"""

import csv
from collections.abc import Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Write `rows` under `header` with Unix line endings (stable bytes for checksums)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file as strings; blank lines are skipped, short rows padded
    with "" (so a missing field reads as empty, never as an absent key)."""
    with Path(path).open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        padding = [""] * len(header)
        rows = [dict(zip(header, row + padding, strict=False)) for row in reader if row]
    return header, rows


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dicts of strings (`read_csv` without the header)."""
    return read_csv(path)[1]
