"""Does grading one student or a subset into an existing output folder merge into gradebook.csv
and batch_log.csv (never dropping the others), and does `facekit grade` exit as the contract
says with a one-line summary?"""

import shutil

import pandas as pd
import pytest

from autograder.batch import (
    BATCH_LOG_NAME,
    GRADEBOOK_NAME,
    UNREADABLE,
    find_submissions,
    grade_batch,
)
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.main import main


def write(path, text="{"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def students(out) -> list[str]:
    return pd.read_csv(out / GRADEBOOK_NAME)["student"].tolist()


def test_subset_merges_into_the_existing_gradebook(tmp_path):
    """Does a later batch of one student keep the other rows, and replace only that student's?"""
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    for name in ("alice", "bob"):
        write(submitted / name / "hw2p2" / "hw2p2.ipynb")
    grade_batch(find_submissions([submitted]), out, progress=False, self_test=False)
    carol = write(submitted / "carol" / "hw2p2" / "hw2p2.ipynb", "[]")
    grade_batch(find_submissions([carol]), out, progress=False, self_test=False)
    assert students(out) == ["alice", "bob", "carol"]
    write(submitted / "bob" / "hw2p2" / "hw2p2.ipynb", '{"cells": 3}')
    (outcome,) = grade_batch(
        find_submissions([submitted / "bob"]), out, progress=False, self_test=False
    )
    assert not outcome.cached and "not a notebook" in outcome.reason
    log = pd.read_csv(out / BATCH_LOG_NAME).set_index("student")
    assert list(log.index) == ["alice", "bob", "carol"]
    assert "not a notebook" in log.loc["bob", "reason"]
    assert "not valid JSON" in log.loc["alice", "reason"]
    assert set(log["status"]) == {UNREADABLE}


def test_force_regrades_without_dropping_others(tmp_path):
    """Does --force on a subset re-grade it and still keep the rest of the class?"""
    out = tmp_path / "out"
    alice, bob = write(tmp_path / "alice.ipynb"), write(tmp_path / "bob.ipynb")
    grade_batch(find_submissions([alice, bob]), out, progress=False, self_test=False)
    (outcome,) = grade_batch(
        find_submissions([bob]), out, progress=False, self_test=False, use_cache=False
    )
    assert not outcome.cached
    assert students(out) == ["alice", "bob"]


@pytest.mark.slow
def test_exit_codes_and_one_line_summaries(tmp_path, capsys, judge_available):
    """Is an unreadable notebook exit 1 with its summary line, a clean re-run from the cache
    exit 0 naming how many were reused and --force, and a forced re-run graded afresh?"""
    out = tmp_path / "out"
    shutil.copy(SOLUTION_NOTEBOOK, tmp_path / "good.ipynb")
    bad = write(tmp_path / "bad.ipynb", "not json")
    assert main(["grade", str(tmp_path / "good.ipynb"), str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "2 notebook(s): 1 graded, 1 unreadable, 0 grader error(s)" in err
    assert "1 notebook(s) could not be read" in err and "'bad'" in err
    bad.unlink()
    assert main(["grade", str(tmp_path / "good.ipynb"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 unchanged, taken from" in err and "--force" in err
    assert main(["grade", str(tmp_path / "good.ipynb"), "--out", str(out), "--force"]) == 0
    assert "unchanged" not in capsys.readouterr().err
    gradebook = pd.read_csv(out / GRADEBOOK_NAME).set_index("student")
    assert gradebook.loc["good", "total"] == 100 and gradebook.loc["bad", "total"] == 0
