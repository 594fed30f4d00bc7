"""Fixtures for the reference-solution tests."""

import os
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from nbclient import NotebookClient

from facekit.notebook.reference import load_reference


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """The reference module extracted from solutions/hw2p2_source.ipynb."""
    return load_reference()


@pytest.fixture(scope="session")
def execute_notebook():
    """Run a notebook in a fresh python3 kernel (cwd `path`); return it with outputs.

    With allow_errors, a failing cell records its error and the following cells still run, so
    one kernel serves a whole notebook and each cell's outcome can be inspected afterwards.
    One thread: on a busy CI machine, threads of tiny convolutions spin against each other
    and a one-second self-check takes thirty.
    """

    def execute(notebook: nbformat.NotebookNode, path: Path, allow_errors: bool = False):
        client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=600,
            allow_errors=allow_errors,
            resources={"metadata": {"path": str(path)}},
        )
        return client.execute(env={**os.environ, "OMP_NUM_THREADS": "1"})

    return execute
