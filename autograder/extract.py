"""Turn a notebook into an importable module that holds only its definition cells.

The source notebook tags every cell that belongs to the module (imports, classes, helper
functions) with the cell tag `export`; training, I/O and self-check cells carry no such tag and are
never extracted. The same code extracts the reference from `solutions/` and a student's module
from a submitted notebook, so both are built the same way.
"""

import ast
import importlib.util
import json
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nbformat

EXPORT_TAG = "export"

# IPython-only lines (`%matplotlib inline`, `!pip install x`) are not Python: keep them visible
# as comments so line numbers in tracebacks still match the cell.
_IPYTHON_LINE = re.compile(r"^(\s*)([%!].*)$")


class NotebookError(Exception):
    """A notebook cannot be read or lacks what the kit needs. The message names file and cell."""


@dataclass(frozen=True)
class ExtractedModule:
    """Python source built from a notebook's export cells, with where each part came from."""

    source: str
    cell_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()
    # (label, python source) per part, in module order: the worker runs a student's cells one
    # by one so that one broken cell only costs what it defines.
    cells: tuple[tuple[str, str], ...] = ()


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook file, turning every way it can be broken into one clear NotebookError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook file") from None
    except UnicodeDecodeError as error:
        message = f"{path}: not UTF-8 text (byte {error.start}); is it a notebook?"
        raise NotebookError(message) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path}: not valid notebook JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg})"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: JSON is not a notebook (expected an object with 'cells')")
    try:
        return nbformat.from_dict(nbformat.reads(text, as_version=4))
    except Exception as error:  # nbformat raises several unrelated types for malformed input
        raise NotebookError(f"{path}: not a valid Jupyter notebook: {error}") from None


def cell_label(index: int, cell: nbformat.NotebookNode) -> str:
    """A human name for a cell: its position, and its nbgrader id where it has one."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")


def is_export_cell(cell: nbformat.NotebookNode) -> bool:
    """Whether a cell is a code cell tagged for the module."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and EXPORT_TAG in tags


def python_source(cell_source: str) -> str:
    """A cell's text with IPython magics and shell escapes commented out."""
    return "\n".join(_IPYTHON_LINE.sub(r"\1# \2", line) for line in cell_source.splitlines())


def extract_module(notebook: nbformat.NotebookNode, name: str = "notebook") -> ExtractedModule:
    """Concatenate the export-tagged code cells of `notebook` into module source.

    `name` (usually the file path) is used in error messages. Raises NotebookError when no cell
    carries the export tag, which is what a notebook looks like after an editor dropped metadata.
    """
    cells = tuple(
        (cell_label(index, cell), python_source(cell.source))
        for index, cell in enumerate(notebook.cells)
        if is_export_cell(cell)
    )
    if not cells:
        raise NotebookError(
            f"{name}: no code cell is tagged '{EXPORT_TAG}', so there are no definitions to "
            "extract. The cells' metadata was probably lost (some editors drop it); copy your "
            "code into a fresh copy of the handout notebook."
        )
    return _module_from_cells(cells)


