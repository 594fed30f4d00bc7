"""Writing CSV text: one writer for every CSV the scoring package produces.

Cells that came from people (names, ids, reasons) are passed through
`facekit.base.spreadsheet.inert_cell`, so a spreadsheet opening the file never runs them as a
formula (CSV injection).
"""

import csv
import io
from collections.abc import Iterable, Sequence


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """CSV text with `header` then `rows`, '\\n' line endings, quoting only where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
