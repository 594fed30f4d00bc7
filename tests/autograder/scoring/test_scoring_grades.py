"""Course config, gradebook and leaderboard export checks, and the grades CSV (golden)."""

from pathlib import Path

import pytest

from autograder.scoring.course_config import LeaderboardCutoffs, load_grades_config
from autograder.scoring.grade_exports import grades_csv
from autograder.scoring.grades import compute_grades, read_gradebook, read_leaderboard_export
from autograder.scoring.paths import COURSE_EXAMPLE
from facekit.base.contract import ARCFACE, BASIC_BLOCK, CLASSIFICATION, VERIFICATION, grades_columns
from facekit.base.errors import GradesInputError
from facekit.cli.main import main

CONFIG = (Path(__file__).with_name("courses") / "cutoffs.toml").read_text()
GRADEBOOK = "student,arcface,basic_block,total\nbob,10,5,15\nalice,7.5,10,17.5\ncarol,0,0,0\n"
LEADERBOARD = (
    "student,task,public,private\n"
    "alice,classification,0.91,0.925\nalice,verification,0.9,0.875\n"
    "bob,classification,0.6,0.4\n"
    "dave,verification,0.99,0.97\n"
)


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    paths = {"config": tmp_path / "course.toml", "gradebook": tmp_path / "gradebook.csv"}
    paths["leaderboard"] = tmp_path / "final_scores.csv"
    paths["config"].write_text(CONFIG)
    paths["gradebook"].write_text(GRADEBOOK)
    paths["leaderboard"].write_text(LEADERBOARD)
    return paths


@pytest.mark.parametrize(
    ("score", "points"),
    [(None, 0), (0.3, 0), (0.5, 0), (0.7, 10), (0.9, 20), (0.925, 22), (0.95, 24), (1.0, 24)],
)
def test_cutoffs_are_linear_with_bonus(score: float | None, points: float) -> None:
    """0 up to low, linear to `points` at high, bonus linear up to bonus_at, then flat."""
    cutoffs = LeaderboardCutoffs(low=0.5, high=0.9, points=20, bonus=4, bonus_at=0.95)
    assert cutoffs.points_for(score) == pytest.approx(points)


def test_example_config_matches_the_judge_rubric() -> None:
    """The shipped example is valid and its component maxima are the judge rubric's."""
    from autograder.judge.rubric import load_rubric

    config = load_grades_config(COURSE_EXAMPLE)
    rubric = {component.id: component.max_points for component in load_rubric().components}
    assert config.components == rubric
    assert config.leaderboard[VERIFICATION].bonus == 0.0
    assert config.manual == {"readme": 5, "writeup": 10}
    assert config.metrics[VERIFICATION].name == "0.5*accuracy + 0.5*(1 - eer)"


def test_reads_the_judges_gradebook(tmp_path: Path) -> None:
    """A gradebook written by the batch grader (a grader error included) is read as intended."""
    from autograder.batch import GRADEBOOK_NAME, GRADED, GRADER_ERROR, Outcome, write_gradebook

    config = load_grades_config(COURSE_EXAMPLE)
    full = {name: float(points) for name, points in config.components.items()}
    outcomes = [
        Outcome("ann", "ann.ipynb", GRADED, points=full, total=sum(full.values())),
        Outcome("ben", "ben.ipynb", GRADER_ERROR, reason="worker crashed"),
    ]
    write_gradebook(outcomes, tmp_path)
    gradebook = read_gradebook(tmp_path / GRADEBOOK_NAME, config)
    assert gradebook == {"ann": full, "ben": None}
    grades, warnings = compute_grades(config, gradebook, {})
    assert grades[0].notebook_total == 100 and grades[1].total is None
    assert any("'ben' has an empty gradebook row" in warning for warning in warnings)
    assert grades_csv(grades, config).splitlines()[2].startswith("ben,," + "," * 12)


