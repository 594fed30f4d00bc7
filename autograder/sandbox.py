"""Run untrusted Python (a student's code) in a separate, limited process.

`run_sandboxed(script, workdir, limits)` runs `python <script>` as a fresh interpreter in
`workdir`, with a scrubbed environment, closed stdin, resource limits and the strongest isolation
this kernel allows. The trusted caller fills `workdir` with inputs beforehand and afterwards reads
only data files (JSON, safetensors) from it, through `facekit.base.untrusted`: never a pickle.

How it works: the caller starts this very file as a small launcher (`python -I -S sandbox.py
CONFIG`, standard library only, plus `pyseccomp`). The launcher creates the run's cgroup, enters
new network, PID, mount and IPC namespaces (a non-root user first enters a new user namespace,
which gives it the right to make the others) and puts `workdir` on a size-limited tmpfs, then
forks. The child (PID 1 of the new namespace) joins the cgroup, mounts a private /proc and /tmp,
hides the repository and the host's socket folders, switches to a fresh unprivileged user id
(root only), applies rlimits, `no_new_privs`, a Landlock ruleset (read-only: the Python
installation and system directories; read-write: `workdir` only; no TCP; no signals or abstract
sockets outside the sandbox) and a seccomp filter (no UNIX sockets), then execs Python on the
script. `isolation_report()` says which protections hold on this machine; `run_sandboxed` refuses
to run (`SandboxUnavailable`) while one of `REQUIRED_PROTECTIONS` is missing, unless the caller
names it in `Limits.allow_weaker` (the TA's `--allow-weaker-sandbox`).

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
import ctypes
import functools
import json
import os
import resource
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

if __package__:  # imported by the grader
    from facekit.sandbox_side import sandbox_cgroup, sandbox_seccomp, sandbox_workdir
else:  # the launcher, `python -I -S sandbox.py`: the sandbox side's folder is not on sys.path
    sys.path.insert(
        0,
        os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "facekit", "sandbox_side"
        ),
    )
    import sandbox_cgroup
    import sandbox_seccomp
    import sandbox_workdir

# A plain `import torch` (CUDA build, CPU only) peaks at ~3.1 GiB of *virtual* memory on the
# development machine (VmPeak 3 258 084 kB), nearly all of it mapped CUDA libraries that are never
# touched; 6 GiB leaves ~3 GiB for the student's tensors.
DEFAULT_MEMORY_BYTES = 6 * 2**30
OUTPUT_KEEP_CHARS = 20_000  # per stream: enough for a traceback, bounded for a runaway print loop
REPO_ROOT = Path(__file__).resolve().parent.parent
_KILL_GRACE_SECONDS = 3.0
_NICENESS = 10
_FIRST_SANDBOX_UID = 200_000  # + the launcher's PID: unique among live runs, owns no files


PROTECTIONS = (  # the keys of isolation_report(), in the order it lists them
    "network_namespace",
    "pid_namespace",
    "mount_namespace",
    "ipc_namespace",
    "user_namespace",
    "private_proc",
    "private_tmp",
    "repo_hidden",
    "unprivileged_user",
    "no_new_privs",
    "landlock_filesystem",
    "landlock_network",
    "landlock_scope",
    "unix_sockets_blocked",
    "rlimits",
    "process_limit",
    "memory_cgroup",
    "pids_cgroup",
    "cpu_cgroup",
    "disk_quota",
)
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


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot give the protections grading requires on this machine (staff setup)."""


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
    script: Path, workdir: Path, limits: Limits, args: Sequence[str] = ()
) -> SandboxResult:
    """Run `python <script> [args]` in `workdir` under `limits`; never raises for student faults.

    `workdir` is a directory the caller created and filled; the script is copied into it when it
    lives elsewhere (the child can read nothing outside `workdir` and the Python installation).
    After the run, files in `workdir` are owned by the sandbox's user id; read them as data only.
    """
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise FileNotFoundError(f"sandbox workdir {workdir} is not a directory")
    require_isolation(limits.allow_weaker)
    script = Path(script).resolve()
    if workdir not in script.parents:
        shutil.copy2(script, workdir / script.name)
        script = workdir / script.name
    ready_read, ready_write = os.pipe()
    config = _launch_config(script, workdir, limits, list(args), ready_fd=ready_write)
    config["usage_marker"] = f"facekit-sandbox-usage-{secrets.token_hex(8)}"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=workdir,
                env={},
                start_new_session=True,
                pass_fds=(ready_write,),
            )
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(process)
        _kill_group(process.pid)  # leftovers of a run without a PID namespace
        sandbox_cgroup.remove_leftover(_cgroup_name(process.pid))  # launcher killed first
        elapsed = time.monotonic() - start
        stderr, usage = _split_usage(_read_bounded(err), config["usage_marker"])
        return SandboxResult(
            returncode=None if timed_out else process.returncode,
            timed_out=timed_out,
            stdout=_read_bounded(out),
            stderr=stderr,
            wall_seconds=elapsed,
            wall_limit=limits.wall_seconds,
            ready=_was_signalled(ready_read),
            memory_peak_bytes=usage.get("memory_peak_bytes"),
        )


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


