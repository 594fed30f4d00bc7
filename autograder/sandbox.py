"""Run untrusted Python (a student's code) in a separate, limited process.

`run_sandboxed(script, workdir, limits)` runs `python <script>` as a fresh interpreter in
`workdir`, with a scrubbed environment, closed stdin, resource limits and the strongest isolation
this kernel allows. The trusted caller fills `workdir` with inputs beforehand and afterwards reads
only data files (JSON, safetensors) from it, through `facekit.base.untrusted`: never a pickle.
Given a `zygote` (`autograder.sandbox_zygote`, the warm grader), the judge worker runs instead as
a fork of an interpreter that imported torch once, entering the same sandbox before any of the
script's code runs.

This is the trusted half. It writes the run's configuration and starts the launcher half,
`facekit/sandbox_side/launcher.py` (`python -I -S launcher.py CONFIG`, standard library only,
plus `pyseccomp`), which builds the sandbox described there (cgroup; network, PID, mount, IPC
and, for a non-root user, user namespaces; tmpfs workdir; private /proc and /tmp; a fresh user
id; rlimits, `no_new_privs`, Landlock, seccomp) and execs Python on the script inside it; then it
waits with the wall-clock limit and reads the run's output. `isolation_report()` says which
protections hold on this machine; `run_sandboxed` refuses to run (`SandboxUnavailable`) while
one of `REQUIRED_PROTECTIONS` is missing, unless the caller names it in `Limits.allow_weaker`
(the TA's `--allow-weaker-sandbox`).

What each protection buys:
- network namespace: no network at all (only a downed loopback): no TCP, no UDP.
- PID namespace and private /proc: when the script's process ends or is killed, every process it
  started dies too (no escaping the wall-clock kill with `setsid`), and other processes (and their
  command lines, which may hold passwords) are invisible.
- user namespace (non-root): lets an ordinary user make the other namespaces; RLIMIT_NPROC is
  counted per user namespace, so it counts only this run's processes.
- unprivileged user id (root: one per run): cannot touch root's files or processes;
  `RLIMIT_NPROC` counts only this run's processes, so a fork bomb stops at `max_processes`.
- IPC namespace: no System V shared memory or message queues of the host's processes.
- Landlock: no reading the repository, `solutions/`, keys or anything outside the allow-list,
  even where files are world-readable.
- seccomp (`sandbox_side.sandbox_seccomp`): no UNIX socket can be created, so no host service
  listening on a socket file (a database, Docker) can be reached.
- cgroup (`sandbox_side.sandbox_cgroup`): memory (including memfd and tmpfs pages), processes and
  CPU time counted for the whole run, however many processes it forks.
- tmpfs work folder (`sandbox_side.sandbox_workdir`): the run cannot fill the host's disk.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from facekit.base.errors import KitFault, SetupError
from facekit.sandbox_side import launcher, sandbox_cgroup

# A plain `import torch` (CUDA build, CPU only) peaks at ~3.1 GiB of *virtual* memory on the
# development machine (VmPeak 3 258 084 kB), nearly all of it mapped CUDA libraries that are never
# touched; 6 GiB leaves ~3 GiB for the student's tensors.
DEFAULT_MEMORY_BYTES = 6 * 2**30
OUTPUT_KEEP_CHARS = 20_000  # per stream: enough for a traceback, bounded for a runaway print loop
REPO_ROOT = Path(__file__).resolve().parent.parent
_KILL_GRACE_SECONDS = 3.0


PROTECTIONS = launcher.PROTECTIONS  # the keys of isolation_report(), in its order
# The protections grading cannot do without, and what each one guarantees. A missing one stops
# run_sandboxed unless the TA names it (Limits.allow_weaker, `--allow-weaker-sandbox`).
REQUIRED_PROTECTIONS = {
    "network_namespace": "no network: no TCP or UDP to anywhere",
    "pid_namespace": "every process of the run dies with it",
    "mount_namespace": "a private view of the filesystem",
    "ipc_namespace": "no shared memory or message queues of the host's processes",
    "private_proc": "other processes and their command lines are invisible",
    "private_tmp": "files written to /tmp vanish with the run",
    "repo_hidden": "the course repository (solutions/) is hidden",
    "no_new_privs": "no set-user-id programs",
    "landlock_filesystem": "no reading outside the Python installation, even world-readable keys",
    "unix_sockets_blocked": "no connecting to host services through UNIX socket files",
    "rlimits": "per-process limits on CPU time, address space and file size",
    "process_limit": "a fork bomb stops at max_processes",
    "memory_cgroup": "memory is limited for the whole run (forks, memfd and tmpfs included)",
    "disk_quota": "the work folder is a size-limited tmpfs, not the host's disk",
}


# What a TA can do about a missing protection, where something can be done.
_REMEDIES = {
    "memory_cgroup": "A cgroup needs root, or a cgroup v2 subtree delegated to this user: run the "
    "command under `systemd-run --user --scope`, or ask the administrator for a delegated one.",
    "unix_sockets_blocked": "The UNIX-socket filter needs libseccomp (Debian/Ubuntu: apt install "
    "libseccomp2) and the kit's pyseccomp dependency (pip install pyseccomp).",
    "landlock_filesystem": "Landlock needs Linux 5.13 or later with the Landlock LSM enabled.",
}


class SandboxUnavailable(SetupError):
    """The sandbox cannot give the protections grading requires on this machine (staff setup)."""


class ZygoteError(KitFault):
    """The warm grader (`autograder.sandbox_zygote`) failed: its own fault, never a student's;
    the run goes the cold way."""


class Zygote(Protocol):
    """What a run needs of the warm grader (`autograder.sandbox_zygote.Zygote`): the sandbox
    depends on this shape, not on the zygote's module."""

    @property
    def alive(self) -> bool: ...

    def launch(self, config: dict, streams) -> tuple[int, bool, dict]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    cpu_seconds: int = 60  # CPU time of the whole run (cgroup), and of each process (RLIMIT_CPU)
    memory_bytes: int = DEFAULT_MEMORY_BYTES  # whole run (cgroup); RLIMIT_AS unless allow_gpu
    wall_seconds: float = 120.0  # the whole run (every process it started) is killed after this
    max_processes: int = 64  # whole run: pids cgroup, RLIMIT_NPROC (processes + threads)
    max_file_bytes: int = 256 * 2**20  # RLIMIT_FSIZE: largest file the script may write
    disk_bytes: int = 512 * 2**20  # what the run may write into its tmpfs workdir beyond inputs
    allow_gpu: bool = False  # False: CUDA_VISIBLE_DEVICES="" and no /dev access beyond null etc.
    allow_weaker: tuple[str, ...] = ()  # REQUIRED_PROTECTIONS the TA accepts running without

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_bytes", "wall_seconds", "max_processes", "disk_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        unknown = sorted(set(self.allow_weaker) - set(REQUIRED_PROTECTIONS))
        if unknown:
            raise ValueError(
                f"unknown sandbox protection(s) {', '.join(unknown)}; the ones that can be "
                f"allowed weaker are: {', '.join(REQUIRED_PROTECTIONS)}"
            )


