"""The trusted side reads the worker's answers as data: garbage fails one case, clearly.

Whatever the worker's directory holds in place of an answer (a FIFO, a link to /dev/zero, to the
grader's stdin or to a host file, JSON nested a million deep, fields of the wrong type) is read
without hanging, following or exhausting anything, and becomes that case's zero ("garbage").
"""

import json
import os
import sys

import pytest
import torch
from safetensors.torch import save_file

from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from autograder.judge.runner import _read_answer, _read_cell_errors
from facekit.base.contract import ARCFACE, BATCH_HARD_TRIPLET_LOSS
from facekit.sandbox_side.judge_worker import Status


def write_answer(directory, record, tensors=None, raw_tensors: bytes | None = None):
    (directory / "result_3.json").write_text(json.dumps(record), encoding="utf-8")
    path = directory / "result_3.safetensors"
    if raw_tensors is not None:
        path.write_bytes(raw_tensors)
    else:
        save_file(tensors or {}, str(path))


def test_valid_answer_is_read(tmp_path):
    """Is a well-formed answer returned with its status and tensors?"""
    write_answer(tmp_path, {"index": 3, "status": "ok"}, {"output": torch.ones(2)})
    answer = _read_answer(tmp_path, 3)
    assert answer.status == Status.OK and torch.equal(answer.tensors["output"], torch.ones(2))


def test_missing_answer_is_none(tmp_path):
    """Does a case the worker never reached read as None (the runner then reports a crash)?"""
    assert _read_answer(tmp_path, 3) is None


@pytest.mark.parametrize(
    ("record", "tensors", "raw", "reason"),
    [
        ({"index": 4, "status": "ok"}, {}, None, "not this case's"),
        ({"index": 3, "status": "passed"}, {}, None, "unknown status"),
        ({"index": 3, "status": "ok"}, {"score": torch.ones(1)}, None, "unexpected tensor names"),
        (
            {"index": 3, "status": "ok"},
            {"output": torch.ones(2, dtype=torch.complex64)},
            None,
            "unsupported dtype",
        ),
        ({"index": 3, "status": "ok"}, None, b"\x80\x04pickle", "could not be read"),
        (["not", "a", "dict"], {}, None, "not this case's"),
        ({"index": True, "status": "ok"}, {}, None, "not this case's"),
        ({"index": 3, "status": "garbage"}, {}, None, "unknown status"),
        ({"index": 3, "status": ["ok"]}, {}, None, "unknown status"),
        ({"index": 3, "status": "error", "error": "boom"}, {}, None, "error is not an object"),
        ({"index": 3, "status": "error", "error": {"type": 1}}, {}, None, "type is int"),
        ({"index": 3, "status": "error", "error": {"frames": [1]}}, {}, None, "frames is not"),
        ({"index": 3, "status": "timeout", "message": {"a": 1}}, {}, None, "message is dict"),
        ({"index": 3, "status": "state_mismatch", "details": [1]}, {}, None, "not an object"),
        (
            {"index": 3, "status": "state_mismatch", "details": {"shape_mismatch": [[1]]}},
            {},
            None,
            "details.shape_mismatch",
        ),
        (
            {"index": 3, "status": "state_mismatch", "details": {"missing": "conv1.weight"}},
            {},
            None,
            "missing is not a list",
        ),
        ({"index": 3, "status": "ok", "facts": {"params_without_grad": "w"}}, {}, None, "list"),
    ],
)
def test_garbage_answers_fail_the_case(tmp_path, record, tensors, raw, reason):
    """Do a foreign index, an invented status, stray tensors or a pickle read as garbage?"""
    write_answer(tmp_path, record, tensors, raw)
    answer = _read_answer(tmp_path, 3)
    assert answer.status == Status.GARBAGE
    assert reason in answer.message


def _fifo(path):
    os.mkfifo(path)


def _deep(path):
    path.write_text("[" * 100_000 + "]" * 100_000)


def _link(target):
    return lambda path: path.symlink_to(target)


HOSTILE_FILES = {
    "fifo": (_fifo, "a FIFO"),
    "link to /dev/zero": (_link("/dev/zero"), "symbolic link"),
    "link to the grader's stdin": (_link("/proc/self/fd/0"), "symbolic link"),
    "link to a host file": (_link("/etc/hostname"), "symbolic link"),
    "link to a planted answer": (None, "symbolic link"),
    "directory": (lambda path: path.mkdir(), "directory"),
    "deeply nested JSON": (_deep, "nests deeper than"),
    "huge (sparse) file": (lambda path: os.truncate(_touch(path), 2**40), "more than the limit"),
}


