"""One cgroup per sandboxed run: limits that hold for the whole run, not for each process.

Per-process rlimits multiply: ten forked processes may each map `memory_bytes`, and a memfd filled
with `write()` is never mapped, so RLIMIT_AS does not see it at all. A cgroup counts every page
the run's processes charge (anonymous memory, memfd and tmpfs pages, page cache), every process
and thread, and every CPU second, however the run splits itself up.

`create_run_cgroup(name, memory_bytes, max_processes)` makes the run's cgroup:
- cgroup v2 (unified): the nearest ancestor of the caller's own cgroup in which this user may
  create a child with the memory and pids controllers (root: any; a non-root user: a subtree that
  systemd or an administrator delegated, e.g. inside `systemd-run --user --scope`).
- cgroup v1 (legacy hierarchies, as on some older hosts and containers), where v2 has no memory
  controller: a child of the caller's own cgroup in the memory, pids and cpuacct hierarchies;
  normally only root may create those.
The launcher creates the cgroup before it forks; the sandboxed child joins it (`join()`) before it
runs anything else, so the launcher itself stays outside (an out-of-memory kill never hits it).

Standard library only: the launcher (`python -I -S launcher.py`) imports this module.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

_REMOVE_ATTEMPTS = 50  # x 20 ms: processes of a dead PID namespace take a moment to be released
_V2_CONTROLLERS = ("memory", "pids")


@dataclass
class RunCgroup:
    """A created cgroup: its directories (one per v1 hierarchy, or a single v2 one)."""

    version: int
    directories: dict[str, str]  # "memory", "pids", "cpu" (accounting) -> cgroup directory
    _procs: list[int] = field(default_factory=list)  # cgroup.procs, opened by the launcher

    def open_for_joining(self) -> None:
        """Open every `cgroup.procs` now, while the launcher can still reach /sys/fs/cgroup."""
        for directory in sorted(set(self.directories.values())):
            self._procs.append(os.open(os.path.join(directory, "cgroup.procs"), os.O_WRONLY))

    def join(self) -> None:
        """Move the calling process into the cgroup (its future children follow it)."""
        for fd in self._procs:
            os.write(fd, b"0")  # "0": the writing process itself
            os.close(fd)
        self._procs.clear()

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process of the run so far (user + system); None where no
        hierarchy accounts for it (v1 without cpuacct)."""
        directory = self.directories.get("cpu")
        if directory is None:
            return None
        if self.version == 2:
            for line in _read(os.path.join(directory, "cpu.stat")).splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            return 0.0
        return int(_read(os.path.join(directory, "cpuacct.usage"))) / 1e9

    def memory_peak(self) -> int | None:
        """The most memory the run held at once (None where the kernel does not record it)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(os.path.join(self.directories["memory"], name)))
        except (OSError, ValueError):
            return None  # memory.peak is Linux 5.19+

    def remove(self) -> None:
        """Delete the cgroup once its processes are gone (kill any that linger)."""
        for fd in self._procs:
            os.close(fd)
        self._procs.clear()
        for directory in sorted(set(self.directories.values())):
            _remove(directory)


def create_run_cgroup(name: str, memory_bytes: int, max_processes: int) -> RunCgroup | None:
    """A new cgroup `name` limiting memory and processes; None where this user cannot make one."""
    return _create_v2(name, memory_bytes, max_processes) or _create_v1(
        name, memory_bytes, max_processes
    )


def remove_leftover(name: str) -> None:
    """Remove the cgroup `name` of a run whose launcher was killed before it cleaned up."""
    for directory in _candidate_directories(name):
        if os.path.isdir(directory):
            _remove(directory)


def _read(path: str) -> str:
    with open(path, encoding="ascii") as stream:
        return stream.read()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as stream:
        stream.write(text)


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, the cgroup mounted there, filesystem type, super options) of every cgroup
    filesystem (a container may see only its own cgroup, mounted as the hierarchy's top)."""
    found = []
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, options = fields[separator + 1], fields[separator + 3]
        if fstype in ("cgroup", "cgroup2"):
            found.append((fields[4], fields[3], fstype, set(options.split(","))))
    return found


