"""The reference solution as an importable module, extracted from the source notebook.

The notebook in `solutions/` is the only place the reference is written; everything that needs
the reference (oracle tests, the judge, training) imports it through `load_reference`.
"""

import functools
from pathlib import Path
from types import ModuleType

from facekit.base.paths import SOLUTION_NOTEBOOK
from facekit.notebook.extract import extract_module, import_module_from_source, read_notebook

REFERENCE_MODULE_NAME = "facekit_reference"


def reference_source(notebook_path: Path = SOLUTION_NOTEBOOK) -> str:
    """Python source of the reference module (the source notebook's export cells)."""
    return extract_module(read_notebook(notebook_path), name=str(notebook_path)).source


@functools.cache
def load_reference() -> ModuleType:
    """Import the reference module once per process and return it."""
    return import_module_from_source(reference_source(), REFERENCE_MODULE_NAME)
