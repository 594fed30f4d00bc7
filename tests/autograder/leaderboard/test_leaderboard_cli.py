"""`facekit leaderboard roster|deadline|export|serve` as staff run them."""

import stat

import pytest

from facekit.base.contract import KEYS_CLS, KEYS_VER
from facekit.cli.main import main as facekit_main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = facekit_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_roster_writes_private_tokens_once(db_url, tmp_path, capsys):
    """Are tokens written owner-only, and is an existing tokens file never overwritten?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("student,email\nann,ann@example.edu\nben,ben@example.edu\n")
    out = tmp_path / "tokens.csv"
    code, stdout, _ = run(
        capsys, "leaderboard", "roster", "--db", db_url, str(roster), "--out", str(out)
    )
    assert code == 0 and "registered 2 participants" in stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "student,token" and [line.split(",")[0] for line in lines[1:]] == [
        "ann",
        "ben",
    ]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    code, _, err = run(
        capsys, "leaderboard", "roster", "--db", db_url, str(roster), "--out", str(out)
    )
    assert code == 1 and "exists" in err
    assert out.read_text().splitlines() == lines

    again = tmp_path / "more.csv"
    code, _, err = run(
        capsys, "leaderboard", "roster", "--db", db_url, str(roster), "--out", str(again)
    )
    assert code == 1 and "already registered: ann, ben" in err
    assert not again.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name\nann\n", "expected a header with a 'student' column"),
        ("student\nann\n \n", "line 3: empty student name"),
        ("student\n", "lists no students"),
    ],
)
def test_bad_roster_is_named(db_url, tmp_path, capsys, content, message):
    roster = tmp_path / "roster.csv"
    roster.write_text(content)
    out = tmp_path / "tokens.csv"
    code, _, err = run(
        capsys, "leaderboard", "roster", "--db", db_url, str(roster), "--out", str(out)
    )
    assert code == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_deadline_and_export_commands(db_url, tmp_path, capsys):
    """Can staff set, show and clear the deadline and export (empty) final scores?"""
    assert run(capsys, "leaderboard", "deadline", "--db", db_url)[1] == "deadline: none\n"
    code, out, _ = run(capsys, "leaderboard", "deadline", "--db", db_url, "2999-12-01T18:59-05:00")
    assert (code, out) == (0, "deadline: 2999-12-01T23:59:00+00:00\n")
    assert (
        run(capsys, "leaderboard", "deadline", "--db", db_url, "--clear")[1] == "deadline: none\n"
    )
    code, _, err = run(capsys, "leaderboard", "deadline", "--db", db_url, "soon")
    assert code == 1 and "ISO 8601" in err

    final = tmp_path / "final.csv"
    assert run(capsys, "leaderboard", "export", "--db", db_url, "--out", str(final))[0] == 0
    assert final.read_text() == "student,task,public,private\n"


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("sqlite://", "in-memory SQLite"),
        ("mysql://localhost/lb", "unsupported database 'mysql'"),
        ("not a url", "cannot parse database URL"),
    ],
)
def test_bad_database_url_is_explained(capsys, db, message):
    code, _, err = run(capsys, "leaderboard", "deadline", "--db", db)
    assert code == 2 and err.startswith("facekit leaderboard: ") and message in err


def test_serve_refuses_missing_or_broken_keys(db_url, tmp_path, capsys):
    """Does `serve` stop with a message, before listening, when the keys are unusable?"""
    code, _, err = run(
        capsys, "leaderboard", "serve", "--db", db_url, "--keys", str(tmp_path / "nope")
    )
    assert code == 2 and "keys directory not found" in err
    (tmp_path / KEYS_CLS).write_text("id,label,usage\na.jpg,ann,Sometimes\n")
    (tmp_path / KEYS_VER).write_text("pair_id,label,usage\n0,1,Public\n")
    code, _, err = run(capsys, "leaderboard", "serve", "--db", db_url, "--keys", str(tmp_path))
    assert code == 2 and KEYS_CLS in err and "Sometimes" in err


def test_deadline_in_the_past_needs_yes(db_url, capsys):
    """Does a past deadline stop with exit 2 and change nothing unless --yes is given?"""
    code, _, err = run(capsys, "leaderboard", "deadline", "--db", db_url, "2020-01-01T00:00Z")
    assert code == 2 and "is in the past" in err and "--yes" in err
    assert run(capsys, "leaderboard", "deadline", "--db", db_url)[1] == "deadline: none\n"
    code, out, _ = run(
        capsys, "leaderboard", "deadline", "--db", db_url, "2020-01-01T00:00Z", "--yes"
    )
    assert (code, out) == (0, "deadline: 2020-01-01T00:00:00+00:00\n")


COURSE_GRADES_TABLES = """
[components]
network = 14

[leaderboard.classification]
low = 0.5
high = 0.9
points = 50
"""


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ("[late]\ndays = 2\npenalty = 0.1\n", "[late] unknown key 'penalty'"),
        (
            "[phases.final]\ndeadline = 2026-12-01T23:59:00Z\ndue = 1\n",
            "[phases.final] unknown key 'due'",
        ),
        ("[phases.midterm]\ndeadline = 2026-12-01T23:59:00Z\n", "[phases] unknown key 'midterm'"),
        ("[leaderboard]\nfinal_submisions = 2\n", "[leaderboard] unknown key 'final_submisions'"),
        ("[phases.final]\ndeadline = 2026-12-01T23:59:00\n", "give a UTC offset"),
        ('[phases.final]\ndeadline = "tomorrow"\n', "expected a TOML date-time"),
        (
            "[phases.final]\ndeadline = 2026-12-01T23:59:00Z\ncutoff = 2026-11-01T00:00:00Z\n",
            "cutoff is before the deadline",
        ),
        ("[late]\ndays = 2\n", "[late] days needs a late window"),
    ],
)
def test_course_file_errors_name_table_and_key(db_url, tmp_path, capsys, tables, message):
    """Is an unknown or malformed key in the leaderboard's tables an error naming it?"""
    course = tmp_path / "course.toml"
    course.write_text(COURSE_GRADES_TABLES + tables)
    code, _, err = run(capsys, "leaderboard", "deadline", "--db", db_url, "--course", str(course))
    assert code == 2 and message in err and str(course) in err


def test_course_final_phase_owns_the_deadline(db_url, tmp_path, capsys):
    """With [phases.final] in the course file, is the deadline shown from it and not settable?"""
    course = tmp_path / "course.toml"
    course.write_text(COURSE_GRADES_TABLES + "[phases.final]\ndeadline = 2999-01-01T00:00:00Z\n")
    command = ["leaderboard", "deadline", "--db", db_url, "--course", str(course)]
    assert run(capsys, *command)[1] == "deadline: 2999-01-01T00:00:00+00:00\n"
    code, _, err = run(capsys, *command, "2999-02-01T00:00Z")
    assert code == 2 and "[phases.final]" in err
