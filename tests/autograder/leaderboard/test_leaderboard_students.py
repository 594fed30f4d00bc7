"""The student side over real HTTP: history, chosen finals, pseudonyms, token reset (issue 11)."""

import json
import threading
from datetime import datetime, timedelta

import pytest

from facekit.base.contract import CLASSIFICATION, VERIFICATION
from facekit.cli.main import main as facekit_main

STUDENTS = ["ann", "ben", "cat", "dan", "eve"]
FINALS = 2


@pytest.fixture
def server(checked_backend, live_servers, tmp_path_factory):
    course = tmp_path_factory.mktemp("course") / "course.toml"
    course.write_text(f"[leaderboard]\nfinal_submissions = {FINALS}\n")
    return live_servers(checked_backend, "students", STUDENTS, 20, "--course", str(course))


def api(server, method: str, path: str, student: str, body: dict | None = None):
    """A JSON request with `student`'s token -> (status, JSON)."""
    status, reply = server.request(
        method,
        path,
        token=server.tokens[student],
        body=None if body is None else json.dumps(body).encode(),
        content_type=None if body is None else "application/json",
    )
    return status, json.loads(reply)


def choose(server, student: str, task: str, ids: list[int]):
    return api(server, "POST", "/api/me/finals", student, {"task": task, "submission_ids": ids})


def test_my_history_shows_time_public_score_and_late_flag_only(server, submissions):
    """Does /api/me list my submissions (time, public score, lateness), no private score, and
    nobody else's?"""
    ids = [
        server.submit("cat", CLASSIFICATION, submissions.classification(n, 20 - n))[1]
        for n in (4, 9)
    ]
    assert server.submit("dan", CLASSIFICATION, submissions.classification(1, 1))[0] == 200
    status, me = api(server, "GET", "/api/me", "cat")
    assert status == 200
    assert (me["name"], me["final_submissions"]) == ("cat", FINALS)
    assert me["display_name"].startswith("anonymous-")
    history = me["submissions"]
    assert [s["submission_id"] for s in history] == [
        ids[1]["submission_id"],
        ids[0]["submission_id"],
    ]
    assert [s["public"] for s in history] == [0.45, 0.2]
    assert all(s["late_days"] == 0 and s["chosen"] is False for s in history)
    assert all("private" not in s for s in history)
    assert history[0]["created_at"] == ids[1]["created_at"]
    assert api(server, "GET", "/api/me", "cat")[0] == 200
    assert server.request("GET", "/api/me")[0] == 401


