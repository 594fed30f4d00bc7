"""Grades as CSV for people and for LMS imports: generic, Canvas and Gradescope.

Every text cell that came from a person passes through `inert_cell` (no spreadsheet formulas).
`write_grades` updates an existing file row by row: a run in which one student changed leaves
every other row exactly as it was and reports which rows it rewrote.
"""

import csv
import io
from pathlib import Path

from autograder.scoring.course_config import GradesConfig
from autograder.scoring.grades import StudentGrade
from facekit.base.contract import (
    CANVAS_IDENTITY_COLUMNS,
    GRADESCOPE_COLUMNS,
    TASKS,
    grades_columns,
)
from facekit.base.csv_files import csv_text
from facekit.base.files import replacing
from facekit.base.spreadsheet import inert_cell

EXPORT_FORMATS = ("generic", "canvas", "gradescope")
"""Values of `facekit grades --format`; canvas and gradescope need a roster."""


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _overrides_text(grade: StudentGrade) -> str:
    return "; ".join(f"{o.component}={o.points:g} ({o.reason})" for o in grade.overrides)


def _generic_row(grade: StudentGrade, config: GradesConfig) -> list[str]:
    task_columns = []
    for task in TASKS:
        score = grade.scores[task]
        task_columns += ["" if score is None else f"{score:.6f}", _points(grade.points[task])]
    components = grade.components or {}
    return [
        inert_cell(grade.student),
        inert_cell(grade.roster.lms_id if grade.roster else ""),
        *(_points(components.get(name)) for name in config.component_names),
        _points(grade.notebook_total),
        *(_points(grade.manual[name]) for name in config.manual),
        *task_columns,
        _points(grade.total),
        inert_cell(_overrides_text(grade)),
    ]


def possible_points(config: GradesConfig) -> float:
    """The assignment's maximum without bonus: notebook, manual and leaderboard points."""
    leaderboard = sum(cutoffs.points for cutoffs in config.leaderboard.values())
    return sum(config.components.values()) + sum(config.manual.values()) + leaderboard


def grades_rows(
    grades: list[StudentGrade], config: GradesConfig, export_format: str
) -> tuple[list[list[str]], list[list[str]]]:
    """(header rows, one row per student) of `export_format`; each row starts with the student.

    Canvas and Gradescope rows need every grade's roster entry (ValueError otherwise).
    """
    if export_format == "generic":
        header = [list(grades_columns(config.component_names, tuple(config.manual)))]
        return header, [_generic_row(grade, config) for grade in grades]
    if any(grade.roster is None for grade in grades):
        raise ValueError(f"the {export_format} export needs a roster (--roster)")
    options = config.options
    if export_format == "canvas":
        title = options.assignment
        if options.canvas_assignment_id is not None:
            title += f" ({options.canvas_assignment_id})"
        blanks = [""] * (len(CANVAS_IDENTITY_COLUMNS) - 1)
        header = [
            [*CANVAS_IDENTITY_COLUMNS, title],
            ["Points Possible", *blanks, _points(possible_points(config))],
        ]
        rows = [
            [
                *(
                    inert_cell(value)
                    for value in (
                        grade.student,
                        grade.roster.lms_id,
                        grade.roster.sis_user_id,
                        grade.roster.sis_login_id,
                        grade.roster.section,
                    )
                ),
                _points(grade.total),
            ]
            for grade in grades
        ]
        return header, rows
    if export_format == "gradescope":
        rows = [
            [
                inert_cell(grade.student),
                inert_cell(grade.roster.sis_user_id or grade.roster.lms_id),
                inert_cell(grade.roster.email),
                _points(grade.total),
            ]
            for grade in grades
        ]
        return [list(GRADESCOPE_COLUMNS)], rows
    raise ValueError(f"unknown format {export_format!r}: expected one of {EXPORT_FORMATS}")


def grades_csv(
    grades: list[StudentGrade], config: GradesConfig, export_format: str = "generic"
) -> str:
    """The whole CSV text of `export_format`."""
    header, rows = grades_rows(grades, config, export_format)
    return csv_text(header[0], [*header[1:], *rows])


def write_grades(path: Path, header: list[list[str]], rows: list[list[str]]) -> list[str]:
    """Write the grades CSV at `path`, returning the students whose rows were (re)written.

    When `path` already holds a file with the same header, only the rows that differ change
    (unchanged rows stay byte for byte, a student no longer graded is dropped); when nothing
    changed the file is not touched.
    """
    old_rows: dict[str, list[str]] | None = None
    try:
        old = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"), newline="")))
    except (OSError, UnicodeDecodeError, csv.Error):
        old = None
    if old is not None and old[: len(header)] == header:
        old_rows = {row[0]: row for row in old[len(header) :] if row}
    changed = [row[0] for row in rows if old_rows is None or old_rows.get(row[0]) != row]
    dropped = old_rows is not None and set(old_rows) - {row[0] for row in rows}
    if changed or dropped or old_rows is None:
        with replacing(Path(path)) as partial:
            partial.write_text(
                csv_text(header[0], [*header[1:], *rows]), encoding="utf-8", newline=""
            )
    return changed
