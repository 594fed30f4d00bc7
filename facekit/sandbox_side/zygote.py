"""The warm grader's zygote: imports torch and the judge worker once, forks a sandboxed run per
notebook, and never runs student code itself.

A fresh interpreter per notebook spends nearly all its time in `import torch` (~2.5 s of CPU);
the grading itself takes a fraction of a second. The trusted side (`autograder.sandbox_zygote`)
starts this file once, as `python -B zygote.py FD`, in the same scrubbed environment as a cold
worker, and talks to it over the UNIX socket FD (SOCK_SEQPACKET: one message per datagram).
Per run it sends the launcher's CONFIG (as for `launcher.py`) plus three descriptors: the run's
stdout, its stderr and its readiness pipe. The zygote then

1. checks that it is single-threaded (/proc/self/task holds one entry), and refuses the run
   otherwise: forking a process whose other threads may hold a lock (malloc's, OpenMP's) can
   deadlock the child, and `unshare(CLONE_NEWUSER)`, which a non-root TA needs, fails in a
   process with several threads. It stays single-threaded because it never computes anything
   with torch: `import torch` alone starts no thread (OMP_NUM_THREADS=1 is set before it, and the
   OpenMP pool is only made at the first parallel operation), and every run's torch work happens
   in a forked descendant;
2. forks a launcher (the run's own process group), which drops every descriptor but the three,
   and runs `launcher.launch`: cgroup, namespaces, tmpfs work folder, fork; the grandchild joins
   the cgroup, mounts its private /proc and /tmp, switches user id, applies rlimits,
   `no_new_privs`, Landlock and seccomp exactly as for a cold run, and only then, instead of
   exec'ing a new interpreter, closes what an exec would (close-on-exec descriptors), resets
   what a fresh interpreter would not share (environment, `sys.argv`, `sys.path[0]`, the
   random generators of `random`, numpy and torch) and calls the pre-imported worker's `main`;
   it ends like an interpreter does (threads joined, atexit handlers run, streams flushed) and
   `os._exit`s with its status. The launcher's usage figures (memory peak) come back through a
   pipe closed in the run before its first line: a forked run holds the launcher's memory, so
   the cold path's secret stderr marker would be readable, and forgeable, there;
3. waits for the launcher up to the run's wall-clock limit (then SIGTERM, which makes the
   launcher kill the run's PID namespace, and SIGKILL to its process group), removes a leftover
   cgroup, and answers `{"pid": ..., "returncode": ..., "timed_out": ..., "usage": ...}`.

A zygote serves one run at a time. For grading several notebooks at once, the trusted side asks
it for clones (`{"clone": true}` with one descriptor, a new socket): each is a fork of the zygote
between runs, so it holds the same clean state, serves on its own socket and costs a fork
instead of a second `import torch`.

Nothing of one run can reach the next: each run is a fork of the same clean zygote, its memory
(modules, globals, RNG and torch state) dies with it, its files live on its own tmpfs folder and
private /tmp (gone with its mount namespace), its processes and threads die with its PID
namespace, its shared memory with its IPC namespace and private /dev/shm, and it inherits no
descriptor but its own three. The zygote reads nothing a run writes but the launcher's usage
line. What a run can read is only what the zygote holds: torch, the worker, the launcher and
this run's own CONFIG (paths and limits, no secret).

Standard library and torch only, plus the sibling modules `launcher` and `judge_worker`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import gc
import json
import os
import random
import resource
import select
import signal
import socket
import sys
import threading
import traceback
from typing import NoReturn

if __package__:  # imported (tests, tools)
    from facekit.sandbox_side import judge_worker, launcher, sandbox_cgroup
else:  # `python -B zygote.py FD`: its folder is sys.path[0]
    import judge_worker
    import launcher
    import sandbox_cgroup

import torch  # after the worker, which imports it too: loaded once, for every run

MAX_MESSAGE_BYTES = 1 << 20  # a CONFIG is a few kB (paths, environment)
ENTRIES = {"judge_worker": judge_worker}  # the pre-imported programs a run may start
KILL_GRACE_SECONDS = 3.0
_PR_SET_PDEATHSIG = 1
_RUN_FDS = (1, 2, 3)  # stdout, stderr, the readiness pipe (FACEKIT_READY_FD)
_USAGE_FD = 4  # the launcher's usage figures (memory peak) for the zygote; never the run's
_CLONES: set[int] = set()  # this zygote's clones still to be reaped


def threads() -> int:
    """How many threads this process has now."""
    return len(os.listdir("/proc/self/task"))


def _start_entry(config: dict) -> NoReturn:
    """`launcher.launch`'s `start`, in the fully sandboxed child: run the pre-imported entry's
    `main` as if a fresh interpreter had started `config["argv"]`, then exit like one."""
    module = ENTRIES[config["entry"]]
    _close_on_exec_descriptors()
    _check_address_space()
    os.environ.clear()
    os.environ.update(config["env"])
    script = config["argv"][2]  # [python, -B, script, *args]
    sys.argv = config["argv"][2:]
    sys.path[0] = os.path.dirname(script)
    module.__file__ = script
    sys.modules["__main__"] = module
    random.seed()  # fresh per run, as in a new interpreter (PYTHONHASHSEED is fixed for both)
    torch.seed()
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()
    try:
        code = module.main(sys.argv)
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # noqa: BLE001 - as the interpreter would: traceback, status 1
        traceback.print_exc()
        code = 1
    _exit_like_an_interpreter(code)


def _close_on_exec_descriptors() -> None:
    """Close what an exec would: every descriptor marked close-on-exec (the launcher's handles
    on the caller's work folder and on the run's tmpfs, for copying the results back)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.get_inheritable(fd):
                os.close(fd)
        except OSError:
            continue  # the listing's own descriptor, closed already


