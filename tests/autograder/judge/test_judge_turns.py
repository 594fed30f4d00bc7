"""Does the judge's in-process work take turns when notebooks are graded on parallel threads?
(Issue 15: CPython 3.11's ast.parse and torch's generator are process-wide, gh-106905.)"""

import ast
import concurrent.futures
import threading
import time

import torch

from autograder.judge import judge
from autograder.judge.prepare import prepare_cases
from autograder.judge.rubric import load_rubric
from autograder.judge.runner import Answer, WorkerRun
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.judge_worker import Status

THREADS = 3
SEED = 20261201


def _not_run(cells, prepared, *_) -> WorkerRun:
    """A worker that answered nothing: the sandboxed run left out of these tests."""
    return WorkerRun(
        {case.index: Answer(Status.NOT_RUN, message="not run") for case in prepared}, ()
    )


def _grade_reference(seed: int):
    return judge.grade_notebook(SOLUTION_NOTEBOOK, seed=seed)


def test_parses_never_overlap_on_parallel_threads(monkeypatch):
    """Graded on three threads at once (the sandboxed run left out), is no notebook parsed
    while another is, and is torch's thread count restored?"""
    parse, lock = ast.parse, threading.Lock()
    state = {"now": 0, "most": 0}

    def slow_parse(*args, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            time.sleep(0.001)  # widen the window a race would need
            return parse(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)
    monkeypatch.setattr(judge, "run_worker", _not_run)
    threads_before = torch.get_num_threads()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        reports = list(
            pool.map(lambda seed: judge.grade_notebook(SOLUTION_NOTEBOOK, seed=seed), range(6))
        )
    assert state["most"] == 1
    assert torch.get_num_threads() == threads_before
    assert all(report.total == 0 for report in reports)  # no answers: nothing scored


def test_the_reference_answers_are_the_same_on_parallel_threads():
    """Prepared for one seed on three threads at once, are the reference's weights, inputs and
    answers identical to a lone preparation's (torch's generator is process-wide)?"""
    rubric, reference = load_rubric(), load_reference()
    alone = prepare_cases(rubric, reference, SEED)
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        together = list(pool.map(lambda _: prepare_cases(rubric, reference, SEED), range(THREADS)))
    for cases in together:
        for case, lone in zip(cases, alone, strict=True):
            for name in ("tensors", "expected"):
                ours, theirs = getattr(case, name), getattr(lone, name)
                assert ours.keys() == theirs.keys(), case.case_id
                for key in ours:
                    assert torch.equal(ours[key], theirs[key]), f"{case.case_id} {name} {key}"
