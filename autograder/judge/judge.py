"""Grade a submitted notebook: extract, run in the sandbox, compare with the reference, score.

The verdict is made here, in the trusted process, from the worker's answers taken as data: a
student module that patches torch or the exit code can only garble its own answers. Every
grading draws its cases' weights and inputs from a fresh seed (recorded in the report), and the
feedback describes differences without expected values, so a report cannot be replayed.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from autograder.judge import feedback, policy
from autograder.judge.checks import contract_checks, drop_path_checks
from autograder.judge.findings import Difference, Finding, check_finite, describe_difference
from autograder.judge.prepare import PreparedCase, new_grading_seed, prepared_cases
from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from autograder.judge.rubric import Component, Rubric, Tolerance, load_rubric
from autograder.judge.runner import Answer, CellError, WorkerRun, run_worker
from autograder.judge.turns import judging
from autograder.sandbox import Limits, Zygote
from facekit.base.contract import COMPONENT_CLASSES
from facekit.notebook.extract import NotebookError, extract_student_module, read_notebook
from facekit.sandbox_side.judge_worker import Check, GradientCheck, Objective, Status

MAX_PROBLEMS_PER_CHECK = 4
_LABEL_GRADE_ID = re.compile(r"\(([A-Za-z0-9_]+)\)\s*$")


def default_limits() -> Limits:
    """Sandbox limits for one notebook: every case runs in one worker process, and every run of
    it (restarts after a crash included) shares `wall_seconds`."""
    return Limits(cpu_seconds=60, wall_seconds=90.0)


def grade_notebook(
    notebook_path: Path,
    *,
    limits: Limits | None = None,
    seed: int | None = None,
    zygote: Zygote | None = None,
) -> StudentReport:
    """Grade one submitted notebook against the rubric. Never raises for a student's fault
    (unreadable notebook, broken code, crashes, hangs): those score zero with a message.
    `seed` None draws a fresh grading seed; staff pass the one a report records to reproduce
    that grading. `zygote`: the worker runs as a fork of this warm grader (same sandbox, same
    verdict). Raises GraderFault when the grader itself is broken (reference, rubric)."""
    rubric = load_rubric()
    seed = new_grading_seed() if seed is None else int(seed)
    with judging():
        try:
            notebook = read_notebook(Path(notebook_path))
        except NotebookError as error:
            return _unreadable_report(rubric, notebook_path, str(error), seed)
        extracted = extract_student_module(notebook, str(notebook_path), COMPONENT_CLASSES)
        prepared = prepared_cases(seed)
    run = run_worker(extracted.cells, prepared, limits or default_limits(), zygote)
    with judging():
        cell_grade_ids = _cell_grade_ids(extracted.cells, COMPONENT_CLASSES)
        forbidden = {
            violation.class_name: violation
            for violation in policy.violations(extracted.cells, COMPONENT_CLASSES.values())
        }
        components = tuple(
            _grade_component(
                rubric,
                component,
                [p for p in prepared if p.component.id == component.id],
                run,
                cell_grade_ids,
                forbidden.get(component.class_name),
            )
            for component in rubric.components
        )
    cell_notes = tuple(_cell_error_note(error) for error in run.cell_errors)
    cell_errors = tuple(
        {
            "cell": error.cell,
            "grade_ids": list(cell_grade_ids.get(error.cell, ())),
            "type": error.type,
        }
        for error in run.cell_errors
    )
    return StudentReport(
        str(notebook_path),
        components,
        extracted.notes + cell_notes + run.problems,
        seed=seed,
        cell_errors=cell_errors,
    )


def _unreadable_report(
    rubric: Rubric, notebook_path: Path, message: str, seed: int
) -> StudentReport:
    components = tuple(
        ComponentResult(
            component.id,
            component.class_name,
            tuple(
                CaseResult(
                    case.name,
                    0.0,
                    case.points,
                    "not run",
                    ("notebook unreadable",),
                    status=Status.NOT_RUN,
                )
                for case in component.cases
            ),
        )
        for component in rubric.components
    )
    return StudentReport(str(notebook_path), components, (message,), seed=seed)


def _cell_grade_ids(cells, contract: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """For each cell label, the graded components it carries: its nbgrader id (from the label)
    and the components whose class it defines (so a cell whose metadata was lost counts too)."""
    by_class = {class_name: grade_id for grade_id, class_name in COMPONENT_CLASSES.items()}
    found = {}
    for label, source in cells:
        ids = []
        match = _LABEL_GRADE_ID.search(label)
        if match and match.group(1) in contract:
            ids.append(match.group(1))
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = ast.Module(body=[], type_ignores=[])
        ids += [
            by_class[node.name]
            for node in tree.body
            if isinstance(node, ast.ClassDef) and node.name in by_class
        ]
        found[label] = tuple(dict.fromkeys(ids))
    return found


def _cell_error_note(error: CellError, consequence: str = "") -> str:
    where = f" ({'; '.join(error.frames[-1:])})" if error.frames else ""
    return (
        f"{error.cell} raised {error.type}: {error.message}{where} when your module was loaded"
        + consequence
    )


def _grade_component(
    rubric: Rubric,
    component: Component,
    prepared: list[PreparedCase],
    run: WorkerRun,
    cell_grade_ids: dict[str, tuple[str, ...]],
    violation: policy.Violation | None,
) -> ComponentResult:
    answers = [run.answers[p.index] for p in prepared]
    if violation is not None:
        answers = [
            Answer(Status.FORBIDDEN, message=violation.message()) if a.status == Status.OK else a
            for a in answers
        ]
    results = _apply_requirements(
        tuple(
            _judge_case(p, answer, rubric.tolerance_for(p.case))
            for p, answer in zip(prepared, answers, strict=True)
        ),
        [p.case for p in prepared],
    )
    statuses = {answer.status for answer in answers}
    notes = []
    if statuses == {Status.NOT_IMPLEMENTED}:
        notes.append(
            f"not implemented: {component.class_name} still raises NotImplementedError "
            f"(fill in the cell '{component.id}')"
        )
    elif statuses == {Status.MISSING}:
        notes.append(f"{component.class_name} is not defined in your notebook")
    if Status.FORBIDDEN in statuses:
        notes.append(next(a.message for a in answers if a.status == Status.FORBIDDEN))
    defined = Status.MISSING not in statuses
    for error in run.cell_errors:
        if component.id in cell_grade_ids.get(error.cell, ()):
            consequence = (
                f"; {component.class_name} was defined before the error, so it was graded"
                if defined
                else f"; so {component.class_name}, which this cell defines, is missing"
            )
            notes.append(_cell_error_note(error, consequence))
    hints = feedback.component_hints(prepared, results)
    if Status.FORBIDDEN in statuses:
        hints.append("policy.forbidden")
    return ComponentResult(component.id, component.class_name, results, tuple(notes), tuple(hints))


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
    if answer.status != Status.OK:
        return CaseResult(
            case.name,
            0.0,
            case.points,
            summary,
            (_failure_message(prepared, answer),),
            tuple(feedback.error_hints(prepared, answer.error)),
            answer.status,
        )
    if case.check == Check.DROP_PATH:
        checks, hints = drop_path_checks(prepared, answer, tolerance)
    elif case.check == Check.CONTRACT:
        checks, hints = contract_checks(prepared, answer)
    else:
        checks = _comparison_checks(prepared, answer, tolerance)
        hints = feedback.case_hints(prepared, answer, checks)
    passed = sum(1 for _, problems in checks if not problems)
    points = case.points * passed / len(checks)
    problems = tuple(str(problem) for _, found in checks for problem in _limited(found))
    return CaseResult(
        case.name,
        round(points, 6),
        case.points,
        summary,
        problems,
        tuple(dict.fromkeys(hints)) if problems else (),
        answer.status,
    )


def _failure_message(prepared: PreparedCase, answer: Answer) -> str:
    class_name = prepared.component.class_name
    if answer.status == Status.MISSING:
        return f"{class_name} is not defined in your notebook"
    if answer.status == Status.NOT_IMPLEMENTED:
        return f"not implemented: {class_name} raised NotImplementedError"
    if answer.status == Status.STATE_MISMATCH:
        return feedback.describe_state_mismatch(class_name, answer.details)
    if answer.status == Status.ERROR and answer.error is not None:
        error = answer.error
        where = ("; traceback (your code): " + " | ".join(error.frames)) if error.frames else ""
        return f"raised {error.type}: {error.message}{where}"
    if answer.status == Status.TIMEOUT and not answer.message.startswith(("timed out", "not")):
        return f"timed out: {answer.message}"
    return answer.message[:600] or f"{answer.status.replace('_', ' ')}"


def _limited(problems: list) -> list:
    if len(problems) <= MAX_PROBLEMS_PER_CHECK:
        return problems
    extra = len(problems) - MAX_PROBLEMS_PER_CHECK
    return problems[:MAX_PROBLEMS_PER_CHECK] + [f"... and {extra} more"]


def _compare_keys(
    prepared: PreparedCase, answer: Answer, keys: list[str], tolerance: Tolerance, finite_only
) -> list[Finding]:
    found: list[Finding] = []
    for key in keys:
        got = answer.tensors.get(key)
        if got is None:
            found.append(
                Finding(
                    key, Difference.MISSING, "missing (it received no gradient or does not exist)"
                )
            )
            continue
        if finite_only:
            finding = check_finite(key, got)
        else:
            finding = describe_difference(
                key, got, prepared.expected[key], tolerance.atol, tolerance.rtol
            )
        if finding is not None:
            found.append(finding)
    return found


def _comparison_checks(prepared: PreparedCase, answer: Answer, tolerance: Tolerance):
    """(check name, findings) for output, gradients and buffers; each check earns equal points."""
    keys = sorted(prepared.expected)
    outputs = [key for key in keys if key.startswith("output")]
    gradients = [key for key in keys if key.startswith(("grad_input/", "grad_param/"))]
    buffers = [key for key in keys if key.startswith("buffer/")]
    checks = [("output", _compare_keys(prepared, answer, outputs, tolerance, False))]
    if prepared.case.objective != Objective.NONE:
        finite_only = prepared.case.gradients == GradientCheck.FINITE
        checks.append(
            ("gradients", _compare_keys(prepared, answer, gradients, tolerance, finite_only))
        )
    if buffers:
        checks.append(("buffers", _compare_keys(prepared, answer, buffers, tolerance, False)))
    return checks
