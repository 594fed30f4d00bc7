"""The warm grader, trusted half: start a zygote that imports torch once, and run sandboxed
workers as forks of it (`run_sandboxed(..., zygote=...)`).

The zygote (`facekit/sandbox_side/zygote.py`, where the safety argument is written out) is
started in the cold worker's scrubbed environment, never runs student code, and serves one run
at a time over a private socket pair. Each run enters the very sandbox a cold run does (the same
`launcher.launch`), so the verdicts are the same; only the ~2.5 s `import torch` per notebook is
gone. Before the first run, `Zygote.start` checks that a run forked from it gets every
protection a cold run gets on this machine (a probe run), else it refuses (`ZygoteError`) and
grading stays cold. A zygote that stops answering is killed, and the run goes cold. To grade
several notebooks at once, `Zygote.clone` forks further zygotes from the probed one (one run at a
time each), so torch is still imported once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from autograder.sandbox import (
    REQUIRED_PROTECTIONS,
    Limits,
    ZygoteError,
    child_environment,
    isolation_report,
    launch_config,
)
from facekit.sandbox_side import launcher, sandbox_cgroup

ZYGOTE_SCRIPT = Path(launcher.__file__).with_name("zygote.py")  # not imported here: torch
START_SECONDS = 300.0  # `import torch` on a loaded machine, with margin
_ANSWER_MARGIN_SECONDS = 40.0  # beyond the run's wall limit: the zygote's kill grace and more
_MAX_ANSWER_BYTES = 1 << 16
ENTRY = "judge_worker"  # what a warm run starts: the pre-imported judge worker's main


class Zygote:
    """A running zygote; `launch` runs one sandboxed worker as its fork. Close it when done.

    A clone (`clone`) is not our child: it has no `process` but a pidfd (signalled and
    polled without the risk of a reused pid), and shares the stderr file and home of the zygote
    it came from, which owns them."""

    def __init__(
        self,
        process: subprocess.Popen | None,
        sock: socket.socket,
        stderr,
        home,
        pidfd: int | None = None,
    ) -> None:
        self._process, self._sock, self._stderr, self._home = process, sock, stderr, home
        self._pidfd = pidfd
        self._closed = False

    @classmethod
    def start(cls) -> Zygote:
        """Start a zygote and probe it; raises ZygoteError when it cannot give a warm run the
        protections a cold one gets."""
        return cls.spawn().check_started()

    @classmethod
    def spawn(cls) -> Zygote:
        """The zygote's process, started: it imports torch while the caller goes on. Call
        `check_started` before its first run."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the zygote's life
        home = tempfile.TemporaryDirectory(prefix="facekit-zygote-")  # its cwd, empty
        try:
            process = subprocess.Popen(
                [sys.executable, "-B", ZYGOTE_SCRIPT, str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=home.name,
                env=child_environment(Path(home.name), allow_gpu=False),
                start_new_session=True,
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            home.cleanup()
            raise
        finally:
            theirs.close()
        return cls(process, ours, stderr, home)

    def check_started(self) -> Zygote:
        """Wait for the spawned zygote's greeting and probe it; closes it and raises ZygoteError
        when it cannot give a warm run the protections a cold one gets."""
        try:
            hello = self._receive(START_SECONDS)
            if hello.get("threads") != 1:
                raise ZygoteError(f"the zygote started {hello.get('threads')} threads")
            self._probe()
        except BaseException:
            self.close()
            raise
        return self

    @property
    def alive(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return self._pidfd is not None and not select.select([self._pidfd], [], [], 0)[0]

    def clone(self) -> Zygote:
        """Another zygote, forked from this one between runs (the same clean, probed state, so
        it is not probed again), serving on its own socket: for grading notebooks in parallel.
        It dies with this one. Raises ZygoteError when this zygote cannot fork one."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(self._sock, [json.dumps({"clone": True}).encode()], [theirs.fileno()])
            answer = self._receive(START_SECONDS)
            pid = answer.get("clone")
            if type(pid) is not int or pid <= 0:
                raise ZygoteError(f"the zygote answered a clone request with {str(answer)[:200]}")
            # Not reaped before this: its parent reaps only while serving a request, and no
            # other request reaches this zygote meanwhile (clones are made before grading).
            pidfd = os.pidfd_open(pid)
        except OSError as error:
            ours.close()
            raise ZygoteError(f"the zygote does not take requests: {error}") from error
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return Zygote(None, ours, self._stderr, self._home, pidfd=pidfd)

    def launch(self, config: dict, streams) -> tuple[int, bool, dict]:
        """Run the launcher CONFIG as a fork of the zygote, the run's stdout, stderr and
        readiness pipe being `streams`: (its exit status as `Popen.returncode`, whether it was
        stopped at the wall-clock limit, the launcher's usage figures). Raises ZygoteError when
        the zygote fails."""
        out, err, ready_write = streams
        config = {**config, "entry": ENTRY}
        fds = [out.fileno(), err.fileno(), ready_write]
        try:
            socket.send_fds(self._sock, [json.dumps(config).encode()], fds)
        except OSError as error:
            raise ZygoteError(f"the zygote does not take requests: {error}") from error
        started = self._receive(START_SECONDS)
        if "error" in started:
            raise ZygoteError(str(started["error"])[:300])
        pid = started.get("pid")
        wall = float(config["limits"]["wall_seconds"])
        try:
            answer = self._receive(wall + _ANSWER_MARGIN_SECONDS)
        except ZygoteError:
            if isinstance(pid, int) and pid > 0:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                sandbox_cgroup.remove_leftover(launcher.cgroup_name(pid))
            raise
        if answer.get("pid") != pid or not isinstance(answer.get("returncode"), int):
            raise ZygoteError(f"the zygote answered {str(answer)[:200]}")
        usage = answer.get("usage")
        return (
            answer["returncode"],
            bool(answer.get("timed_out")),
            usage if isinstance(usage, dict) else {},
        )

    def close(self) -> None:
        """Stop the zygote (it has no run in flight between launches); again: nothing."""
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        self._kill()
        if self._process is not None:
            self._stderr.close()
            self._home.cleanup()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _receive(self, seconds: float) -> dict:
        self._sock.settimeout(seconds)
        try:
            message = self._sock.recv(_MAX_ANSWER_BYTES)
        except OSError as error:  # socket.timeout included
            self._kill()
            raise ZygoteError(f"the zygote did not answer: {error!r}{self._story()}") from error
        if not message:
            self._kill()
            raise ZygoteError(f"the zygote exited{self._story()}")
        try:
            answer = json.loads(message)
        except ValueError as error:
            raise ZygoteError(f"the zygote answered {message[:200]!r}") from error
        if not isinstance(answer, dict):
            raise ZygoteError(f"the zygote answered {message[:200]!r}")
        return answer

    def _kill(self) -> None:
        """Kill this zygote: the whole process group of a started one (its clones and runs
        too), only the process of a clone (its parent reaps it)."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        elif self._pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            os.close(self._pidfd)
            self._pidfd = None

    def _story(self) -> str:
        """The zygote's own stderr, for a message about its failure."""
        self._stderr.seek(0)
        text = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        ended = f"exit {self._process.poll()}" if self._process else "a clone"
        return f" ({ended}): {text}" if text else ""

    def _probe(self) -> None:
        """A warm probe run must report every protection the cold probe reports."""
        with tempfile.TemporaryDirectory(prefix="facekit-zygote-probe-") as tmp:
            workdir = Path(tmp).resolve()
            config = launch_config(Path(ZYGOTE_SCRIPT), workdir, Limits(), [], ready_fd=None)
            config["probe"] = True
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                read, write = os.pipe()
                try:
                    returncode, _, _ = self.launch(config, (out, err, write))
                finally:
                    os.close(read)
                    os.close(write)
                out.seek(0)
                err.seek(0)
                text = out.read().decode("utf-8", "replace")
                problem = err.read()[-2000:].decode("utf-8", "replace")
        try:
            warm = json.loads(text)
        except ValueError:
            raise ZygoteError(f"the zygote's probe run failed ({returncode}): {problem}") from None
        lost = [name for name, held in isolation_report().items() if held and not warm.get(name)]
        if lost:
            raise ZygoteError(f"a run forked from the zygote lacks {', '.join(lost)}")


_SHARED_LOCK = threading.Lock()
_spawned_early: list[Zygote] = []  # spawn_early's zygote, until shared() checks it
_shared: list[Zygote | None] = []  # this process's zygote (None: none could start), once known


def spawn_early() -> None:
    """Spawn this process's zygote now, so that its `import torch` overlaps whatever the caller
    imports next (`facekit grade`: the judge, torch included); `shared()` finishes its start."""
    with _SHARED_LOCK:
        if not _shared and not _spawned_early:
            with contextlib.suppress(OSError):  # shared() tries again, and says why it fails
                _spawned_early.append(Zygote.spawn())
                atexit.register(_spawned_early[0].close)


def shared() -> Zygote | None:
    """This process's zygote, started at the first call (or by `spawn_early`) and stopped at
    exit; None where none can start (the reason is printed once), so grading goes cold. Safe
    to call from any thread: there is only ever one."""
    with _SHARED_LOCK:
        if not _shared:
            _shared.append(_check_started(_spawned_early.pop() if _spawned_early else None))
        return _shared[0]


def _check_started(spawned: Zygote | None) -> Zygote | None:
    try:
        started = spawned.check_started() if spawned else Zygote.start()
    except ZygoteError as error:
        print(f"facekit: no warm grader, grading cold: {error}", file=sys.stderr)
        return None
    if spawned is None:
        atexit.register(started.close)
    return started


def warm_by_default() -> bool:
    """Whether batch grading goes warm: when every required protection holds on this machine
    (a TA who accepts a weaker sandbox grades cold, the long-proven way)."""
    report = isolation_report()
    return all(report.get(name) for name in REQUIRED_PROTECTIONS)