def _directory(mount: str, root: str, own: str) -> str:
    """The directory of the cgroup `own` under a mount of the cgroup `root`."""
    if root != "/" and (own == root or own.startswith(root.rstrip("/") + "/")):
        own = own[len(root) :]
    return os.path.normpath(f"{mount}/{own}")


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy: "" for v2, each controller name for v1."""
    paths = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _v2_parents() -> list[str]:
    """The caller's v2 cgroup and its ancestors up to the mount, nearest first."""
    v2 = [(mount, root) for mount, root, fstype, _ in _mounts() if fstype == "cgroup2"]
    own = _own_paths().get("")
    if not v2 or own is None:
        return []
    mount, root = v2[0]
    directory = _directory(mount, root, own)
    parents = []
    while directory.startswith(mount):
        parents.append(directory)
        if directory == mount:
            break
        directory = os.path.dirname(directory)
    return parents


def _v1_parents() -> dict[str, str]:
    """The caller's own cgroup in each v1 hierarchy that carries memory, pids or cpuacct."""
    own = _own_paths()
    parents = {}
    for mount, root, fstype, options in _mounts():
        if fstype != "cgroup":
            continue
        for role, controller in (("memory", "memory"), ("pids", "pids"), ("cpu", "cpuacct")):
            if controller in options and controller in own and role not in parents:
                parents[role] = _directory(mount, root, own[controller])
    return parents


def _candidate_directories(name: str) -> list[str]:
    return [os.path.join(parent, name) for parent in _v2_parents()] + [
        os.path.join(parent, name) for parent in _v1_parents().values()
    ]


def _create_v2(name: str, memory_bytes: int, max_processes: int) -> RunCgroup | None:
    for parent in _v2_parents():
        try:
            if not set(_V2_CONTROLLERS) <= set(_read(f"{parent}/cgroup.controllers").split()):
                continue  # not handed down to here, or bound to a v1 hierarchy
            enabled = set(_read(f"{parent}/cgroup.subtree_control").split())
            missing = [c for c in _V2_CONTROLLERS if c not in enabled]
            if missing:  # refused (EBUSY) where the parent holds processes itself
                _write(f"{parent}/cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
            directory = os.path.join(parent, name)
            os.mkdir(directory, 0o755)
        except OSError:
            continue
        try:
            _write(f"{directory}/memory.max", str(memory_bytes))
            with contextlib.suppress(OSError):  # absent without swap accounting
                _write(f"{directory}/memory.swap.max", "0")
            _write(f"{directory}/pids.max", str(max_processes))
            _read(f"{directory}/cpu.stat")
        except OSError:
            _remove(directory)
            continue
        return RunCgroup(2, dict.fromkeys(("memory", "pids", "cpu"), directory))
    return None


def _create_v1(name: str, memory_bytes: int, max_processes: int) -> RunCgroup | None:
    parents = _v1_parents()
    if not {"memory", "pids"} <= set(parents):
        return None
    created: dict[str, str] = {}
    try:
        for role, parent in parents.items():
            created[role] = os.path.join(parent, name)
            os.mkdir(created[role], 0o755)
        _write(f"{created['memory']}/memory.limit_in_bytes", str(memory_bytes))
        with contextlib.suppress(OSError):  # absent without swap accounting
            _write(f"{created['memory']}/memory.memsw.limit_in_bytes", str(memory_bytes))
        _write(f"{created['pids']}/pids.max", str(max_processes))
    except OSError:
        for directory in created.values():
            if os.path.isdir(directory):
                _remove(directory)
        return None
    return RunCgroup(1, created)


def _remove(directory: str) -> None:
    with contextlib.suppress(OSError):
        _write(f"{directory}/cgroup.kill", "1")  # v2, Linux 5.14+
    for _ in range(_REMOVE_ATTEMPTS):
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError:
            with contextlib.suppress(OSError):
                for pid in _read(f"{directory}/cgroup.procs").split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), 9)
            time.sleep(0.02)
