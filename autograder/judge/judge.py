"""Grade a submitted notebook: extract, run in the sandbox, compare with the reference, score.

The verdict is made here, in the trusted process, from the worker's answers taken as data: a
student module that patches torch or the exit code can only garble its own answers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from autograder.extract import NotebookError, extract_student_module, read_notebook
from autograder.judge import feedback
from autograder.judge.compare import Mismatch, check_finite, compare_tensors
from autograder.judge.prepare import PreparedCase, prepared_cases
from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from autograder.judge.rubric import Component, Rubric, Tolerance, load_rubric
from autograder.judge.runner import Answer, WorkerRun, run_worker

if TYPE_CHECKING:
    from autograder.sandbox import Limits

MAX_PROBLEMS_PER_CHECK = 4


def default_limits() -> Limits:
    """Sandbox limits for one notebook: every case runs in one worker process, and every run of
    it (restarts after a crash included) shares `wall_seconds`."""
    from autograder.sandbox import Limits

    return Limits(cpu_seconds=60, wall_seconds=90.0)


def grade_notebook(notebook_path: Path, *, limits: Limits | None = None) -> StudentReport:
    """Grade one submitted notebook against the rubric. Never raises for a student's fault
    (unreadable notebook, broken code, crashes, hangs): those score zero with a message.
    Raises JudgeError when the grader itself is broken (reference, rubric)."""
    rubric = load_rubric()
    contract = {component.id: component.class_name for component in rubric.components}
    try:
        notebook = read_notebook(Path(notebook_path))
    except NotebookError as error:
        return _unreadable_report(rubric, notebook_path, str(error))
    extracted = extract_student_module(notebook, str(notebook_path), contract)
    prepared = prepared_cases()
    run = run_worker(extracted.cells, prepared, limits or default_limits())
    cell_notes = tuple(_cell_error_note(error) for error in run.cell_errors)
    components = tuple(
        _grade_component(
            rubric, component, [p for p in prepared if p.component.id == component.id], run
        )
        for component in rubric.components
    )
    return StudentReport(str(notebook_path), components, extracted.notes + cell_notes)


def _unreadable_report(rubric: Rubric, notebook_path: Path, message: str) -> StudentReport:
    components = tuple(
        ComponentResult(
            component.id,
            component.class_name,
            tuple(
                CaseResult(case.name, 0.0, case.points, "not run", ("notebook unreadable",))
                for case in component.cases
            ),
        )
        for component in rubric.components
    )
    return StudentReport(str(notebook_path), components, (message,))


def _cell_error_note(error: dict) -> str:
    where = f" ({'; '.join(error['frames'][-1:])})" if error.get("frames") else ""
    return (
        f"{error['cell']} raised {error['type']}: {error['message']}{where} when your module "
        "was loaded; what it defines is missing"
    )


def _grade_component(
    rubric: Rubric, component: Component, prepared: list[PreparedCase], run: WorkerRun
) -> ComponentResult:
    results = _apply_requirements(
        tuple(_judge_case(p, run.answers[p.index], rubric.tolerance_for(p.case)) for p in prepared),
        [p.case for p in prepared],
    )
    statuses = {run.answers[p.index].status for p in prepared}
    notes = []
    if statuses == {"not_implemented"}:
        notes.append(
            f"not implemented: {component.class_name} still raises NotImplementedError "
            f"(fill in the cell '{component.id}')"
        )
    elif statuses == {"missing"}:
        notes.append(f"{component.class_name} is not defined in your notebook")
    broken_cells = [e for e in run.cell_errors if f"({component.id})" in e["cell"]]
    notes += [_cell_error_note(error) for error in broken_cells]
    notes += feedback.component_hints(component, prepared, results)
    return ComponentResult(component.id, component.class_name, results, tuple(notes))


def _apply_requirements(results: tuple[CaseResult, ...], cases) -> tuple[CaseResult, ...]:
    """Zero the cases whose `requires` did not pass: degenerate edge cases (a loss that must be
    0) would otherwise reward a stub that returns a constant."""
    passed = {result.name for result in results if result.passed}
    adjusted = []
    for result, case in zip(results, cases, strict=True):
        unmet = [name for name in case.requires if name not in passed]
        if unmet and result.points > 0:
            result = dataclasses.replace(
                result,
                points=0.0,
                problems=(
                    *result.problems,
                    f"counts only once {', '.join(unmet)} passes (it checks a degenerate input)",
                ),
            )
        adjusted.append(result)
    return tuple(adjusted)


def _judge_case(prepared: PreparedCase, answer: Answer, tolerance: Tolerance) -> CaseResult:
    case = prepared.case
    summary = feedback.describe_case(prepared)
    if answer.status != "ok":
        hints = feedback.error_hints(prepared, answer.record.get("error") or {})
        message = _failure_message(prepared, answer)
        return CaseResult(case.name, 0.0, case.points, summary, (message,), tuple(hints))
    if case.check == "drop_path":
        problems = _drop_path_problems(prepared, answer, tolerance)
        checks = [("drop path", problems)]
    elif case.check == "contract":
        checks = [("contract", _contract_problems(prepared, answer))]
    else:
        checks = _comparison_checks(prepared, answer, tolerance)
    passed = sum(1 for _, problems in checks if not problems)
    points = case.points * passed / len(checks)
    problems = tuple(str(problem) for _, found in checks for problem in found)
    hints = feedback.case_hints(prepared, answer, checks) if problems else ()
    return CaseResult(case.name, round(points, 6), case.points, summary, problems, tuple(hints))


def _failure_message(prepared: PreparedCase, answer: Answer) -> str:
    class_name = prepared.component.class_name
    record = answer.record
    if answer.status == "missing":
        return f"{class_name} is not defined in your notebook"
    if answer.status == "not_implemented":
        return f"not implemented: {class_name} raised NotImplementedError"
    if answer.status == "state_mismatch":
        return feedback.describe_state_mismatch(class_name, record.get("details", {}))
    if answer.status == "error":
        error = record.get("error", {})
        frames = error.get("frames") or []
        where = ("; traceback (your code): " + " | ".join(frames)) if frames else ""
        return f"raised {error.get('type', '?')}: {error.get('message', '')}{where}"
    if answer.status in ("bad_output", "timeout"):
        return str(record.get("message", "malformed output"))[:300]
    return answer.message


def _limited(problems: list) -> list:
    if len(problems) <= MAX_PROBLEMS_PER_CHECK:
        return problems
    extra = len(problems) - MAX_PROBLEMS_PER_CHECK
    return problems[:MAX_PROBLEMS_PER_CHECK] + [f"... and {extra} more"]


def _tensor_label(key: str) -> str:
    if key == "output":
        return "output"
    kind, _, name = key.partition("/")
    return {
        "output": f"output[{name!r}]",
        "grad_input": f"gradient w.r.t. input {name}",
        "grad_param": f"gradient w.r.t. parameter {name}",
        "buffer": f"buffer {name} after the forward pass",
    }[kind]


def _compare_keys(
    prepared: PreparedCase, answer: Answer, keys: list[str], tolerance: Tolerance, finite_only
) -> list[Mismatch | str]:
    found: list[Mismatch | str] = []
    for key in keys:
        label = _tensor_label(key)
        got = answer.tensors.get(key)
        expected = prepared.expected[key]
        if got is None:
            found.append(f"{label}: missing (it received no gradient or does not exist)")
            continue
        if finite_only:
            mismatch = check_finite(label, got)
        else:
            mismatch = compare_tensors(label, got, expected, tolerance.atol, tolerance.rtol)
        if mismatch is not None:
            found.append(mismatch)
    return found


def _comparison_checks(prepared: PreparedCase, answer: Answer, tolerance: Tolerance):
    """(check name, problems) for output, gradients and buffers; each check earns equal points."""
    keys = sorted(prepared.expected)
    outputs = [key for key in keys if key.startswith("output")]
    gradients = [key for key in keys if key.startswith(("grad_input/", "grad_param/"))]
    buffers = [key for key in keys if key.startswith("buffer/")]
    checks = [("output", _compare_keys(prepared, answer, outputs, tolerance, False))]
    if prepared.case.objective != "none":
        finite_only = prepared.case.gradients == "finite"
        checks.append(
            ("gradients", _compare_keys(prepared, answer, gradients, tolerance, finite_only))
        )
    if buffers:
        checks.append(("buffers", _compare_keys(prepared, answer, buffers, tolerance, False)))
    return [(name, _limited(found)) for name, found in checks]


def _drop_path_problems(prepared: PreparedCase, answer: Answer, tolerance: Tolerance):
    """Train-mode stochastic depth: each sample is either the input (branch dropped) or the
    input plus the residual branch (scaled by 1/(1-p) or not), and both occur."""
    x = prepared.input("x").double()
    got = answer.tensors.get("output")
    if got is None or tuple(got.shape) != tuple(x.shape):
        shape = None if got is None else tuple(got.shape)
        return [f"output shape {shape}, expected {tuple(x.shape)}"]
    got = got.double()
    branch = prepared.reference_eval_output.double() - x
    keep = 1.0 - float(prepared.case.ctor["drop_path"])

    def close(a, b):
        return bool(torch.isclose(a, b, atol=tolerance.atol, rtol=tolerance.rtol).all())

    dropped = kept = 0
    problems = []
    for i in range(len(x)):
        if close(got[i], x[i]):
            dropped += 1
        elif close(got[i], x[i] + branch[i] / keep) or close(got[i], x[i] + branch[i]):
            kept += 1
        else:
            problems.append(
                f"sample {i} is neither the input (branch dropped) nor input + residual branch "
                "(branch kept): the branch itself differs, or drop path is not per sample"
            )
    p = prepared.case.ctor["drop_path"]
    if not problems and dropped == 0:
        problems.append(
            f"in train mode with drop_path={p}, no sample of {len(x)} dropped its residual branch"
        )
    if not problems and kept == 0:
        problems.append(
            f"in train mode with drop_path={p}, every one of {len(x)} samples dropped its branch: "
            "draw one coin per sample, not one for the whole batch"
        )
    return _limited(problems)


def _contract_problems(prepared: PreparedCase, answer: Answer) -> list[str]:
    """Network: forward returns {"feats": (N, D), "out": (N, num_classes)}, finite, and the
    gradient reaches the parameters."""
    n = prepared.input("x").shape[0]
    num_classes = prepared.case.ctor["num_classes"]
    feats, out = answer.tensors.get("output/feats"), answer.tensors.get("output/out")
    if feats is None or out is None:
        keys = sorted(key.partition("/")[2] for key in answer.tensors if key.startswith("output"))
        return [f"forward must return a dict with keys 'feats' and 'out', got keys {keys}"]
    problems = []
    if feats.dim() != 2 or feats.shape[0] != n:
        problems.append(f"feats has shape {tuple(feats.shape)}, expected ({n}, D)")
    if tuple(out.shape) != (n, num_classes):
        problems.append(f"out has shape {tuple(out.shape)}, expected ({n}, {num_classes})")
    for name, tensor in (("feats", feats), ("out", out)):
        mismatch = check_finite(name, tensor)
        if mismatch is not None:
            problems.append(str(mismatch))
    if not any(key.startswith("grad_param/") for key in answer.tensors):
        problems.append("no parameter received a gradient from feats and out")
    return problems
