"""Does the source notebook follow the conventions of the release, the grader and students?"""

import ast
import inspect

import nbformat
import pytest

from facekit.base import contract
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import extract_module, is_export_cell

# DESIGN.md's contract: component -> {method: "(parameters)"} of its class
# (`contract.COMPONENT_CLASSES`).
CONTRACT = {
    contract.BASIC_BLOCK: {"__init__": "(in_channels, out_channels, stride=1)"},
    contract.BOTTLENECK: {"__init__": "(in_channels, mid_channels, stride=1)"},
    contract.CONVNEXT_BLOCK: {"__init__": "(channels, drop_path=0.0, layer_scale_init=1e-06)"},
    contract.INVERTED_RESIDUAL: {
        "__init__": "(in_channels, out_channels, stride=1, expand_ratio=6)"
    },
    contract.NETWORK: {
        "__init__": "(num_classes, arch='resnet', block=None, depths=None, widths=None, "
        "embedding_dim=512, drop_path=0.0)",
        "forward": "(x)",
    },
    contract.ARCFACE: {
        "__init__": "(in_features, num_classes, s=64.0, m=0.5)",
        "forward": "(embeddings, labels)",
    },
    contract.COSFACE: {
        "__init__": "(in_features, num_classes, s=64.0, m=0.35)",
        "forward": "(embeddings, labels)",
    },
    contract.SPHEREFACE: {
        "__init__": "(in_features, num_classes, m=4)",
        "forward": "(embeddings, labels)",
    },
    contract.TRIPLET_LOSS: {"__init__": "(margin=0.2)", "forward": "(anchor, positive, negative)"},
    contract.BATCH_HARD_TRIPLET_LOSS: {
        "__init__": "(margin=0.2)",
        "forward": "(embeddings, labels)",
    },
    contract.CENTER_LOSS: {"__init__": "(num_classes, feat_dim)", "forward": "(features, labels)"},
}
SOLUTION_METADATA = {"grade": False, "solution": True, "locked": False, "schema_version": 3}
CHECK_METADATA = {"grade": False, "solution": False, "locked": True, "schema_version": 3}


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    """The source notebook."""
    return nbformat.read(SOLUTION_NOTEBOOK, as_version=4)


def grade_id(cell) -> str | None:
    """The cell's nbgrader grade_id, if any."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_notebook_is_clean_nbformat_4(notebook):
    """Valid nbformat 4, Python 3 kernel, unique ids, no outputs committed?"""
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.kernelspec.name == "python3"
    ids = [cell.id for cell in notebook.cells]
    assert len(ids) == len(set(ids)), "cell ids must be unique"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{cell.id} has outputs"


def test_each_component_has_one_solution_cell(notebook):
    """One export cell per component, with exact nbgrader metadata, defining the contract class?"""
    for component in CONTRACT:
        class_name = contract.COMPONENT_CLASSES[component]
        cells = [cell for cell in notebook.cells if grade_id(cell) == component]
        assert len(cells) == 1, f"{component}: {len(cells)} cells"
        cell = cells[0]
        assert cell.metadata.tags == ["export"], f"{component}: tags {cell.metadata.tags}"
        assert cell.metadata.nbgrader == {**SOLUTION_METADATA, "grade_id": component}
        classes = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.ClassDef)]
        assert class_name in classes, f"{component} cell defines {classes}"


def test_each_component_is_followed_by_a_locked_self_check(notebook):
    """Is there a locked, unexported check_<component> cell after each component's cell?"""
    positions = {grade_id(cell): index for index, cell in enumerate(notebook.cells)}
    for component in CONTRACT:
        check = f"check_{component}"
        assert positions.get(check, -1) > positions[component], f"{check} missing or misplaced"
        cell = notebook.cells[positions[check]]
        assert cell.metadata.nbgrader == {**CHECK_METADATA, "grade_id": check}
        assert cell.metadata.tags == ["self-check"]


def test_parameters_cell_is_not_exported(notebook):
    """One `parameters` cell, outside the module, before any definition?"""
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert not is_export_cell(notebook.cells[tagged[0]])
    first_export = next(i for i, cell in enumerate(notebook.cells) if is_export_cell(cell))
    assert tagged[0] < first_export


def test_export_cells_hold_only_definitions(notebook):
    """Do export cells only import and define (nothing runs when the grader imports them)?"""
    allowed = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.Assign)
    for cell in filter(is_export_cell, notebook.cells):
        for node in ast.parse(cell.source).body:
            assert isinstance(node, allowed), f"{cell.id}: line {node.lineno} is not a definition"


def test_solution_markers_sit_at_the_body_indentation(notebook):
    """Does each marker have the indentation of the code it encloses (nbgrader keeps it)?"""
    for cell in notebook.cells:
        lines = cell.source.splitlines()
        for number, line in enumerate(lines):
            if line.strip() == "### BEGIN SOLUTION":
                body = lines[number + 1]
                indent = len(line) - len(line.lstrip())
                assert indent == len(body) - len(body.lstrip()), f"{cell.id}, line {number + 1}"
                assert indent > 0, f"{cell.id}: a module-level solution region breaks the handout"


def signatures_in(source: str, class_name: str) -> dict[str, str]:
    """Method name -> "(parameters)" (without self) of `class_name` in `source`, via the AST."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    result = {}
    for method in node.body:
        if isinstance(method, ast.FunctionDef):
            arguments = method.args
            names = [a.arg for a in arguments.args[1:]]
            defaults = [None] * (len(names) - len(arguments.defaults)) + arguments.defaults
            parts = [
                name if default is None else f"{name}={ast.literal_eval(default)!r}"
                for name, default in zip(names, defaults, strict=True)
            ]
            result[method.name] = f"({', '.join(parts)})"
    return result


@pytest.mark.parametrize("component", CONTRACT)
def test_reference_signatures_follow_the_contract(reference, component):
    """Do the reference's constructors and forwards have DESIGN.md's parameters?"""
    class_name, expected = contract.COMPONENT_CLASSES[component], CONTRACT[component]
    cls = getattr(reference, class_name)
    for method, parameters in expected.items():
        signature = inspect.signature(getattr(cls, method))
        actual = [
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in list(signature.parameters.values())[1:]
        ]
        assert f"({', '.join(actual)})" == parameters, f"{class_name}.{method}"


@pytest.mark.parametrize("component", CONTRACT)
def test_handout_keeps_the_signatures(component):
    """Does the handout show each class with the same method signatures as the reference?"""
    if not HANDOUT_NOTEBOOK.is_file():
        pytest.skip(f"no handout at {HANDOUT_NOTEBOOK} yet (built by `facekit release`)")
    class_name = contract.COMPONENT_CLASSES[component]
    source = extract_module(nbformat.read(SOLUTION_NOTEBOOK, as_version=4)).source
    handout = extract_module(nbformat.read(HANDOUT_NOTEBOOK, as_version=4)).source
    assert signatures_in(handout, class_name) == signatures_in(source, class_name)
