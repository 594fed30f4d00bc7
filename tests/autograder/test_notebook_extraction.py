"""Extraction of a notebook's export cells into module source."""

import json

import nbformat
import pytest

from autograder.extract import (
    NotebookError,
    extract_module,
    import_module_from_source,
    read_notebook,
)


def code_cell(source: str, tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_only_export_cells_are_extracted():
    """Are training and I/O cells left out while tagged definitions are kept, in order?"""
    nb = notebook(
        code_cell("import math", ["export"]),
        code_cell("train_for_hours()"),
        nbformat.v4.new_markdown_cell("# not code"),
        code_cell("def area(r):\n    return math.pi * r * r", ["export"]),
    )
    extracted = extract_module(nb)
    assert "train_for_hours" not in extracted.source
    assert extracted.source.index("import math") < extracted.source.index("def area")
    assert extracted.cell_ids == ("cell 1", "cell 4")


def test_magics_are_commented_out():
    """Do `%` magics and `!` shell lines become comments instead of syntax errors?"""
    nb = notebook(code_cell("%matplotlib inline\n!pip install x\nVALUE = 3", ["export"]))
    module = import_module_from_source(extract_module(nb).source, "extract_magic_case")
    assert module.VALUE == 3


def test_lost_metadata_is_a_clear_error():
    """Does a notebook whose tags were stripped by an editor say so, naming the file?"""
    nb = notebook(code_cell("class BasicBlock: pass"))
    with pytest.raises(NotebookError, match=r"submission\.ipynb: no code cell is tagged 'export'"):
        extract_module(nb, name="submission.ipynb")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cells": [', "not valid notebook JSON (line 1"),
        ("[1, 2]", "JSON is not a notebook"),
        (b"\xff\xfe{", "not UTF-8 text"),
    ],
)
def test_broken_files_are_clear_errors(tmp_path, content, message):
    """Is each kind of broken file reported with the file name and what is wrong?"""
    path = tmp_path / "broken.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(NotebookError, match="broken.ipynb") as error:
        read_notebook(path)
    assert message in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    """Is a missing notebook reported as such rather than as a traceback?"""
    with pytest.raises(NotebookError, match="no such notebook file"):
        read_notebook(tmp_path / "absent.ipynb")


def test_round_trip_through_a_file(tmp_path):
    """Does a notebook written to disk extract to the same source as in memory?"""
    nb = notebook(code_cell("X = 1", ["export"]))
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert extract_module(read_notebook(path)).source == extract_module(nb).source
