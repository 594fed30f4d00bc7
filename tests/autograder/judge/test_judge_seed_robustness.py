"""Inputs are drawn fresh for every grading, so verdicts must not depend on the seed: over many
grading seeds, every mutant is caught on its component and every correct variant passes.

The mutants and variants are our own code, so they run here, in-process, through the worker's
`run_case` and the judge's own case verdict (no sandbox): many seeds stay affordable. (A ReLU in
place of ReLU6 escaped half the seeds before the rubric's InvertedResidual cases were scaled up.)
"""

import copy
import importlib.util
from pathlib import Path

import pytest

from autograder.judge.judge import _judge_case
from autograder.judge.prepare import prepared_cases
from autograder.judge.rubric import load_rubric
from autograder.judge.runner import Answer
from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.notebook.extract import extract_module, import_module_from_source, read_notebook
from facekit.sandbox_side.judge_worker import CaseFailure, Status, run_case

SEEDS = range(2000, 2008)


def _table(test_module: str, name: str) -> list:
    """A corpus table from a sibling test module (loaded by path: tests are not a package)."""
    path = Path(__file__).with_name(f"{test_module}.py")
    spec = importlib.util.spec_from_file_location(f"seed_robustness_{test_module}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


MUTANTS = _table("test_judge_mutants", "MUTANTS")
VARIANTS = _table("test_judge_variants", "VARIANTS")


def _module(notebook, name: str):
    return import_module_from_source(extract_module(notebook).source, name)


def _passes(module, component: str, seed: int) -> bool:
    """Does `module`'s class of `component` pass every case of it under this grading seed?"""
    rubric = load_rubric()
    for prepared in prepared_cases(seed):
        if prepared.component.id != component:
            continue
        try:
            tensors, _ = run_case(
                getattr(module, prepared.component.class_name), prepared.request, prepared.tensors
            )
        except (CaseFailure, Exception):  # noqa: BLE001 - a raising mutant is a caught one
            return False
        answer = Answer(Status.OK, tensors=tensors)
        if not _judge_case(prepared, answer, rubric.tolerance_for(prepared.case)).passed:
            return False
    return True


def _edited_modules(edit, items, prefix: str) -> list:
    """One module per item: the source notebook with `edit(notebook, item)` applied."""
    source_notebook = read_notebook(SOLUTION_NOTEBOOK)
    modules = []
    for index, item in enumerate(items):
        notebook = copy.deepcopy(source_notebook)
        edit(notebook, item)
        modules.append(_module(notebook, f"{prefix}_{index}"))
    return modules


@pytest.fixture(scope="module")
def mutant_modules(edit_cell):
    return _edited_modules(
        lambda notebook, mutant: edit_cell(notebook, mutant.component, mutant.edits),
        MUTANTS,
        "seed_mutant",
    )


@pytest.fixture(scope="module")
def variant_modules(replace_forward_body):
    return _edited_modules(
        lambda notebook, variant: replace_forward_body(
            notebook, variant.component, variant.forward_body
        ),
        VARIANTS,
        "seed_variant",
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_every_mutant_is_caught_and_every_variant_passes(seed, mutant_modules, variant_modules):
    """Under this grading seed, does each mutant fail a case of its component, and each correct
    variant pass all of its component's cases?"""
    escaped = [
        f"{mutant.component}: {mutant.description}"
        for mutant, module in zip(MUTANTS, mutant_modules, strict=True)
        if _passes(module, mutant.component, seed)
    ]
    failed = [
        f"{variant.component}: {variant.description}"
        for variant, module in zip(VARIANTS, variant_modules, strict=True)
        if not _passes(module, variant.component, seed)
    ]
    assert not escaped and not failed, f"seed {seed}: escaped {escaped}, failed {failed}"
