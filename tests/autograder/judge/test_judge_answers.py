"""The trusted side reads the worker's answers as data: garbage fails one case, clearly."""

import json

import pytest
import torch
from safetensors.torch import save_file

from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from autograder.judge.runner import _read_answer


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
    assert answer.status == "ok" and torch.equal(answer.tensors["output"], torch.ones(2))


def test_missing_answer_is_none(tmp_path):
    """Does a case the worker never reached read as None (the runner then reports a crash)?"""
    assert _read_answer(tmp_path, 3) is None


@pytest.mark.parametrize(
    ("record", "tensors", "raw", "reason"),
    [
        ({"index": 4, "status": "ok"}, {}, None, "not this case's"),
        ({"index": 3, "status": "passed"}, {}, None, "unknown status"),
        ({"index": 3, "status": "ok"}, {"score": torch.ones(1)}, None, "unexpected tensor names"),
        ({"index": 3, "status": "ok"}, None, b"\x80\x04pickle", "could not be read"),
        (["not", "a", "dict"], {}, None, "not this case's"),
    ],
)
def test_garbage_answers_fail_the_case(tmp_path, record, tensors, raw, reason):
    """Do a foreign index, an invented status, stray tensors or a pickle read as garbage?"""
    write_answer(tmp_path, record, tensors, raw)
    answer = _read_answer(tmp_path, 3)
    assert answer.status == "garbage"
    assert reason in answer.message


def test_report_formats():
    """Do points add up per component and appear in results.json and report.md?"""
    report = StudentReport(
        "s.ipynb",
        (
            ComponentResult(
                "arcface",
                "ArcFace",
                (
                    CaseResult("random", 3.0, 3.0, "ArcFace(...)"),
                    CaseResult("edge", 1.0, 2.0, "ArcFace(...)", ("output: differs",), ("h",)),
                ),
            ),
        ),
        ("a note",),
    )
    assert report.component_points() == {"arcface": 4.0}
    assert (report.total, report.max_total) == (4.0, 5.0)
    gradescope = report.to_gradescope()
    assert gradescope["score"] == 4.0 and gradescope["output"] == "a note"
    [test] = gradescope["tests"]
    assert (test["name"], test["score"], test["max_score"]) == ("ArcFace (arcface)", 4.0, 5.0)
    assert "[FAILED] edge (1/2)" in test["output"] and "hint: h" in test["output"]
    assert "**Total: 4 / 5**" in report.to_markdown()


def test_degenerate_case_counts_only_after_its_requirement():
    """Does a passing edge case (constant answer) earn nothing while the main case fails?"""
    from autograder.judge.judge import _apply_requirements
    from autograder.judge.rubric import load_rubric

    component = next(c for c in load_rubric().components if c.id == "batch_hard_triplet_loss")
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
