"""Kept submission files over real HTTP: staff download, and rescore with new keys (issue 11)."""

import hashlib
import json
import shutil

import pytest
from sqlalchemy import create_engine, text

from facekit.base.contract import CLASSIFICATION, KEYS_CLS, KEYS_VER, VERIFICATION
from facekit.cli.main import main as facekit_main

STUDENTS = ["ann", "ben", "cat"]


@pytest.fixture
def server(checked_backend, live_servers):
    return live_servers(checked_backend, "archive", STUDENTS, 10)


def _records(server) -> dict[int, dict]:
    status, reply = server.request("GET", "/api/staff/submissions", token=server.staff_token)
    assert status == 200, reply
    return {record["submission_id"]: record for record in json.loads(reply)["submissions"]}


def _shifted_keys(keys_dir, tmp_path, extra_row: bool = False):
    """New keys: every classification label moved to the next identity, verification flipped."""
    new = tmp_path / "new_keys"
    shutil.copytree(keys_dir, new)
    identities = ["alice", "bob", "carol"]
    lines = (keys_dir / KEYS_CLS).read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    shifted = [f"{i},{identities[(identities.index(lab) + 1) % 3]},{use}" for i, lab, use in rows]
    if extra_row:
        shifted.append("img99.jpg,alice,Private")
    (new / KEYS_CLS).write_text("\n".join([lines[0], *shifted]) + "\n")
    lines = (keys_dir / KEYS_VER).read_text().splitlines()
    flipped = [f"{p},{1 - int(lab)},{use}" for p, lab, use in (x.split(",") for x in lines[1:])]
    (new / KEYS_VER).write_text("\n".join([lines[0], *flipped]) + "\n")
    return new


def test_every_accepted_file_is_kept_and_staff_can_download_it(server, submissions):
    """Can staff download each accepted upload byte for byte, with its digest, and only staff?"""
    data = submissions.classification(11, 7)
    status, reply = server.submit("ann", CLASSIFICATION, data)
    assert status == 200, reply
    submission_id = reply["submission_id"]
    record = _records(server)[submission_id]
    assert (record["student"], record["stored"], record["size"]) == ("ann", True, len(data))
    assert record["sha256"] == hashlib.sha256(data).hexdigest()

    path = f"/api/staff/submissions/{submission_id}/file"
    status, body = server.request("GET", path, token=server.staff_token)
    assert (status, body) == (200, data)
    for token in (None, server.tokens["ann"]):
        assert server.request("GET", path, token=token)[0] == 401
    assert (
        server.request("GET", "/api/staff/submissions/999999/file", token=server.staff_token)[0]
        == 404
    )


def test_identical_files_are_stored_once(server, submissions):
    """Do two students uploading the same bytes share one stored copy?"""
    data = submissions.verification([0.3, 0.1, 0.7, 0.2, 0.5, 0.6, 0.1, 0.9])
    ids = [server.submit(name, VERIFICATION, data)[1]["submission_id"] for name in ("ben", "cat")]
    digest = hashlib.sha256(data).hexdigest()
    assert {_records(server)[i]["sha256"] for i in ids} == {digest}
    engine = create_engine(server.db_url)
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM stored_file WHERE sha256 = :d"), {"d": digest}
        ).scalar()
    engine.dispose()
    assert count == 1


def test_rescore_updates_every_stored_submission(
    checked_backend, live_servers, submissions, keys_dir, tmp_path, capsys
):
    """After a key change, does `rescore` give every stored submission its new scores?"""
    server = live_servers(checked_backend, "rescore", STUDENTS, 10)
    uploads = [
        ("ann", CLASSIFICATION, submissions.classification(15, 4)),
        ("ann", CLASSIFICATION, submissions.classification(2, 18)),
        ("ben", VERIFICATION, submissions.verification([0.9, 0.1, 0.8, 0.2, 0.9, 0.1, 0.2, 0.8])),
    ]
    for student, task, data in uploads:
        assert server.submit(student, task, data)[0] == 200
    before = _records(server)

    new_keys = _shifted_keys(keys_dir, tmp_path)
    command = ["leaderboard", "rescore", "--db", server.db_url, "--keys", str(new_keys)]
    assert facekit_main(command) == 0
    assert "rescored 3 stored submissions" in capsys.readouterr().out

    after = _records(server)
    # wrong answers were shifted by one identity too, so they are now exactly the right ones
    expected = {
        (0.75, 0.2): (0.25, 0.8),
        (0.1, 0.9): (0.9, 0.1),
        (1.0, 0.0): (0.0, 1.0),  # verification: flipped labels turn AUC into 1 - AUC
    }
    for submission_id, record in before.items():
        new = (after[submission_id]["public"], after[submission_id]["private"])
        assert new == pytest.approx(expected[record["public"], record["private"]])
    board = {row["student"]: row["public"] for row in server.leaderboard(CLASSIFICATION)["rows"]}
    assert board["ann"] == pytest.approx(0.9)


def test_rescore_is_all_or_nothing(server, submissions, keys_dir, tmp_path, capsys):
    """If one stored file does not fit the new keys, does rescore change nothing at all?"""
    assert server.submit("cat", CLASSIFICATION, submissions.classification(9, 9))[0] == 200
    before = _records(server)
    new_keys = _shifted_keys(keys_dir, tmp_path, extra_row=True)  # every file misses img99
    command = ["leaderboard", "rescore", "--db", server.db_url, "--keys", str(new_keys)]
    assert facekit_main(command) == 1
    err = capsys.readouterr().err
    assert "do not fit the new keys; nothing was changed" in err and "img99.jpg" in err
    assert _records(server) == before
