"""What an audit needs per student, found in a class folder, and which students to audit.

Layout: `CLASS/<student>/` holding the student's notebook (one `.ipynb`), checkpoint (one `.pt`
or `.pth`) and final leaderboard CSVs (any `.csv`: the task is read from the header). Anything
missing or ambiguous is recorded as the student's problem, never a stop for the class.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facekit.base.errors import SetupError

CHECKPOINT_SUFFIXES = (".pt", ".pth")


class AuditInputError(SetupError):
    """The class folder or the scores file given by staff cannot be used (exit 2)."""


@dataclass(frozen=True)
class StudentFiles:
    """One student's notebook, checkpoint and CSVs, or why they cannot be audited."""

    student: str
    folder: Path
    notebook: Path | None = None
    checkpoint: Path | None = None
    submissions: tuple[Path, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    def files(self) -> list[Path]:
        found = [self.notebook, self.checkpoint, *self.submissions]
        return [path for path in found if path is not None]


def _one(folder: Path, paths: list[Path], what: str, problems: list[str]) -> Path | None:
    if len(paths) == 1:
        return paths[0]
    names = ", ".join(p.name for p in paths) or "none"
    problems.append(f"expected exactly one {what} in {folder.name}/, found {names}")
    return None


def student_files(folder: Path) -> StudentFiles:
    """The files of the student whose folder is `folder` (regular files only, no links)."""
    entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    problems: list[str] = []
    notebook = _one(folder, [p for p in entries if p.suffix == ".ipynb"], "notebook", problems)
    checkpoints = [p for p in entries if p.suffix in CHECKPOINT_SUFFIXES]
    checkpoint = _one(folder, checkpoints, "checkpoint (.pt or .pth)", problems)
    submissions = tuple(p for p in entries if p.suffix == ".csv")
    if not submissions:
        problems.append(f"no submitted CSV in {folder.name}/")
    return StudentFiles(folder.name, folder, notebook, checkpoint, submissions, tuple(problems))


def find_students(class_dir: Path, only: Iterable[str] = ()) -> list[StudentFiles]:
    """Every student folder under `class_dir` (or only those named), sorted by name."""
    if not Path(class_dir).is_dir():
        raise AuditInputError(f"{class_dir}: no such class folder")
    folders = sorted(p for p in Path(class_dir).iterdir() if p.is_dir() and not p.is_symlink())
    wanted = set(only)
    unknown = wanted - {folder.name for folder in folders}
    if unknown:
        raise AuditInputError(f"no folder in {class_dir} for: {', '.join(sorted(unknown))}")
    return [student_files(f) for f in folders if not wanted or f.name in wanted]


def read_scores(path: Path) -> dict[str, float]:
    """student -> final score from a CSV with `student` and `score` columns."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not {"student", "score"} <= set(reader.fieldnames or ()):
                raise AuditInputError(f"{path}: needs the columns student and score")
            scores = {}
            for line, row in enumerate(reader, start=2):
                try:
                    scores[row["student"]] = float(row["score"])
                except (TypeError, ValueError):
                    raise AuditInputError(
                        f"{path}, row {line}: score {row['score']!r} is not a number"
                    ) from None
            return scores
    except OSError as error:
        raise AuditInputError(f"{path}: cannot read ({error.strerror})") from None


def select_students(
    scores: dict[str, float], top: int, cutoffs: Sequence[float], margin: float
) -> list[str]:
    """The `top` best scores, plus every student within `margin` of a grade cut-off."""
    ranked = sorted(scores, key=lambda student: (-scores[student], student))
    near = {s for s in scores for cut in cutoffs if abs(scores[s] - cut) <= margin}
    return sorted(set(ranked[:top]) | near)