@dataclass(frozen=True)
class SandboxResult:
    """What a sandboxed run did: exit status, (truncated) output and time taken."""

    returncode: int | None  # negative: killed by that signal; None: killed at the wall limit
    timed_out: bool
    stdout: str
    stderr: str
    wall_seconds: float
    wall_limit: float = 0.0
    ready: bool = False  # the script wrote to $FACEKIT_READY_FD (e.g. after its own imports)
    memory_peak_bytes: int | None = None  # most the whole run held at once; None: no cgroup

    @property
    def ok(self) -> bool:
        return self.failure_reason() is None

    def failure_reason(self) -> str | None:
        """A sentence for a person saying why the run failed, or None when it exited with 0."""
        if self.timed_out:
            return f"ran past the {self.wall_limit:g} s wall-clock limit"
        if self.returncode is None or self.returncode == 0:
            return None
        if self.returncode < 0:
            return _describe_signal(-self.returncode)
        tail = "\n".join(self.stderr.strip().splitlines()[-8:])
        return f"exited with code {self.returncode}" + (f": {tail}" if tail else "")


def _describe_signal(signum: int) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    hint = {
        signal.SIGKILL: " (probably the CPU-time limit, or the memory limit)",
        signal.SIGXCPU: " (the CPU-time limit)",
        signal.SIGXFSZ: " (the file-size limit)",
        signal.SIGSEGV: " (a crash, possibly out of memory)",
    }.get(signum, "")
    return f"killed by signal {signum} ({name}){hint}"


