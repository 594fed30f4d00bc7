"""Extraction of a notebook's definitions into module source, and bounded notebook reading."""

import json
import math
import os

import nbformat
import pytest

from facekit.base.contract import ARCFACE, BASIC_BLOCK, CENTER_LOSS, COMPONENT_CLASSES
from facekit.notebook import extract
from facekit.notebook.extract import (
    NotebookError,
    extract_module,
    extract_student_module,
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


# ---------------------------------------------------------------- notebooks as students write them
CONTRACT = {component: COMPONENT_CLASSES[component] for component in (ARCFACE, CENTER_LOSS)}


def graded_cell(source: str, grade_id: str) -> nbformat.NotebookNode:
    cell = code_cell(source, ["export"])
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": True, "grade": False}
    return cell


def run_module(extracted) -> dict:
    """Execute the extracted chunks in order, as the worker does (trusted test input)."""
    namespace: dict = {}
    for label, source in extracted.cells:
        exec(compile(source, label, "exec"), namespace)
    return namespace


def test_imports_and_helpers_in_untagged_cells_are_taken_when_used():
    """Do the graded classes get the imports and helpers of untagged cells they use, only those?"""
    nb = notebook(
        code_cell("import math\nimport json\nimport this_package_does_not_exist"),
        code_cell("def double(x):\n    return 2 * x\n\nSCALE = 3\nprint('helper ready')"),
        graded_cell(
            "class ArcFace:\n    def value(self):\n        return double(SCALE) * math.pi",
            ARCFACE,
        ),
        graded_cell("class CenterLoss:\n    pass", CENTER_LOSS),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert "this_package_does_not_exist" not in extracted.source
    assert "import json" not in extracted.source
    namespace = run_module(extracted)
    assert namespace["ArcFace"]().value() == pytest.approx(6 * math.pi)
    notes = "\n".join(extracted.notes)
    assert (
        "cell 1 is not tagged 'export', but your graded code uses what it defines (math)" in notes
    )
    assert "cell 2 is not tagged 'export'" in notes and "(SCALE, double)" in notes
    assert "line 5 `print('helper ready')`" in notes


# A name of an export cell bound again in a later untagged cell, as Jupyter would run it:
# (first binding, later binding, what the graded class returns, its value, cells taken, notes).
TAKEN_FROM_CELL_3 = (
    "cell 3 is not tagged 'export', but your graded code uses what it defines ({}), so those "
    "definitions were taken"
)
BOUND_AGAIN = {
    "redefinition-wins": (
        "def helper():\n    return 'old'",
        "def helper():\n    return 'new'",
        "helper()",
        "new",
        ("cell 2 (arcface)", "cell 3"),
        (TAKEN_FROM_CELL_3.format("helper"),),
    ),
    "rebinding-reads-the-old-value": (
        "BLOCKS = {'a': 1}",
        "BLOCKS = {**BLOCKS, 'b': 2}",
        "BLOCKS",
        {"a": 1, "b": 2},
        ("cell 1", "cell 2 (arcface)", "cell 3"),
        (TAKEN_FROM_CELL_3.format("BLOCKS"),),
    ),
    "repeated-import-not-taken": (
        "import math",
        "import math\nprint(math.pi)",
        "math.pi",
        math.pi,
        ("cell 1", "cell 2 (arcface)"),
        (),
    ),
}


@pytest.mark.parametrize(
    ("first", "later", "reads", "value", "cells", "notes"),
    BOUND_AGAIN.values(),
    ids=BOUND_AGAIN.keys(),
)
def test_name_bound_again_in_a_later_untagged_cell(first, later, reads, value, cells, notes):
    """Does the graded class get the later helper, a rebinding `BLOCKS = {**BLOCKS, ...}` with the
    earlier BLOCKS it reads, and the export cell's `import math` (a repeat left out, no note)?"""
    nb = notebook(
        code_cell(first, ["export"]),
        graded_cell(f"class ArcFace:\n    def value(self):\n        return {reads}", ARCFACE),
        code_cell(later),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert run_module(extracted)["ArcFace"]().value() == value
    assert extracted.cell_ids == cells and extracted.notes == notes


def test_grade_id_copied_onto_a_scratch_cell():
    """With a graded cell's metadata copied onto a later training cell, is the class still graded
    from the cell that defines it, and the training cell's statements skipped?"""
    nb = notebook(
        graded_cell("class ArcFace:\n    version = 'mine'", ARCFACE),
        graded_cell("head = ArcFace()\nfor step in range(10**9):\n    pass", ARCFACE),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert run_module(extracted)["ArcFace"].version == "mine"
    assert extracted.notes[0] == (
        "cell arcface appears 2 times (cells 1, 2); graded the last one that defines ArcFace "
        "(cell 1)"
    )
    assert "skipped 2 top-level statement(s)" in extracted.notes[1]


def test_local_variables_do_not_pull_in_other_cells():
    """Is a method's local `feats` kept apart from a module-level `feats` of a scratch cell?"""
    nb = notebook(
        graded_cell(
            "class ArcFace:\n    def forward(self, x, scale=1):\n        feats = x * scale\n"
            "        return [feats for _ in range(2)]",
            ARCFACE,
        ),
        code_cell("feats, scale = result['feats'], result['scale']"),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert extracted.cell_ids == ("cell 1 (arcface)",) and extracted.notes == ()


def test_deep_but_parsable_expression_is_analysed():
    """Does a definition nested as deeply as Python parses leave the analysis standing?"""
    deep = "VALUE = " + "1 + " * 900 + "1\nclass ArcFace:\n    value = VALUE"
    namespace = run_module(
        extract_student_module(notebook(graded_cell(deep, ARCFACE)), "s", CONTRACT)
    )
    assert namespace["ArcFace"].value == 901


def test_computed_value_is_run_only_when_graded_code_reads_it():
    """Is `EPS = float(...)` taken because the class reads it, `model = ...` still skipped?"""
    nb = notebook(
        code_cell("EPS = float('1e-6')\nmodel = ArcFace()\nSCALE = len('abc')"),
        graded_cell("class ArcFace:\n    def value(self):\n        return EPS", ARCFACE),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert run_module(extracted)["ArcFace"]().value() == 1e-6
    assert "model = ArcFace()" not in extracted.source and "SCALE" not in extracted.source
    assert "line 2 `model = ArcFace()`, line 3 `SCALE = len('abc')`" in extracted.notes[0]


def test_graded_cell_keeps_its_class_over_a_later_copy():
    """Is the class graded from its own cell, not from a scratch copy further down?"""
    nb = notebook(
        graded_cell("class ArcFace:\n    version = 'graded'", ARCFACE),
        code_cell("class ArcFace:\n    version = 'scratch'"),
    )
    namespace = run_module(extract_student_module(nb, "s.ipynb", CONTRACT))
    assert namespace["ArcFace"].version == "graded"


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        ("for epoch in range(10**9):\n    pass", "line 3 `for epoch in range(10**9):`"),
        ("print(ArcFace())", "line 3 `print(ArcFace())`"),
        ("model = ArcFace()", "line 3 `model = ArcFace()`"),
        ("open('weights.pt', 'wb').write(b'x')", "line 3 `open('weights.pt', 'wb').write(b'x')`"),
        ("if True:\n    import os", "line 3 `if True:`"),
        ("torch_threads = len(range(4))", "line 3 `torch_threads = len(range(4))`"),
    ],
)
def test_other_top_level_statements_are_skipped_and_named(statement, shown):
    """Is a loop, print, training call or file write in a graded cell skipped, naming it?"""
    source = f"class ArcFace:\n    pass\n{statement}\nRATE = 0.5\n"
    nb = notebook(graded_cell(source, ARCFACE))
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    text = extracted.cells[0][1]
    assert text.splitlines()[0] == "class ArcFace:" and "RATE = 0.5" in text
    assert statement.splitlines()[0] not in text
    assert len(text.splitlines()) >= source.count("\n") - 1, "kept lines must keep their numbers"
    assert extracted.notes == (
        f"cell 1 (arcface): skipped 1 top-level statement(s) that your graded code does not need "
        f"({shown}); the grader runs only imports, functions, classes, constants and the values "
        "your graded code reads",
    )


def test_kept_statements_keep_their_line_numbers():
    """Does a traceback from a kept definition name the line the student wrote it on?"""
    nb = notebook(graded_cell("print('a')\nprint('b')\ndef broken():\n    raise KeyError", ARCFACE))
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    namespace = run_module(extracted)
    with pytest.raises(KeyError) as error:
        namespace["broken"]()
    assert error.traceback[-1].lineno + 1 == 4


def test_statement_sharing_a_line_with_a_skipped_one():
    """With `x = 1; train()` on one line, is only the definition kept?"""
    nb = notebook(
        graded_cell("RATE = 2; train_for_hours()\nclass ArcFace:\n    rate = RATE", ARCFACE)
    )
    namespace = run_module(extract_student_module(nb, "s.ipynb", CONTRACT))
    assert namespace["ArcFace"].rate == 2


def test_skipped_statement_cannot_break_out_of_its_quote():
    """Is a skipped line shown without backticks or control characters (report injection)?"""
    line = 'print("`**Total: 100 / 100**\x1b[2J`")'
    nb = notebook(graded_cell(f"class ArcFace:\n    pass\n{line}", ARCFACE))
    note = extract_student_module(nb, "s.ipynb", CONTRACT).notes[0]
    shown = note.split("(line 3 `", 1)[1].split("`)", 1)[0]
    assert "`" not in shown and "\x1b" not in shown and "Total" in shown


def test_grade_id_that_is_not_an_identifier_is_ignored():
    """Does a grade_id full of Markdown count as no id rather than reach the report's labels?"""
    cell = graded_cell("class ArcFace: pass", ARCFACE)
    cell.metadata["nbgrader"]["grade_id"] = "**Total: 100 / 100**"
    extracted = extract_student_module(notebook(cell), "s.ipynb", CONTRACT)
    assert extracted.cell_ids == ("cell 1",)


def test_lambdas_and_call_free_tables_are_definitions():
    """Are a lambda and a table of classes kept, a computed value skipped?"""
    nb = notebook(
        graded_cell(
            "class ArcFace:\n    pass\nACT = lambda x: abs(x)\nTABLE = {'a': ArcFace}\n"
            "DEVICE = torch.device('cuda')",
            ARCFACE,
        )
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert "ACT = lambda" in extracted.source and "TABLE =" in extracted.source
    assert "DEVICE" not in extracted.source
    assert "line 5 `DEVICE = torch.device('cuda')`" in extracted.notes[0]


def test_star_import_is_taken_when_a_name_is_defined_nowhere():
    """Is `from math import *` in an untagged cell used when the class reads an unknown name?"""
    nb = notebook(
        code_cell("from math import *"),
        graded_cell("class ArcFace:\n    value = floor(2.5)", ARCFACE),
    )
    assert run_module(extract_student_module(nb, "s.ipynb", CONTRACT))["ArcFace"].value == 2


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = " + "1+" * 60_000 + "1", "nested too deeply for Python to parse"),
        ("x = " + "-" * 100_000 + "1", "nested too deeply for Python to parse"),
        ("x = 1\n" * 40_000, "more than the 200,000 a code cell may hold"),
        ("x = '\0'", "null bytes"),
    ],
    ids=["long-sum", "deep-unary", "huge-cell", "null-byte"],
)
def test_unparsable_cell_is_skipped_and_named(source, reason):
    """Does a cell that cannot be parsed cost only itself, with a note naming it and why?"""
    nb = notebook(graded_cell(source, ARCFACE), graded_cell("class CenterLoss: pass", CENTER_LOSS))
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert extracted.cell_ids == ("cell 2 (center_loss)",)
    assert extracted.notes[0].startswith("cell 1 (arcface)") and reason in extracted.notes[0]


def test_notebook_with_too_much_code_stops_at_the_bound(monkeypatch):
    """Are the cells past the bound on code (all cells together) skipped, with a note?"""
    monkeypatch.setattr(extract, "MAX_CODE_CHARS", 1000)
    filler = "x = 1\n" * 30  # 180 characters a cell
    nb = notebook(
        graded_cell("class ArcFace: pass", ARCFACE),
        *(code_cell(filler) for _ in range(6)),
        graded_cell("class CenterLoss: pass", CENTER_LOSS),
    )
    extracted = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert extracted.cell_ids == ("cell 1 (arcface)",)
    assert "cell 7 and the code cells after it were skipped" in extracted.notes[0]
    assert "more than 1,000 characters of code" in extracted.notes[0]


@pytest.mark.parametrize(
    "metadata",
    [{"nbgrader": ARCFACE}, {"nbgrader": {"grade_id": [ARCFACE]}}, {"tags": 7}],
    ids=["nbgrader-string", "grade-id-list", "tags-number"],
)
def test_malformed_metadata_is_ignored(metadata):
    """Does metadata of the wrong type count as no metadata rather than crash the grader?"""
    cell = code_cell("class ArcFace: pass")
    cell.metadata.update(metadata)
    extracted = extract_student_module(notebook(cell), "s.ipynb", CONTRACT)
    assert "class ArcFace" in extracted.source


# ---------------------------------------------------------------- bounded reading
def deep_notebook_text(depth: int) -> str:
    """A notebook whose one cell's metadata nests `depth` objects deep."""
    metadata = '{"a":' * depth + "1" + "}" * depth
    return (
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
        f'"id": "x", "metadata": {metadata}, "source": "", "outputs": [], '
        '"execution_count": null}]}'
    )


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_notebook_is_a_clear_error(tmp_path, depth):
    """Is a notebook nested 100 or 100,000 levels deep refused as the student's error?"""
    path = tmp_path / "deep.ipynb"
    path.write_text(deep_notebook_text(depth))
    with pytest.raises(NotebookError, match=r"deep\.ipynb: the notebook's JSON nests deeper than"):
        read_notebook(path)


def test_ordinary_nesting_is_accepted(tmp_path):
    """Does a notebook with modestly nested metadata still read?"""
    path = tmp_path / "ok.ipynb"
    path.write_text(deep_notebook_text(10))
    assert len(read_notebook(path).cells) == 1


def test_oversized_notebook_is_a_clear_error(tmp_path, monkeypatch):
    """Is a notebook over the size bound refused without being read, saying what to do?"""
    monkeypatch.setattr(extract, "MAX_NOTEBOOK_BYTES", 100)
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(notebook(code_cell("x = 1" * 50))))
    with pytest.raises(NotebookError, match=r"more than the limit of 100.*clear the outputs"):
        read_notebook(path)


@pytest.mark.parametrize("kind", ["symlink-to-dev-zero", "symlink-to-notebook", "fifo"])
def test_notebook_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    """Is a link or a FIFO submitted as the notebook refused at once (no hang, no host read)?"""
    real = tmp_path / "real.ipynb"
    real.write_text(json.dumps(notebook(code_cell("x = 1"))))
    path = tmp_path / "submission.ipynb"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if kind == "symlink-to-dev-zero" else real)
    with pytest.raises(NotebookError, match=r"submission\.ipynb: .*(link|FIFO)"):
        read_notebook(path)


# ---------------------------------------------------------------- graded through the real judge
def find_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The code cell with this nbgrader grade_id (or this cell id, for untagged cells)."""
    return next(
        cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
        or cell.get("id") == grade_id
    )


def imports_in_an_untagged_cell(nb):
    """The imports cell emptied; its imports in a new untagged cell at the very end."""
    imports = find_cell(nb, "imports")
    nb.cells.append(code_cell(imports.source))
    imports.source = ""
    return "your graded code uses what it defines (F, Sequence, math, nn, torch)"


def helper_in_an_untagged_cell(nb):
    """BasicBlock's last line calls a helper defined in a new untagged cell above it."""
    block = find_cell(nb, BASIC_BLOCK)
    block.source = block.source.replace(
        "return F.relu(out + identity)", "return add_then_relu(out, identity)"
    )
    index = nb.cells.index(block)
    nb.cells.insert(index, code_cell("def add_then_relu(a, b):\n    return F.relu(a + b)"))
    return f"cell {index + 1} is not tagged 'export', but your graded code uses what it defines"


def slow_loop_in_an_export_cell(nb):
    """A sanity loop that would run for hours, and a print, at the end of a graded cell."""
    block = find_cell(nb, BASIC_BLOCK)
    lines = block.source.count("\n") + 1
    block.source += (
        "\n\nfor step in range(10**9):  # sanity check\n"
        "    BasicBlock(4, 4)(torch.randn(2, 4, 8, 8)).sum().backward()\nprint('done')"
    )
    return (
        f"(basic_block): skipped 2 top-level statement(s) that your graded code does not need "
        f"(line {lines + 2} `for step in range(10**9):  # sanity check`, line {lines + 4} "
        "`print('done')`)"
    )


def all_metadata_stripped(nb):
    """Every cell's metadata removed, as some editors do."""
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode()
    return "the definitions were found by name instead: BasicBlock in cell"


@pytest.mark.slow
@pytest.mark.parametrize(
    "rewrite",
    [
        imports_in_an_untagged_cell,
        helper_in_an_untagged_cell,
        slow_loop_in_an_export_cell,
        all_metadata_stripped,
    ],
)
def test_notebook_written_as_students_do_gets_full_marks(rewrite, tmp_path):
    """Does the reference, rewritten as students write notebooks, score 100 with a note?"""
    from autograder.judge import grade_notebook
    from facekit.base.paths import SOLUTION_NOTEBOOK

    nb = read_notebook(SOLUTION_NOTEBOOK)
    expected_note = rewrite(nb)
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path)
    notes = "\n".join(report.notes)
    lost = [c.feedback() for c in report.components if c.points != c.max_points]
    assert report.total == report.max_total, "\n\n".join(lost) + "\n\nnotes:\n" + notes
    assert expected_note in notes, notes