def _launch_config(
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
        config = _launch_config(Path(__file__).resolve(), workdir, Limits(), [])
        config["probe"] = True
        completed = subprocess.run(
            [sys.executable, "-I", "-S", __file__, json.dumps(config)],
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


def _cgroup_name(launcher_pid: int) -> str:
    return f"facekit-run-{launcher_pid}"


# ---------------------------------------------------------------------------------------------
# The launcher: runs as `python -I -S sandbox.py CONFIG`; standard library and ctypes only.
# ---------------------------------------------------------------------------------------------

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_SYS_LANDLOCK = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}  # x86_64, arm64
_LL_CREATE_RULESET_VERSION = 1
_LL_RULE_PATH_BENEATH = 1
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 14, 1 << 15
_LL_NET_ALL = (1 << 0) | (1 << 1)  # bind and connect TCP (ABI 4)
_LL_SCOPE_ALL = (1 << 0) | (1 << 1)  # abstract unix sockets and signals (ABI 6)
_SYSTEM_READ_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys")
_DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
# Where host services put their socket files: emptied for the run
_HOST_SERVICE_DIRS = ("/run", "/var/run")
# /dev/shm (POSIX shared memory, multiprocessing's semaphores): the run's own, size-limited
_PRIVATE_SHM = "/dev/shm"
_CPU_POLL_SECONDS = 0.05


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _check(result: int, what: str) -> None:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _landlock_fs_rights(abi: int) -> int:
    """Every filesystem right this Landlock ABI knows (ABI 1: 13 rights; 2: refer; 3: truncate;
    5: ioctl on devices)."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= 1 << 13
    if abi >= 3:
        rights |= _LL_TRUNCATE
    if abi >= 5:
        rights |= _LL_IOCTL_DEV
    return rights


def _apply_landlock(libc, read_dirs, write_dirs, device_files, report) -> None:
    """Restrict this process and its descendants to the given paths (Landlock LSM)."""
    abi = libc.syscall(_SYS_LANDLOCK["create_ruleset"], None, 0, _LL_CREATE_RULESET_VERSION)
    if abi < 1:
        return
    fs_all = _landlock_fs_rights(abi)
    file_rights = fs_all & (_LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE | _LL_TRUNCATE)
    fields = [fs_all]
    if abi >= 4:
        fields.append(_LL_NET_ALL)
    if abi >= 6:
        fields.append(_LL_SCOPE_ALL)
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    ruleset = libc.syscall(
        _SYS_LANDLOCK["create_ruleset"], ctypes.byref(attr), ctypes.sizeof(attr), 0
    )
    _check(ruleset, "landlock_create_ruleset")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    def allow(path: str, rights: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return  # absent on this system: nothing to allow
        try:
            if not os.path.isdir(path):
                rights &= file_rights
            rule = PathBeneath(rights, fd)
            _check(
                libc.syscall(
                    _SYS_LANDLOCK["add_rule"], ruleset, _LL_RULE_PATH_BENEATH, ctypes.byref(rule), 0
                ),
                f"landlock_add_rule {path}",
            )
        finally:
            os.close(fd)

    read = _LL_EXECUTE | _LL_READ_FILE | _LL_READ_DIR
    for path in read_dirs:
        allow(path, read)
    for path in device_files:
        allow(path, _LL_READ_FILE | _LL_WRITE_FILE | (_LL_TRUNCATE & fs_all))
    for path in write_dirs:
        allow(path, fs_all)
    _check(libc.syscall(_SYS_LANDLOCK["restrict_self"], ruleset, 0), "landlock_restrict_self")
    os.close(ruleset)
    report["landlock_filesystem"] = True
    report["landlock_network"] = abi >= 4
    report["landlock_scope"] = abi >= 6


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(libc.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")


def _overmount(libc, directory: str, keep: Sequence[str], options: str) -> None:
    """Hide `directory` under an empty tmpfs, bind-mounting the paths in `keep` back into it."""
    fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in keep}
    try:
        _mount(libc, "tmpfs", directory, "tmpfs", _MS_NOSUID | _MS_NODEV, options)
        for path, fd in fds.items():
            os.makedirs(path, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
    finally:
        for fd in fds.values():
            os.close(fd)


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _untraversable_ancestors(paths: Sequence[str]) -> list[str]:
    """Ancestors of `paths` that an unprivileged user cannot enter (like /root, mode 0700)."""
    found = []
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:depth])
            if not os.stat(ancestor).st_mode & 0o001 and ancestor not in found:
                found.append(ancestor)
                break
    return found


def _set_up_mounts(libc, config, drop_user: bool, report) -> None:
    """Private /proc and /tmp, the repository and host sockets hidden, Python reachable."""
    workdir = config["workdir"]
    try:
        _mount(libc, "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        report["private_proc"] = True
    except OSError:
        pass
    needed = [*config["python_paths"], workdir]

    def keep_under(directory: str) -> list[str]:
        return [path for path in needed if _within(path, directory)]

    _overmount(libc, "/tmp", keep_under("/tmp"), "size=64m,mode=1777")
    report["private_tmp"] = True
    for hidden in config["hide"]:
        if os.path.isdir(hidden):
            _overmount(libc, hidden, keep_under(hidden), "size=1m,mode=755")
    report["repo_hidden"] = True
    for directory in _HOST_SERVICE_DIRS:
        if os.path.isdir(directory) and not os.path.islink(directory):
            _overmount(libc, directory, keep_under(directory), "size=1m,mode=755")
    if os.path.isdir(_PRIVATE_SHM):
        _overmount(libc, _PRIVATE_SHM, keep_under(_PRIVATE_SHM), "size=64m,mode=1777")
    if drop_user:
        for ancestor in _untraversable_ancestors(needed):
            _overmount(libc, ancestor, keep_under(ancestor), "size=1m,mode=755")


def _chown_tree(root: str, uid: int) -> None:
    os.chown(root, uid, uid)
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(directory, name), uid, uid, follow_symlinks=False)


def _set_limits(limits: dict, private_user: bool) -> None:
    def cap(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    # soft == hard: the kernel then sends SIGKILL, which PID 1 of a namespace cannot ignore
    cap(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    if not limits["allow_gpu"]:  # CUDA reserves tens of GiB of address space at start-up
        cap(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    cap(resource.RLIMIT_FSIZE, int(limits["max_file_bytes"]))
    cap(resource.RLIMIT_CORE, 0)
    if private_user:  # RLIMIT_NPROC counts per user id and user namespace: ours are the run's
        cap(resource.RLIMIT_NPROC, int(limits["max_processes"]))


def _enter_namespaces(libc, report) -> set[str]:
    """Unshare what the kernel allows. A non-root user first makes a user namespace, mapping only
    its own ids (so a program it runs there has no capabilities), which lets it make the rest."""
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0 and libc.unshare(_CLONE_NEWUSER) == 0:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w", encoding="ascii") as stream:
                stream.write(text)
        report["user_namespace"] = True
    namespaces = set()
    for name, flag in (
        ("network", _CLONE_NEWNET),
        ("pid", _CLONE_NEWPID),
        ("mount", _CLONE_NEWNS),
        ("ipc", _CLONE_NEWIPC),
    ):
        if libc.unshare(flag) == 0:
            namespaces.add(name)
            report[f"{name}_namespace"] = True
    if "mount" in namespaces:  # before any mount: nothing may propagate back to the host
        _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    return namespaces


def _run_cgroup(limits: dict, launcher_pid: int, report):
    """The run's cgroup (see sandbox_side.sandbox_cgroup), or None where none can be made."""
    cgroup = sandbox_cgroup.create_run_cgroup(
        _cgroup_name(launcher_pid), int(limits["memory_bytes"]), int(limits["max_processes"])
    )
    if cgroup is not None:
        try:
            cgroup.open_for_joining()
        except OSError:
            cgroup.remove()
            return None
    return cgroup


def _syscall_filter(config: dict, deny_memfd: bool):
    """The seccomp filter to load in the child (see sandbox_side.sandbox_seccomp), or None."""
    try:
        seccomp = sandbox_seccomp.load_pyseccomp(config["python_paths"])
        return sandbox_seccomp.build_filter(seccomp, deny_memfd)
    except (ImportError, OSError, RuntimeError):
        return None


def _workdir_on_tmpfs(libc, config: dict) -> tuple[int, int] | None:
    """Mount a tmpfs quota over workdir and copy the caller's inputs onto it.

    Returns (the caller's folder, the tmpfs) as open descriptors for copying the results back;
    None where the kernel refuses the mount."""
    workdir = config["workdir"]
    original = sandbox_workdir.open_directory(workdir)
    size, entries = sandbox_workdir.tree_usage(original)
    quota = size + int(config["limits"]["disk_bytes"])
    inodes = entries + sandbox_workdir.RUN_INODES
    try:
        _mount(
            libc,
            "tmpfs",
            workdir,
            "tmpfs",
            _MS_NOSUID | _MS_NODEV,
            f"size={quota},nr_inodes={inodes},mode=700",
        )
    except OSError:
        os.close(original)
        return None  # the run writes into the caller's folder, without a quota
    run = sandbox_workdir.open_directory(workdir)
    sandbox_workdir.copy_tree(original, run)
    return original, run


def _prepare_child(libc, config, namespaces: set[str], launcher_pid: int, report, guards) -> None:
    """Everything between fork and exec, in the order the kernel needs it."""
    cgroup, syscall_filter = guards
    if cgroup is not None:
        cgroup.join()  # first: everything the run does from here on is counted
        report["memory_cgroup"] = report["pids_cgroup"] = True
        report["cpu_cgroup"] = cgroup.cpu_seconds() is not None
    drop_user = os.geteuid() == 0
    if "mount" in namespaces:
        try:
            _set_up_mounts(libc, config, drop_user, report)
        except OSError:
            drop_user = False  # the interpreter may be unreachable for another user
    uid = _FIRST_SANDBOX_UID + launcher_pid if drop_user else os.getuid()
    workdir = config["workdir"]
    if drop_user:
        _chown_tree(workdir, uid)
    private_user = drop_user or report["user_namespace"]  # NPROC counts per user namespace
    _set_limits(config["limits"], private_user=private_user)
    os.nice(_NICENESS)  # a CPU hog (busy loop, fork bomb) yields to the grader and its peers
    report["rlimits"] = True
    report["process_limit"] = private_user or report["pids_cgroup"]
    if drop_user:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        report["unprivileged_user"] = True
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the launcher died: so do we
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    report["no_new_privs"] = True
    gpu = config["limits"]["allow_gpu"]
    read_dirs = [*_SYSTEM_READ_DIRS, *config["python_paths"]]
    private = ["/tmp", *([_PRIVATE_SHM] if os.path.isdir(_PRIVATE_SHM) else [])]
    write_dirs = [workdir] + (private if report["private_tmp"] else [])
    if gpu:
        write_dirs.append("/dev")
    with contextlib.suppress(OSError):
        _apply_landlock(libc, read_dirs, write_dirs, () if gpu else _DEVICE_FILES, report)
    if syscall_filter is not None:
        syscall_filter.load()
        report["unix_sockets_blocked"] = _unix_sockets_refused()
    os.chdir(workdir)


def _unix_sockets_refused() -> bool:
    import socket  # noqa: PLC0415 - only the probe needs it

    try:
        socket.socket(socket.AF_UNIX).close()
    except PermissionError:
        return True
    return False


def _wait(child: int, cgroup, cpu_seconds: float) -> int:
    """The child's wait status; with a cgroup, the whole run is killed past `cpu_seconds`."""
    if cgroup is None or cgroup.cpu_seconds() is None:
        return os.waitpid(child, 0)[1]
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return status
        if cgroup.cpu_seconds() > cpu_seconds:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)  # PID 1: the kernel kills the rest
            return os.waitpid(child, 0)[1]
        time.sleep(_CPU_POLL_SECONDS)


