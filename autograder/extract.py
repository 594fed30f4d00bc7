"""Turn a notebook into an importable module that holds only its definition cells.

The source notebook tags every cell that belongs to the module (imports, classes, helper
functions) with the cell tag `export`; training, I/O and self-check cells carry no such tag and are
never extracted. The same code extracts the reference from `solutions/` and a student's module
from a submitted notebook, so both are built the same way.
"""

import importlib.util
import json
import re
import sys
import tempfile
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
    parts, cell_ids = [], []
    for index, cell in enumerate(notebook.cells):
        if not is_export_cell(cell):
            continue
        label = cell_label(index, cell)
        parts.append(f"# ---- {label} ----\n{python_source(cell.source)}\n")
        cell_ids.append(label)
    if not parts:
        raise NotebookError(
            f"{name}: no code cell is tagged '{EXPORT_TAG}', so there are no definitions to "
            "extract. The cells' metadata was probably lost (some editors drop it); copy your "
            "code into a fresh copy of the handout notebook."
        )
    return ExtractedModule(source="\n".join(parts), cell_ids=tuple(cell_ids))


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