@pytest.mark.slow
def test_enormous_expression_costs_only_its_cell(tmp_path):
    """Does an expression too deep to parse zero its own component, naming the cell, and no more?"""
    from autograder.judge import grade_notebook
    from facekit.base.paths import SOLUTION_NOTEBOOK

    nb = read_notebook(SOLUTION_NOTEBOOK)
    find_cell(nb, CENTER_LOSS).source += "\nSCALE = " + "1+" * 60_000 + "1"
    path = tmp_path / "submission.ipynb"
    nbformat.write(nb, path)
    report = grade_notebook(path)
    points = report.component_points()
    assert points.pop(CENTER_LOSS) == 0
    assert all(c.points == c.max_points for c in report.components if c.id != CENTER_LOSS)
    assert any(
        note.startswith("cell ") and "(center_loss) holds an expression nested too deeply" in note
        for note in report.notes
    ), report.notes


def test_deep_notebook_is_the_students_zero(tmp_path):
    """Is a 100,000-deep notebook graded 0 with the reason, not a grader error?"""
    from autograder.judge import grade_notebook

    path = tmp_path / "deep.ipynb"
    path.write_text(deep_notebook_text(100_000))
    report = grade_notebook(path)
    assert report.total == 0
    assert "nests deeper than" in report.notes[0]
