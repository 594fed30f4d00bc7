"""`facekit grades` for a real course: roster, manual points, overrides, LMS exports, updates."""

import csv
from pathlib import Path

import pytest

from autograder.scoring.course_config import load_grades_config
from facekit.base.contract import ARCFACE, BASIC_BLOCK
from facekit.base.errors import ConfigError
from facekit.cli.main import main

COURSE = (
    (Path(__file__).with_name("courses") / "cutoffs.toml").read_text()
    + """
[manual]
readme = 5
writeup = 10

[grades]
assignment = "HW2P2"
canvas_assignment_id = 4242

# Other tools' tables: ignored by grades.
[grade_model]
max_parameters = 1000

[late]
days = 3
"""
)
GRADEBOOK = "student,arcface,basic_block,total\nbob,10,5,15\nalice,7.5,10,17.5\ncarol,0,0,0\n"
ROSTER = (
    "student,lms_id,leaderboard_name,sis_user_id,sis_login_id,section,email\n"
    "alice,101,ali,A001,alice@u.edu,S1,alice@u.edu\n"
    "bob,102,bobby,A002,bob@u.edu,S2,bob@u.edu\n"
    "carol,103,cc,A003,carol@u.edu,S1,carol@u.edu\n"
)
LEADERBOARD = (
    "student,task,public,private\n"
    "ali,classification,0.91,0.925\nali,verification,0.9,0.875\n"
    "bobby,classification,0.6,0.4\n"
    "stranger,verification,0.99,0.99\n"
)
MANUAL = "student,writeup,readme\nalice,8,5\nbob,10,4.5\n"
OVERRIDES = (
    "student,component,points,reason\n"
    "bob,basic_block,8,regrade: a case was wrong\n"
    "alice,verification,20,leaderboard outage on the last day\n"
)


@pytest.fixture
def course(tmp_path: Path) -> dict[str, Path]:
    """The course file and every CSV `facekit grades` reads, written to tmp_path."""
    texts = {
        "config": ("course.toml", COURSE),
        "gradebook": ("gradebook.csv", GRADEBOOK),
        "leaderboard": ("final_scores.csv", LEADERBOARD),
        "roster": ("roster.csv", ROSTER),
        "manual": ("manual.csv", MANUAL),
        "overrides": ("overrides.csv", OVERRIDES),
    }
    paths = {}
    for option, (name, text) in texts.items():
        paths[option] = tmp_path / name
        paths[option].write_text(text)
    return paths


def _run(course: dict[str, Path], out: Path, *extra: str) -> int:
    args = ["grades", "--out", str(out), *extra]
    return main(args + [f"--{name}={path}" for name, path in course.items()])


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_canvas_export_cell_by_cell(course: dict[str, Path], tmp_path: Path, capsys) -> None:
    """Canvas's import format: identity columns, 'Title (id)', Points Possible, totals."""
    out = tmp_path / "canvas.csv"
    assert _run(course, out, "--format=canvas") == 0
    # alice: notebook 17.5, manual 5 + 8, classification 22 (bonus), verification 20 (override).
    # bob: notebook 10 + 8 (override), manual 4.5 + 10, no leaderboard points. carol: all 0.
    assert _rows(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW2P2 (4242)"],
        ["Points Possible", "", "", "", "", "75.00"],
        ["alice", "101", "A001", "alice@u.edu", "S1", "72.50"],
        ["bob", "102", "A002", "bob@u.edu", "S2", "32.50"],
        ["carol", "103", "A003", "carol@u.edu", "S1", "0.00"],
    ]
    err = capsys.readouterr().err
    assert "leaderboard name 'stranger' is not in the roster: left out" in err
    assert "'carol' has no manual points" in err


def test_generic_export_carries_overrides(course: dict[str, Path], tmp_path: Path) -> None:
    """The generic CSV maps leaderboard names through the roster and lists each override."""
    out = tmp_path / "grades.csv"
    assert _run(course, out) == 0
    rows = {row[0]: dict(zip(_rows(out)[0], row, strict=True)) for row in _rows(out)[1:]}
    assert rows["alice"]["lms_id"] == "101"
    assert rows["alice"]["classification_score"] == "0.925000"
    assert rows["alice"]["verification_points"] == "20.00"
    assert rows["alice"]["overrides"] == "verification=20 (leaderboard outage on the last day)"
    assert rows["bob"][BASIC_BLOCK] == "8.00" and rows["bob"]["notebook_total"] == "18.00"
    assert rows["bob"]["readme"] == "4.50" and rows["bob"]["total"] == "32.50"
    assert rows["carol"]["overrides"] == ""


