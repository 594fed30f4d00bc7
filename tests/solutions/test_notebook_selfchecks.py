"""Do the self-check cells pass on the reference and fail with NotImplementedError on the handout?

Each notebook runs once, in its own kernel: its export cells (the module) and its self-check cells,
in notebook order, with errors recorded per cell instead of stopping the run.
"""

import copy

import nbformat
import pytest

from facekit.base import contract
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import is_export_cell

SELF_CHECK_TAG = "self-check"
HELPERS_ID = "check_helpers"
COMPONENT_IDS = [*contract.BLOCKS, contract.NETWORK, *contract.LOSSES]  # the notebook's order

pytestmark = pytest.mark.slow


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    """The cell's nbgrader grade_id, if any."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_self_check(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is one of the public self-checks."""
    return SELF_CHECK_TAG in cell.metadata.get("tags", [])


def module_and_checks(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `notebook` holding only its export and self-check cells."""
    subset = copy.deepcopy(notebook)
    subset.cells = [cell for cell in subset.cells if is_export_cell(cell) or is_self_check(cell)]
    return subset


def check_outcomes(notebook: nbformat.NotebookNode) -> dict[str, tuple[str | None, str]]:
    """grade_id -> (error name or None, printed text) for every executed self-check cell."""
    outcomes = {}
    for cell in notebook.cells:
        if not is_self_check(cell):
            continue
        errors = [output for output in cell.outputs if output.output_type == "error"]
        text = "".join(output.get("text", "") for output in cell.outputs)
        outcomes[grade_id(cell)] = (errors[0].ename if errors else None, text)
    return outcomes


def assert_every_component_checked(outcomes: dict) -> None:
    """Each component has exactly one self-check, plus the helpers cell."""
    expected = {HELPERS_ID} | {f"check_{name}" for name in COMPONENT_IDS}
    assert set(outcomes) == expected, f"self-checks {sorted(outcomes)} != {sorted(expected)}"


@pytest.fixture(scope="module")
def source_outcomes(execute_notebook, tmp_path_factory):
    """Self-check outcomes of the source notebook."""
    notebook = module_and_checks(nbformat.read(SOLUTION_NOTEBOOK, as_version=4))
    executed = execute_notebook(notebook, tmp_path_factory.mktemp("source"), allow_errors=True)
    return check_outcomes(executed)


@pytest.fixture(scope="module")
def handout_outcomes(execute_notebook, tmp_path_factory):
    """Self-check outcomes of the handout (the committed one, else a fresh nbgrader build)."""
    if HANDOUT_NOTEBOOK.is_file():
        handout = nbformat.read(HANDOUT_NOTEBOOK, as_version=4)
    else:
        from facekit.notebook.release import build_handout

        handout = nbformat.reads(build_handout(SOLUTION_NOTEBOOK), as_version=4)
    notebook = module_and_checks(handout)
    executed = execute_notebook(notebook, tmp_path_factory.mktemp("handout"), allow_errors=True)
    return check_outcomes(executed)


def test_source_has_a_self_check_per_component(source_outcomes):
    """Is there one self-check per graded component (and the helpers)?"""
    assert_every_component_checked(source_outcomes)


@pytest.mark.parametrize("component", [HELPERS_ID] + COMPONENT_IDS)
def test_self_check_passes_on_reference(source_outcomes, component):
    """Does the self-check pass, printing its success line, after the reference's definitions?"""
    check = component if component == HELPERS_ID else f"check_{component}"
    error, text = source_outcomes[check]
    assert error is None, f"{check} failed on the reference with {error}:\n{text}"
    assert "all checks passed" in text or "ready" in text, f"{check} printed {text!r}"


def test_handout_has_a_self_check_per_component(handout_outcomes):
    """Does the handout keep every self-check?"""
    assert_every_component_checked(handout_outcomes)


def test_helpers_run_on_handout(handout_outcomes):
    """The helpers cell defines functions only, so it must work before any student code."""
    error, text = handout_outcomes[HELPERS_ID]
    assert error is None, f"{HELPERS_ID} failed on the handout with {error}:\n{text}"


@pytest.mark.parametrize("component", COMPONENT_IDS)
def test_self_check_fails_on_stub(handout_outcomes, component):
    """Does the self-check fail with the stub's NotImplementedError (not another error)?"""
    error, text = handout_outcomes[f"check_{component}"]
    assert error == "NotImplementedError", f"check_{component} on the handout: {error} {text}"
