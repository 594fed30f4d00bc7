"""Imports the course's reference solution and passes it off as its own."""

from facekit.notebook.reference import load_reference


def _attack():
    global name, reference
    reference = load_reference()
    for name in dir(reference):
        globals()[name] = getattr(reference, name)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