def test_gradescope_export(course: dict[str, Path], tmp_path: Path) -> None:
    """Gradescope's columns: Name, SID (the SIS id), Email, Total Score."""
    out = tmp_path / "gradescope.csv"
    assert _run(course, out, "--format=gradescope") == 0
    assert _rows(out)[:2] == [
        ["Name", "SID", "Email", "Total Score"],
        ["alice", "A001", "alice@u.edu", "72.50"],
    ]


def test_one_changed_student_rewrites_one_row(
    course: dict[str, Path], tmp_path: Path, capsys
) -> None:
    """A rerun after bob's regrade changes bob's row only; an unchanged rerun touches nothing."""
    out = tmp_path / "grades.csv"
    assert _run(course, out) == 0
    assert "3 rows written" in capsys.readouterr().out
    before = out.read_text().splitlines()
    course["gradebook"].write_text(GRADEBOOK.replace("bob,10,5,15", "bob,9,5,14"))
    assert _run(course, out) == 0
    assert "1 row written (bob)" in capsys.readouterr().out
    after = out.read_text().splitlines()
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [2]
    stamp = out.stat().st_mtime_ns
    assert _run(course, out) == 0
    assert "0 rows written" in capsys.readouterr().out
    assert out.stat().st_mtime_ns == stamp


def test_text_cells_cannot_be_formulas(course: dict[str, Path], tmp_path: Path) -> None:
    """Names and reasons starting with = + - @ are written with a leading apostrophe."""
    evil = '=HYPERLINK("http://x")'
    course["roster"].write_text(
        ROSTER.replace("carol,103", f'"{evil.replace(chr(34), 2 * chr(34))}",@103')
    )
    course["gradebook"].write_text(
        GRADEBOOK.replace("carol,", f'"{evil.replace(chr(34), 2 * chr(34))}",')
    )
    course["overrides"].write_text(OVERRIDES + "alice,readme,4,+1 for style\n")
    for export_format in ("generic", "canvas", "gradescope"):
        out = tmp_path / f"{export_format}.csv"
        assert _run(course, out, f"--format={export_format}") == 0
        cells = [cell for row in _rows(out) for cell in row]
        assert f"'{evil}" in cells and evil not in cells, export_format
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), export_format
    generic = {row[0]: row for row in _rows(tmp_path / "generic.csv")}
    assert generic[f"'{evil}"][1] == "'@103"


# file option, text, line, column, words
BAD_INPUTS = [
    ("roster", "student,lms_id\nalice,101\n", 1, None, "missing column 'leaderboard_name'"),
    (
        "roster",
        ROSTER + "dave,101,dd,,,,\n",
        5,
        "lms_id",
        "duplicate lms_id '101' (first on line 2)",
    ),
    ("roster", ROSTER.replace("bob,102,bobby", "bob,102,"), 3, "leaderboard_name", "empty"),
    ("roster", "student,lms_id,leaderboard_name,phone\n", 1, "phone", "unknown column"),
    ("manual", "student,readme\nalice,5\n", 1, None, "missing column 'writeup'"),
    ("manual", "student,readme,writeup\nalice,6,8\n", 2, "readme", "expected 0 to 5 points"),
    ("manual", "student,readme,writeup\nalice,x,8\n", 2, "readme", "expected a number"),
    ("manual", "student,readme,writeup\n\n\ndave,1,1\n", 4, "student", "unknown student 'dave'"),
    ("manual", MANUAL + "alice,1,1\n", 4, "student", "duplicate student 'alice'"),
    ("overrides", "student,component,points\n", 1, None, "missing column 'reason'"),
    ("overrides", OVERRIDES + "bob,bonus,1,x\n", 4, "component", "unknown component 'bonus'"),
    ("overrides", OVERRIDES + "bob,arcface,11,x\n", 4, "points", "expected 0 to 10 points"),
    ("overrides", OVERRIDES + "bob,arcface,1,\n", 4, "reason", "empty reason"),
    ("overrides", OVERRIDES + "bob,basic_block,9,again\n", 4, "component", "duplicate override"),
    ("overrides", OVERRIDES + "eve,arcface,1,x\n", 4, "student", "unknown student 'eve'"),
    ("gradebook", GRADEBOOK + "dan,11,0,11\n", 5, ARCFACE, "expected 0 to 10 points"),
    ("leaderboard", LEADERBOARD + "ali,detection,1,1\n", 6, "task", "found 'detection'"),
]