# Defective CSVs given to `facekit grades`, per file: (text, words the error must contain).
CSV_ERRORS = {
    "gradebook": [
        ("name,basic_block,arcface,total\n", "expected the header to start with 'student'"),
        ("student,basic_block,arcface,cosface,total\n", "column 'cosface': not a component"),
        ("student,basic_block,total\n", "missing column 'arcface'"),
        (
            "student,basic_block,arcface,total\nal,11,0,11\n",
            "line 2, column 'basic_block': expected 0 to 10 points, found 11",
        ),
        ("student,basic_block,arcface,total\nal,x,0,0\n", "expected a number, found 'x'"),
        ("student,basic_block,arcface,total\nal,,2,2\n", "expected a number, found ''"),
        ("student,basic_block,arcface,total\nal,1,2,4\n", "expected the sum of the components (3)"),
        ("student,basic_block,arcface,total\nal,1,2,3\nal,1,2,3\n", "duplicate student 'al'"),
    ],
    "leaderboard": [
        ("student,task,score\n", "wrong header"),
        ("student,task,public,private\nal,detection,1,1\n", "found 'detection'"),
        ("student,task,public,private\nal,verification,1,high\n", "found 'high'"),
        ("student,task,public,private\nal,verification,1,1\nal,verification,1,1\n", "duplicate"),
    ],
}
READERS = {
    "gradebook": read_gradebook,
    "leaderboard": lambda path, _config: read_leaderboard_export(path),
}


@pytest.mark.parametrize(
    ("csv_file", "text", "words"),
    [(csv_file, *case) for csv_file, cases in CSV_ERRORS.items() for case in cases],
)
def test_csv_errors_name_the_file(
    inputs: dict[str, Path], csv_file: str, text: str, words: str
) -> None:
    """A defective gradebook or leaderboard export names the file and where it is wrong."""
    inputs[csv_file].write_text(text)
    config = load_grades_config(inputs["config"])
    with pytest.raises(GradesInputError, match=inputs[csv_file].name) as caught:
        READERS[csv_file](inputs[csv_file], config)
    assert words in str(caught.value)


def test_grades_join_and_warnings(inputs: dict[str, Path]) -> None:
    """Private scores give the points; a student missing on one side gets 0 and a warning."""
    config = load_grades_config(inputs["config"])
    grades, warnings = compute_grades(
        config,
        read_gradebook(inputs["gradebook"], config),
        read_leaderboard_export(inputs["leaderboard"]),
    )
    by_student = {grade.student: grade for grade in grades}
    assert list(by_student) == ["alice", "bob", "carol", "dave"]
    assert by_student["alice"].points == {CLASSIFICATION: 22.0, VERIFICATION: 10.0}
    assert by_student["alice"].total == 17.5 + 22 + 10
    assert by_student["dave"].notebook_total == 0 and by_student["dave"].points[VERIFICATION] == 20
    assert "'dave' is not in the gradebook: 0 notebook points" in warnings
    assert "'bob' has no verification leaderboard score: 0 points" in warnings
    assert len(warnings) == 5
    header = grades_csv(grades, config).splitlines()[0]
    assert tuple(header.split(",")) == grades_columns((BASIC_BLOCK, ARCFACE))


def test_grades_cli_golden(inputs: dict[str, Path], tmp_path: Path, golden, capsys) -> None:
    """`facekit grades` writes the LMS CSV (golden) and warns on stderr."""
    out = tmp_path / "grades.csv"
    args = ["grades", "--out", str(out)]
    args += [f"--{name}={path}" for name, path in inputs.items()]
    assert main(args) == 0
    assert "warning: 'carol' has no classification leaderboard score" in capsys.readouterr().err
    golden("grades.csv", out.read_text())


def test_grades_cli_bad_input(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    """A broken course file is a staff setup error: exit 2 with a message, writing nothing."""
    inputs["config"].write_text("[components]\nbasic_block = 1\n")
    out = tmp_path / "grades.csv"
    args = ["grades", "--out", str(out)] + [f"--{name}={path}" for name, path in inputs.items()]
    assert main(args) == 2
    assert "missing table [leaderboard]" in capsys.readouterr().err
    assert not out.exists()


def test_reads_the_leaderboards_export(tmp_path: Path) -> None:
    """The leaderboard's own export is read, keeping the private score."""
    from autograder.leaderboard.store import FinalScore, final_scores_csv

    path = tmp_path / "final_scores.csv"
    path.write_text(final_scores_csv([FinalScore("ann", VERIFICATION, 0.9, 0.8765)]))
    assert read_leaderboard_export(path) == {("ann", VERIFICATION): 0.8765}
