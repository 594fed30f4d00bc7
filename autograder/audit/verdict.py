"""One label per student, from grade-model's report and what the notebook itself uses.

Labels, most serious first (a student gets the first that applies; every flag is listed too):
- "uses library modules": the Network (or a graded block) is built from a ready-made
  implementation (the judge's imports policy), or the notebook loads pretrained weights;
- "could not run": files missing, the notebook or checkpoint unusable, or the Network did not
  build, load its weights or return valid outputs in the sandbox (the reason is kept);
- "over budget": more parameters than the course allows;
- "does not reproduce": a submitted CSV differs from what the checkpoint computes;
- "reproduces".
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from autograder.judge.policy import violations
from facekit.base.contract import COMPONENT_CLASSES
from facekit.notebook.extract import (
    NotebookError,
    extract_student_module,
    python_source,
    read_notebook,
)

USES_LIBRARY = "uses library modules"
COULD_NOT_RUN = "could not run"
OVER_BUDGET = "over budget"
DOES_NOT_REPRODUCE = "does not reproduce"
REPRODUCES = "reproduces"
LABELS = (USES_LIBRARY, COULD_NOT_RUN, OVER_BUDGET, DOES_NOT_REPRODUCE, REPRODUCES)

# Calls that fetch pretrained weights (torchvision, torch.hub, timm, Hugging Face).
_PRETRAINED_CALLS = {"load_state_dict_from_url", "hf_hub_download", "from_pretrained"}


@dataclass
class Verdict:
    """A student's label, every flag that applied, and the reasons a person reads."""

    student: str
    label: str
    flags: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    parameters: int | None = None
    max_parameters: int | None = None

    @classmethod
    def from_flags(cls, student: str, flags: dict[str, list[str]], **numbers) -> Verdict:
        present = [label for label in LABELS if label in flags] or [REPRODUCES]
        reasons = [reason for label in present for reason in flags.get(label, [])]
        return cls(student, present[0], present, reasons, **numbers)


def _asks_for_weights(keyword: ast.keyword) -> bool:
    """`pretrained=True`, or `weights=` naming a weights enum or a string ("DEFAULT"), never
    `weights=tensor` (a sampler's weights)."""
    value = keyword.value
    if keyword.arg == "pretrained":
        return not (isinstance(value, ast.Constant) and value.value in (None, False))
    if keyword.arg != "weights":
        return False
    return "Weights" in ast.unparse(value) or (
        isinstance(value, ast.Constant) and isinstance(value.value, str)
    )


def _pretrained_uses(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if called.rpartition(".")[2] in _PRETRAINED_CALLS or called == "torch.hub.load":
            found.append(f"{called}(...)")
        found += [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords if _asks_for_weights(k)]
    return found


def library_uses(notebook_path) -> list[str]:
    """What in the notebook is library-provided (in the code the judge grades) or pretrained
    (anywhere in it), in words; [] when nothing."""
    try:
        notebook = read_notebook(notebook_path)
    except NotebookError:
        return []  # unreadable: reported as "could not run" by grade-model
    graded = extract_student_module(notebook, str(notebook_path), COMPONENT_CLASSES)
    reasons = [v.message() for v in violations(graded.cells, COMPONENT_CLASSES.values())]
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            continue
        uses = _pretrained_uses(tree)
        reasons += [f"cell {index + 1} loads pretrained weights: {use}" for use in uses]
    return reasons
