"""Typed TOML tables: a corpus of bad tables, each refused with its file, table and key named."""

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest

from facekit.base.contract import ARCFACE, NETWORK
from facekit.base.errors import ConfigError, SetupError
from facekit.base.tables import describe_keys, from_table, load_table, setting


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Case:
    name: str = setting("the case's name")
    points: float = setting("points for passing it", 1.0)
    shape: tuple[int, ...] = setting("tensor shape", ())
    pair: tuple[int, int] | None = setting("two row indices", None)


@dataclass(frozen=True)
class Component:
    id: str = setting("the component's id")
    cases: tuple[Case, ...] = setting("its cases", ())


@dataclass(frozen=True)
class Cutoffs:
    low: float = setting("score earning nothing")
    high: float = setting("score earning everything")


@dataclass(frozen=True)
class Board:
    final_submissions: int = setting("submissions a student may choose", 0)
    tasks: dict[str, Cutoffs] = setting("cutoffs per task", {}, keys=("cls", "ver"), subtables=True)


@dataclass(frozen=True)
class Course:
    kind: Literal["resnet", "convnext"] = setting("backbone family", "resnet")
    colour: Colour = setting("an enum", Colour.RED)
    epochs: int = setting("epochs", 1)
    lr: float = setting("learning rate", 0.1)
    compile: bool = setting("compile the model", False)
    due: datetime | None = setting("when it is due", None)
    mean: list[float] = setting("per-channel mean", [0.5, 0.5, 0.5])
    options: dict[str, Any] = setting("free keyword arguments", {})
    points: dict[str, float] = setting("points per component", {}, keys=(ARCFACE, NETWORK))
    board: Board = setting("the leaderboard table", factory=Board)
    components: tuple[Component, ...] = setting("the graded components", ())


@dataclass(frozen=True)
class Required:
    title: str = setting("a required key")
    table: dict[str, int] = setting("a required table")


def parse(text: str) -> Course:
    return from_table(Course, tomllib.loads(text), "course.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dedline = 1\n", "course.toml: unknown key 'dedline' (known: kind, colour, epochs,"),
        ("[board]\ndedline = 1\n", "course.toml: [board] unknown key 'dedline' (known: "
         "final_submissions, cls, ver)"),
        ("[board.det]\nlow = 1\n", "course.toml: [board] unknown key 'det'"),
        ("[board.cls]\nlow = 0.1\nhihg = 1\n", "course.toml: [board.cls] unknown key 'hihg'"),
        ("[board.ver]\nlow = 0.5\n", "course.toml: [board.ver] missing key 'high'"),
        ("[board]\ncls = 3\n", "course.toml: [board] cls: expected a table, got 3"),
        ("epochs = 'many'\n", "course.toml: epochs: expected an integer, got 'many'"),
        ("epochs = 2.5\n", "course.toml: epochs: expected an integer, got 2.5"),
        ("epochs = true\n", "course.toml: epochs: expected an integer, got True"),
        ("lr = true\n", "course.toml: lr: expected a number, got True"),
        ("compile = 1\n", "course.toml: compile: expected true or false, got 1"),
        ("due = 'tomorrow'\n", "course.toml: due: expected a TOML date-time like"),
        ("kind = 'vit'\n", "course.toml: kind: expected one of 'resnet', 'convnext', got 'vit'"),
        ("colour = 'green'\n", "course.toml: colour: expected one of 'red', 'blue', got 'green'"),
        ("mean = 0.5\n", "course.toml: mean: expected a list, got 0.5"),
        ("mean = [0.5, 'x']\n", "course.toml: mean[1]: expected a number, got 'x'"),
        ("options = 3\n", "course.toml: options: expected a table, got 3"),
        ("[points]\nnetwrk = 3\n", "course.toml: [points] unknown key 'netwrk' (known: arcface, "
         "network)"),
        ("[points]\nnetwork = 'all'\n", "course.toml: [points] network: expected a number"),
        ("board = 3\n", "course.toml: board: expected a table, got 3"),
        ("[[components]]\nid = 'a'\n[[components]]\nid = 'b'\n[[components.cases]]\nnmae = 'x'\n",
         "course.toml: [components[1].cases[0]] unknown key 'nmae'"),
        ("[[components]]\nid = 'a'\n[[components.cases]]\npoints = 1\n",
         "course.toml: [components[0].cases[0]] missing key 'name'"),
        ("[[components]]\nid = 'a'\n[[components.cases]]\nname = 'x'\nshape = [2, 'b']\n",
         "course.toml: [components[0].cases[0]] shape[1]: expected an integer, got 'b'"),
        ("[[components]]\nid = 'a'\n[[components.cases]]\nname = 'x'\npair = [1]\n",
         "course.toml: [components[0].cases[0]] pair: expected a list of 2 items, got [1]"),
        ("components = [1]\n", "course.toml: components[0]: expected a table, got 1"),
    ],
)  # fmt: skip
def test_bad_tables_name_file_table_and_key(text: str, message: str) -> None:
    """Is each bad table refused with a message naming the file, the table and the key?"""
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_a_bad_config_is_a_staff_setup_error() -> None:
    """Is ConfigError a SetupError, so every command exits 2 for a bad config?"""
    assert issubclass(ConfigError, SetupError) and ConfigError.exit_code == 2


