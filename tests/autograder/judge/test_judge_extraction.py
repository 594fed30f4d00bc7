"""Extraction of a student's module from notebooks that editors and students have mangled."""

import nbformat

from facekit.base.contract import ARCFACE, CENTER_LOSS, COMPONENT_CLASSES
from facekit.notebook.extract import extract_student_module

CONTRACT = {component: COMPONENT_CLASSES[component] for component in (ARCFACE, CENTER_LOSS)}


def code(source, grade_id=None, export=True):
    cell = nbformat.v4.new_code_cell(source)
    if export:
        cell.metadata["tags"] = ["export"]
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": True, "grade": False}
    return cell


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_tagged_cells_are_taken_whole_in_order():
    """Are export cells and graded cells taken, and untagged training cells left out?"""
    nb = notebook(
        code("import math"),
        code("class ArcFace: pass", ARCFACE),
        code("train_for_hours()", export=False),
        code("class CenterLoss: pass", CENTER_LOSS),
    )
    module = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert [label for label, _ in module.cells] == [
        "cell 1",
        "cell 2 (arcface)",
        "cell 4 (center_loss)",
    ]
    assert "train_for_hours" not in module.source
    assert module.notes == ()


def test_duplicate_grade_id_grades_the_later_cell():
    """With a graded cell duplicated, is only the later copy kept, and is that said?"""
    nb = notebook(
        code("class ArcFace:\n    version = 1", ARCFACE),
        code("class CenterLoss: pass", CENTER_LOSS),
        code("class ArcFace:\n    version = 2", ARCFACE),
    )
    module = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert "version = 1" not in module.source and "version = 2" in module.source
    assert module.notes == (
        "cell arcface appears 2 times (cells 1, 3); graded the later one (cell 3)",
    )


def test_cell_with_syntax_error_is_skipped_and_named():
    """Does a cell that does not parse get skipped (not sink the module), with its line?"""
    nb = notebook(code("class ArcFace(:\n    pass", ARCFACE), code("class CenterLoss: pass"))
    module = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert "CenterLoss" in module.source
    assert "cell 1 (arcface) has a syntax error (line 1" in module.notes[0]


def test_class_whose_cell_lost_its_metadata_is_found_by_name():
    """Is a contract class in an untagged cell found by name, without the cell's statements?"""
    nb = notebook(
        code("import torch"),
        code("class CenterLoss: pass", CENTER_LOSS),
        code(
            "import math\nRATE = 0.5\nclass ArcFace: pass\nmodel = train(ArcFace())", export=False
        ),
    )
    module = extract_student_module(nb, "s.ipynb", CONTRACT)
    text = module.cells[-1][1]
    assert "class ArcFace" in text and "import math" in text and "RATE = 0.5" in text
    assert "train(" not in text
    assert "ArcFace in cell 3" in module.notes[0]


def test_no_metadata_at_all_takes_every_definition_once():
    """With every tag gone, are definitions found by name (with the helpers they use), a
    twice-defined class taken once?"""
    nb = notebook(
        code("import torch\ndef helper():\n    return 1", export=False),
        code("class ArcFace:\n    version = 1", export=False),
        code("class ArcFace:\n    version = 2\nprint('training')", export=False),
        code("class CenterLoss:\n    value = helper()", export=False),
    )
    module = extract_student_module(nb, "s.ipynb", CONTRACT)
    assert "def helper" in module.source
    assert module.source.count("class ArcFace") == 1 and "version = 2" in module.source
    assert "print(" not in module.source
    notes = " ".join(module.notes)
    assert "ArcFace is defined in cells 2, 3; graded the later one (cell 3)" in notes
    assert "definitions were found by name instead" in notes
