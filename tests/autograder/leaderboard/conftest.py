"""Leaderboard fixtures: tiny hand-written keys, fresh databases on both backends, live servers.

Every test that touches a database runs once on SQLite and once on a real PostgreSQL server
that this file starts (initdb + pg_ctl into a temporary directory, as the `postgres` user when
run as root) and stops at the end of the session.
"""

import glob
import json
import os
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from facekit.base.contract import KEYS_CLS, KEYS_VER
from facekit.cli.main import main as facekit_main

REPO_ROOT = Path(__file__).resolve().parents[3]
PG_INITDB = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
PG_BIN = Path(PG_INITDB or shutil.which("initdb") or "/nonexistent/initdb").parent
SERVER_START_TIMEOUT_S = 120
STAFF_TOKEN = "staff-" + secrets.token_hex(8)

# Classification keys: 20 public and 20 private rows, so accuracies are multiples of 1/20.
IDENTITIES = ("alice", "bob", "carol")
CLS_IDS = [f"img{i:02d}.jpg" for i in range(40)]
CLS_LABELS = [IDENTITIES[i % 3] for i in range(40)]
CLS_PUBLIC = [i % 2 == 0 for i in range(40)]
# Verification keys: 4 public and 4 private pairs.
VER_LABELS = [1, 0, 1, 0, 0, 1, 1, 0]
VER_PUBLIC = [True, True, True, True, False, False, False, False]

BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


class SubmissionCsvs:
    """Hand-made submission CSVs whose scores are known in advance."""

    @staticmethod
    def classification(public_correct: int, private_correct: int) -> bytes:
        """Exactly that many public and private rows right (each out of 20)."""
        lines = ["id,label"]
        seen = {True: 0, False: 0}
        for row_id, label, public in zip(CLS_IDS, CLS_LABELS, CLS_PUBLIC, strict=True):
            right = seen[public] < (public_correct if public else private_correct)
            seen[public] += 1
            wrong = IDENTITIES[(IDENTITIES.index(label) + 1) % 3]
            lines.append(f"{row_id},{label if right else wrong}")
        return ("\n".join(lines) + "\n").encode()

    @staticmethod
    def verification(scores: list[float]) -> bytes:
        """Scores for pairs 0..7 (labels VER_LABELS; pairs 0-3 public, 4-7 private)."""
        return ("pair_id,score\n" + "".join(f"{i},{s}\n" for i, s in enumerate(scores))).encode()


@pytest.fixture(scope="session")
def submissions() -> SubmissionCsvs:
    return SubmissionCsvs()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory) -> Path:
    keys = tmp_path_factory.mktemp("keys")
    cls_rows = zip(CLS_IDS, CLS_LABELS, CLS_PUBLIC, strict=True)
    (keys / KEYS_CLS).write_text(
        "id,label,usage\n"
        + "".join(f"{i},{label},{'Public' if p else 'Private'}\n" for i, label, p in cls_rows)
    )
    ver_rows = enumerate(zip(VER_LABELS, VER_PUBLIC, strict=True))
    (keys / KEYS_VER).write_text(
        "pair_id,label,usage\n"
        + "".join(f"{i},{label},{'Public' if p else 'Private'}\n" for i, (label, p) in ver_rows)
    )
    return keys


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresCluster:
    """A throwaway PostgreSQL server on a loopback port (trust auth, no fsync: tests only)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="facekit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        as_root = os.geteuid() == 0
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_postgres, str(PG_BIN / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def new_database(self) -> str:
        import psycopg

        name = f"lb_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def new_database(tmp_path_factory) -> Iterator[Callable[[str], str]]:
    """`new_database(backend)` -> URL of an empty database; PostgreSQL starts on first use."""
    clusters: list[PostgresCluster] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'leaderboard.db'}"
        if not clusters:
            clusters.append(PostgresCluster())
        return clusters[0].new_database()

    yield make
    for cluster in clusters:
        cluster.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def checked_backend(backend: str, needs) -> str:
    """The backend, after failing (CI) or skipping (locally) when PostgreSQL is not installed."""
    if backend == "postgres":
        needs(
            (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists(),
            "PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run installs Debian's "
            "postgresql",
        )
    return backend


@pytest.fixture
def db_url(checked_backend: str, new_database) -> str:
    """A fresh empty database on this test's backend."""
    return new_database(checked_backend)


def register(db_url: str, names: list[str], tmp_dir: Path) -> dict[str, str]:
    """Register `names` with `facekit leaderboard roster`, as staff would; name -> token."""
    roster = tmp_dir / f"roster-{uuid.uuid4().hex[:8]}.csv"
    roster.write_text("student\n" + "".join(f"{name}\n" for name in names))
    out = roster.with_name(roster.stem + "-tokens.csv")
    assert (
        facekit_main(["leaderboard", "roster", "--db", db_url, str(roster), "--out", str(out)]) == 0
    )
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    return {name: token for name, token in rows}


