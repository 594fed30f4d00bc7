"""The class misconception report: per component, scores, hint counts, the most failed case."""

import csv

from autograder.judge.class_report import CSV_NAME, HTML_NAME, write_class_report
from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from facekit.base.contract import TRIPLET_LOSS


def _student(out, name: str, hints: tuple[str, ...], points: float) -> None:
    first = (
        CaseResult("random", 0.0, 3.0, "", ("output: differs",), hints)
        if hints
        else CaseResult("random", 3.0, 3.0, "")
    )
    component = ComponentResult(
        TRIPLET_LOSS, "TripletLoss", (first, CaseResult("float64", points, 3.0, ""))
    )
    StudentReport(f"{name}.ipynb", (component,), seed=1).write(out / name)


def test_class_report_counts_hints_scores_and_failing_cases(tmp_path):
    """Do three graded students give the right counts in the CSV, with the hint's words, and an
    HTML page with a FAQ draft?"""
    _student(tmp_path, "amy", ("triplet_loss.unsquared",), 3.0)
    _student(tmp_path, "bob", ("triplet_loss.unsquared", "triplet_loss.sum"), 3.0)
    _student(tmp_path, "cy", (), 3.0)
    write_class_report(tmp_path, ["amy", "bob", "cy", "not_graded"])
    with open(tmp_path / CSV_NAME, newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_key = {(row["kind"], row["key"]): row for row in rows}
    assert by_key[("hint", "triplet_loss.unsquared")]["students"] == "2"
    assert "unsquared" in by_key[("hint", "triplet_loss.unsquared")]["text"]
    assert by_key[("hint", "triplet_loss.sum")]["students"] == "1"
    assert by_key[("most_failed_case", "random")]["students"] == "2"
    assert (
        by_key[("score", "3/6")]["students"] == "2" and by_key[("score", "6/6")]["students"] == "1"
    )
    page = (tmp_path / HTML_NAME).read_text()
    assert "FAQ draft" in page and "2 of 3 students" in page


def test_class_report_neutralises_formulas_and_escapes_html(tmp_path, monkeypatch):
    """Is a text starting with '=' written as text in the CSV, and '<' escaped in the page?"""
    from autograder.judge import class_report

    monkeypatch.setitem(class_report.HINTS, "triplet_loss.sum", '=HYPERLINK("x")<b>')
    _student(tmp_path, "amy", ("triplet_loss.sum",), 3.0)
    write_class_report(tmp_path, ["amy"])
    assert "'=HYPERLINK" in (tmp_path / CSV_NAME).read_text()
    page = (tmp_path / HTML_NAME).read_text()
    assert "<b>" not in page and "&lt;b&gt;" in page
