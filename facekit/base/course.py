"""The course file (`course.toml`): one file, a table per tool, each tool reading its own tables.

Every tool describes the tables it reads as one dataclass whose fields are those tables (its
schema) and calls `load_course_config(path, Schema)`. The tables of other tools are ignored, a
table no tool knows is an error naming it (a misspelt `[leaderbord]` would otherwise drop a whole
table silently), and inside a tool's tables an unknown key is an error naming the table and the
key. `COURSE_TABLES` is the one list of the course file's tables and of who reads each;
`autograder/scoring/course_example.toml` holds every one of them.
"""

from pathlib import Path
from typing import Any, TypeVar

from facekit.base.tables import Where, from_table, read_toml

T = TypeVar("T")

COURSE_TABLES: dict[str, str] = {
    "components": "facekit grades: points per notebook component",
    "leaderboard": "facekit grades: cutoffs per task; the leaderboard: final submissions",
    "manual": "facekit grades: points per manual component",
    "metrics": "facekit score, grades, kaggle-bundle and the leaderboard: the metric per task",
    "grades": "facekit grades: the assignment's name in LMS exports",
    "phases": "the leaderboard: checkpoint and final deadlines",
    "late": "the leaderboard: late days and their penalty",
    "grade_model": "facekit grade-model: parameter budget, tolerances, sandbox limits",
    "gradescope": "facekit gradescope-bundle: who sees which result, and when",
}
"""Every table of the course file, and which tool reads it."""


def course_tables(document: dict[str, Any], source: str, schema: type[T]) -> T:
    """The tables of `schema` (a dataclass, one field per table) from a parsed course file."""
    for name in document:
        if name not in COURSE_TABLES:
            raise Where(source).error(
                f"unknown table [{name}] (course tables: {', '.join(COURSE_TABLES)})"
            )
    wanted = {name: document[name] for name in document if name in schema.__dataclass_fields__}
    return from_table(schema, wanted, source)


def load_course_config(path: Path, schema: type[T]) -> T:
    """The tables `schema` names from the course file at `path`; ConfigError naming the place."""
    return course_tables(read_toml(path), str(path), schema)
