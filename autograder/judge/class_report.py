"""The class misconception report: what a whole batch got wrong, per component, for staff.

From the `results.json` the judge wrote per student (`<out>/<student>/results.json`), it counts
per component the score distribution, how many students each hint id (recognised bug or kind
of finding) was given to, and the case that failed most often, and drafts a short FAQ from the
most common hints. Writes `class_report.csv` (formula prefixes neutralised) and
`class_report.html` (every text escaped).
"""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.judge.hints import HINTS
from facekit.base.files import replacing
from facekit.base.spreadsheet import inert_cell

CSV_NAME = "class_report.csv"
HTML_NAME = "class_report.html"
FAQ_ENTRIES = 3


@dataclass
class ComponentSummary:
    """What the batch did on one component."""

    id: str
    name: str
    max_score: float = 0.0
    scores: Counter = field(default_factory=Counter)  # score -> students
    hints: Counter = field(default_factory=Counter)  # hint id -> students
    failed_cases: Counter = field(default_factory=Counter)  # case -> students

    @property
    def students(self) -> int:
        return sum(self.scores.values())


def summarise(results_files: list[Path]) -> list[ComponentSummary]:
    """Per-component summaries of the given results.json files, in rubric (first-seen) order.
    A file that cannot be read as the judge's results is skipped."""
    summaries: dict[str, ComponentSummary] = {}
    for path in results_files:
        try:
            tests = json.loads(Path(path).read_text(encoding="utf-8"))["tests"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for test in tests:
            extra = test.get("extra_data") or {}
            component = extra.get("component")
            if not isinstance(component, str):
                continue
            summary = summaries.setdefault(component, ComponentSummary(component, test["name"]))
            summary.max_score = float(test.get("max_score", 0.0))
            summary.scores[float(test.get("score", 0.0))] += 1
            summary.hints.update(set(extra.get("hints", [])))
            summary.failed_cases.update(set(extra.get("failed_cases", [])))
    return list(summaries.values())


def _faq(summary: ComponentSummary) -> list[tuple[str, str]]:
    """(question, answer) drafts from the most common hints of a component."""
    return [
        (
            f"{summary.name}: {count} of {summary.students} students got this hint ({hint}).",
            HINTS.get(hint, hint),
        )
        for hint, count in summary.hints.most_common(FAQ_ENTRIES)
    ]


def _rows(summaries: list[ComponentSummary]):
    yield ("component", "kind", "key", "students", "text")
    for summary in summaries:
        for score, count in sorted(summary.scores.items()):
            yield (summary.id, "score", f"{score:g}/{summary.max_score:g}", count, "")
        for hint, count in summary.hints.most_common():
            yield (summary.id, "hint", hint, count, HINTS.get(hint, ""))
        for case, count in summary.failed_cases.most_common(1):
            yield (summary.id, "most_failed_case", case, count, "")
        for question, answer in _faq(summary):
            yield (summary.id, "faq", question, "", answer)


def _html(summaries: list[ComponentSummary]) -> str:
    def e(value: object) -> str:
        return html.escape(str(value), quote=True)

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Class misconception report"
        "</title></head><body><h1>Class misconception report</h1>"
    ]
    for summary in summaries:
        parts.append(f"<h2>{e(summary.name)}</h2><p>{summary.students} students</p>")
        parts.append("<table><tr><th>points</th><th>students</th></tr>")
        parts += [
            f"<tr><td>{e(f'{score:g}')} / {e(f'{summary.max_score:g}')}</td><td>{count}</td></tr>"
            for score, count in sorted(summary.scores.items())
        ]
        parts.append("</table><table><tr><th>hint</th><th>students</th><th>text</th></tr>")
        parts += [
            f"<tr><td><code>{e(hint)}</code></td><td>{count}</td><td>{e(HINTS.get(hint, ''))}"
            "</td></tr>"
            for hint, count in summary.hints.most_common()
        ]
        parts.append("</table>")
        for case, count in summary.failed_cases.most_common(1):
            parts.append(f"<p>Most failed case: <code>{e(case)}</code> ({count} students)</p>")
        faq = _faq(summary)
        if faq:
            parts.append("<h3>FAQ draft</h3><dl>")
            parts += [f"<dt>{e(q)}</dt><dd>{e(a)}</dd>" for q, a in faq]
            parts.append("</dl>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_class_report(out_dir: Path, students: list[str]) -> None:
    """Write class_report.csv and class_report.html into `out_dir` from the students' reports
    (`out_dir/<student>/results.json`)."""
    out_dir = Path(out_dir)
    summaries = summarise([out_dir / student / "results.json" for student in students])
    with replacing(out_dir / CSV_NAME) as partial, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        for row in _rows(summaries):
            writer.writerow([inert_cell(value) for value in row])
    with replacing(out_dir / HTML_NAME) as partial:
        Path(partial).write_text(_html(summaries), encoding="utf-8")