def test_missing_required_key_and_table() -> None:
    """Is a missing required key named as a key, and a missing table as a table?"""
    with pytest.raises(ConfigError, match=r"^f.toml: missing key 'title'$"):
        from_table(Required, {"table": {}}, "f.toml")
    with pytest.raises(ConfigError, match=r"^f.toml: missing table \[table\]$"):
        from_table(Required, {"title": "t"}, "f.toml")


def test_values_are_converted_and_defaults_filled() -> None:
    """Are ints read as floats, lists as tuples, strings as enums, and omitted keys defaulted?"""
    text = (
        "lr = 1\ncolour = 'blue'\ndue = 2026-12-01T23:59:00Z\n[board.cls]\nlow = 0\nhigh = 1\n"
        "[[components]]\nid = 'a'\n[[components.cases]]\nname = 'x'\nshape = [2, 3]\n"
        "pair = [0, 1]\n"
    )
    course = parse(text)
    assert course.lr == 1.0 and isinstance(course.lr, float)
    assert course.colour is Colour.BLUE
    assert course.due == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    assert course.board == Board(0, {"cls": Cutoffs(0.0, 1.0)})
    assert course.components[0].cases[0] == Case("x", 1.0, (2, 3), (0, 1))
    assert parse("").mean == [0.5, 0.5, 0.5] and parse("").mean is not Course().mean


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"epochs = \n", "not valid TOML"),
        (b"\xff\xfe", "cannot read"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    """Is a missing, malformed or undecodable file a ConfigError naming it?"""
    path = tmp_path / "course.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_table(Course, path)
    assert str(caught.value).startswith(f"{path}: ")


def test_describe_keys_lists_every_key_with_type_default_and_help() -> None:
    """Does the --help text list each table and key with its type, default and help?"""
    text = describe_keys(Course)
    for line in (
        '  kind (one of "resnet", "convnext"; default "resnet"): backbone family',
        "  epochs (integer; default 1): epochs",
        "  due (TOML date-time; optional): when it is due",
        "  mean (list of number; default [0.5, 0.5, 0.5]): per-channel mean",
        "[points]  points per component",
        "  <arcface|network> (number)",
        "[board]  the leaderboard table",
        "  final_submissions (integer; default 0): submissions a student may choose",
        "[board.<cls|ver>]  cutoffs per task",
        "  low (number; required): score earning nothing",
        "[[components]]  the graded components",
        "[[components.cases]]  its cases",
        "  name (string; required): the case's name",
    ):
        assert line in text.splitlines(), line