@dataclass
class LiveServer:
    """A `facekit leaderboard serve` subprocess on a loopback port, and ways to talk to it."""

    url: str
    db_url: str
    log_path: Path
    tokens: dict[str, str]
    process: subprocess.Popen
    staff_token: str = STAFF_TOKEN

    def log(self) -> str:
        return self.log_path.read_text()

    def submit(self, student: str, task: str, data: bytes, token: str | None = None):
        """POST /api/submit/<task> as `student` (or with an explicit token) -> (status, JSON)."""
        body, content_type = multipart({}, f"{task}.csv", data)
        status, reply = http(
            "POST",
            f"{self.url}/api/submit/{task}",
            token=self.tokens[student] if token is None else token,
            body=body,
            content_type=content_type,
        )
        return status, json.loads(reply)

    def request(self, method: str, path: str, **options) -> tuple[int, bytes]:
        """Any request to `path` on this server (options as `http`)."""
        return http(method, f"{self.url}{path}", **options)

    def post_form(self, fields: dict[str, str], filename: str, data: bytes) -> tuple[int, str]:
        """Submit the HTML form at /submit as a browser would; (status, page HTML)."""
        body, content_type = multipart(fields, filename, data)
        status, page = self.request("POST", "/submit", body=body, content_type=content_type)
        return status, page.decode()

    def display_names(self) -> dict[str, str]:
        """Public display name -> roster name, from the staff route."""
        status, reply = http("GET", f"{self.url}/api/staff/participants", token=self.staff_token)
        assert status == 200, reply
        return {p["display_name"]: p["name"] for p in json.loads(reply)["participants"]}

    def leaderboard(self, task: str) -> dict:
        """The public standings; each row also gets `student`, its roster name (staff view)."""
        status, reply = http("GET", f"{self.url}/api/leaderboard/{task}")
        assert status == 200, reply
        board = json.loads(reply)
        assert all("student" not in row for row in board["rows"])
        roster = self.display_names()
        for row in board["rows"]:
            row["student"] = roster[row["name"]]
        return board

    def set_deadline(self, deadline: str | None) -> None:
        status, reply = http(
            "POST",
            f"{self.url}/api/staff/deadline",
            token=self.staff_token,
            body=json.dumps({"deadline": deadline}).encode(),
            content_type="application/json",
        )
        assert status == 200, reply


def start_server(
    db_url: str,
    keys_dir: Path,
    tmp_dir: Path,
    names: list[str],
    daily_limit: int,
    options: tuple[str, ...] = (),
) -> LiveServer:
    """Register `names` and serve; `options` are more `serve` arguments (later ones win)."""
    tokens = register(db_url, names, tmp_dir)
    log_path = tmp_dir / f"server-{uuid.uuid4().hex[:8]}.log"
    command = [
        sys.executable, "-m", "facekit", "leaderboard", "serve", "--db", db_url,
        "--keys", str(keys_dir), "--port", "0", "--daily-limit", str(daily_limit),
        "--max-upload-bytes", "4096", *options,
    ]  # fmt: skip
    env = {**os.environ, "FACEKIT_STAFF_TOKEN": STAFF_TOKEN}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )
    ready, _, _ = select.select([process.stdout], [], [], SERVER_START_TIMEOUT_S)
    line = process.stdout.readline() if ready else "(no output in time)"
    match = re.fullmatch(r"listening on (http://\S+)\n", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}\n{log_path.read_text()}")
    return LiveServer(match.group(1), db_url, log_path, tokens, process)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def live_servers(keys_dir, new_database, tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """`start(backend, key, names, daily_limit, *options)` -> that backend and key's server.

    Started on first use with a fresh database, `names` registered and `options` passed to
    `serve`; stopped after the module.
    """
    started: dict[tuple[str, str], LiveServer] = {}

    def start(
        backend: str, key: str, names: list[str], daily_limit: int, *options: str
    ) -> LiveServer:
        if (backend, key) not in started:
            tmp_dir = tmp_path_factory.mktemp("server")
            db_url = new_database(backend)
            started[backend, key] = start_server(
                db_url, keys_dir, tmp_dir, names, daily_limit, options
            )
        return started[backend, key]

    yield start
    for server in started.values():
        stop_server(server)


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
) -> tuple[int, bytes]:
    """One real HTTP request; returns (status, body) for errors too."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with text `fields` and the file in field `file`."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def serve(tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """`serve(db_url, keys_dir, names, daily_limit, *options)` -> a server stopped at module end."""
    started: list[LiveServer] = []

    def start(
        db_url: str, keys: Path, names: list[str], daily_limit: int, *options: str
    ) -> LiveServer:
        tmp_dir = tmp_path_factory.mktemp("server")
        started.append(start_server(db_url, keys, tmp_dir, names, daily_limit, options))
        return started[-1]

    yield start
    for server in started:
        stop_server(server)


@pytest.fixture(scope="session")
def multipart_body() -> Callable[[dict[str, str], str, bytes], tuple[bytes, str]]:
    """The `multipart(fields, filename, data)` helper, for tests that build raw requests."""
    return multipart
