"""Is the run's cgroup found, limited, joined and removed as the module docstring says?"""

import os
from pathlib import Path

import pytest

from facekit.sandbox_side import sandbox_cgroup
from facekit.sandbox_side.sandbox_cgroup import create_run_cgroup


@pytest.mark.parametrize(
    ("mount", "root", "own", "expected"),
    [
        ("/sys/fs/cgroup", "/", "/user.slice/a.scope", "/sys/fs/cgroup/user.slice/a.scope"),
        ("/sys/fs/cgroup", "/", "/", "/sys/fs/cgroup"),
        ("/sys/fs/cgroup/memory", "/docker/abc", "/docker/abc", "/sys/fs/cgroup/memory"),
        ("/sys/fs/cgroup/memory", "/docker/abc", "/docker/abc/x", "/sys/fs/cgroup/memory/x"),
        (
            "/sys/fs/cgroup/memory",
            "/docker/abc",
            "/docker/abcd",
            "/sys/fs/cgroup/memory/docker/abcd",
        ),
    ],
)
def test_cgroup_directory_under_a_mount(mount, root, own, expected):
    """Is a process's cgroup path mapped onto the mount that shows it (whole or a container's)?"""
    assert sandbox_cgroup._directory(mount, root, own) == expected


def test_a_run_cgroup_limits_counts_and_is_removed(protection):
    """Does a created cgroup hold its limits, count a joined child's CPU time, and vanish?"""
    protection("memory_cgroup")
    cgroup = create_run_cgroup(f"facekit-run-test-{os.getpid()}", 300 * 2**20, 7)
    assert cgroup is not None
    try:
        memory = "memory.max" if cgroup.version == 2 else "memory.limit_in_bytes"
        assert int(Path(cgroup.directories["memory"], memory).read_text()) == 300 * 2**20
        assert Path(cgroup.directories["pids"], "pids.max").read_text().strip() == "7"
        cgroup.open_for_joining()
        child = os.fork()
        if child == 0:
            cgroup.join()
            end = os.times().elapsed + 0.3
            while os.times().elapsed < end:
                pass
            os._exit(0)
        os.waitpid(child, 0)
        assert "cpu" not in cgroup.directories or cgroup.cpu_seconds() > 0
    finally:
        cgroup.remove()
    assert not any(os.path.exists(path) for path in cgroup.directories.values())
