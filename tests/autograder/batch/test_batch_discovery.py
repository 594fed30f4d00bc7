"""Are submissions found, named and written into the gradebook the way staff expect?"""

from pathlib import Path

import pandas as pd
import pytest

from autograder.batch import (
    GRADED,
    GRADER_ERROR,
    BatchError,
    NotebookSubmission,
    Outcome,
    find_submissions,
    grader_fingerprint,
    student_name,
    write_gradebook,
)
from autograder.sandbox import Limits
from facekit.base.contract import ARCFACE, BASIC_BLOCK


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


@pytest.mark.parametrize(
    ("path", "student"),
    [
        ("course/submitted/alice/hw2p2/hw2p2.ipynb", "alice"),
        ("/srv/submitted/bob_smith/hw2p2/anything.ipynb", "bob_smith"),
        ("downloads/carol.ipynb", "carol"),
        ("submitted/dave.ipynb", "dave"),  # too shallow for nbgrader's layout: the stem
    ],
)
def test_student_name_from_path(path, student):
    """Is the student taken from nbgrader's submitted/<student>/<assignment>/ or the stem?"""
    assert student_name(Path(path)) == student


def test_folders_are_searched_recursively_skipping_checkpoints(tmp_path):
    """Are notebooks under a folder found, sorted by student, without .ipynb_checkpoints?"""
    course = tmp_path / "course"
    touch(course / "submitted" / "bob" / "hw2p2" / "hw2p2.ipynb")
    touch(course / "submitted" / "alice" / "hw2p2" / "hw2p2.ipynb")
    touch(course / "submitted" / "alice" / "hw2p2" / ".ipynb_checkpoints" / "hw2p2.ipynb")
    loose = touch(tmp_path / "late" / "carol.ipynb")
    found = find_submissions([course, loose])
    assert [s.student for s in found] == ["alice", "bob", "carol"]
    assert found[2] == NotebookSubmission("carol", loose)


def missing_file(tmp_path: Path) -> list[Path]:
    return [tmp_path / "missing.ipynb"]


def empty_folder(tmp_path: Path) -> list[Path]:
    (tmp_path / "empty").mkdir()
    return [tmp_path / "empty"]


def same_stem_twice(tmp_path: Path) -> list[Path]:
    return [touch(tmp_path / "a" / "x.ipynb"), touch(tmp_path / "b" / "x.ipynb")]


@pytest.mark.parametrize(
    ("make_paths", "message"),
    [
        (missing_file, "missing.ipynb: no such notebook file or folder"),
        (empty_folder, "empty: no .ipynb notebooks in this folder"),
        (same_stem_twice, "two notebooks for student 'x'"),
    ],
)
def test_bad_batch_input_is_a_clear_error(tmp_path, make_paths, message):
    """Is a missing path, an empty folder or a duplicate student a BatchError naming it?"""
    with pytest.raises(BatchError, match=message):
        find_submissions(make_paths(tmp_path))


def test_fingerprint_changes_with_the_limits():
    """Does a change of limits (which can change grades) invalidate cached results?"""
    assert grader_fingerprint(Limits()) == grader_fingerprint(Limits())
    assert grader_fingerprint(Limits()) != grader_fingerprint(Limits(wall_seconds=5.0))


def test_gradebook_columns_and_grader_errors_left_blank(tmp_path):
    """Is the gradebook student, components, total, with a grader fault blank (not a zero) and
    its reason in batch_log.csv?"""
    outcomes = [
        Outcome("bob", "b.ipynb", GRADED, {BASIC_BLOCK: 4.0, ARCFACE: 0.0}, 4.0, 10.0),
        Outcome("amy", "a.ipynb", GRADER_ERROR, reason="grader fault: RubricError('x')"),
    ]
    write_gradebook(outcomes, tmp_path)
    gradebook = pd.read_csv(tmp_path / "gradebook.csv")
    assert list(gradebook.columns)[0] == "student" and list(gradebook.columns)[-1] == "total"
    assert {BASIC_BLOCK, ARCFACE} <= set(gradebook.columns)
    bob = gradebook.set_index("student").loc["bob"]
    assert bob[BASIC_BLOCK] == 4.0 and bob["total"] == 4.0
    assert gradebook.set_index("student").loc["amy"].isna().all()
    log = pd.read_csv(tmp_path / "batch_log.csv").set_index("student")
    assert log.loc["amy", "status"] == GRADER_ERROR and "RubricError" in log.loc["amy", "reason"]
    assert log.loc["bob", "status"] == GRADED
