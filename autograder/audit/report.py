"""The audit's table for staff: audit.csv and audit.html, every student string escaped."""

from __future__ import annotations

import csv
import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from autograder.audit.verdict import LABELS, REPRODUCES, Verdict
from facekit.base.files import replacing
from facekit.base.spreadsheet import inert_cell

AUDIT_CSV = "audit.csv"
AUDIT_HTML = "audit.html"
CSV_HEADER = ("student", "label", "flags", "parameters", "max_parameters", "reasons")
_COLOURS = {REPRODUCES: "#d8f0d8"}


def write_audit_csv(verdicts: Sequence[Verdict], path: Path) -> None:
    """One row per student: label, every flag, the parameter count and the reasons."""
    with replacing(path) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for v in verdicts:
            writer.writerow(
                (
                    inert_cell(v.student),
                    v.label,
                    "; ".join(v.flags),
                    "" if v.parameters is None else v.parameters,
                    "" if v.max_parameters is None else v.max_parameters,
                    inert_cell(" | ".join(v.reasons)),
                )
            )


def audit_page(verdicts: Sequence[Verdict], notes: Sequence[str]) -> str:
    """The table as an HTML page, with a count per label."""
    counts = Counter(v.label for v in verdicts)
    summary = ", ".join(f"{counts[label]} {label}" for label in LABELS if counts[label])
    rows = "".join(
        f"<tr style='background:{_COLOURS.get(v.label, '#fbe3d6')}'>"
        f"<td>{html.escape(v.student)}</td><td>{html.escape(v.label)}</td>"
        f"<td>{'' if v.parameters is None else f'{v.parameters:,}'}</td>"
        f"<td>{'<br>'.join(html.escape(r) for r in v.reasons)}</td></tr>"
        for v in verdicts
    )
    listed = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Model audit</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}</style></head>"
        f"<body><h1>Model audit</h1><p>{html.escape(summary)}</p><ul>{listed}</ul>"
        "<table><tr><th>student</th><th>label</th><th>parameters</th><th>why</th></tr>"
        f"{rows}</table></body></html>\n"
    )


def write_audit_report(out: Path, verdicts: Sequence[Verdict], notes: Sequence[str]) -> None:
    write_audit_csv(verdicts, out / AUDIT_CSV)
    (out / AUDIT_HTML).write_text(audit_page(verdicts, notes), encoding="utf-8")
