"""Read a CSV safely for validation: size limit, encoding, header, precise line numbers.

Uses the `csv` module rather than pandas so every row keeps the physical line it started on, and
every file-level defect becomes a `SubmissionProblem` instead of an exception. Clean files take
the columnar fast path (`columnar.plain_columns`) first; this reader is the exact fallback.
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from facekit.base.contract import SUBMISSION_COLUMNS
from facekit.base.errors import ProblemList

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Largest submission accepted: a million verification rows take about 20 MB."""

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def read_bytes(source: bytes | Path, problems: ProblemList, max_bytes: int) -> bytes | None:
    """The raw bytes of `source`, or None (with a problem recorded) if unreadable or too large.

    A path's size is checked before reading so a huge file is never loaded into memory.
    """
    try:
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        if size > max_bytes:
            problems.add(None, None, f"file is {_size(size)}, over the limit of {_size(max_bytes)}")
            return None
        return source.read_bytes() if isinstance(source, Path) else source
    except OSError as error:
        problems.add(None, None, f"cannot read the file: {error.strerror or error}")
        return None


def check_bytes(data: bytes, problems: ProblemList, notes: list[str]) -> bytes | None:
    """`data` without a UTF-8 byte-order mark, or None (problem recorded) if it cannot be a CSV.

    Rejects an empty file, UTF-16 and NUL bytes; a UTF-8 byte-order mark (Excel writes one) is
    accepted with a note. Validity as UTF-8 is checked by whoever decodes it.
    """
    if not data or data.isspace():  # not `strip()`: that would copy a 50 MB file
        problems.add(None, None, "file is empty: expected a header row and one row per id")
        return None
    if data.startswith(_UTF16_BOMS):
        problems.add(None, None, "file is UTF-16 encoded: save it as UTF-8 (plain CSV)")
        return None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        problems.add(
            line, None, "file contains NUL bytes: expected a plain UTF-8 CSV, not UTF-16 or binary"
        )
        return None
    if data.startswith(_UTF8_BOM):
        notes.append("ignored a UTF-8 byte-order mark (BOM) at the start of the file")
        return data[len(_UTF8_BOM) :]
    return data


def decode_text(data: bytes, problems: ProblemList) -> str | None:
    """UTF-8 text of `data` (already through `check_bytes`), or None naming the bad byte's line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start]
        problems.add(line, None, f"not valid UTF-8 (byte 0x{byte:02x}): save the file as UTF-8")
        return None


def read_text(
    source: bytes | Path,
    problems: ProblemList,
    max_bytes: int = DEFAULT_MAX_BYTES,
    notes: list[str] | None = None,
) -> str | None:
    """`read_bytes`, `check_bytes`, `decode_text`: the file's text, or None with the problems."""
    data = read_bytes(source, problems, max_bytes)
    if data is not None:
        data = check_bytes(data, problems, [] if notes is None else notes)
    return None if data is None else decode_text(data, problems)


def _header_problem(expected: tuple[str, ...], found: list[str]) -> str:
    message = f"wrong header: expected '{','.join(expected)}', found '{','.join(found)}'"
    for task, columns in SUBMISSION_COLUMNS.items():
        if tuple(found) == columns:
            return f"{message} (a {task} submission?)"
    if len(found) == 1:
        for name, delimiter in (("semicolons", ";"), ("tabs", "\t")):
            if delimiter in found[0]:
                return f"{message} (separated by {name}? use commas)"
    known_names = {name for columns in SUBMISSION_COLUMNS.values() for name in columns}
    if len(found) == len(expected) and not known_names.intersection(found):
        return f"{message} (is the header row missing?)"
    return message


class CsvRows:
    """Iterate `(line, fields)` over the data rows of `text`, fields stripped of whitespace.

    `line` is the 1-based physical line the row starts on. Checks the header (a wrong one stops
    the reading: its rows cannot be interpreted), skips blank lines, reports rows with the wrong
    number of fields, and stops at the first quoting error since the rest cannot be trusted.
    `complete` tells afterwards whether every row was read. With `expected_header` None any
    header is accepted and kept in `header` (the caller checks it).
    """

    def __init__(
        self, text: str, expected_header: tuple[str, ...] | None, problems: ProblemList
    ) -> None:
        self.text = text
        self.expected_header = expected_header
        self.header: tuple[str, ...] = ()
        self.problems = problems
        self.complete = False

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        expected = self.expected_header
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        previous_line = 0
        header_seen = False
        while True:
            start_line = previous_line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                hint = " (a quoted field is never closed)" if "end of data" in str(error) else ""
                self.problems.add(start_line, None, f"malformed CSV: {error}{hint}")
                return
            previous_line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            fields = [field.strip() for field in row]
            if not header_seen:
                header_seen = True
                self.header = tuple(fields)
                if expected is None:
                    expected = self.header
                elif self.header != expected:
                    self.problems.add(start_line, None, _header_problem(expected, fields))
                    return
                continue
            if len(fields) != len(expected):
                self.problems.add(
                    start_line,
                    None,
                    f"expected {len(expected)} fields ({','.join(expected)}), found {len(fields)}",
                )
                continue
            yield start_line, fields
        self.complete = header_seen