def run_sandboxed(
    script: Path,
    workdir: Path,
    limits: Limits,
    args: Sequence[str] = (),
    zygote: Zygote | None = None,
) -> SandboxResult:
    """Run `python <script> [args]` in `workdir` under `limits`; never raises for student faults.

    `workdir` is a directory the caller created and filled; the script is copied into it when it
    lives elsewhere (the child can read nothing outside `workdir` and the Python installation).
    After the run, files in `workdir` are owned by the sandbox's user id; read them as data only.
    `zygote` (`autograder.sandbox_zygote`): the run is a fork of that warm, pre-imported
    interpreter, entering the same sandbox, instead of a fresh one; if the zygote fails (its
    fault, never the script's), it is closed and this run and later ones take the cold path.
    """
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise FileNotFoundError(f"sandbox workdir {workdir} is not a directory")
    require_isolation(limits.allow_weaker)
    script = Path(script).resolve()
    if workdir not in script.parents:
        shutil.copy2(script, workdir / script.name)
        script = workdir / script.name
    if zygote is not None and zygote.alive and not limits.allow_gpu:
        try:
            return _run(script, workdir, limits, list(args), zygote)
        except ZygoteError as error:
            print(f"facekit: the warm grader failed, grading cold: {error}", file=sys.stderr)
            zygote.close()
    return _run(script, workdir, limits, list(args), None)


def _run(
    script: Path, workdir: Path, limits: Limits, args: list[str], zygote: Zygote | None
) -> SandboxResult:
    ready_read, ready_write = os.pipe()
    config = launch_config(script, workdir, limits, args, ready_fd=ready_write)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        try:
            if zygote is not None:
                returncode, timed_out, usage = zygote.launch(config, (out, err, ready_write))
            else:
                config["usage_marker"] = f"facekit-sandbox-usage-{secrets.token_hex(8)}"
                returncode, timed_out = _launch_cold(config, (out, err, ready_write))
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        elapsed = time.monotonic() - start
        stderr = _read_bounded(err)
        if zygote is None:
            stderr, usage = _split_usage(stderr, config["usage_marker"])
        return SandboxResult(
            returncode=None if timed_out else returncode,
            timed_out=timed_out,
            stdout=_read_bounded(out),
            stderr=stderr,
            wall_seconds=elapsed,
            wall_limit=limits.wall_seconds,
            ready=_was_signalled(ready_read),
            memory_peak_bytes=usage.get("memory_peak_bytes"),
        )


def _launch_cold(config: dict, streams) -> tuple[int, bool]:
    """Start the launcher as a fresh interpreter and wait for it under the wall-clock limit:
    (its exit status as `Popen.returncode`, whether it was stopped at the limit)."""
    out, err, ready_write = streams
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", launcher.__file__, json.dumps(config)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        cwd=config["workdir"],
        env={},
        start_new_session=True,
        pass_fds=(ready_write,),
    )
    timed_out = False
    try:
        process.wait(timeout=config["limits"]["wall_seconds"])
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(process)
    _kill_group(process.pid)  # leftovers of a run without a PID namespace
    sandbox_cgroup.remove_leftover(launcher.cgroup_name(process.pid))  # launcher killed first
    return process.returncode, timed_out


def _was_signalled(ready_read: int) -> bool:
    """Whether anything was written to the readiness pipe; never blocks (a leftover process of
    the run may still hold its write end)."""
    try:
        os.set_blocking(ready_read, False)
        return bool(os.read(ready_read, 64))
    except BlockingIOError:
        return False
    finally:
        os.close(ready_read)