def _launch(config: dict) -> None:
    """The launcher's main: cgroup, namespaces, tmpfs, fork, prepare, exec; then copy the results
    back, remove the cgroup and mirror the child's exit status."""
    libc = _libc()
    report = dict.fromkeys(PROTECTIONS, False)
    launcher_pid = os.getpid()
    try:  # everything that reads /proc comes before the child mounts its own there
        cgroup = _run_cgroup(config["limits"], launcher_pid, report)
        syscall_filter = _syscall_filter(config, deny_memfd=cgroup is None)
        namespaces = _enter_namespaces(libc, report)
        folders = None
        if "mount" in namespaces:
            folders = _workdir_on_tmpfs(libc, config)
            report["disk_quota"] = folders is not None
    except BaseException as error:  # noqa: BLE001 - report, never run unprotected
        print(f"sandbox setup failed: {error!r}", file=sys.stderr, flush=True)
        os._exit(125)
    child = os.fork()
    if child == 0:
        try:
            _prepare_child(libc, config, namespaces, launcher_pid, report, (cgroup, syscall_filter))
            if config["probe"]:
                print(json.dumps(report), flush=True)
                os._exit(0)
            os.execve(config["argv"][0], config["argv"], config["env"])
        except BaseException as error:  # noqa: BLE001 - report, never run unprotected
            print(f"sandbox setup failed: {error!r}", file=sys.stderr, flush=True)
            os._exit(125)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    status = _wait(child, cgroup, float(config["limits"]["cpu_seconds"]))
    if config.get("usage_marker"):
        peak = cgroup.memory_peak() if cgroup is not None else None
        usage = json.dumps({"memory_peak_bytes": peak})
        print(f"\n{config['usage_marker']} {usage}", file=sys.stderr, flush=True)
    _finish(folders, cgroup)
    if os.WIFSIGNALED(status):  # die the same way, so the caller sees the signal
        with contextlib.suppress(OSError, ValueError):  # SIGKILL's action cannot be changed
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


def _finish(folders: tuple[int, int] | None, cgroup) -> None:
    """Copy what the run left from its tmpfs into the caller's folder; remove the cgroup."""
    if cgroup is not None:
        cgroup.remove()
    if folders is not None:
        original, run = folders
        try:
            sandbox_workdir.empty_directory(original)
            sandbox_workdir.copy_tree(run, original)
        except OSError as error:
            print(f"sandbox: copying the run's files back failed: {error!r}", file=sys.stderr)
            os._exit(125)


if __name__ == "__main__":
    _launch(json.loads(sys.argv[1]))
