"""The staff's own CSVs for `facekit grades`: the roster, manual points and overrides.

Every defect is collected with its file, physical line and column (the scoring package's
`ProblemList`) and raised together as one GradesInputError (exit 1: the person's input).
"""

import math
from dataclasses import dataclass
from pathlib import Path

from autograder.scoring.course_config import GradesConfig
from facekit.base.csv_reader import CsvRows, read_text
from facekit.base.errors import GradesInputError, ProblemList

ROSTER_REQUIRED = ("student", "lms_id", "leaderboard_name")
ROSTER_OPTIONAL = ("sis_user_id", "sis_login_id", "section", "email")
"""Roster columns: roster name (as in the judge's gradebook) <-> LMS id <-> leaderboard name;
the optional ones fill Canvas's and Gradescope's identity columns."""

OVERRIDE_COLUMNS = ("student", "component", "points", "reason")
"""Overrides: set `component` (notebook, manual or task) of `student` to `points`, for `reason`."""


_WHO_IS_KNOWN = "the roster, or without one the gradebook and the leaderboard export"


@dataclass(frozen=True)
class RosterEntry:
    """One enrolled student and their names elsewhere (empty strings where unknown)."""

    student: str
    lms_id: str
    leaderboard_name: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""


@dataclass(frozen=True)
class Override:
    """A staff decision applied after everything else; `line` is its row in `file`."""

    student: str
    component: str
    points: float
    reason: str
    file: str
    line: int


def _rows(path: Path, problems: ProblemList, what: str) -> CsvRows:
    text = read_text(Path(path), problems)
    raise_if_any(problems, what)
    return CsvRows(text, None, problems)


def raise_if_any(problems: ProblemList, what: str) -> None:
    """Raise GradesInputError listing `problems`, if there are any."""
    if problems:
        raise GradesInputError(f"the {what} is invalid:\n{problems}")


def number_cell(text: str, problems: ProblemList, line: int, column: str) -> float | None:
    """The finite number in `text`, or None with the problem recorded."""
    try:
        value = float(text)
    except ValueError:
        problems.add(line, column, f"expected a number, found {text!r}")
        return None
    if not math.isfinite(value):
        problems.add(line, column, f"expected a finite number, found {text!r}")
        return None
    return value


def _check_header(
    header: tuple[str, ...],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    problems: ProblemList,
) -> None:
    if not header:
        problems.add(None, None, "no header row")
        return
    for name in header:
        if name not in required + optional:
            problems.add(1, name, f"unknown column (expected: {', '.join(required + optional)})")
    for name in required:
        if name not in header:
            problems.add(1, None, f"missing column {name!r}")
    if len(set(header)) != len(header):
        problems.add(1, None, "a column name appears twice")


def read_roster(path: Path) -> list[RosterEntry]:
    """The roster CSV (`ROSTER_REQUIRED` columns, optionally `ROSTER_OPTIONAL`), in file order.

    Each of student, lms_id and leaderboard_name must be present and unique.
    """
    problems = ProblemList(str(path))
    rows = _rows(path, problems, "roster")
    records = list(rows)
    _check_header(rows.header, ROSTER_REQUIRED, ROSTER_OPTIONAL, problems)
    raise_if_any(problems, "roster")
    entries = []
    first_line: dict[tuple[str, str], int] = {}
    for line, fields in records:
        record = dict(zip(rows.header, fields, strict=True))
        for column in ROSTER_REQUIRED:
            value = record[column]
            if not value:
                problems.add(line, column, f"empty {column}")
            elif (column, value) in first_line:
                problems.add(
                    line,
                    column,
                    f"duplicate {column} {value!r} (first on line {first_line[column, value]})",
                )
            else:
                first_line[column, value] = line
        entries.append(RosterEntry(**record))
    raise_if_any(problems, "roster")
    return entries


def _check_student(
    student: str, students: set[str] | None, problems: ProblemList, line: int
) -> bool:
    """Whether `student` is non-empty and one of `students` (None: any name), else a problem."""
    if not student:
        problems.add(line, "student", "empty student")
        return False
    if students is not None and student not in students:
        problems.add(line, "student", f"unknown student {student!r} (not in {_WHO_IS_KNOWN})")
        return False
    return True


def read_manual(
    path: Path, config: GradesConfig, students: set[str] | None = None
) -> dict[str, dict[str, float]]:
    """`{student: {manual component: points}}` from `student,<manual components>` (any order).

    Each cell is a number from 0 to the component's maximum in the course file; each student
    one of `students` (None: any name).
    """
    problems = ProblemList(str(path))
    if not config.manual:
        problems.add(None, None, "the course file declares no [manual] components")
        raise_if_any(problems, "manual points file")
    rows = _rows(path, problems, "manual points file")
    records = list(rows)
    _check_header(rows.header, ("student", *config.manual), (), problems)
    raise_if_any(problems, "manual points file")
    points: dict[str, dict[str, float]] = {}
    first_line: dict[str, int] = {}
    for line, fields in records:
        record = dict(zip(rows.header, fields, strict=True))
        student = record["student"]
        if not _check_student(student, students, problems, line):
            continue
        if student in first_line:
            problems.add(
                line,
                "student",
                f"duplicate student {student!r} (first on line {first_line[student]})",
            )
            continue
        first_line[student] = line
        points[student] = {}
        for component, maximum in config.manual.items():
            value = number_cell(record[component], problems, line, component)
            if value is not None and not 0 <= value <= maximum:
                problems.add(line, component, f"expected 0 to {maximum:g} points, found {value:g}")
            points[student][component] = value or 0.0
    raise_if_any(problems, "manual points file")
    return points


def read_overrides(
    path: Path, config: GradesConfig, students: set[str] | None = None
) -> tuple[Override, ...]:
    """The overrides CSV (`OVERRIDE_COLUMNS`): a known student (one of `students`; None: any
    name) and component, points within the component's range, a reason; one override per
    student and component."""
    problems = ProblemList(str(path))
    rows = _rows(path, problems, "overrides file")
    records = list(rows)
    _check_header(rows.header, OVERRIDE_COLUMNS, (), problems)
    raise_if_any(problems, "overrides file")
    overrides = []
    first_line: dict[tuple[str, str], int] = {}
    for line, fields in records:
        record = dict(zip(rows.header, fields, strict=True))
        student, component = record["student"], record["component"]
        _check_student(student, students, problems, line)
        maximum = config.maximum(component)
        if maximum is None:
            known = (*config.components, *config.manual, *config.leaderboard)
            problems.add(
                line, "component", f"unknown component {component!r} (known: {', '.join(known)})"
            )
        value = number_cell(record["points"], problems, line, "points")
        if value is not None and maximum is not None and not 0 <= value <= maximum:
            problems.add(line, "points", f"expected 0 to {maximum:g} points, found {value:g}")
        if not record["reason"]:
            problems.add(line, "reason", "empty reason: say why the points are overridden")
        if (student, component) in first_line:
            problems.add(
                line,
                "component",
                f"duplicate override of {component!r} for {student!r} "
                f"(first on line {first_line[student, component]})",
            )
        first_line.setdefault((student, component), line)
        if value is not None:
            overrides.append(Override(student, component, value, record["reason"], str(path), line))
    raise_if_any(problems, "overrides file")
    return tuple(overrides)