def _check_address_space() -> None:
    """Exit as a cold worker would when its imports do not fit the run's address-space limit
    (RLIMIT_AS): the zygote's imports are already mapped in this fork, so without this check a
    limit too small for `import torch` would fail later, inside student code, looking like the
    student's fault. Exits before the worker signals readiness: the trusted side then reports
    the grader's own fault."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    with open("/proc/self/status", encoding="ascii") as stream:
        fields = dict(line.split(":", 1) for line in stream if ":" in line)
    mapped = int(fields["VmSize"].split()[0]) * 1024
    if limit != resource.RLIM_INFINITY and mapped > limit:
        print(
            f"MemoryError: the worker's imports (import torch, safetensors) map {mapped} bytes "
            f"of address space, more than the run's limit of {limit} bytes",
            file=sys.stderr,
            flush=True,
        )
        os._exit(1)


def _exit_like_an_interpreter(code) -> NoReturn:
    """What `Py_FinalizeEx` does for a script that ends with `code`: wait for non-daemon threads,
    run atexit handlers, flush the streams; then leave without returning into the zygote."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        threading._shutdown()  # noqa: SLF001 - the interpreter's own exit step, for the same verdict
        atexit._run_exitfuncs()  # noqa: SLF001
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001, S110 - a broken stream or handler: still exit
        pass
    os._exit(code & 0xFF)


def _launcher(config: dict, sock: socket.socket, fds: list[int], usage: int) -> NoReturn:
    """The forked launcher: its own process group, only the run's descriptors, then the sandbox."""
    try:
        os.setsid()  # the run's group: killed as one; a run's kill(0) never reaches the zygote
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the zygote
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.close(sock.detach())
        # above every target number first, so that no dup2 below overwrites a source
        *fds, usage = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in (*fds, usage))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for target, fd in zip(_RUN_FDS, fds, strict=True):
            os.dup2(fd, target)
        os.dup2(usage, _USAGE_FD, inheritable=False)  # closed in the run, as on exec
        os.closerange(_USAGE_FD + 1, os.sysconf("SC_OPEN_MAX"))
        config["env"]["FACEKIT_READY_FD"] = str(_RUN_FDS[2])
        config["usage_fd"] = _USAGE_FD
        os.chdir(config["workdir"])
        launcher.launch(config, start=_start_entry)
    except BaseException as error:  # noqa: BLE001 - report, never run unprotected
        os.write(2, f"sandbox setup failed: {error!r}\n".encode())
        os._exit(125)


