"""The sandbox's launcher half: runs as `python -I -S launcher.py CONFIG`, next to student code.

The trusted half (`autograder.sandbox`) writes CONFIG (the program to run, its environment, the
work folder, the paths Python needs, the limits) and starts this file as a small program of its
own: standard library only, plus `pyseccomp`, and its sibling modules `sandbox_cgroup`,
`sandbox_seccomp` and `sandbox_workdir`, found through its own folder (`-I` keeps the kit and
site-packages off `sys.path`). It creates the run's cgroup, enters new network, PID, mount and IPC
namespaces (a non-root user first enters a new user namespace, which gives it the right to make
the others) and puts the work folder on a size-limited tmpfs, then forks. The child (PID 1 of the
new namespace) joins the cgroup, mounts a private /proc and /tmp, hides the repository and the
host's socket folders, switches to a fresh unprivileged user id (root only), applies rlimits,
`no_new_privs`, a Landlock ruleset (read-only: the Python installation and system directories;
read-write: the work folder only; no TCP; no signals or abstract sockets outside the sandbox) and
a seccomp filter (no UNIX sockets), then starts the run's program (`launch`'s `start`). The
launcher waits, kills the whole run past its CPU time, copies the run's files back and mirrors
the child's exit status. With `"probe": true` in CONFIG the child prints which protections hold.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import signal
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

if __package__:  # imported by the trusted half and by the zygote
    from facekit.sandbox_side import sandbox_cgroup, sandbox_seccomp, sandbox_workdir
else:  # `python -I -S launcher.py`: its own folder is not on sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sandbox_cgroup
    import sandbox_seccomp
    import sandbox_workdir

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

_NICENESS = 10
_FIRST_SANDBOX_UID = 200_000  # + the launcher's PID: unique among live runs, owns no files
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


def cgroup_name(launcher_pid: int) -> str:
    """The name of the cgroup of the run whose launcher has this PID."""
    return f"facekit-run-{launcher_pid}"


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
        cgroup_name(launcher_pid), int(limits["memory_bytes"]), int(limits["max_processes"])
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
    """The child's wait status; with a cgroup, the whole run is killed past `cpu_seconds`
    (checked every _CPU_POLL_SECONDS, while the child's exit ends the wait at once)."""
    if cgroup is None or cgroup.cpu_seconds() is None:
        return os.waitpid(child, 0)[1]
    exited = os.pidfd_open(child)
    try:
        while not select.select([exited], [], [], _CPU_POLL_SECONDS)[0]:
            if cgroup.cpu_seconds() > cpu_seconds:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)  # PID 1: the kernel kills the rest
                break
        return os.waitpid(child, 0)[1]
    finally:
        os.close(exited)


def exec_script(config: dict) -> NoReturn:
    """Start the run's program: exec `config["argv"]` with `config["env"]` (a fresh interpreter)."""
    os.execve(config["argv"][0], config["argv"], config["env"])


def launch(config: dict, start: Callable[[dict], NoReturn] = exec_script) -> NoReturn:
    """The launcher's main: cgroup, namespaces, tmpfs, fork, prepare, `start`; then copy the
    results back, remove the cgroup and mirror the child's exit status.

    `start(config)` runs in the sandboxed child once every protection is in place and never
    returns: by default it execs a fresh interpreter; the zygote (`zygote.py`) runs a
    pre-imported worker in the forked child instead."""
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
            start(config)
        except BaseException as error:  # noqa: BLE001 - report, never run unprotected
            print(f"sandbox setup failed: {error!r}", file=sys.stderr, flush=True)
            os._exit(125)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    status = _wait(child, cgroup, float(config["limits"]["cpu_seconds"]))
    usage = json.dumps({"memory_peak_bytes": cgroup.memory_peak() if cgroup else None})
    if config.get("usage_fd") is not None:  # warm: a pipe to the zygote, closed in the child
        os.write(config["usage_fd"], usage.encode())
    elif config.get("usage_marker"):  # cold: a last stderr line the script cannot forge
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
    launch(json.loads(sys.argv[1]))