def _split_usage(stderr: str, marker: str) -> tuple[str, dict]:
    """The run's stderr without the launcher's last line, and that line's usage figures.

    The marker is random per run, so the script cannot forge the line."""
    head, found, line = stderr.rpartition(f"\n{marker} ")
    if not found:
        return stderr, {}
    try:
        usage = json.loads(line)
    except ValueError:
        return stderr, {}
    return head, usage if isinstance(usage, dict) else {}


def _stop(process: subprocess.Popen) -> None:
    """Ask the launcher to kill its namespace (SIGTERM), then kill its process group."""
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=_KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        process.wait()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _read_bounded(stream) -> str:
    """The stream's text, keeping the head and the tail when it is longer than the bound."""
    size = stream.seek(0, os.SEEK_END)
    half = OUTPUT_KEEP_CHARS // 2
    stream.seek(0)
    if size <= OUTPUT_KEEP_CHARS:
        return stream.read().decode("utf-8", "replace")
    head = stream.read(half).decode("utf-8", "replace")
    stream.seek(size - half)
    tail = stream.read().decode("utf-8", "replace")
    return f"{head}\n[... {size - 2 * half} bytes of output omitted ...]\n{tail}"


def child_environment(workdir: Path, allow_gpu: bool) -> dict[str, str]:
    """The scrubbed environment of the sandboxed interpreter: nothing inherited except what makes
    its `sys.path` the grader's own (PYTHONPATH, the user site's base)."""
    import site  # noqa: PLC0415 - the launcher runs with -S; only the caller needs this

    python_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    # HOME is the work folder, so the user site (`pip install --user`) is pinned to the grader's
    if site.ENABLE_USER_SITE:
        env["PYTHONUSERBASE"] = site.getuserbase()
    else:
        env["PYTHONNOUSERSITE"] = "1"
    if os.environ.get("PYTHONPATH") and not sys.flags.ignore_environment:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if allow_gpu:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            del env["CUDA_VISIBLE_DEVICES"]
        else:
            env["CUDA_VISIBLE_DEVICES"] = visible
    return env


