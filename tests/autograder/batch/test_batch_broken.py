"""Does a broken notebook cost its student only what is broken, never the batch or a grader
error? And does a re-run skip what is unchanged? (Uses the corpus graded in conftest.)"""

import json
import shutil

import pandas as pd
import pytest

from autograder.batch import (
    GRADED,
    GRADER_ERROR,
    UNREADABLE,
    find_submissions,
    grade_batch,
    grader_fingerprint,
)
from facekit.base.contract import ARCFACE, NETWORK


@pytest.mark.slow
@pytest.mark.parametrize(
    ("student", "status", "lost", "mentioned"),
    [
        ("broken_invalid_json", UNREADABLE, "all", "not valid JSON"),
        ("broken_empty_file", UNREADABLE, "all", "broken_empty_file.ipynb"),
        ("broken_missing_package", GRADED, "all", "not_a_real_package_xyz"),
        ("broken_syntax_error", GRADED, ARCFACE, "syntax error"),
        ("broken_missing_cell", GRADED, NETWORK, NETWORK),
    ],
)
def test_broken_notebook_is_graded_with_the_reason(graded_corpus, student, status, lost, mentioned):
    """Is the broken notebook a zero (unreadable) or a graded result that loses what is broken,
    saying why?"""
    gradebook, log = graded_corpus.gradebook, graded_corpus.log
    assert log.loc[student, "status"] == status, log.loc[student, "reason"]
    row = gradebook.loc[student]
    if lost == "all":
        assert row["total"] == 0, row
    else:
        assert row[lost] == 0 and 0 < row["total"] < log.loc[student, "max_total"], row
    report = (graded_corpus.out / student / "report.md").read_text()
    results = json.loads((graded_corpus.out / student / "results.json").read_text())
    assert mentioned in report, report[:2000]
    assert results["score"] == row["total"]


@pytest.mark.slow
def test_gradebook_has_exactly_student_components_total(graded_corpus):
    """Is gradebook.csv exactly: student, the rubric's components in order, total?"""
    from autograder.judge.rubric import load_rubric

    columns = pd.read_csv(graded_corpus.out / "gradebook.csv").columns.tolist()
    components = [component.id for component in load_rubric().components]
    assert columns == ["student", *components, "total"]
    assert len(graded_corpus.gradebook) == len(list(graded_corpus.submissions.iterdir()))


@pytest.mark.slow
def test_rerun_grades_only_changed_notebooks(graded_corpus, tmp_path):
    """Does grading the same folder again take unchanged notebooks from the cache, and re-grade
    one whose bytes changed? (On a copy: the corpus is shared.)"""
    if grader_fingerprint(graded_corpus.limits) != graded_corpus.fingerprint:
        pytest.skip("the grader's files were edited while this test ran: everything re-grades")
    out = shutil.copytree(graded_corpus.out, tmp_path / "out")
    submissions = shutil.copytree(graded_corpus.submissions, tmp_path / "submissions")
    (submissions / "broken_empty_file.ipynb").write_text("not json either")
    outcomes = grade_batch(
        find_submissions([submissions]), out, jobs=1, limits=graded_corpus.limits, progress=False
    )
    regraded = {o.student for o in outcomes if not o.cached}
    assert regraded == {"broken_empty_file"}
    assert {o.status for o in outcomes} <= {GRADED, UNREADABLE}
    after = pd.read_csv(out / "gradebook.csv").set_index("student")
    pd.testing.assert_frame_equal(after, graded_corpus.gradebook)


def test_grader_fault_is_reported_apart_and_not_cached(
    tmp_path, monkeypatch, judge_available, handout_text
):
    """Does an exception inside the judge give status grader_error with the cause, a blank
    gradebook row, and a fresh attempt next time (never a cached zero)? (Self-test off: it would
    stop the batch before anyone, see test_batch_self_test.py.)"""
    import autograder.judge

    def broken_judge(notebook_path, *, limits=None, seed=None, zygote=None):
        raise ZeroDivisionError("the rubric divided by zero")

    monkeypatch.setattr(autograder.judge, "grade_notebook", broken_judge)
    notebook = tmp_path / "in" / "alice.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(handout_text)
    for _ in range(2):
        found = find_submissions([notebook])
        (outcome,) = grade_batch(found, tmp_path / "out", progress=False, self_test=False)
        assert outcome.status == GRADER_ERROR and not outcome.cached
        assert "ZeroDivisionError" in outcome.reason and "divided by zero" in outcome.reason
    gradebook = pd.read_csv(tmp_path / "out" / "gradebook.csv")
    assert gradebook.drop(columns="student").isna().all().all()


def test_cache_skips_unchanged_notebooks(tmp_path, judge_available):
    """Is an unchanged notebook taken from the cache and a changed one graded again? (Unreadable
    notebooks: judged without a sandbox, so this stays fast; the self-test has its own tests.)"""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "amy.ipynb").write_text("{")
    (folder / "bo.ipynb").write_text("[")

    def run() -> dict[str, bool]:
        found = find_submissions([folder])
        outcomes = grade_batch(found, tmp_path / "out", progress=False, self_test=False)
        assert {o.status for o in outcomes} == {UNREADABLE}
        return {o.student: o.cached for o in outcomes}

    assert run() == {"amy": False, "bo": False}
    assert run() == {"amy": True, "bo": True}
    (folder / "bo.ipynb").write_text("{}")
    assert run() == {"amy": True, "bo": False}
    (tmp_path / "out" / "amy" / "results.json").unlink()  # a lost report is graded again
    assert run() == {"amy": False, "bo": True}
