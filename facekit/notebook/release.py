"""Build the student handout from the source notebook with real nbgrader.

The source notebook in `solutions/` is the only place solutions are written. Releasing runs
`nbgrader generate_assignment` in a throwaway course directory, which replaces every
`### BEGIN SOLUTION` / `### END SOLUTION` region with a `NotImplementedError` stub, then writes the
result in a canonical form so the committed handout can be compared byte for byte.
"""

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from facekit.base.errors import SetupError
from facekit.base.files import replacing
from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK
from facekit.notebook.extract import NotebookError, cell_label, read_notebook
from facekit.notebook.notebook_format import nbformat

ASSIGNMENT = "hw2p2"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"


class ReleaseError(SetupError):
    """The handout cannot be built; the message says which notebook cell or step is at fault."""


@dataclass(frozen=True)
class ReleaseCheck:
    """Result of comparing the committed handout with a fresh build."""

    in_sync: bool
    diff: str  # unified diff (committed -> fresh), empty when in sync


def check_solution_markers(notebook: nbformat.NotebookNode, name: str) -> None:
    """Fail loudly on unbalanced or misplaced solution markers (nbgrader's own errors are vague)."""
    for index, cell in enumerate(notebook.cells):
        depth = 0
        for line_number, line in enumerate(cell.source.splitlines(), start=1):
            marker = line.strip()
            where = f"{name}, {cell_label(index, cell)}, line {line_number}"
            if marker == BEGIN_SOLUTION:
                if depth:
                    raise ReleaseError(
                        f"{where}: '{BEGIN_SOLUTION}' inside an open solution region"
                    )
                depth = 1
            elif marker == END_SOLUTION:
                if not depth:
                    raise ReleaseError(f"{where}: '{END_SOLUTION}' without a matching begin")
                depth = 0
        if depth:
            raise ReleaseError(
                f"{name}, {cell_label(index, cell)}: '{BEGIN_SOLUTION}' is never closed"
            )
        is_solution_cell = cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)
        if BEGIN_SOLUTION in cell.source and not is_solution_cell:
            raise ReleaseError(
                f"{name}, {cell_label(index, cell)}: has solution markers but is not an nbgrader "
                "solution cell (metadata nbgrader.solution is not true), so nbgrader would "
                "release the solution as is"
            )


def canonical_text(notebook: nbformat.NotebookNode) -> str:
    """The notebook as text in one canonical form: no outputs, sorted keys, trailing newline."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(notebook, version=4) + "\n"


def run_nbgrader(source: Path, course_dir: Path) -> Path:
    """Run `nbgrader generate_assignment` on `source` inside `course_dir`; return the output."""
    assignment_dir = course_dir / "source" / ASSIGNMENT
    assignment_dir.mkdir(parents=True)
    shutil.copyfile(source, assignment_dir / f"{ASSIGNMENT}.ipynb")
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        "generate_assignment",
        ASSIGNMENT,
        f"--CourseDirectory.root={course_dir}",
        "--no-db",
        "--force",
    ]
    # A clean HOME keeps a user's own nbgrader_config.py from changing the handout.
    env = {**os.environ, "HOME": str(course_dir)}
    completed = subprocess.run(
        command, cwd=course_dir, env=env, capture_output=True, text=True, check=False
    )
    released = course_dir / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if completed.returncode != 0 or not released.is_file():
        raise ReleaseError(
            f"nbgrader generate_assignment failed on {source} "
            f"(exit code {completed.returncode}):\n{completed.stderr.strip()}"
        )
    return released


def build_handout(source: Path = SOLUTION_NOTEBOOK) -> str:
    """Build the handout from `source` and return its canonical text. A source notebook that
    cannot be read is the staff's setup (ReleaseError), not a student's input."""
    source = Path(source)
    try:
        notebook = read_notebook(source)
    except NotebookError as error:
        raise ReleaseError(str(error)) from None
    check_solution_markers(notebook, str(source))
    with tempfile.TemporaryDirectory(prefix="facekit-release-") as course_dir:
        released = run_nbgrader(source, Path(course_dir))
        handout = read_notebook(released)
    text = canonical_text(handout)
    if BEGIN_SOLUTION in text or END_SOLUTION in text:
        raise ReleaseError(f"the handout built from {source} still holds a solution marker")
    return text


def write_handout(source: Path = SOLUTION_NOTEBOOK, out: Path = HANDOUT_NOTEBOOK) -> Path:
    """Build the handout and write it to `out` (atomically); return `out`."""
    text = build_handout(source)
    with replacing(Path(out)) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(out)


def check_handout(source: Path = SOLUTION_NOTEBOOK, out: Path = HANDOUT_NOTEBOOK) -> ReleaseCheck:
    """Compare the committed handout at `out` with a fresh build from `source`."""
    fresh = build_handout(source)
    out = Path(out)
    committed = out.read_text(encoding="utf-8") if out.is_file() else ""
    if committed == fresh:
        return ReleaseCheck(in_sync=True, diff="")
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        fresh.splitlines(keepends=True),
        fromfile=f"{out} (committed)",
        tofile=f"{out} (fresh build from {source})",
    )
    return ReleaseCheck(in_sync=False, diff="".join(diff))
