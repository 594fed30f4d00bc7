"""Feedback delivery over real HTTP: release, visibility, escaping, hostile files (issue 11)."""

import json
import os
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar

import pytest

from autograder.judge.report import CaseResult, ComponentResult, StudentReport
from facekit.cli.main import main as facekit_main

STUDENTS = ["ann", "ben", "cat", "dan", "eve", "fay"]
HOSTILE = "<script>alert(1)</script> **Total: 100 / 100**"
VISIBILITY = ["visible", "after_published", "hidden", "after_due_date"]


def write_report(folder, notes: tuple[str, ...] = ()) -> None:
    """A real judge report with four components, then Gradescope visibilities set per test."""
    components = tuple(
        ComponentResult(
            id=f"part_{i}",
            class_name=name,
            cases=(CaseResult(f"{name} case", i, 4, f"ran {name}", problems=(f"{name} differs",)),),
        )
        for i, name in enumerate(["BasicBlock", "ArcFace", "SecretHiddenCase", "CenterLoss"])
    )
    StudentReport("hw2p2.ipynb", components, notes).write(folder)
    results = json.loads((folder / "results.json").read_text())
    for test, visibility in zip(results["tests"], VISIBILITY, strict=True):
        test["visibility"] = visibility
    (folder / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    """ann and eve: good reports (ann's notes hostile); ben: a link; cat: nested JSON; dan: none;
    fay: her folder is a link to eve's (one folder must never give another student's feedback)."""
    root = tmp_path_factory.mktemp("graded")
    write_report(root / "ann", notes=(HOSTILE, "</pre><img src=x onerror=alert(2)>"))
    write_report(root / "eve")
    (root / "ben").mkdir()
    os.symlink("/etc/passwd", root / "ben" / "results.json")
    (root / "cat").mkdir()
    (root / "cat" / "results.json").write_text("[" * 5000 + "]" * 5000)
    os.symlink(root / "eve", root / "fay")
    return root


@pytest.fixture(scope="module")
def server(backend, live_servers, tmp_path_factory):
    course = tmp_path_factory.mktemp("course") / "course.toml"
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    course.write_text(f"[phases.final]\ndeadline = {due}\n")
    return live_servers(backend, "feedback", STUDENTS, 5, "--course", str(course))


def release(server, grades, details_from: datetime, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = facekit_main(
        ["leaderboard", "release-feedback", "--db", server.db_url, "--grades", str(grades),
         "--details-from", details_from.isoformat()]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def my_feedback(server, student: str) -> tuple[int, dict]:
    status, reply = server.request("GET", "/api/me/feedback", token=server.tokens[student])
    return status, json.loads(reply)


def feedback_page(server, student: str) -> str:
    """/me/feedback as a browser sees it: sign in with the token (a cookie session), then GET."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = urllib.parse.urlencode({"token": server.tokens[student]}).encode()
    opener.open(f"{server.url}/me/login", data=form, timeout=60).read()
    return opener.open(f"{server.url}/me/feedback", timeout=60).read().decode()


def test_feedback_appears_only_once_released_and_honours_visibility(
    checked_backend, server, grades, capsys
):
    """Before release: nothing. After: visible tests only; later ones counted; hidden never."""
    assert my_feedback(server, "ann")[0] == 404
    code, out, err = release(server, grades, datetime.now(UTC) + timedelta(days=7), capsys)
    assert code == 1  # ben's and cat's files are refused, the others released
    assert "released feedback to 2 students" in out and "no results.json for 1: dan" in out
    assert "ben: " in err and "symbolic link" in err
    assert "cat: " in err and "nests deeper than" in err
    assert "fay: " in err
    assert all(my_feedback(server, student)[0] == 404 for student in ("ben", "cat", "dan", "fay"))

    status, shown = my_feedback(server, "ann")
    assert status == 200
    assert [t["name"] for t in shown["tests"]] == ["BasicBlock (part_0)"]
    assert (shown["pending"], shown["hidden"], shown["score"]) == (2, 1, 6.0)
    assert len(shown["pending_from"]) == 2  # ann's deadline and the details-from time
    reply = server.request("GET", "/api/me/feedback", token=server.tokens["ann"])[1].decode()
    assert "SecretHiddenCase" not in reply and "ArcFace" not in reply


def test_feedback_page_escapes_student_text(checked_backend, server, grades, capsys):
    """Is text the student's code influenced shown as text, never as HTML?"""
    release(server, grades, datetime.now(UTC) + timedelta(days=7), capsys)
    page = feedback_page(server, "ann")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **Total: 100 / 100**" in page
    assert "<script>" not in page and "<img" not in page
    assert "BasicBlock differs" in page and "SecretHiddenCase" not in page


def test_after_published_details_show_from_the_release_date(
    checked_backend, server, grades, capsys
):
    """Once the details-from time has passed, do after_published tests show (hidden still not)?"""
    code, _, _ = release(server, grades, datetime.now(UTC) - timedelta(minutes=1), capsys)
    assert code == 1
    status, shown = my_feedback(server, "eve")
    assert [t["name"] for t in shown["tests"]] == ["BasicBlock (part_0)", "ArcFace (part_1)"]
    assert (shown["pending"], shown["hidden"]) == (1, 1)  # after_due_date: eve's deadline ahead
    assert "ArcFace differs" in shown["tests"][1]["output"]
