"""A correct notebook that sabotages its own answers after the worker wrote them (atexit): a
FIFO, links to /dev/zero, to the grader's stdin or to host files, JSON nested 200,000 deep,
malformed records. Each must become a graded zero with a clear reason (never a hang, a followed
link, an exhausted memory or a grader fault), and the work folder must be gone afterwards, even
when the sandbox leaves a tree 20,000 levels deep."""

import signal

import nbformat
import pytest

from autograder.judge import grade_notebook
from autograder.judge.prepare import prepared_cases
from autograder.judge.runner import _died
from autograder.sandbox import SandboxResult
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.judge_worker import Status

# What each sabotage becomes. Links and FIFOs never leave the sandbox (its work folder is copied
# back as regular files only), so the answer is simply missing; what does come back is read as
# hostile data (facekit.base.untrusted) and refused with the reason.
DROPPED = (Status.CRASHED, "exited without answering")
SABOTAGE = {
    "replace_answers_with_fifos": DROPPED,
    "link_answers_to_dev_zero": DROPPED,
    "link_answers_to_grader_stdin": DROPPED,
    "link_answers_to_host_paths": DROPPED,
    "deeply_nested_answers": (Status.GARBAGE, "nests deeper than"),
    "malformed_answer_records": (Status.GARBAGE, "could not be read"),
}


def _graded_with(cell: str, source_notebook, write_notebook, tmp_path, monkeypatch):
    notebook = nbformat.reads(nbformat.writes(source_notebook), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(cell, metadata={"tags": ["export"]}))
    load_reference()  # once per process, into its own (kept) folder: not the judge's work
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(work))
    report = grade_notebook(write_notebook(notebook))
    assert list(work.iterdir()) == [], "the judge's work folder was left behind"
    return report


@pytest.mark.slow
@pytest.mark.parametrize("cheat", sorted(SABOTAGE))
def test_sabotaged_answers_are_a_clear_zero(
    cheat, cheat_cell, source_notebook, write_notebook, tmp_path, monkeypatch
):
    """Does every case score 0, saying why (the answer never came back, or could not be read)?"""
    code = cheat_cell(cheat, tmp_path / "out", tmp_path / "keys")
    report = _graded_with(code, source_notebook, write_notebook, tmp_path, monkeypatch)
    assert report.total == 0, report.to_markdown()
    status, words = SABOTAGE[cheat]
    for component in report.components:
        for case in component.cases:
            assert case.status in (status, Status.NOT_RUN), component.feedback()
    reasons = " ".join(case.problems[0] for c in report.components for case in c.cases)
    assert words in reasons


@pytest.mark.slow
def test_deep_tree_left_in_the_work_folder_is_removed(
    cheat_cell, source_notebook, write_notebook, tmp_path, monkeypatch
):
    """Does a 20,000-deep tree with locked directories neither cost points nor stay behind?"""
    code = cheat_cell("deep_tree_in_work_folder", tmp_path / "out", tmp_path / "keys")
    report = _graded_with(code, source_notebook, write_notebook, tmp_path, monkeypatch)
    assert report.total == report.max_total, report.to_markdown()


@pytest.mark.parametrize(
    ("returncode", "timed_out", "status", "words"),
    [
        (None, True, Status.TIMEOUT, "timed out: the worker was still running case"),
        (-signal.SIGXCPU, False, Status.TIMEOUT, "the CPU-time limit"),
        (-signal.SIGSEGV, False, Status.CRASHED, "crashed: the worker running case"),
        (3, False, Status.CRASHED, "exited with code 3"),
    ],
)
def test_a_killed_worker_is_timed_out_or_crashed_naming_the_case(
    returncode, timed_out, status, words
):
    """Is a worker stopped by the wall-clock or CPU limit 'timed out' (not 'crashed'), and is
    the case it was running named either way?"""
    prepared = prepared_cases(5)[7]
    result = SandboxResult(returncode, timed_out, "", "", 1.0, wall_limit=90.0)
    answer = _died(result, prepared)
    assert answer.status == status
    assert words in answer.message and prepared.case_id in answer.message
