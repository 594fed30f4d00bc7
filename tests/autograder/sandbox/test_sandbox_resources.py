"""Do the limits hold for the whole run, however it splits itself into processes and memory the
address-space limit never sees? Each test measures what the run got and compares it with the
configured limit."""

import dataclasses
import resource

import pytest

MIB = 2**20

# Each process fills memfds with write() (never mapped, so outside RLIMIT_AS) and prints the
# running total after every chunk, so the last line it printed is what it really held.
FILL_MEMFDS = """
import os, sys
def fill(tag):
    held, chunk, fds = 0, b"x" * (8 << 20), []
    while True:
        try:
            fd = os.memfd_create("fill")
            for _ in range(8):
                os.write(fd, chunk)
                held += len(chunk)
                print(tag, held, flush=True)
            fds.append(fd)
        except OSError:
            print(tag, "refused", flush=True)
            break
    while True:  # keep holding it, so the totals of the processes add up
        os.pause()
"""


def _held_by_process(stdout: str) -> dict[str, int]:
    held: dict[str, int] = {}
    for line in stdout.splitlines():
        tag, _, value = line.partition(" ")
        if value.isdigit():
            held[tag] = max(held.get(tag, 0), int(value))
    return held


@pytest.mark.parametrize("processes", [1, 4])
def test_memfd_pages_count_against_the_memory_limit(
    run_snippet, protection, small_limits, processes
):
    """Do memfds filled with write() in one or several forked processes together stay within
    memory_bytes?"""
    protection("memory_cgroup")
    limit = 256 * MIB
    limits = dataclasses.replace(small_limits, memory_bytes=limit, wall_seconds=20.0)
    result = run_snippet(
        FILL_MEMFDS
        + f"""
for index in range({processes} - 1):
    if os.fork() == 0:
        fill(f"child{{index}}")
fill("parent")
""",
        limits=limits,
    )
    held = _held_by_process(result.stdout)
    assert held, result
    assert sum(held.values()) <= limit, f"held {sum(held.values()) / MIB:.0f} MiB: {held}"


def test_forked_allocations_share_one_memory_limit(run_snippet, protection, small_limits):
    """Does forking multiply the memory a run may touch? (4 x 120 MiB against 256 MiB.)"""
    protection("memory_cgroup")
    limit = 256 * MIB
    limits = dataclasses.replace(small_limits, memory_bytes=limit, wall_seconds=20.0)
    result = run_snippet(
        """
        import os, time
        for index in range(4):
            if os.fork() == 0:
                block = b"x" * (120 << 20)  # written, so every page is really held
                print("holding", flush=True)
                time.sleep(30)
        time.sleep(30)
        """,
        limits=limits,
    )
    holding = result.stdout.count("holding")
    assert holding * 120 * MIB <= limit, f"{holding} processes held 120 MiB each"


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