def _touch(path):
    path.touch()
    return path


@pytest.mark.parametrize(
    ("which", "attack"),
    [("result_3.json", attack) for attack in sorted(HOSTILE_FILES)]
    + [
        ("result_3.safetensors", attack) for attack in sorted(HOSTILE_FILES) if "JSON" not in attack
    ],
)
def test_hostile_answer_files_are_garbage(tmp_path, which, attack):
    """Does an answer file replaced by something hostile read as garbage at once, neither
    blocking, following the link nor reading without bound?"""
    planted = tmp_path / "planted"
    planted.mkdir()
    write_answer(planted, {"index": 3, "status": "ok"}, {"output": torch.ones(2)})
    write_answer(tmp_path, {"index": 3, "status": "ok"}, {"output": torch.ones(2)})
    (tmp_path / which).unlink()
    make, reason = HOSTILE_FILES[attack]
    if make is None:
        (tmp_path / which).symlink_to(planted / which)
    else:
        make(tmp_path / which)
    stdin = sys.stdin
    answer = _read_answer(tmp_path, 3)
    assert answer.status == Status.GARBAGE, answer
    assert reason in answer.message, answer.message
    assert sys.stdin is stdin


@pytest.mark.parametrize("attack", sorted(HOSTILE_FILES))
def test_hostile_load_record_is_a_note_not_a_fault(tmp_path, attack):
    """Does a hostile load record (the cells' errors) give a note and no cell errors?"""
    make, reason = HOSTILE_FILES[attack]
    if make is None:
        (tmp_path / "elsewhere.json").write_text('{"cell_errors": []}')
        (tmp_path / "load_0.json").symlink_to(tmp_path / "elsewhere.json")
    else:
        make(tmp_path / "load_0.json")
    errors, problems = _read_cell_errors(tmp_path)
    assert errors == ()
    assert "could not be read" in problems[0] and reason in problems[0]


@pytest.mark.parametrize(
    "record",
    [
        {"cell_errors": [{"cell": "cell 3", "type": "NameError", "message": 5}]},
        {"cell_errors": ["text"]},
        {"cell_errors": {"cell": "x"}},
        [],
    ],
)
def test_malformed_load_record_is_a_note(tmp_path, record):
    """Do wrongly typed cell errors give a note instead of a grader fault?"""
    (tmp_path / "load_0.json").write_text(json.dumps(record))
    errors, problems = _read_cell_errors(tmp_path)
    assert errors == () and "could not be read" in problems[0]


def test_report_formats():
    """Do points add up per component and appear in results.json and report.md?"""
    report = StudentReport(
        "s.ipynb",
        (
            ComponentResult(
                ARCFACE,
                "ArcFace",
                (
                    CaseResult("random", 3.0, 3.0, "ArcFace(...)"),
                    CaseResult(
                        "edge",
                        1.0,
                        2.0,
                        "ArcFace(...)",
                        ("output: differs",),
                        ("finding.precision",),
                    ),
                ),
            ),
        ),
        ("a note",),
    )
    assert report.component_points() == {ARCFACE: 4.0}
    assert (report.total, report.max_total) == (4.0, 5.0)
    gradescope = report.to_gradescope()
    assert gradescope["score"] == 4.0 and gradescope["output"] == "a note"
    [test] = gradescope["tests"]
    assert (test["name"], test["score"], test["max_score"]) == ("ArcFace (arcface)", 4.0, 5.0)
    assert (
        "[FAILED] edge (1/2)" in test["output"] and "hint: the values are close" in test["output"]
    )
    assert test["extra_data"]["hints"] == ["finding.precision"]
    assert "**Total: 4 / 5**" in report.to_markdown()


def test_degenerate_case_counts_only_after_its_requirement():
    """Does a passing edge case (constant answer) earn nothing while the main case fails?"""
    from autograder.judge.judge import _apply_requirements
    from autograder.judge.rubric import load_rubric

    component = next(c for c in load_rubric().components if c.id == BATCH_HARD_TRIPLET_LOSS)
    results = tuple(
        CaseResult(case.name, 0.0 if i == 0 else case.points, case.points, "", ("x",) * (i == 0))
        for i, case in enumerate(component.cases)
    )
    adjusted = {r.name: r for r in _apply_requirements(results, component.cases)}
    assert adjusted["no_valid_triplet"].points == 0
    assert (
        "counts only once mixed_labels_with_singleton passes"
        in (adjusted["no_valid_triplet"].problems[-1])
    )
    assert adjusted["float64_margin_1"].points == 3