def _module_from_cells(cells: tuple[tuple[str, str], ...], notes=()) -> ExtractedModule:
    source = "\n".join(f"# ---- {label} ----\n{text}\n" for label, text in cells)
    return ExtractedModule(
        source=source,
        cell_ids=tuple(label for label, _ in cells),
        notes=tuple(notes),
        cells=cells,
    )


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level with def, class or assignment."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def _is_definition(node: ast.stmt) -> bool:
    """Imports, defs, classes and call-free assignments (constant tables): what a module needs,
    never a training loop or a data-loading statement."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
        return True
    if isinstance(node, ast.AsyncFunctionDef):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        return not any(isinstance(child, ast.Call) for child in ast.walk(node.value))
    return False


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    return None


def extract_student_module(
    notebook: nbformat.NotebookNode, name: str, contract: Mapping[str, str]
) -> ExtractedModule:
    """The module of a submitted notebook, robust to what students and editors do to cells.

    `contract` maps each graded cell's nbgrader grade_id to the class it must define. Cells are
    taken when tagged `export` or carrying a graded grade_id; a grade_id that appears more than
    once is graded from its LAST cell. Cells that do not parse are skipped. A contract class that
    no such cell defines (its metadata was lost) is looked up by name in the other code cells,
    taking only their definitions (imports, defs, classes, constant tables), the last one when
    defined twice. Every such decision is recorded in `notes`, for the student's feedback.
    Never raises for content: an empty result just defines nothing.
    """
    notes: list[str] = []
    code = [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    graded_positions: dict[str, list[int]] = {}
    for index, cell in code:
        if _grade_id(cell) in contract:
            graded_positions.setdefault(_grade_id(cell), []).append(index)
    for grade_id, positions in graded_positions.items():
        if len(positions) > 1:
            cells_text = ", ".join(str(position + 1) for position in positions)
            notes.append(
                f"cell {grade_id} appears {len(positions)} times (cells {cells_text}); graded "
                f"the later one (cell {positions[-1] + 1})"
            )
    selected: dict[int, tuple[str, str, ast.Module]] = {}
    others: list[tuple[int, str, ast.Module]] = []
    for index, cell in code:
        grade_id = _grade_id(cell)
        label = cell_label(index, cell)
        text = python_source(cell.source)
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            notes.append(
                f"{label} has a syntax error (line {error.lineno}: {error.msg}) and was skipped"
            )
            continue
        if grade_id in contract and index != graded_positions[grade_id][-1]:
            continue
        if is_export_cell(cell) or grade_id in contract:
            selected[index] = (label, text, tree)
        else:
            others.append((index, label, tree))
    defined = set().union(*(_top_level_names(tree) for _, _, tree in selected.values()))
    missing = [class_name for class_name in contract.values() if class_name not in defined]
    chunks = {index: (label, text) for index, (label, text, _) in selected.items()}
    if missing:
        chunks.update(_definitions_by_name(others, missing, whole=not selected, notes=notes))
    return _module_from_cells(tuple(chunks[index] for index in sorted(chunks)), notes)


def _definitions_by_name(
    others: list[tuple[int, str, ast.Module]], missing: list[str], whole: bool, notes: list[str]
) -> dict[int, tuple[str, str]]:
    """Chunks holding the definitions of `missing` classes found in untagged cells.

    `whole`: no cell has metadata at all, so every cell's definitions (helpers too) are taken.
    """
    last_definition: dict[str, int] = {}
    all_definitions: dict[str, list[int]] = {}
    for index, _, tree in others:
        for node in tree.body:
            if _defined_name(node) in missing:
                last_definition[_defined_name(node)] = index
                all_definitions.setdefault(_defined_name(node), []).append(index)
    for class_name, positions in all_definitions.items():
        if len(set(positions)) > 1:
            cells_text = ", ".join(str(position + 1) for position in sorted(set(positions)))
            notes.append(
                f"{class_name} is defined in cells {cells_text}; graded the later one "
                f"(cell {positions[-1] + 1})"
            )
    wanted_cells = set(last_definition.values())
    chunks = {}
    for index, label, tree in others:
        if not whole and index not in wanted_cells:
            continue
        kept = [
            node
            for node in tree.body
            if _is_definition(node)
            and not (
                _defined_name(node) in last_definition
                and last_definition[_defined_name(node)] != index
            )
        ]
        if kept:
            chunks[index] = (label, "\n\n".join(ast.unparse(node) for node in kept))
    found = ", ".join(f"{name} in cell {index + 1}" for name, index in last_definition.items())
    if whole:
        notes.append(
            "no cell carries the 'export' tag or an nbgrader id (an editor probably dropped the "
            "metadata); the definitions were found by name instead"
            + (f": {found}" if found else ", but none of the graded classes was found")
        )
    elif found:
        notes.append(
            f"found by name, in cells without their export tag or nbgrader id (metadata lost?): "
            f"{found}"
        )
    return chunks


def import_module_from_source(source: str, module_name: str) -> ModuleType:
    """Import trusted `source` as a real module file, registered in sys.modules.

    Only for code the kit trusts (the reference solution). Student code is imported inside the
    sandboxed worker, never in this process. A real file keeps tracebacks and `inspect` working.
    """
    directory = Path(tempfile.mkdtemp(prefix="facekit-module-"))
    path = directory / f"{module_name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
