"""Upload abuse over real HTTP (issue 9, families 8 and 9): bounded cost, rate limit, safe log."""

import http.client
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from facekit.base.contract import CLASSIFICATION, KEYS_CLS, KEYS_VER, VERIFICATION

PAIRS = 100_000  # a realistic verification test set: a valid file is about 1.3 MB
BIG_UPLOAD = 48 * 1024 * 1024  # the size of the reported attack
PEAK_MEMORY_GROWTH_MB = 150  # four 48 MB attacks cost 4.4 GB before the fix
CPU_SECONDS = 10.0  # one such attack cost 12.5 s of CPU before the fix; here all of them


@pytest.fixture(scope="module")
def big_keys(tmp_path_factory) -> Path:
    keys = tmp_path_factory.mktemp("bigkeys")
    (keys / KEYS_CLS).write_text("id,label,usage\na.jpg,alice,Public\nb.jpg,bob,Private\n")
    (keys / KEYS_VER).write_text(
        "pair_id,label,usage\n"
        + "".join(f"{i},{i % 2},{('Public', 'Private')[i % 3 == 0]}\n" for i in range(PAIRS))
    )
    return keys


@pytest.fixture(scope="module")
def big_server(big_keys, new_database, serve):
    """A server with the default upload limit (50 MB) and 100,000 verification pairs.

    On SQLite only: what reading an upload costs does not depend on the database.
    """
    return serve(
        new_database("sqlite"),
        big_keys,
        ["mallory", "honest"],
        5,
        *("--max-upload-bytes", str(50 * 1024 * 1024), "--invalid-limit", "100"),
    )


def _usage(pid: int) -> tuple[int, float]:
    """(peak resident memory in MB, user + system CPU seconds) of process `pid` so far."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    hertz = int(subprocess.run(["getconf", "CLK_TCK"], capture_output=True).stdout)
    return peak_kb // 1024, ticks / hertz


def _post(url: str, token: str, body: bytes, content_type: str, chunked: bool) -> int:
    """POST `body` (with Content-Length, or chunked without one); the status, or 0 if cut off."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    try:
        if chunked:
            pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
            connection.request("POST", parts.path, pieces, headers, encode_chunked=True)
        else:
            connection.request("POST", parts.path, body, headers)
        return connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the server refused the body before it was all sent
    finally:
        connection.close()


def _garbage_rows(size: int) -> bytes:
    """About `size` bytes of rows that are all wrong (three fields each)."""
    row = b"123456,0.5,extra\n"
    return b"pair_id,score\n" + row * (size // len(row))


def _unknown_ids() -> bytes:
    """As many rows as a valid file, every id unknown: the most a well-shaped file can cost."""
    return b"pair_id,score\n" + b"".join(b"x%d,0.5\n" % i for i in range(PAIRS))


@pytest.mark.slow
def test_invalid_uploads_cost_bounded_memory_and_cpu(big_server, multipart_body):
    """Do four concurrent 48 MB invalid uploads of each kind stay within memory and CPU bounds?"""
    url = f"{big_server.url}/api/submit/verification"
    valid = b"pair_id,score\n" + b"".join(b"%d,0.%d\n" % (i, i % 7) for i in range(PAIRS))
    assert big_server.submit("honest", VERIFICATION, valid)[0] == 200  # warms up a real parse
    pid = big_server.process.pid
    peak_before, cpu_before = _usage(pid)

    attacks = [
        (_garbage_rows(BIG_UPLOAD), False, {413, 0}),  # refused by its Content-Length
        (_garbage_rows(BIG_UPLOAD), True, {413, 0}),  # chunked: refused while streaming
        (_garbage_rows(4 * 1024 * 1024), False, {400}),  # under the limit: 20 problems, stop
        (_unknown_ids(), False, {400}),  # well shaped, every id unknown
    ]
    jobs = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for data, chunked, expected in attacks:
            body, content_type = multipart_body({}, "attack.csv", data)
            token = big_server.tokens["mallory"]
            for _ in range(4):
                jobs.append((pool.submit(_post, url, token, body, content_type, chunked), expected))
        statuses = [(job.result(), expected) for job, expected in jobs]
    assert all(status in expected for status, expected in statuses), statuses

    peak_after, cpu_after = _usage(pid)
    print(f"peak RSS {peak_before} -> {peak_after} MB, CPU {cpu_after - cpu_before:.2f} s")
    assert peak_after - peak_before < PEAK_MEMORY_GROWTH_MB
    assert cpu_after - cpu_before < CPU_SECONDS


def test_problems_stop_at_twenty(big_server):
    """Does a file whose every row is wrong report 20 problems and stop reading?"""
    status, reply = big_server.submit("mallory", VERIFICATION, _garbage_rows(1024 * 1024))
    assert status == 400
    assert len(reply["problems"]) == 20
    assert reply["problems"][0] == (f"{VERIFICATION}.csv, line 2: expected 2 fields, found 3")


def test_too_many_rows_are_refused_at_the_first_extra(big_server):
    """Is a file with more data rows than the keys refused at the first row too many?"""
    data = b"pair_id,score\n" + b"1,0.5\n" * (PAIRS + 50)
    status, reply = big_server.submit("mallory", VERIFICATION, data)
    assert status == 400
    assert reply["problems"] == [
        f"{VERIFICATION}.csv, line {PAIRS + 2}: more rows than the test set has: expected {PAIRS}"
    ]


INVALID_LIMIT = 3


def test_invalid_uploads_are_rate_limited_per_token(checked_backend, live_servers, submissions):
    """After --invalid-limit invalid uploads, is the token refused (429) and others not?"""
    server = live_servers(
        checked_backend, "ratelimit", ["ann", "ben"], 10, "--invalid-limit", str(INVALID_LIMIT)
    )
    broken = b"id,label\nimg00.jpg,zed\n"
    for _ in range(INVALID_LIMIT):
        assert server.submit("ann", CLASSIFICATION, broken)[0] == 400
    status, reply = server.submit("ann", CLASSIFICATION, submissions.classification(20, 20))
    assert status == 429
    assert "too many invalid uploads: 3 within 60 minutes" in reply["error"]
    assert server.submit("ben", CLASSIFICATION, submissions.classification(20, 20))[0] == 200
    rows = {row["student"] for row in server.leaderboard(CLASSIFICATION)["rows"]}
    assert rows == {"ben"}


@pytest.mark.parametrize(
    "injected",
    ["%0A", "%0D%0A", "%E2%80%A8", "%1B[2J%0A"],
    ids=["LF", "CRLF", "line-separator", "terminal-escape"],
)
def test_log_lines_cannot_be_forged(checked_backend, live_servers, injected):
    """Can a URL with an encoded line break or escape write its own line into the log?"""
    server = live_servers(checked_backend, "logs", ["ann"], 10)
    forged = "2026-12-01 00:00:00,000 INFO autograder.leaderboard: forged"
    status, _ = server.request("GET", f"/x{injected}{forged.replace(' ', '%20')}")
    assert status == 404
    log = server.log()
    assert "forged" in log
    assert all(not line.startswith(forged) for line in log.splitlines())
    assert "\x1b" not in log and "\u2028" not in log and "\r" not in log
