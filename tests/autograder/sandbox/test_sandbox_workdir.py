"""What comes back from a run's tmpfs workdir? Only regular files and folders, never through a
link, never a staff-owned inode changed."""

import os

import pytest

from facekit.sandbox_side.sandbox_workdir import MAX_DEPTH


@pytest.fixture(autouse=True)
def _needs_the_quota(protection):
    """The copy back happens only where the workdir is a tmpfs."""
    protection("disk_quota")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("os.symlink('/etc/passwd', 'answer.json')", "answer.json"),
        ("os.symlink('/dev/zero', 'result_0.json')", "result_0.json"),
        ("os.symlink('/proc/self/fd/0', 'load_0.json')", "load_0.json"),
        ("os.mkfifo('result_1.json')", "result_1.json"),
        ("os.link('snippet.py', 'hard.json')", None),
    ],
)
def test_links_and_fifos_are_not_copied_back(run_snippet, workdir, code, name):
    """Is a symlink or FIFO left under an answer's name absent afterwards (not followed)?"""
    result = run_snippet(f"import os\n{code}\nprint('left')")
    assert "left" in result.stdout, result
    if name is not None:
        assert not os.path.lexists(workdir / name)
    for entry in os.scandir(workdir):
        assert entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)


def test_a_deep_tree_comes_back_cut_at_the_depth_bound(run_snippet, workdir):
    """Does a folder tree 200 levels deep come back without error, at most MAX_DEPTH deep?"""
    result = run_snippet(
        """
        import os
        for _ in range(200):
            os.mkdir("d")
            os.chdir("d")
        open("bottom", "w").write("x")
        print("built")
        """
    )
    assert "built" in result.stdout and result.returncode == 0, result
    depth, path = 0, workdir
    while (path / "d").is_dir():
        path, depth = path / "d", depth + 1
    assert 0 < depth <= MAX_DEPTH + 1


def test_staff_inodes_never_reach_the_sandbox(run_snippet, workdir, tmp_path):
    """Is a staff file hard-linked into the workdir left byte-identical when the run appends to
    its copy?"""
    staff = tmp_path / "staff_image.jpg"
    staff.write_bytes(b"original")
    (workdir / "images").mkdir()
    os.link(staff, workdir / "images" / "0001.jpg")
    result = run_snippet("open('images/0001.jpg', 'ab').write(b'TAMPERED')")
    assert result.returncode == 0, result.stderr
    assert staff.read_bytes() == b"original"
    assert (workdir / "images" / "0001.jpg").read_bytes() == b"originalTAMPERED"
