"""Is nbformat imported without its slow optional extra, and does it still read and check
notebooks? (Issue 15: the start-up of `facekit grade`.)"""

import subprocess
import sys

import pytest

from facekit.notebook.notebook_format import nbformat


def test_the_notebook_reader_does_not_import_the_slow_extra():
    """Does importing the kit's notebook reader in a fresh interpreter leave `rfc3987_syntax`
    unimported, and can that module still be imported afterwards?"""
    code = (
        "import sys, importlib.util\n"
        "import facekit.notebook.extract\n"
        "print('rfc3987_syntax' in sys.modules)\n"
        "print(importlib.util.find_spec('rfc3987_syntax') is None or "
        "bool(__import__('rfc3987_syntax')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_nbformat_still_rejects_an_invalid_notebook():
    """Does the nbformat the kit imports still validate against the notebook schema?"""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("x = 1"))
    notebook.cells[0]["execution_count"] = "one"  # the schema wants an integer or null
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(notebook)
