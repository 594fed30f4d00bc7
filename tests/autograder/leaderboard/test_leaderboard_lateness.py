"""Phases and lateness over real HTTP: late days, extensions, cut-offs, checkpoint (issue 11)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from facekit.base.contract import CLASSIFICATION
from facekit.cli.main import main as facekit_main

STUDENTS = ["ann", "ben", "cat", "dan", "eve"]


def toml_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_course(tmp_path, name: str, *, deadline, cutoff=None, checkpoint=None, late="", ext=""):
    """A course file with the grade tables `facekit grades` reads plus the leaderboard's."""
    folder = tmp_path / name
    folder.mkdir()
    text = "[components]\nnetwork = 14\n\n[leaderboard.classification]\nlow = 0.5\nhigh = 0.9\n"
    text += "points = 50\n\n[phases.final]\n" + f"deadline = {toml_time(deadline)}\n"
    if cutoff is not None:
        text += f"cutoff = {toml_time(cutoff)}\n"
    if checkpoint is not None:
        text += f"\n[phases.checkpoint]\ndeadline = {toml_time(checkpoint)}\nmultiplier = 0.97\n"
    if ext:
        (folder / "extensions.csv").write_text("student,extra_days\n" + ext)
        late += 'extensions = "extensions.csv"\n'
    text += "\n[late]\n" + late
    (folder / "course.toml").write_text(text)
    return folder / "course.toml"


def export(db_url: str, course, capsys) -> dict[str, dict]:
    """`facekit leaderboard export --details` rows by student (classification)."""
    command = ["leaderboard", "export", "--db", db_url, "--course", str(course), "--details"]
    capsys.readouterr()  # drop earlier output (e.g. the roster's)
    assert facekit_main(command) == 0
    rows = csv.DictReader(io.StringIO(capsys.readouterr().out))
    return {row["student"]: row for row in rows if row["task"] == CLASSIFICATION}


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def late_server(checked_backend, live_servers, tmp_path_factory, now):
    """Due 36 h ago, open 5 more days, 1 late day each (10 %/day, cap 25 %); a checkpoint that
    closed 2 days ago; extensions: ben 1 day, cat 3 days."""
    course = write_course(
        tmp_path_factory.mktemp("course"),
        "late",
        deadline=now - timedelta(hours=36),
        cutoff=now + timedelta(days=5),
        checkpoint=now - timedelta(days=2),
        late="days = 1\npenalty_per_day = 0.1\nmax_penalty = 0.25\n",
        ext="ben,1\ncat,3\n",
    )
    server = live_servers(checked_backend, "late", STUDENTS, 10, "--course", str(course))
    server.course = course
    return server


def test_late_days_extensions_and_checkpoint(late_server, submissions, capsys):
    """Is a late submission within the budget accepted, flagged and penalised, an extension
    personal, a submission beyond the budget refused, and a missed checkpoint applied?"""
    status, reply = late_server.submit("ann", CLASSIFICATION, submissions.classification(20, 20))
    assert status == 403  # 2 days late, budget 1
    assert "would be 2 day(s) late and your late-day budget is 1" in reply["error"]

    status, reply = late_server.submit("ben", CLASSIFICATION, submissions.classification(15, 10))
    assert (status, reply["late_days"], reply["public"]) == (200, 1, 0.75)  # 12 h late
    status, reply = late_server.submit("cat", CLASSIFICATION, submissions.classification(12, 16))
    assert (status, reply["late_days"]) == (200, 0)  # due in 36 h for cat

    status, body = late_server.request(
        "GET", "/api/staff/submissions", token=late_server.staff_token
    )
    records = {r["student"]: r["late_days"] for r in json.loads(body)["submissions"]}
    assert records == {"ben": 1, "cat": 0}

    rows = export(late_server.db_url, late_server.course, capsys)
    assert set(rows) == {"ben", "cat"}
    ben, cat = rows["ben"], rows["cat"]
    assert (ben["late_days"], ben["checkpoint_met"]) == ("1", "0")
    assert float(ben["public"]) == pytest.approx(0.75 * 0.9)
    assert float(ben["private"]) == pytest.approx(0.5 * 0.9 * 0.97)
    assert (cat["late_days"], cat["checkpoint_met"]) == ("0", "1")  # cat's checkpoint: +3 days
    assert (float(cat["public"]), float(cat["private"])) == (0.6, 0.8)


def test_cutoff_closes_except_for_an_extension(
    checked_backend, live_servers, submissions, tmp_path, now
):
    """After the cut-off is every upload refused, except where a student's extension covers it?"""
    course = write_course(
        tmp_path,
        "cutoff",
        deadline=now - timedelta(days=3),
        cutoff=now - timedelta(hours=1),
        late="days = 5\npenalty_per_day = 0.1\n",
        ext="dan,4\n",
    )
    server = live_servers(checked_backend, "cutoff", STUDENTS, 10, "--course", str(course))
    status, reply = server.submit("eve", CLASSIFICATION, submissions.classification(9, 9))
    assert status == 403 and "submissions closed at" in reply["error"]
    status, reply = server.submit("dan", CLASSIFICATION, submissions.classification(9, 9))
    assert (status, reply["late_days"]) == (200, 0)
    # the staff deadline route defers to the course file
    status, _ = server.request(
        "POST", "/api/staff/deadline", token=server.staff_token, body=b'{"deadline": null}',
        content_type="application/json",
    )  # fmt: skip
    assert status == 409


def test_export_selects_as_of_each_students_own_deadline(
    checked_backend, live_servers, submissions, tmp_path, capsys
):
    """Does the export ignore what a student submitted after their own deadline, and apply the
    late penalty with its cap to what they submitted in their late window?"""
    server = live_servers(checked_backend, "asof", STUDENTS, 10)
    times = {}
    for student, public, private in [
        ("dan", 5, 6),
        ("eve", 6, 7),
        ("dan", 18, 19),
        ("eve", 17, 18),
    ]:
        status, reply = server.submit(
            student, CLASSIFICATION, submissions.classification(public, private)
        )
        assert status == 200, reply
        times.setdefault(student, []).append(datetime.fromisoformat(reply["created_at"]))
    between = times["eve"][0] + (times["dan"][1] - times["eve"][0]) / 2

    on_time_only = write_course(tmp_path, "asof", deadline=between, ext="eve,1\n")
    rows = export(server.db_url, on_time_only, capsys)
    assert float(rows["dan"]["private"]) == 0.3  # only dan's first upload was in time
    assert float(rows["eve"]["private"]) == 0.9  # eve's extension covers her second

    # three days late for everyone's second upload: 30 % penalty, capped at 25 %
    capped = write_course(
        tmp_path,
        "capped",
        deadline=between - timedelta(days=2, hours=12),
        cutoff=between + timedelta(days=30),
        late="days = 5\npenalty_per_day = 0.1\nmax_penalty = 0.25\n",
    )
    rows = export(server.db_url, capped, capsys)
    assert float(rows["dan"]["private"]) == pytest.approx(0.95 * 0.75)
    assert rows["dan"]["late_days"] == "3"


DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "late_days"),
    [
        (timedelta(0), 0),
        (timedelta(minutes=-5), 0),
        (timedelta(minutes=1), 1),
        (timedelta(days=1), 1),
        (timedelta(days=1, seconds=1), 2),
    ],
)
def test_late_days_round_up_to_whole_days(after, late_days):
    """Is one minute late one late day, and a day and a second two?"""
    from autograder.leaderboard.lateness import StudentSchedule

    schedule = StudentSchedule(DUE, DUE + timedelta(days=9), 9, None)
    assert schedule.late_days(DUE + after) == late_days