@pytest.mark.parametrize(
    ("option", "text", "line", "column", "words"),
    BAD_INPUTS,
    ids=[f"{case[0]}-{case[4][:24]}" for case in BAD_INPUTS],
)
def test_bad_rows_name_file_row_and_defect(
    course: dict[str, Path],
    tmp_path: Path,
    capsys,
    option: str,
    text: str,
    line: int | None,
    column: str | None,
    words: str,
) -> None:
    """Each bad row of a person's CSV: exit 1, the file, line and column, what is wrong."""
    course[option].write_text(text)
    out = tmp_path / "grades.csv"
    assert _run(course, out) == 1
    err = capsys.readouterr().err
    where = [course[option].name, f"line {line}"] + ([f"column '{column}'"] if column else [])
    assert any(all(part in row for part in where) and words in row for row in err.splitlines()), err
    assert err.startswith("facekit grades: ") and not out.exists()


def test_override_of_an_ungraded_notebook(course: dict[str, Path], tmp_path: Path, capsys) -> None:
    """Overriding a component of a notebook the judge could not grade names the override row."""
    course["gradebook"].write_text(GRADEBOOK.replace("bob,10,5,15", "bob,,,"))
    assert _run(course, tmp_path / "grades.csv") == 1
    assert "overrides.csv, line 2, column 'component': the notebook of 'bob' was not graded" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("[components]", "[component]"), "unknown table [component]"),
        (("basic_block = 10", "basic_blok = 10"), "[components] unknown key 'basic_blok'"),
        (("bonus = 4", "bonnus = 4"), "[leaderboard.classification] unknown key 'bonnus'"),
        (("low = 0.8\n", ""), "[leaderboard.verification] missing key 'low'"),
        (("high = 0.9\n", "high = 0.4\n"), "expected low < high, found low=0.5, high=0.4"),
        (
            ("points = 20\nbonus", "points = 'many'\nbonus"),
            "[leaderboard.classification] points: expected a number, got 'many'",
        ),
        (("arcface = 10", "arcface = true"), "[components] arcface: expected a number, got True"),
        (("bonus_at = 0.95", "bonus_at = 0.9"), "expected bonus_at > high"),
        (("[leaderboard.verification]", "[leaderboard.detection]"), "unknown key 'detection'"),
        (("low = 0.5", "low = = 0.5"), "not valid TOML"),
        (("readme = 5", "README = 5"), "'README' cannot name a manual component"),
        (("readme = 5", "arcface_bonus = true"), "[manual] arcface_bonus: expected a number"),
        (('assignment = "HW2P2"', 'assignmnet = "HW2P2"'), "[grades] unknown key 'assignmnet'"),
        (("canvas_assignment_id = 4242", "canvas_assignment_id = -1"), "positive integer"),
        (("[late]", '[metrics]\nverification = "eer"\n[late]'), "eer is lower-is-better"),
        (("high = 0.95", "high = 1.5"), "above the best value of the metric 'roc_auc'"),
    ],
)
def test_broken_course_file_is_a_setup_error(
    course: dict[str, Path], tmp_path: Path, capsys, change: tuple[str, str], words: str
) -> None:
    """A broken course file is a ConfigError naming the file, table and key, and `facekit grades`
    exits 2 with it (a staff setup error)."""
    assert change[0] in COURSE
    course["config"].write_text(COURSE.replace(*change, 1))
    with pytest.raises(ConfigError) as caught:
        load_grades_config(course["config"])
    assert str(course["config"]) in str(caught.value) and words in str(caught.value)
    assert _run(course, tmp_path / "grades.csv") == 2
    err = capsys.readouterr().err
    assert str(course["config"]) in err and words in err


@pytest.mark.parametrize(
    ("drop", "words"),
    [("roster", "--format canvas needs --roster"), ("manual", "give their points with --manual")],
)
def test_missing_inputs_are_usage_errors(
    course: dict[str, Path], tmp_path: Path, capsys, drop: str, words: str
) -> None:
    """Canvas without a roster, or declared manual components without their CSV: exit 2."""
    del course[drop]
    assert _run(course, tmp_path / "grades.csv", "--format=canvas") == 2
    assert words in capsys.readouterr().err
