"""Writing CSV text: one writer for every CSV the scoring package produces.

Cells that came from people (names, ids, reasons) are passed through `safe_cell` so a
spreadsheet opening the file never runs them as a formula (CSV injection).
"""

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula."""


def safe_cell(text: str) -> str:
    """`text`, prefixed with an apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """CSV text with `header` then `rows`, '\\n' line endings, quoting only where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