def _wait(pid: int, wall_seconds: float) -> tuple[int, bool]:
    """The launcher's wait status and whether it was stopped at the wall-clock limit."""
    pidfd = os.pidfd_open(pid)
    try:
        timed_out = not select.select([pidfd], [], [], wall_seconds)[0]
        if timed_out:
            os.kill(pid, signal.SIGTERM)  # the launcher kills its PID namespace
            if not select.select([pidfd], [], [], KILL_GRACE_SECONDS)[0]:
                os.killpg(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1], timed_out
    finally:
        os.close(pidfd)


def run(sock: socket.socket, config: dict, fds: list[int]) -> dict:
    """Fork one sandboxed run of `config` and wait for it; the answer for the trusted side."""
    count = threads()
    if count != 1:
        return {"error": f"the zygote has {count} threads: forking it is not safe"}
    sys.stdout.flush()
    sys.stderr.flush()
    usage_read, usage_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _launcher(config, sock, fds, usage_write)
    os.close(usage_write)
    try:
        sock.send(json.dumps({"pid": pid}).encode())
        status, timed_out = _wait(pid, float(config["limits"]["wall_seconds"]))
        usage = _read_usage(usage_read)
    finally:
        os.close(usage_read)
        sandbox_cgroup.remove_leftover(launcher.cgroup_name(pid))  # a killed launcher's
    return {
        "pid": pid,
        "returncode": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "usage": usage,
    }


def _read_usage(fd: int) -> dict:
    """The launcher's usage figures; {} when it wrote none (killed, or failed early)."""
    os.set_blocking(fd, False)
    try:
        return json.loads(os.read(fd, 4096) or b"{}")
    except (BlockingIOError, ValueError):
        return {}


def clone(sock: socket.socket, fds: list[int]) -> dict:
    """Fork another zygote serving on the socket FDS[0]: the trusted side grades notebooks in
    parallel with one zygote each (a zygote serves one run at a time), without a second
    `import torch`. The clone holds nothing but this zygote's clean state and its own socket."""
    if len(fds) != 1:
        return {"error": f"a clone request carries one socket, got {len(fds)} descriptors"}
    count = threads()
    if count != 1:
        return {"error": f"the zygote has {count} threads: forking it is not safe"}
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(sock.detach())
            _CLONES.clear()  # its siblings: not its children to reap
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with this zygote
            serve(socket.socket(fileno=fds[0]))
        finally:
            os._exit(0)
    _CLONES.add(pid)
    return {"clone": pid}


def _reap_clones() -> None:
    """Collect the clones that ended (their trusted side closed their socket)."""
    for pid in list(_CLONES):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _CLONES.discard(pid)


def serve(sock: socket.socket) -> None:
    """Answer run and clone requests until the trusted side closes the socket."""
    while True:
        message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE_BYTES, len(_RUN_FDS))
        if not message:
            return
        _reap_clones()
        try:
            request = json.loads(message)
            if request.get("clone"):
                answer = clone(sock, fds)
            elif len(fds) != len(_RUN_FDS):
                answer = {"error": f"expected {len(_RUN_FDS)} descriptors, got {len(fds)}"}
            else:
                answer = run(sock, request, fds)
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(answer).encode())


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def main(argv: list[str]) -> int:
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the grader
    sock = socket.socket(fileno=int(argv[1]))
    # Everything imported so far lives as long as the zygote: out of every collection, so a
    # run's garbage collector does not walk (and copy-on-write) torch's objects.
    gc.freeze()
    sock.send(json.dumps({"ready": True, "threads": threads()}).encode())
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
