"""Join the judge's gradebook with the leaderboard's private scores into one LMS-ready CSV.

Inputs (column names in `formats`): the gradebook `student,<component>...,total` and the
leaderboard export `student,task,public,private`. Leaderboard points use the PRIVATE score (the
public one is visible during the competition and can be overfitted). A student missing from one
side gets 0 points there and a warning.
"""

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from autograder.scoring.course_config import CourseConfig
from autograder.scoring.csv_reader import CsvRows, read_text
from autograder.scoring.errors import GradesInputError, ProblemList
from autograder.scoring.formats import (
    GRADEBOOK_STUDENT_COLUMN,
    GRADEBOOK_TOTAL_COLUMN,
    LEADERBOARD_EXPORT_COLUMNS,
    TASKS,
    grades_columns,
)

_TOLERANCE = 1e-6  # points are decimals written by another program: allow float noise
_TOTAL_TOLERANCE = 0.01  # per component: a total of components rounded to 2 decimals


@dataclass(frozen=True)
class StudentGrade:
    """One output row. `scores[task]` is the private score, None without a submission.

    `components` is None when the judge could not grade the notebook (an empty gradebook row):
    the notebook and overall totals are then left empty, never a zero that looks like a grade.
    """

    student: str
    components: dict[str, float] | None
    scores: dict[str, float | None]
    points: dict[str, float]

    @property
    def notebook_total(self) -> float | None:
        if self.components is None:
            return None
        return round(sum(self.components.values()), 2)

    @property
    def total(self) -> float | None:
        if self.notebook_total is None:
            return None
        return round(self.notebook_total + sum(self.points.values()), 2)


def _number(text: str, problems: ProblemList, line: int, column: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.add(line, column, f"expected a number, found {text!r}")
        return None
    if not math.isfinite(value):
        problems.add(line, column, f"expected a finite number, found {text!r}")
        return None
    return value


def _raise_if_any(problems: ProblemList, what: str) -> None:
    if problems:
        raise GradesInputError(f"the {what} is invalid:\n{problems}")


def read_gradebook(path: Path, config: CourseConfig) -> dict[str, dict[str, float] | None]:
    """`{student: {component: points}}` from the judge's gradebook, checked against `config`.

    A row whose cells are all empty (the judge could not grade that notebook) maps to None.
    """
    problems = ProblemList(str(path))
    text = read_text(Path(path), problems)
    _raise_if_any(problems, "gradebook")
    rows = CsvRows(text, None, problems)
    records = list(rows)  # a class of students: small
    if not rows.header:
        problems.add(None, None, "no header row")
    else:
        _check_gradebook_header(rows.header, config, problems)
    _raise_if_any(problems, "gradebook")
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
            value = _number(record[component], problems, line, component)
            if value is not None and not -_TOLERANCE <= value <= maximum + _TOLERANCE:
                problems.add(line, component, f"expected 0 to {maximum:g} points, found {value:g}")
            points[component] = value or 0.0
        total = _number(record[GRADEBOOK_TOTAL_COLUMN], problems, line, GRADEBOOK_TOTAL_COLUMN)
        if total is not None and abs(total - sum(points.values())) > _TOTAL_TOLERANCE * len(points):
            problems.add(
                line,
                GRADEBOOK_TOTAL_COLUMN,
                f"expected the sum of the components ({sum(points.values()):g}), found {total:g}",
            )
        gradebook[student] = points
    _raise_if_any(problems, "gradebook")
    return gradebook


def _check_gradebook_header(
    header: tuple[str, ...], config: CourseConfig, problems: ProblemList
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
    _raise_if_any(problems, "leaderboard export")
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
        scores[key] = _number(private, problems, line, "private") if private else None
    _raise_if_any(problems, "leaderboard export")
    return scores


def compute_grades(
    config: CourseConfig,
    gradebook: dict[str, dict[str, float] | None],
    leaderboard: dict[tuple[str, str], float | None],
) -> tuple[list[StudentGrade], list[str]]:
    """One StudentGrade per student on either side, sorted by student; plus warning lines."""
    warnings = []
    students = sorted(set(gradebook) | {student for student, _task in leaderboard})
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
        scores = {task: leaderboard.get((student, task)) for task in TASKS}
        for task, score in scores.items():
            if score is None:
                warnings.append(f"{student!r} has no {task} leaderboard score: 0 points")
        points = {
            task: round(config.leaderboard[task].points_for(score), 2)
            for task, score in scores.items()
        }
        grades.append(StudentGrade(student, components, scores, points))
    return grades, warnings


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def grades_csv(grades: list[StudentGrade], config: CourseConfig) -> str:
    """The grades CSV text (columns: `formats.grades_columns`), numbers in fixed formats."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(grades_columns(config.component_names))
    for grade in grades:
        task_columns = []
        for task in TASKS:
            score = grade.scores[task]
            task_columns += ["" if score is None else f"{score:.6f}", _points(grade.points[task])]
        components = grade.components or {}
        writer.writerow(
            [
                grade.student,
                *(_points(components.get(name)) for name in config.component_names),
                _points(grade.notebook_total),
                *task_columns,
                _points(grade.total),
            ]
        )
    return buffer.getvalue()
