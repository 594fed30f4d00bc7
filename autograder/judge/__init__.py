"""The autograder's judge: grade a submitted notebook against the reference solution.

`grade_notebook(path, seed=None)` extracts the student's module, draws the cases' weights and
inputs from a fresh grading seed (or the given one, to reproduce a report), runs every rubric case
in one sandboxed worker, compares outputs, gradients and BatchNorm statistics with the reference
in this (trusted) process, and returns a `StudentReport` (Gradescope results.json and a Markdown
report, both recording the seed).
"""

from autograder.judge.judge import grade_notebook
from autograder.judge.report import CaseResult, ComponentResult, StudentReport

__all__ = ["CaseResult", "ComponentResult", "StudentReport", "grade_notebook"]
