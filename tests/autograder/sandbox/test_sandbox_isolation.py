"""Can sandboxed code reach anything beyond its working directory? (Each protection is checked
where this kernel provides it; `isolation_report()` says which do.)"""

import os
import socket
import time
import uuid
from pathlib import Path

from autograder.sandbox import REPO_ROOT, describe_isolation, isolation_report


def test_isolation_report_lists_every_protection():
    """Does the report say, for each protection, whether it holds, in one loggable line?"""
    report = isolation_report()
    assert {"network_namespace", "pid_namespace", "landlock_filesystem", "rlimits"} <= set(report)
    assert all(isinstance(value, bool) for value in report.values())
    assert report["rlimits"], "resource limits are applied on every Linux"
    assert describe_isolation(report).startswith("sandbox isolation: enforced [")


def test_cannot_read_the_repository_or_solutions(run_snippet, protection):
    """Is the course repository (solutions/, the reference) unreadable from the sandbox?"""
    protection("landlock_filesystem")
    result = run_snippet(
        """
        import sys
        for path in sys.argv[1:]:
            try:
                open(path).read()
                print("READ", path)
            except OSError as error:
                print("denied", type(error).__name__)
        """,
        args=(str(REPO_ROOT / "pyproject.toml"), str(REPO_ROOT / "autograder" / "sandbox.py")),
    )
    assert result.returncode == 0, result.stderr
    assert "READ" not in result.stdout and result.stdout.count("denied") == 2


def test_cannot_read_world_readable_keys_outside_workdir(run_snippet, protection, tmp_path):
    """Are keys in a world-readable directory beside the workdir out of reach?"""
    protection("landlock_filesystem")
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    (keys / "cls_test.csv").write_text("id,label,usage\n0001.jpg,alice,Private\n")
    (keys / "cls_test.csv").chmod(0o644)
    result = run_snippet(
        """
        import os, sys
        try:
            print(open(os.path.join(sys.argv[1], "cls_test.csv")).read())
        except OSError as error:
            print("denied", type(error).__name__)
        try:
            print(os.listdir(sys.argv[1]))
        except OSError as error:
            print("denied", type(error).__name__)
        """,
        args=(str(keys),),
    )
    assert "alice" not in result.stdout and "cls_test" not in result.stdout, result.stdout
    assert result.stdout.count("denied") == 2


def test_writes_to_tmp_stay_inside_the_sandbox(run_snippet, protection):
    """Does a file the script writes to /tmp vanish with the run (private /tmp)?"""
    protection("private_tmp")
    target = Path("/tmp") / f"facekit-fake-results-{uuid.uuid4().hex}.json"
    result = run_snippet(
        "import sys\nopen(sys.argv[1], 'w').write('{\"score\": 100}')\nprint('wrote')",
        args=(str(target),),
    )
    assert result.returncode == 0 and "wrote" in result.stdout, result.stderr
    assert not target.exists()


def test_no_network(run_snippet, protection):
    """Is a TCP server listening on the host's loopback unreachable?"""
    protection("network_namespace")
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run_snippet(
            """
            import socket, sys
            try:
                socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
                print("CONNECTED")
            except OSError as error:
                print("refused", type(error).__name__)
            """,
            args=(str(port),),
        )
    assert "CONNECTED" not in result.stdout and "refused" in result.stdout, result


def test_cannot_signal_the_grader(run_snippet, protection):
    """Can the script kill the grading process? (It must not.)"""
    protection("unprivileged_user")
    result = run_snippet(
        """
        import os, signal, sys
        try:
            os.kill(int(sys.argv[1]), signal.SIGTERM)
            print("SENT")
        except OSError as error:
            print("blocked", type(error).__name__)
        """,
        args=(str(os.getpid()),),
    )
    assert "blocked" in result.stdout, result


def test_runs_as_an_unprivileged_user(run_snippet, protection):
    """Is the script's user id neither root nor the caller's?"""
    protection("unprivileged_user")
    result = run_snippet("import os\nprint(os.getuid(), os.getgid())")
    uid, gid = map(int, result.stdout.split())
    assert uid != 0 and gid != 0 and uid != os.getuid()


def test_detached_processes_die_with_the_run(run_snippet, protection, workdir):
    """Does a child that detaches (setsid) and keeps running die when the script exits?"""
    protection("pid_namespace")
    result = run_snippet(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            while True:
                with open("heartbeat", "a") as f:
                    f.write(".")
                time.sleep(0.05)
        time.sleep(0.5)
        """
    )
    assert result.returncode == 0, result.stderr
    size = (workdir / "heartbeat").stat().st_size
    time.sleep(0.5)
    assert (workdir / "heartbeat").stat().st_size == size, "the detached process is still alive"
