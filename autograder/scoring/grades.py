"""Join the judge's gradebook, the leaderboard's private scores, manual points and overrides.

Inputs (column names in `formats` and `grade_inputs`): the gradebook `student,<component>...,
total`, the leaderboard export `student,task,public,private`, optionally a roster, manual points
and overrides. Leaderboard points use the PRIVATE score (the public one is visible during the
competition and can be overfitted). A student missing from one side gets 0 points there and a
warning. Overrides are applied last and carried into the output.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.scoring.course_config import GradesConfig
from autograder.scoring.grade_inputs import (
    Override,
    RosterEntry,
    number_cell,
    raise_if_any,
)
from facekit.base.contract import (
    GRADEBOOK_STUDENT_COLUMN,
    GRADEBOOK_TOTAL_COLUMN,
    LEADERBOARD_EXPORT_COLUMNS,
    TASKS,
)
from facekit.base.csv_reader import CsvRows, read_text
from facekit.base.errors import ProblemList

_TOLERANCE = 1e-6  # points are decimals written by another program: allow float noise
_TOTAL_TOLERANCE = 0.01  # per component: a total of components rounded to 2 decimals


@dataclass(frozen=True)
class StudentGrade:
    """One output row. `scores[task]` is the private score, None without a submission.

    `components` is None when the judge could not grade the notebook (an empty gradebook row):
    the notebook and overall totals are then left empty, never a zero that looks like a grade.
    `manual` holds the manual components' points, `points` each task's leaderboard points,
    `overrides` the overrides applied (already reflected in the points), `roster` the student's
    roster entry when a roster was given.
    """

    student: str
    components: dict[str, float] | None
    scores: dict[str, float | None]
    points: dict[str, float]
    manual: dict[str, float] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    roster: RosterEntry | None = None

    @property
    def notebook_total(self) -> float | None:
        if self.components is None:
            return None
        return round(sum(self.components.values()), 2)

    @property
    def total(self) -> float | None:
        if self.notebook_total is None:
            return None
        extra = sum(self.points.values()) + sum(self.manual.values())
        return round(self.notebook_total + extra, 2)


def read_gradebook(path: Path, config: GradesConfig) -> dict[str, dict[str, float] | None]:
    """`{student: {component: points}}` from the judge's gradebook, checked against `config`.

    A row whose cells are all empty (the judge could not grade that notebook) maps to None.
    """
    problems = ProblemList(str(path))
    text = read_text(Path(path), problems)
    raise_if_any(problems, "gradebook")
    rows = CsvRows(text, None, problems)
    records = list(rows)  # a class of students: small
    if not rows.header:
        problems.add(None, None, "no header row")
    else:
        _check_gradebook_header(rows.header, config, problems)
    raise_if_any(problems, "gradebook")
    gradebook: dict[str, dict[str, float] | None] = {}
    first_line: dict[str, int] = {}
    for line, fields in records:
        record = dict(zip(rows.header, fields, strict=True))
        student = record[GRADEBOOK_STUDENT_COLUMN]
        if not student:
            problems.add(line, GRADEBOOK_STUDENT_COLUMN, "empty student")
            continue
        if student in first_line:
            problems.add(
                line,
                GRADEBOOK_STUDENT_COLUMN,
                f"duplicate student {student!r} (first on line {first_line[student]})",
            )
            continue
        first_line[student] = line
        if not any(record[name] for name in rows.header[1:]):
            gradebook[student] = None  # the judge's mark for a grader error: no grade yet
            continue
        points = {}
        for component, maximum in config.components.items():
            value = number_cell(record[component], problems, line, component)
            if value is not None and not -_TOLERANCE <= value <= maximum + _TOLERANCE:
                problems.add(line, component, f"expected 0 to {maximum:g} points, found {value:g}")
            points[component] = value or 0.0
        total = number_cell(record[GRADEBOOK_TOTAL_COLUMN], problems, line, GRADEBOOK_TOTAL_COLUMN)
        if total is not None and abs(total - sum(points.values())) > _TOTAL_TOLERANCE * len(points):
            problems.add(
                line,
                GRADEBOOK_TOTAL_COLUMN,
                f"expected the sum of the components ({sum(points.values()):g}), found {total:g}",
            )
        gradebook[student] = points
    raise_if_any(problems, "gradebook")
    return gradebook


def _check_gradebook_header(
    header: tuple[str, ...], config: GradesConfig, problems: ProblemList
) -> None:
    if header[:1] != (GRADEBOOK_STUDENT_COLUMN,) or header[-1:] != (GRADEBOOK_TOTAL_COLUMN,):
        problems.add(
            1,
            None,
            f"expected the header to start with {GRADEBOOK_STUDENT_COLUMN!r} and end with "
            f"{GRADEBOOK_TOTAL_COLUMN!r}, found {','.join(header)!r}",
        )
        return
    components = header[1:-1]
    for name in components:
        if name not in config.components:
            problems.add(1, name, "not a component of the course config")
    for name in config.components:
        if name not in components:
            problems.add(1, None, f"missing column {name!r} (a component of the course config)")


def read_leaderboard_export(path: Path) -> dict[tuple[str, str], float | None]:
    """`{(student, task): private score or None}` from the leaderboard export."""
    problems = ProblemList(str(path))
    text = read_text(Path(path), problems)
    raise_if_any(problems, "leaderboard export")
    scores: dict[tuple[str, str], float | None] = {}
    first_line: dict[tuple[str, str], int] = {}
    for line, (student, task, _public, private) in CsvRows(
        text, LEADERBOARD_EXPORT_COLUMNS, problems
    ):
        if not student:
            problems.add(line, "student", "empty student")
        if task not in TASKS:
            problems.add(line, "task", f"expected one of {', '.join(TASKS)}, found {task!r}")
        key = (student, task)
        if key in first_line:
            problems.add(
                line,
                "task",
                f"duplicate row for {student!r} and {task!r} (first on line {first_line[key]})",
            )
            continue
        first_line[key] = line
        scores[key] = number_cell(private, problems, line, "private") if private else None
    raise_if_any(problems, "leaderboard export")
    return scores


def compute_grades(
    config: GradesConfig,
    gradebook: dict[str, dict[str, float] | None],
    leaderboard: dict[tuple[str, str], float | None],
    *,
    roster: list[RosterEntry] | None = None,
    manual: dict[str, dict[str, float]] | None = None,
    overrides: tuple[Override, ...] = (),
) -> tuple[list[StudentGrade], list[str]]:
    """One StudentGrade per student, sorted by student; plus warning lines.

    Students are the roster's when one is given (leaderboard rows are matched by the roster's
    `leaderboard_name`; gradebook and leaderboard names outside the roster are left out with a
    warning), else everyone in the gradebook or the leaderboard export. `manual` and
    `overrides` must name known students (their readers check it). Raises GradesInputError for
    an override of a notebook component whose notebook was not graded.
    """
    warnings = []
    manual = manual or {}
    entries = {entry.student: entry for entry in roster or ()}
    if roster is None:
        board_names = {student: student for student, _task in leaderboard}
        students = sorted(set(gradebook) | set(board_names))
    else:
        board_names = {entry.leaderboard_name: entry.student for entry in roster}
        students = sorted(entries)
        for name in sorted(set(gradebook) - set(entries)):
            warnings.append(f"{name!r} is in the gradebook but not in the roster: left out")
        for name in sorted({name for name, _task in leaderboard} - set(board_names)):
            warnings.append(f"leaderboard name {name!r} is not in the roster: left out")
    scores_by_student: dict[str, dict[str, float | None]] = defaultdict(dict)
    for (name, task), score in leaderboard.items():
        if name in board_names:
            scores_by_student[board_names[name]][task] = score
    by_student: dict[str, list[Override]] = defaultdict(list)
    for override in overrides:
        by_student[override.student].append(override)

    grades = []
    for student in students:
        if student not in gradebook:
            warnings.append(f"{student!r} is not in the gradebook: 0 notebook points")
        elif gradebook[student] is None:
            warnings.append(
                f"{student!r} has an empty gradebook row (the notebook was not graded): "
                "notebook and total left empty"
            )
        components = gradebook.get(student, dict.fromkeys(config.components, 0.0))
        scores = {task: scores_by_student.get(student, {}).get(task) for task in TASKS}
        for task, score in scores.items():
            if score is None:
                warnings.append(f"{student!r} has no {task} leaderboard score: 0 points")
        if config.manual and student not in manual:
            warnings.append(f"{student!r} has no manual points: 0 for {', '.join(config.manual)}")
        grade = StudentGrade(
            student,
            components,
            scores,
            {task: round(config.leaderboard[task].points_for(s), 2) for task, s in scores.items()},
            {name: manual.get(student, {}).get(name, 0.0) for name in config.manual},
            roster=entries.get(student),
        )
        grades.append(_apply_overrides(grade, tuple(by_student.get(student, ()))))
    return grades, warnings


def _apply_overrides(grade: StudentGrade, overrides: tuple[Override, ...]) -> StudentGrade:
    """`grade` with each override's points in place of the computed ones."""
    components = None if grade.components is None else dict(grade.components)
    manual, points = dict(grade.manual), dict(grade.points)
    for override in overrides:
        if override.component in points:
            points[override.component] = override.points
        elif override.component in manual:
            manual[override.component] = override.points
        elif components is None:
            problems = ProblemList(override.file)
            problems.add(
                override.line,
                "component",
                f"the notebook of {override.student!r} was not graded (empty gradebook row): "
                f"grade it again before overriding {override.component!r}",
            )
            raise_if_any(problems, "overrides file")
        else:
            components[override.component] = override.points
    return replace(grade, components=components, manual=manual, points=points, overrides=overrides)