@functools.cache
def _interpreter_sys_path() -> tuple[str, ...]:
    """`sys.path` of a fresh `sys.executable` in the sandbox's environment (minus the script's
    folder): site-packages, the user site, PYTHONPATH and every entry a `.pth` file adds."""
    with tempfile.TemporaryDirectory(prefix="facekit-syspath-") as tmp:
        completed = subprocess.run(
            [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
            capture_output=True,
            text=True,
            env=child_environment(Path(tmp), allow_gpu=False),
            cwd=tmp,
            timeout=60,
            check=False,
        )
    try:
        return tuple(json.loads(completed.stdout))
    except json.JSONDecodeError:
        raise RuntimeError(
            f"cannot start the grading interpreter {sys.executable} (exit "
            f"{completed.returncode}): {completed.stderr.strip()[-2000:]}"
        ) from None


def _python_paths() -> list[str]:
    """Directories the sandboxed interpreter reads: its installation (the venv, its base, a conda
    or pyenv prefix) and every existing `sys.path` entry it will have.

    Entries inside the hidden repository stay hidden unless they belong to the interpreter's own
    installation (a `.venv` in the checkout is reachable; `solutions/` and the tests are not).
    """
    own = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    own.update({str(Path(sys.executable).parent), str(Path(sys.executable).resolve().parent)})
    installs = [Path(p).resolve() for p in (sys.prefix, sys.exec_prefix)]
    paths = {str(Path(p).resolve()) for p in own}
    for entry in _interpreter_sys_path():
        path = Path(entry).resolve()
        if not entry or not path.exists():
            continue
        if path in REPO_ROOT.parents:  # would expose the checkout where mounts are unavailable
            continue
        in_repo = path == REPO_ROOT or REPO_ROOT in path.parents
        if in_repo and not any(path == p or p in path.parents for p in installs):
            continue
        paths.add(str(path))
    return sorted(paths)


def launch_config(
    script: Path, workdir: Path, limits: Limits, args: list[str], ready_fd: int | None = None
) -> dict:
    python = sys.executable  # not resolved: a venv's symlink is what finds its pyvenv.cfg
    env = child_environment(workdir, limits.allow_gpu)
    if ready_fd is not None:
        env["FACEKIT_READY_FD"] = str(ready_fd)
    return {
        "argv": [python, "-B", str(script), *args],
        "env": env,
        "workdir": str(workdir),
        "python_paths": _python_paths(),
        "hide": [str(REPO_ROOT)],
        "limits": asdict(limits),
        "probe": False,
    }


@functools.cache
def isolation_report() -> dict[str, bool]:
    """Which protections the sandbox enforces on this machine for this user (probed once, cached).

    Keys (PROTECTIONS): network_namespace, pid_namespace, mount_namespace, ipc_namespace,
    user_namespace (how a non-root user gets the others), private_proc, private_tmp, repo_hidden,
    unprivileged_user (a fresh user id per run: root only), no_new_privs, landlock_filesystem,
    landlock_network, landlock_scope (signals and abstract sockets), unix_sockets_blocked
    (seccomp), rlimits (CPU, memory, file size), process_limit (max_processes for the whole run),
    memory_cgroup, pids_cgroup, cpu_cgroup (whole-run memory, processes, CPU time), disk_quota
    (the workdir is a size-limited tmpfs).
    """
    with tempfile.TemporaryDirectory(prefix="facekit-probe-") as tmp:
        workdir = Path(tmp).resolve()
        config = launch_config(Path(launcher.__file__).resolve(), workdir, Limits(), [])
        config["probe"] = True
        completed = subprocess.run(
            [sys.executable, "-I", "-S", launcher.__file__, json.dumps(config)],
            capture_output=True,
            text=True,
            env={},
            cwd=workdir,
            timeout=60,
            check=False,
        )
    try:
        return {key: bool(value) for key, value in json.loads(completed.stdout).items()}
    except json.JSONDecodeError as error:
        raise RuntimeError(
            f"sandbox probe failed (exit {completed.returncode}): {completed.stderr.strip()}"
        ) from error


def describe_isolation(report: dict[str, bool]) -> str:
    """One line for logs: which protections hold and which are missing on this machine."""
    held = ", ".join(k for k, v in report.items() if v) or "none"
    missing = ", ".join(k for k, v in report.items() if not v) or "none"
    who = "root" if os.geteuid() == 0 else f"user id {os.geteuid()} (not root)"
    return f"sandbox isolation: enforced [{held}]; not available [{missing}] (running as {who})"


def require_isolation(allow_weaker: Sequence[str] = ()) -> dict[str, bool]:
    """The isolation report, after checking that every required protection holds or is allowed.

    Raises SandboxUnavailable, naming each missing protection, what it guarantees and how to accept
    running without it. Grading commands call this first and print `describe_isolation`.
    """
    report = isolation_report()
    missing = [
        name for name in REQUIRED_PROTECTIONS if not report.get(name) and name not in allow_weaker
    ]
    if missing:
        lines = "\n".join(f"  - {name}: {REQUIRED_PROTECTIONS[name]}" for name in missing)
        hint = "".join(f"\n{text}" for name, text in _REMEDIES.items() if name in missing)
        raise SandboxUnavailable(
            "the sandbox cannot enforce these protections on this machine, so grading is "
            f"refused:\n{lines}\n{describe_isolation(report)}{hint}\nTo grade anyway with "
            f"the weaker guarantee, pass --allow-weaker-sandbox={','.join(missing)}"
        )
    return report


def add_allow_weaker_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--allow-weaker-sandbox NAME,...` to a grading command (`args.allow_weaker_sandbox`,
    a tuple of REQUIRED_PROTECTIONS names for `Limits.allow_weaker` and `require_isolation`)."""
    parser.add_argument(
        "--allow-weaker-sandbox",
        type=_protection_names,
        default=(),
        metavar="NAME[,NAME...]",
        help="grade although this machine cannot give the sandbox these protections (grading "
        "is refused otherwise, naming what is missing): " + ", ".join(REQUIRED_PROTECTIONS),
    )


def _protection_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    try:
        Limits(allow_weaker=names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names
