"""Do the limits hold for the whole run, however it splits itself into processes and memory the
address-space limit never sees? Each test measures what the run got and compares it with the
configured limit."""

import dataclasses
import resource

import pytest

from autograder.sandbox import isolation_report

MIB = 2**20

# N children fill memfds with write() (never mapped, so outside RLIMIT_AS), printing each one's
# running total, until the kernel refuses or kills them; the survivors then keep holding it. Once
# every child has either died or reported, nothing allocates any more, and the parent prints what
# the survivors hold together: "SURVIVORS <bytes held at once> <survivors> <killed>".
FILL_MEMFDS = """
import os, signal, sys, time
N = int(sys.argv[1])
def fill():
    held, chunk, fds = 0, b"x" * (8 << 20), []
    try:
        while True:
            fds.append(os.memfd_create("fill"))
            for _ in range(8):
                os.write(fds[-1], chunk)
                held += len(chunk)
                print(os.getpid(), held, flush=True)
    except OSError:
        return held
report_r, report_w = os.pipe()
children = []
for _ in range(N):
    pid = os.fork()
    if pid == 0:
        os.write(report_w, f"{os.getpid()} {fill()}\\n".encode())
        signal.pause()
    children.append(pid)
os.set_blocking(report_r, False)
text, dead = "", set()
while len(text.splitlines()) + len(dead) < N:
    try:
        text += os.read(report_r, 4096).decode()
    except BlockingIOError:
        pass
    dead |= {pid for pid in set(children) - dead if os.waitpid(pid, os.WNOHANG)[0]}
    time.sleep(0.01)
held = {int(p): int(h) for p, h in (line.split() for line in text.splitlines())}
alive = {pid: h for pid, h in held.items() if pid not in dead}
print("SURVIVORS", sum(alive.values()), len(alive), len(dead), flush=True)
"""


def _assert_peak_within(result, limit: int) -> None:
    """The cgroup's own record of the most the run held at once is within the limit."""
    peak = result.memory_peak_bytes
    if peak is not None:  # None only on kernels without memory.peak (before 5.19, cgroup v2)
        assert peak <= limit, f"the run's cgroup peaked at {peak / MIB:.0f} MiB"


@pytest.mark.parametrize("processes", [1, 4])
def test_memfd_pages_count_against_the_memory_limit(
    run_snippet, protection, small_limits, processes
):
    """Do memfds filled with write() in one or several forked processes stay within
    memory_bytes, for each process and for all of them at once?"""
    protection("memory_cgroup")
    limit = 256 * MIB
    limits = dataclasses.replace(small_limits, memory_bytes=limit, wall_seconds=20.0)
    result = run_snippet(FILL_MEMFDS, limits=limits, args=(str(processes),))
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines and lines[-1][0] == "SURVIVORS", result
    together, survivors, killed = map(int, lines[-1][1:])
    assert survivors + killed == processes
    assert together <= limit, f"{survivors} processes held {together / MIB:.0f} MiB at once"
    most = max(int(held) for _, held in lines[:-1])
    assert most <= limit, f"one process held {most / MIB:.0f} MiB"
    assert most >= limit // 2, "the fillers should get near the limit before being stopped"
    _assert_peak_within(result, limit)


def test_without_a_memory_cgroup_memfds_are_refused(run_snippet, protection):
    """Where no cgroup counts memfd pages (a TA who allowed memory_cgroup weaker), is
    memfd_create refused rather than left unbounded?"""
    if isolation_report()["memory_cgroup"]:
        pytest.skip("this machine counts memfd pages in the run's memory cgroup")
    protection("unix_sockets_blocked")  # the same seccomp filter
    result = run_snippet(
        """
        import os
        try:
            os.memfd_create("fill")
            print("MADE")
        except PermissionError:
            print("refused")
        """
    )
    assert result.stdout.split() == ["refused"], result


def test_forked_allocations_share_one_memory_limit(run_snippet, protection, small_limits):
    """Does forking multiply the memory a run may hold? (4 x 120 MiB against 256 MiB: once every
    child has either died or holds its block, the holders together stay within the limit.)"""
    protection("memory_cgroup")
    limit = 256 * MIB
    limits = dataclasses.replace(small_limits, memory_bytes=limit, wall_seconds=20.0)
    result = run_snippet(
        """
        import os, signal, time
        ready_r, ready_w = os.pipe()
        children = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                block = b"x" * (120 << 20)  # written, so every page is really held
                os.write(ready_w, b"r")
                signal.pause()
            children.append(pid)
        os.set_blocking(ready_r, False)
        ready, dead = 0, set()
        while ready + len(dead) < len(children):  # then nothing allocates any more
            try:
                ready += len(os.read(ready_r, 16))
            except BlockingIOError:
                pass
            for pid in set(children) - dead:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    dead.add(pid)
            time.sleep(0.01)
        holding = [pid for pid in children if pid not in dead]
        print(len(holding), len(dead))
        """,
        limits=limits,
    )
    holding, dead = map(int, result.stdout.split())
    assert holding * 120 * MIB <= limit, f"{holding} processes held 120 MiB each at once"
    assert dead >= 2, result
    _assert_peak_within(result, limit)


def test_threads_stop_at_the_process_limit(run_snippet, protection, small_limits):
    """How many threads can a run start? At most max_processes (threads count as processes)."""
    protection("process_limit")
    limits = dataclasses.replace(small_limits, max_processes=16)
    result = run_snippet(
        """
        import threading, time
        started = 0
        try:
            for _ in range(200):
                threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        print(started)
        """,
        limits=limits,
    )
    assert result.returncode == 0, result.stderr
    assert 0 < int(result.stdout) < 16


def test_cpu_time_is_limited_for_the_whole_run(run_snippet, protection, small_limits):
    """Do four busy processes share one cpu_seconds budget instead of one each?"""
    protection("cpu_cgroup")
    limits = dataclasses.replace(small_limits, cpu_seconds=1, wall_seconds=60.0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_snippet(
        """
        import os
        for _ in range(3):
            if os.fork() == 0:
                break
        while True:
            pass
        """,
        limits=limits,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert not result.timed_out and result.returncode == -9, result
    # per-process limits alone would allow 4 x 1 s; the launcher polls every 50 ms
    assert used < 2.0, f"the run used {used:.2f} s of CPU"


def test_workdir_is_a_size_limited_tmpfs(run_snippet, protection, small_limits, workdir):
    """Does writing into the workdir stop at disk_bytes, with what was written readable after?"""
    protection("disk_quota")
    limits = dataclasses.replace(small_limits, disk_bytes=16 * MIB, max_file_bytes=64 * MIB)
    result = run_snippet(
        """
        written = 0
        try:
            with open("fill.bin", "wb") as f:
                while True:
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    written += 1 << 20
        except OSError as error:
            print(type(error).__name__, written)
        """,
        limits=limits,
    )
    kind, written = result.stdout.split()
    assert kind == "OSError" and int(written) <= 16 * MIB, result
    assert (workdir / "fill.bin").stat().st_size <= 16 * MIB
    assert (workdir / "snippet.py").is_file()


def test_private_tmp_is_size_limited(run_snippet, protection):
    """Can the run fill /tmp beyond its private 64 MiB?"""
    protection("private_tmp")
    result = run_snippet(
        """
        written = 0
        try:
            with open("/tmp/fill.bin", "wb") as f:
                while written < (256 << 20):
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    written += 1 << 20
        except OSError:
            pass
        print(written)
        """
    )
    assert int(result.stdout) <= 64 * MIB, result
