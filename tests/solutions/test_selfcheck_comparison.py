"""The handout's self-checks compare tensors with the autograder's own code, word for word."""

import ast
import inspect

import pytest
import torch

from autograder.judge import compare
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import read_notebook

# Definitions the check_helpers cell carries over from autograder/judge/compare.py.
SHARED_DEFINITIONS = ("Mismatch", "_index", "_where", "_nonfinite_counts", "compare_tensors")


def helper_cell_source(notebook_path) -> str:
    cells = read_notebook(notebook_path).cells
    grade_id = "check_helpers"
    return next(
        c.source for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def definitions(source: str) -> dict[str, str]:
    """Top-level definition name -> normalised AST dump (formatting and comments ignored)."""
    return {
        node.name: ast.dump(node)
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }


@pytest.mark.parametrize("notebook_path", [SOLUTION_NOTEBOOK, HANDOUT_NOTEBOOK])
@pytest.mark.parametrize("name", SHARED_DEFINITIONS)
def test_helper_cell_carries_the_judges_comparison(notebook_path, name):
    """Is each shared definition in the notebook identical to the autograder's?"""
    in_notebook = definitions(helper_cell_source(notebook_path))
    in_judge = definitions(inspect.getsource(compare))
    assert name in in_notebook, f"check_helpers in {notebook_path.name} lacks {name}"
    assert in_notebook[name] == in_judge[name], (
        f"{name} in {notebook_path.name} differs from autograder/judge/compare.py: copy it over "
        "into the source notebook's check_helpers cell and run `facekit release`"
    )


def test_self_check_message_matches_the_autograder():
    """Does a failing self-check raise the same description the autograder's feedback gives?"""
    namespace: dict = {}
    exec(helper_cell_source(SOLUTION_NOTEBOOK), namespace)  # our own trusted notebook cell
    got, expected = torch.tensor([1.0, 2.0, 3.5]), torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError) as error:
        namespace["assert_close"]("logits", got, expected, atol=1e-6, rtol=1e-5)
    assert str(error.value) == str(compare.compare_tensors("logits", got, expected, 1e-6, 1e-5))
    assert "first differing element at index (2,)" in str(error.value)
