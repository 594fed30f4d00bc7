"""The course file: one file, a table per tool; the shipped example feeds every command."""

from dataclasses import fields
from pathlib import Path

import pytest

from autograder.gradescope.settings import GradescopeTables, load_settings
from autograder.judge.rubric import load_rubric
from autograder.leaderboard.course import LeaderboardTables, load_course
from autograder.rescore.grade_model import GradeModelTables, load_grade_model_config
from autograder.scoring.course_config import (
    GradesTables,
    MetricsTables,
    load_grades_config,
    load_task_metrics,
)
from autograder.scoring.paths import COURSE_EXAMPLE
from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.base.course import COURSE_TABLES, load_course_config
from facekit.base.errors import ConfigError
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main

SCHEMAS = (GradesTables, MetricsTables, LeaderboardTables, GradeModelTables, GradescopeTables)
# Each command that reads a course file, its option, and the tables its --help must list.
COMMANDS = [
    (["grades"], ["[components]", "[leaderboard.<classification|verification>]", "[grades]"]),
    (["score"], ["[metrics]"]),
    (["kaggle-bundle"], ["[metrics]"]),
    (["leaderboard", "serve"], ["[leaderboard]", "[phases.final]", "[late]", "[metrics]"]),
    (["grade-model"], ["[grade_model]", "  max_parameters (integer; default 35000000)"]),
    (["audit"], ["[grade_model]"]),
    (["gradescope-bundle"], ["[gradescope]", "  test_visibility (one of"]),
    (["train"], ["[optim]", "  lr (number; default 0.1)"]),
]


def test_every_course_table_is_read_by_a_tool():
    """Is COURSE_TABLES exactly the union of the tables the tools read, and does every tool
    type a table shared with another tool the same way?"""
    read: dict[str, type] = {}
    for schema in SCHEMAS:
        for spec in fields(schema):
            assert read.setdefault(spec.name, spec.type) == spec.type, spec.name
    assert set(read) == set(COURSE_TABLES)


def test_one_course_file_feeds_every_command():
    """Does the shipped example hold every table, and does every tool load it?"""
    import tomllib

    assert set(tomllib.loads(COURSE_EXAMPLE.read_text())) == set(COURSE_TABLES)
    grades = load_grades_config(COURSE_EXAMPLE)
    rubric = {component.id: component.max_points for component in load_rubric().components}
    assert grades.components == rubric
    assert grades.leaderboard[CLASSIFICATION].points == 50
    assert load_task_metrics(COURSE_EXAMPLE)[VERIFICATION] == grades.metrics[VERIFICATION]
    board = load_course(COURSE_EXAMPLE)
    assert (board.leaderboard.final_submissions, board.late.days) == (2, 3)
    assert board.phases.checkpoint is not None and board.phases.final is not None
    assert board.metrics == grades.metrics
    shipped = load_grade_model_config(REPO_ROOT / "configs" / "grade_model.toml")
    assert load_grade_model_config(COURSE_EXAMPLE) == shipped
    ids = tuple(rubric)
    assert load_settings(COURSE_EXAMPLE, ids) == load_settings(
        REPO_ROOT / "configs" / "gradescope.toml", ids
    )


@pytest.mark.parametrize(("command", "lines"), COMMANDS, ids=lambda c: " ".join(c))
def test_help_lists_the_config_keys(capsys, command: list[str], lines: list[str]):
    """Does the --help of each command that reads a config list its tables and keys?"""
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    shown = capsys.readouterr().out.splitlines()
    for line in lines:
        assert any(text.startswith(line) for text in shown), line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[leaderbord]\nfinal_submissions = 1\n", "course.toml: unknown table [leaderbord]"),
        ("title = 'x'\n", "course.toml: unknown table [title]"),
        ("[metrics]\nverification = 'roc_auc'\ndetection = 'x'\n",
         "course.toml: [metrics] unknown key 'detection'"),
    ],
)  # fmt: skip
def test_unknown_tables_and_keys_are_named(tmp_path: Path, text: str, message: str):
    """Is a table no tool reads, or an unknown key in a tool's table, named with the file?"""
    path = tmp_path / "course.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_course_config(path, MetricsTables)
    assert str(caught.value).startswith(str(tmp_path)) and message in str(caught.value)


def test_other_tools_tables_are_ignored(tmp_path: Path):
    """Does a tool ignore another tool's table, even one it would reject?"""
    path = tmp_path / "course.toml"
    path.write_text("[grade_model]\nmax_parameters = 'not checked here'\n")
    assert load_course_config(path, MetricsTables) == MetricsTables()
    with pytest.raises(ConfigError, match=r"\[grade_model\] max_parameters: expected an integer"):
        load_course_config(path, GradeModelTables)
