"""The course's task metric (`[metrics]`) decides the leaderboard's scores and labels."""

import pytest

from autograder.scoring import load_keys, load_task_metrics, parse_submission, score_parsed
from facekit.base.contract import VERIFICATION

HW2P2 = "0.5*accuracy + 0.5*(1 - eer)"
STUDENTS = ["ann", "ben"]


@pytest.fixture
def metric_server(checked_backend, live_servers, tmp_path):
    course = tmp_path / "course.toml"
    course.write_text(f'[metrics]\nverification = "{HW2P2}"\n')
    server = live_servers(checked_backend, "metrics", STUDENTS, 10, "--course", str(course))
    server.course = course
    return server


def test_board_scores_and_labels_with_the_course_metric(metric_server, submissions, keys_dir):
    """Is an upload scored with the course's weighted metric, over real HTTP, and is the board
    labelled with it (classification keeping the default)?"""
    data = submissions.verification([0.84, 0.76, 0.42, 0.26, 0.51, 0.4, 0.78, 0.3])
    status, receipt = metric_server.submit("ann", VERIFICATION, data)
    assert status == 200, receipt
    keys = load_keys(VERIFICATION, keys_dir)
    metric = load_task_metrics(metric_server.course)[VERIFICATION]
    expected = score_parsed(keys, parse_submission(keys, data, filename="v.csv"), metric)
    default = score_parsed(keys, parse_submission(keys, data, filename="v.csv"))
    assert receipt["metric"] == HW2P2
    assert receipt["public"] == pytest.approx(expected.public)
    assert expected.public != pytest.approx(default.public)
    status, board = metric_server.request("GET", "/api/leaderboard/verification")
    assert status == 200 and HW2P2.encode() in board
    status, board = metric_server.request("GET", "/api/leaderboard/classification")
    assert status == 200 and b'"accuracy"' in board