def test_chosen_submissions_decide_the_private_ranking(
    checked_backend, live_servers, submissions, tmp_path
):
    """Does a student's chosen final (not the best public) rank them once private scores show?"""
    course = tmp_path / "course.toml"
    course.write_text(f"[leaderboard]\nfinal_submissions = {FINALS}\n")
    server = live_servers(checked_backend, "ranking", ["ann", "ben"], 20, "--course", str(course))
    server.set_deadline("2999-01-01T00:00:00Z")
    receipts = {}
    for key, student, public, private in [
        ("a1", "ann", 18, 4), ("a2", "ann", 10, 16), ("b1", "ben", 14, 12),
    ]:  # fmt: skip
        status, receipts[key] = server.submit(
            student, CLASSIFICATION, submissions.classification(public, private)
        )
        assert status == 200
    a2 = receipts["a2"]["submission_id"]
    status, reply = choose(server, "ann", CLASSIFICATION, [a2])
    assert (status, reply["chosen"]) == (200, [a2])

    for ids, message in [
        ([a2, receipts["a1"]["submission_id"], receipts["b1"]["submission_id"]], "at most 2"),
        ([receipts["b1"]["submission_id"]], "not your classification submissions"),
    ]:
        status, reply = choose(server, "ann", CLASSIFICATION, ids)
        assert status == 400 and message in reply["error"]

    last = datetime.fromisoformat(receipts["b1"]["created_at"])
    server.set_deadline((last + timedelta(milliseconds=1)).isoformat())
    board = server.leaderboard(CLASSIFICATION)
    rows = [(r["student"], r["rank"], r["private"], r["private_rank"]) for r in board["rows"]]
    # ann leads the public board with 0.9, but her chosen 0.8 private wins the private one
    assert rows == [("ann", 1, 0.8, 1), ("ben", 2, 0.6, 2)]
    status, export = server.request("GET", "/api/staff/export", token=server.staff_token)
    assert export.decode().splitlines()[1:] == [
        "ann,classification,0.5,0.8",
        "ben,classification,0.7,0.6",
    ]
    status, reply = choose(server, "ann", CLASSIFICATION, [])
    assert status == 400 and "can no longer change" in reply["error"]


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("Team Rocket", 200, None),
        ("ben", 400, "is taken"),  # another student's roster name
        ("x", 400, "2 to 40 characters"),
        ("evil\u202ename", 400, "printable"),
        ("line\nbreak", 200, None),  # whitespace is folded to one space
    ],
)
def test_display_name_is_the_only_public_name(server, submissions, name, status, message):
    """Is a chosen display name shown publicly instead of the roster name, and a bad one refused?"""
    assert server.submit("eve", VERIFICATION, submissions.verification([0.5] * 8))[0] == 200
    code, reply = api(server, "POST", "/api/me/name", "eve", {"display_name": name})
    assert code == status, reply
    if message:
        assert message in reply["error"]
        return
    shown = " ".join(name.split())
    names = [row["name"] for row in server.leaderboard(VERIFICATION)["rows"]]
    assert shown in names and "eve" not in names
    page = server.request("GET", "/")[1].decode()
    assert f"<td>{shown}</td>" in page and "<td>eve</td>" not in page
    # the same name for someone else is refused, whatever its case
    code, reply = api(server, "POST", "/api/me/name", "dan", {"display_name": shown.upper()})
    assert code == 400 and "is taken" in reply["error"]


def test_staff_reset_a_lost_token(server, tmp_path, capsys):
    """Does `reset-token` issue a working token and make the old one fail?"""
    old = server.tokens["dan"]
    out = tmp_path / "dan.csv"
    command = ["leaderboard", "reset-token", "--db", server.db_url, "dan", "--out", str(out)]
    assert facekit_main(command) == 0
    assert "the old one no longer works" in capsys.readouterr().out
    new = out.read_text().splitlines()[1].split(",")[1]
    assert server.request("GET", "/api/me", token=old)[0] == 401
    assert server.request("GET", "/api/me", token=new)[0] == 200
    server.tokens["dan"] = new  # later tests of this module act as dan
    code = facekit_main(["leaderboard", "reset-token", "--db", server.db_url, "zed", "--out",
                         str(tmp_path / "z.csv")])  # fmt: skip
    assert code == 1 and "no participant named 'zed'" in capsys.readouterr().err


def test_concurrent_choice_and_submission_lose_neither(server, submissions):
    """While one client uploads and another changes the final choice, are all uploads kept and
    is the last choice the one in force?"""
    first = [
        server.submit("ben", CLASSIFICATION, submissions.classification(n, n))[1] for n in (3, 5)
    ]
    ids = [r["submission_id"] for r in first]
    uploads, choices = [], []

    def upload() -> None:
        for n in range(8):
            status, reply = server.submit("ben", CLASSIFICATION, submissions.classification(n, n))
            uploads.append((status, reply.get("submission_id")))

    def select() -> None:
        for round_ in range(16):
            status, reply = choose(server, "ben", CLASSIFICATION, [ids[round_ % 2]])
            choices.append((status, reply.get("chosen")))

    threads = [threading.Thread(target=upload), threading.Thread(target=select)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in uploads] == [200] * 8
    assert [status for status, _ in choices] == [200] * 16
    history = api(server, "GET", "/api/me", "ben")[1]["submissions"]
    assert {s["submission_id"] for s in history} == set(ids) | {i for _, i in uploads}
    assert [s["submission_id"] for s in history if s["chosen"]] == choices[-1][1]
