"""The leaderboard over real HTTP: a `facekit leaderboard serve` process per backend."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from facekit.base.contract import CLASSIFICATION, SUBMISSION_FILES, VERIFICATION
from facekit.cli.main import main as facekit_main

CLIENTS = [f"client{i:02d}" for i in range(20)]
STUDENTS = ["ann", "ben", "cat", "dan", "eve", "limit", "burst", "logs", *CLIENTS]
DAILY_LIMIT = 10


@pytest.fixture
def server(checked_backend, live_servers):
    return live_servers(checked_backend, "main", STUDENTS, DAILY_LIMIT)


def test_submission_is_scored_and_listed(server, submissions):
    """Does an upload come back with its public score and appear on the leaderboard?"""
    status, reply = server.submit("ann", CLASSIFICATION, submissions.classification(15, 4))
    assert status == 200, reply
    assert reply["public"] == pytest.approx(0.75)
    assert reply["metric"] == "accuracy"
    assert reply["submissions_left_today"] == DAILY_LIMIT - 1
    assert "private" not in reply
    rows = {row["student"]: row for row in server.leaderboard(CLASSIFICATION)["rows"]}
    assert rows["ann"]["public"] == pytest.approx(0.75)
    assert rows["ann"]["count"] == 1
    assert "private" not in rows["ann"]


def test_verification_is_scored_by_roc_auc(server, submissions):
    """Is a verification CSV scored by ROC AUC on its public pairs only?"""
    # public labels 1,0,1,0: scores order them perfectly; private pairs get reversed scores
    scores = [0.9, 0.1, 0.8, 0.2, 0.9, 0.1, 0.2, 0.8]
    status, reply = server.submit("ben", VERIFICATION, submissions.verification(scores))
    assert status == 200, reply
    assert (reply["metric"], reply["public"]) == ("roc_auc", pytest.approx(1.0))


@pytest.mark.parametrize(
    ("token", "expected_error"),
    [("not-a-real-token", "unknown token"), ("", "missing token")],
)
def test_wrong_token_is_rejected(server, submissions, token, expected_error):
    """Is an unknown or missing token refused with 401, storing nothing?"""
    before = server.leaderboard(CLASSIFICATION)["rows"]
    status, reply = server.submit("ann", CLASSIFICATION, submissions.classification(20, 20), token)
    assert status == 401
    assert expected_error in reply["error"]
    assert server.leaderboard(CLASSIFICATION)["rows"] == before


def test_invalid_csv_lists_problems_and_does_not_count(server):
    """Does a malformed CSV get 400 with each problem named, without using up the limit?"""
    status, reply = server.submit("cat", CLASSIFICATION, b"id,label\nimg00.jpg,zed\nnope,alice\n")
    assert status == 400
    problems = "\n".join(reply["problems"])
    assert "line 2" in problems and "zed" in problems
    assert "nope" in problems
    assert all(row["student"] != "cat" for row in server.leaderboard(CLASSIFICATION)["rows"])


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        # 8 rows of 1 kB: too many bytes for 8 pairs, caught while reading the file
        (b"pair_id,score\n" + b"".join(b"%d,0.%s\n" % (i, b"5" * 1000) for i in range(8)), 413,
         "the limit is 4096 bytes"),
        # 120 kB: caught by the request size limit before the body is parsed
        (b"pair_id,score\n" + b"0,0.5\n" * 20_000, 413, "the limit is 4096 bytes"),
        # 12 kB of short rows: more rows than the keys have, refused at the ninth
        (b"pair_id,score\n" + b"0,0.5\n" * 2_000, 400, "invalid submission: 1 problem"),
    ],
)  # fmt: skip
def test_oversize_upload_is_refused(server, data, status, message):
    """Is a file above --max-upload-bytes (4096 here) or with too many rows refused, unread?"""
    reply_status, reply = server.submit("cat", VERIFICATION, data)
    assert reply_status == status
    assert message in reply["error"]


def test_unknown_task_is_404(server, submissions):
    status, reply = server.submit("cat", "segmentation", submissions.verification([0.5] * 8))
    assert status == 404
    assert "classification, verification" in reply["error"]


def test_daily_limit_is_enforced(server, submissions):
    """Is the submission after the limit refused with 429 and not stored?"""
    for left in reversed(range(DAILY_LIMIT)):
        status, reply = server.submit("limit", CLASSIFICATION, submissions.classification(5, 5))
        assert (status, reply.get("submissions_left_today")) == (200, left), reply
    status, reply = server.submit("limit", CLASSIFICATION, submissions.classification(20, 20))
    assert status == 429
    assert "daily limit" in reply["error"]
    # the limit is per task
    status, _ = server.submit("limit", VERIFICATION, submissions.verification([0.5] * 8))
    assert status == 200
    rows = {row["student"]: row for row in server.leaderboard(CLASSIFICATION)["rows"]}
    assert (rows["limit"]["count"], rows["limit"]["public"]) == (DAILY_LIMIT, 0.25)


def test_concurrent_burst_cannot_exceed_the_limit(server, submissions):
    """Do 15 simultaneous uploads by one student yield exactly DAILY_LIMIT accepted?"""
    data = submissions.verification([0.5] * 8)
    with ThreadPoolExecutor(max_workers=15) as pool:
        replies = list(pool.map(lambda _: server.submit("burst", VERIFICATION, data), range(15)))
    statuses = sorted(status for status, _ in replies)
    assert statuses == [200] * DAILY_LIMIT + [429] * (15 - DAILY_LIMIT)
    rows = {row["student"]: row for row in server.leaderboard(VERIFICATION)["rows"]}
    assert rows["burst"]["count"] == DAILY_LIMIT


def _expected_ranking(receipts: dict[str, list[dict]]) -> list[tuple[str, float, int]]:
    """(student, best public, count) in rank order, by a plain loop over the receipts.

    A student's best is the highest public score, the earliest submission winning ties; rank
    orders bests by score, ties going to the earlier submission.
    """
    best = {}  # student -> (-public, created_at, submission_id): smaller is better
    for student, replies in receipts.items():
        for reply in replies:
            when = datetime.fromisoformat(reply["created_at"])
            key = (-reply["public"], when, reply["submission_id"])
            if student not in best or key < best[student]:
                best[student] = key
    order = sorted(best, key=best.get)
    return [(s, -best[s][0], len(receipts[s])) for s in order]


@pytest.mark.slow
def test_concurrent_clients_lose_nothing_and_rank_right(server, submissions):
    """Do 200 uploads from 20 clients at once all land, counted and ranked correctly?"""

    def client(index: int) -> list[dict]:
        replies = []
        for attempt in range(DAILY_LIMIT):
            public_correct = (index * 7 + attempt * 3) % 21
            data = submissions.classification(public_correct, (index + attempt) % 21)
            status, reply = server.submit(CLIENTS[index], CLASSIFICATION, data)
            assert status == 200, reply
            assert reply["public"] == pytest.approx(public_correct / 20)
            replies.append(reply)
        return replies

    with ThreadPoolExecutor(max_workers=len(CLIENTS)) as pool:
        receipts = dict(zip(CLIENTS, pool.map(client, range(len(CLIENTS))), strict=True))

    ids = [reply["submission_id"] for replies in receipts.values() for reply in replies]
    assert len(set(ids)) == len(CLIENTS) * DAILY_LIMIT
    board = [
        (row["student"], row["public"], row["count"])
        for row in server.leaderboard(CLASSIFICATION)["rows"]
        if row["student"] in receipts
    ]
    assert board == _expected_ranking(receipts)


def test_tokens_never_reach_the_log(server, submissions):
    """Are tokens kept out of the server log for API, form and query-string attempts?"""
    token = server.tokens["logs"]
    data = submissions.classification(12, 12)
    assert server.submit("logs", CLASSIFICATION, data)[0] == 200
    assert server.submit("logs", CLASSIFICATION, data, token="wrong-" + token)[0] == 401
    status, page = server.post_form({"token": token, "task": CLASSIFICATION}, "mine.csv", data)
    assert status == 200 and "Scored." in page
    assert server.request("GET", f"/api/leaderboard/classification?token={token}")[0] == 200
    log = server.log()
    assert "POST /api/submit/classification 200" in log
    assert "POST /submit 200" in log
    assert all(secret not in log for secret in server.tokens.values())


def test_form_shows_problems_for_a_bad_file(server):
    """Does the HTML form report each problem of an invalid file?"""
    status, page = server.post_form(
        {"token": server.tokens["dan"], "task": VERIFICATION}, "bad.csv", b"pair_id,score\n0,x\n"
    )
    assert status == 400
    assert "Not accepted." in page
    assert "bad.csv, line 2, column &#39;score&#39;" in page


def test_leaderboard_page_hides_tokens_and_private_scores(server, submissions):
    """Does the public page list pseudonyms, but no roster name, token or private column?"""
    assert server.submit("eve", CLASSIFICATION, submissions.classification(3, 17))[0] == 200
    status, page = server.request("GET", "/")
    page = page.decode()
    assert status == 200
    pseudonym = {student: name for name, student in server.display_names().items()}["eve"]
    assert f"<td>{pseudonym}</td>" in page and ">Private score</th>" not in page
    assert all(f"<td>{student}</td>" not in page for student in server.tokens)
    assert all(secret not in page for secret in server.tokens.values())
    status, reply = server.request("GET", "/api/leaderboard/classification")
    assert all(f'"{student}"' not in reply.decode() for student in server.tokens)


def test_facekit_submit_command(server, submissions, tmp_path, monkeypatch, capsys):
    """Does `facekit submit` print the score, and the problems with exit code 1?"""
    good = tmp_path / SUBMISSION_FILES[VERIFICATION]
    good.write_bytes(submissions.verification([0.9, 0.1, 0.8, 0.2, 0.5, 0.5, 0.5, 0.5]))
    monkeypatch.setenv("FACEKIT_TOKEN", server.tokens["dan"])
    command = ["submit", "--server", server.url, "--task", VERIFICATION]
    assert facekit_main([*command, str(good)]) == 0
    assert "verification: public roc_auc 1.00000" in capsys.readouterr().out
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"pair_id,score\n0,0.5\n")
    assert facekit_main([*command, str(bad)]) == 1
    err = capsys.readouterr().err
    assert "HTTP 400" in err and "broken.csv" in err
    assert facekit_main([*command, "--token", "nope", str(good)]) == 1
    assert "HTTP 401" in capsys.readouterr().err


def test_staff_routes_need_the_staff_token(server):
    """Are the deadline and export routes refused without the staff token?"""
    body = json.dumps({"deadline": None}).encode()
    for token in (None, server.tokens["ann"]):
        status, _ = server.request(
            "POST", "/api/staff/deadline", token=token, body=body, content_type="application/json"
        )
        assert status == 401
        assert server.request("GET", "/api/staff/export", token=token)[0] == 401


def test_deadline_closes_submissions_and_reveals_private_scores(
    checked_backend, live_servers, submissions
):
    """Before the deadline private scores are hidden; after it they show and uploads stop."""
    server = live_servers(checked_backend, "deadline", ["ann", "ben"], DAILY_LIMIT)
    server.set_deadline("2999-01-01T00:00:00Z")
    for student, public, private in [("ann", 15, 5), ("ben", 10, 18), ("ann", 15, 19)]:
        status, reply = server.submit(
            student, CLASSIFICATION, submissions.classification(public, private)
        )
        assert status == 200, reply
    before = server.leaderboard(CLASSIFICATION)
    assert before["revealed"] is False
    assert before["deadline"] == "2999-01-01T00:00:00+00:00"
    assert all("private" not in row for row in before["rows"])

    # just after the last submission: all three count, and the deadline is already past
    last = datetime.fromisoformat(reply["created_at"])
    server.set_deadline((last + timedelta(milliseconds=1)).isoformat())
    status, reply = server.submit("ben", CLASSIFICATION, submissions.classification(20, 20))
    assert status == 403 and "deadline" in reply["error"]

    after = server.leaderboard(CLASSIFICATION)
    assert after["revealed"] is True
    # ann's selected submission is her first 0.75 (ties go to the earliest), private 0.25
    rows = [
        (r["rank"], r["student"], r["public"], r["private"], r["private_rank"])
        for r in after["rows"]
    ]
    assert rows == [(1, "ann", 0.75, 0.25, 2), (2, "ben", 0.5, 0.9, 1)]
    page = server.request("GET", "/")[1].decode()
    assert ">Private score</th>" in page and "0.90000" in page

    status, export = server.request("GET", "/api/staff/export", token=server.staff_token)
    assert status == 200
    assert export.decode().splitlines() == [
        "student,task,public,private",
        "ann,classification,0.75,0.25",
        "ben,classification,0.5,0.9",
    ]
