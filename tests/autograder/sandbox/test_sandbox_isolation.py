"""Can sandboxed code reach anything beyond its working directory? (Each protection is checked
where this kernel provides it; `isolation_report()` says which do.)"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from autograder.sandbox import REPO_ROOT, describe_isolation, isolation_report
from facekit.base.contract import KEYS_CLS


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
    (keys / KEYS_CLS).write_text("id,label,usage\n0001.jpg,alice,Private\n")
    (keys / KEYS_CLS).chmod(0o644)
    result = run_snippet(
        """
        import os, sys
        try:
            print(open(os.path.join(sys.argv[1], sys.argv[2])).read())
        except OSError as error:
            print("denied", type(error).__name__)
        try:
            print(os.listdir(sys.argv[1]))
        except OSError as error:
            print("denied", type(error).__name__)
        """,
        args=(str(keys), KEYS_CLS),
    )
    assert "alice" not in result.stdout and KEYS_CLS not in result.stdout, result.stdout
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
    """Can the script kill the grading process? (It must not: another user id as root, a PID
    namespace that does not contain the grader as anyone.)"""
    if not isolation_report()["unprivileged_user"]:
        protection("pid_namespace")
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


def test_isolation_report_lists_the_whole_run_protections():
    """Does the report name the cgroup, disk-quota, UNIX-socket and user-namespace protections,
    and does the line say who runs it and what is missing?"""
    report = isolation_report()
    new = {"memory_cgroup", "pids_cgroup", "cpu_cgroup", "disk_quota", "unix_sockets_blocked"}
    assert new | {"user_namespace", "ipc_namespace"} <= set(report)
    line = describe_isolation(report)
    assert "not available [" in line and ("running as root" in line or "not root" in line)


def _unix_socket_server(directory: Path) -> socket.socket:
    """A world-writable UNIX socket server in `directory`, as PostgreSQL's is by default."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = directory / f"facekit-test-{uuid.uuid4().hex[:8]}.sock"
    server.bind(str(path))
    path.chmod(0o777)
    server.listen()
    server.settimeout(0.5)
    return server


def _socket_dirs(tmp_path: Path) -> list[Path]:
    """Host folders where services keep sockets and this user can create one."""
    candidates = [tmp_path, Path("/dev/shm"), Path("/run")]
    return [path for path in candidates if path.is_dir() and os.access(path, os.W_OK | os.X_OK)]


def test_host_unix_sockets_are_unreachable(run_snippet, protection, tmp_path):
    """Can the sandbox connect or send to a world-writable host UNIX socket? (It must not.)"""
    protection("unix_sockets_blocked")
    servers = [_unix_socket_server(directory) for directory in _socket_dirs(tmp_path)]
    try:
        result = run_snippet(
            """
            import socket, sys
            for path in sys.argv[1:]:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    try:
                        s = socket.socket(socket.AF_UNIX, kind)
                        s.settimeout(2)
                        s.connect(path)
                        s.sendall(b"hello")
                        print("CONNECTED", path)
                    except OSError as error:
                        print("refused", type(error).__name__)
            """,
            args=tuple(server.getsockname() for server in servers),
        )
        for server in servers:
            with contextlib.suppress(TimeoutError):
                server.accept()
                raise AssertionError(f"the sandbox reached {server.getsockname()}")
    finally:
        for server in servers:
            path = server.getsockname()
            server.close()
            os.unlink(path)
    assert "CONNECTED" not in result.stdout, result
    assert result.stdout.count("refused") == 2 * len(servers), result


def test_socket_pairs_still_work_but_not_for_datagrams(run_snippet, protection):
    """Do connected stream pairs (multiprocessing pipes) work while an AF_UNIX socket and a
    datagram pair (which may sendto() any path) are refused?"""
    protection("unix_sockets_blocked")
    result = run_snippet(
        """
        import socket
        a, b = socket.socketpair()
        a.sendall(b"ping")
        print("pair", b.recv(4).decode())
        for make in (lambda: socket.socket(socket.AF_UNIX),
                     lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)):
            try:
                make()
                print("MADE")
            except PermissionError:
                print("refused")
        """
    )
    assert result.stdout.split() == ["pair", "ping", "refused", "refused"], result


def test_udp_does_not_leave_the_sandbox(run_snippet, protection):
    """Does a UDP datagram to a host port on loopback (or anywhere) fail to arrive?"""
    protection("network_namespace")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(0.5)
        result = run_snippet(
            """
            import socket, sys
            for host, port in (("127.0.0.1", int(sys.argv[1])), ("192.0.2.1", 53)):
                try:
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (host, port))
                    print("SENT")
                except OSError as error:
                    print("failed", type(error).__name__)
            """,
            args=(str(server.getsockname()[1]),),
        )
        with contextlib.suppress(TimeoutError):
            server.recvfrom(16)
            raise AssertionError("a datagram from the sandbox arrived")
    assert result.stdout.split().count("failed") == 2, result


def test_proc_shows_no_host_process(run_snippet, protection):
    """Are other processes, and the secrets in their command lines, invisible in /proc?"""
    protection("private_proc")
    secret = f"db-password={uuid.uuid4().hex}"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", secret],
        stdout=subprocess.DEVNULL,
    )
    try:
        result = run_snippet(
            """
            import os
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
            lines = []
            for pid in pids:
                try:
                    lines.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
                except OSError:
                    pass
            print(len(pids))
            print(repr(lines))
            """
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 0, result.stderr
    count, listed = result.stdout.splitlines()
    assert secret not in result.stdout
    assert int(count) <= 2, f"the sandbox sees {count} processes: {listed}"


def test_shared_memory_is_the_runs_own(run_snippet, protection):
    """Do multiprocessing's semaphores work in /dev/shm while a file put there never reaches the
    host's /dev/shm?"""
    protection("private_tmp")
    name = f"facekit-fake-{uuid.uuid4().hex}"
    result = run_snippet(
        """
        import multiprocessing, sys
        with multiprocessing.Lock():
            print("locked")
        open("/dev/shm/" + sys.argv[1], "w").write("x")
        print("wrote")
        """,
        args=(name,),
    )
    assert result.stdout.split() == ["locked", "wrote"], result
    assert not (Path("/dev/shm") / name).exists()
