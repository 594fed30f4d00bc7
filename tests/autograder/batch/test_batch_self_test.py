"""Does the grader test itself on the reference before judging anyone, and keep its own faults
(a worker that cannot start) apart from students' zeros, never cached? (Issue 14 item 2.)"""

import shutil
import sys

import pandas as pd
import pytest

import autograder.batch
from autograder.batch import (
    GRADEBOOK_NAME,
    GRADED,
    GRADER_ERROR,
    GraderFault,
    check_grader,
    find_submissions,
    grade_batch,
    grader_fingerprint,
)
from autograder.judge import CaseResult, ComponentResult, StudentReport
from autograder.sandbox import Limits
from facekit.base.contract import ARCFACE
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.cli.main import main

TOO_LITTLE_MEMORY = Limits(memory_bytes=2**30, cpu_seconds=30, wall_seconds=60.0)


@pytest.fixture
def fresh_self_test(monkeypatch):
    """Forget the self-tests this process already passed."""
    monkeypatch.setattr(autograder.batch, "_SELF_TESTS_PASSED", set())


def test_self_test_names_the_failing_cases_and_the_setting(monkeypatch, fresh_self_test):
    """Does a reference short of full marks raise GraderFault with its score, the failing case,
    the interpreter and the limits?"""
    import autograder.judge

    failed = CaseResult("basic", 0.0, 5.0, "ran", ("the worker running your code exited: boom",))
    report = StudentReport("ref", (ComponentResult(ARCFACE, "ArcFace", (failed,)),))
    monkeypatch.setattr(
        autograder.judge, "grade_notebook", lambda path, *, limits=None, zygote=None: report
    )
    with pytest.raises(GraderFault) as raised:
        check_grader(None)
    message = str(raised.value)
    assert "scored 0 / 5" in message and "arcface/basic" in message and "boom" in message
    assert sys.executable in message and "memory" in message


def test_cache_key_holds_interpreter_and_torch(monkeypatch):
    """Does a change of interpreter or torch version re-grade everything?"""
    import importlib.metadata

    before = grader_fingerprint(None)
    monkeypatch.setattr(sys, "executable", "/other/venv/bin/python")
    assert grader_fingerprint(None) != before
    monkeypatch.undo()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")
    assert grader_fingerprint(None) != before


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])  # 2: the self-test runs alongside the students
def test_too_small_memory_limit_stops_before_any_student(tmp_path, capsys, fresh_self_test, jobs):
    """Does `--memory-gib 1` exit 3 naming the memory and the interpreter, write nothing, and a
    following run without it grade normally (nothing stale)?"""
    notebook = shutil.copy(SOLUTION_NOTEBOOK, tmp_path / "alice.ipynb")
    shutil.copy(SOLUTION_NOTEBOOK, tmp_path / "bob.ipynb")
    out = tmp_path / "out"
    command = ["grade", str(notebook), str(tmp_path / "bob.ipynb"), "--out", str(out)]
    assert main([*command, "--jobs", jobs, "--memory-gib", "1"]) == 3
    err = capsys.readouterr().err
    assert "self-test failed" in err and "no student was graded" in err
    assert "memory 1 GiB" in err and "memory limit is too small" in err
    assert sys.executable in err and "import torch" in err
    assert not out.exists()
    assert main([*command, "--jobs", jobs]) == 0
    assert "unchanged" not in capsys.readouterr().err
    totals = pd.read_csv(out / GRADEBOOK_NAME).set_index("student")["total"]
    assert totals.to_dict() == {"alice": 100, "bob": 100}


@pytest.mark.slow
def test_worker_that_cannot_start_is_a_grader_fault_never_cached(tmp_path):
    """Without the self-test, is a worker that cannot import torch a grader error for the
    student (blank row, not a zero), attempted again next time?"""
    notebook = shutil.copy(SOLUTION_NOTEBOOK, tmp_path / "alice.ipynb")
    for _ in range(2):
        (outcome,) = grade_batch(
            find_submissions([notebook]),
            tmp_path / "out",
            limits=TOO_LITTLE_MEMORY,
            progress=False,
            self_test=False,
        )
        assert outcome.status == GRADER_ERROR and not outcome.cached
        assert "before running any student code" in outcome.reason
    gradebook = pd.read_csv(tmp_path / "out" / GRADEBOOK_NAME)
    assert gradebook.drop(columns="student").isna().all().all()


PLANT_AND_CRASH = """
import os
with open("torch.py", "w") as handle:  # the next worker run would import this instead
    handle.write("raise ImportError('planted by the student')")
with open("safetensors.py", "w") as handle:
    handle.write("raise ImportError('planted by the student')")
os._exit(1)
"""


@pytest.mark.slow
def test_student_cannot_turn_a_crash_into_a_grader_fault(tmp_path, handout_with_cell):
    """Does a notebook that plants torch.py for the worker's next run, then crashes, get a
    graded zero (its own doing), not a grader error?"""
    notebook = handout_with_cell(PLANT_AND_CRASH, tmp_path / "mallory.ipynb")
    (outcome,) = grade_batch(
        find_submissions([notebook]), tmp_path / "out", progress=False, self_test=False
    )
    assert outcome.status == GRADED, outcome.reason
    assert outcome.total == 0
