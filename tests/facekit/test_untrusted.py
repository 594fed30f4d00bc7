"""Reading a sandbox's leftovers: only bounded regular files, never through a link."""

import json
import os
import threading

import pytest

from facekit.base.untrusted import (
    UntrustedFileError,
    json_depth,
    load_untrusted_json,
    read_untrusted_bytes,
    read_untrusted_text,
    remove_untrusted_tree,
)


@pytest.fixture
def outside(tmp_path):
    """A staff file outside the sandbox's directory."""
    secret = tmp_path / "secret.txt"
    secret.write_text("staff only")
    return secret


@pytest.fixture
def box(tmp_path):
    directory = tmp_path / "box"
    directory.mkdir()
    return directory


def test_reads_a_regular_file(box):
    """Is a plain file below the limit read whole, also in a subdirectory?"""
    (box / "sub").mkdir()
    (box / "sub" / "answer.json").write_bytes(b'{"a": 1}')
    assert read_untrusted_bytes(box, "sub/answer.json", 100) == b'{"a": 1}'
    assert load_untrusted_json(box, "sub/answer.json", 100) == {"a": 1}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dev/zero", "symbolic link"),
        ("/proc/self/fd/0", "symbolic link"),
        ("/etc/passwd", "symbolic link"),
        ("OUTSIDE", "symbolic link"),
        ("/nonexistent/planted", "symbolic link"),
    ],
)
def test_a_symlinked_file_is_refused(box, outside, target, expected):
    """Is a link to a device, the grader's stdin or a host file refused without reading it?"""
    os.symlink(str(outside) if target == "OUTSIDE" else target, box / "result_0.json")
    with pytest.raises(UntrustedFileError, match=expected):
        read_untrusted_bytes(box, "result_0.json", 1_000_000)


def test_a_symlinked_directory_is_refused(box, outside):
    """Is a file reached through a linked directory refused (no planting answers elsewhere)?"""
    os.symlink(outside.parent, box / "answers")
    with pytest.raises(UntrustedFileError, match="not a plain directory"):
        read_untrusted_bytes(box, f"answers/{outside.name}", 1000)


def test_a_fifo_is_refused_without_blocking(box):
    """Does a FIFO with no writer fail at once instead of hanging the grader?"""
    os.mkfifo(box / "result_0.json")
    outcome = {}

    def read():
        try:
            read_untrusted_bytes(box, "result_0.json", 1000)
        except UntrustedFileError as error:
            outcome["error"] = str(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert "FIFO" in outcome["error"]


def test_a_directory_in_place_of_a_file_is_refused(box):
    """Is a directory where a file should be reported as such?"""
    (box / "result_0.json").mkdir()
    with pytest.raises(UntrustedFileError, match="directory"):
        read_untrusted_bytes(box, "result_0.json", 1000)


def test_a_file_over_the_limit_is_refused(box):
    """Is a file larger than the bound refused before it is read?"""
    (box / "big.json").write_bytes(b"x" * 2000)
    with pytest.raises(UntrustedFileError, match="more than the limit of 1000"):
        read_untrusted_bytes(box, "big.json", 1000)


def test_a_missing_file_is_named(box):
    """Does a missing file give a message that names it?"""
    with pytest.raises(UntrustedFileError, match="answers/result_3.json is missing"):
        read_untrusted_bytes(box, "answers/result_3.json", 10)


@pytest.mark.parametrize("relative", ["../x", "/etc/passwd", "a/../../x", "."])
def test_paths_that_leave_the_directory_are_a_programming_error(box, relative):
    """Is a caller's path that climbs out of the directory rejected outright?"""
    with pytest.raises(ValueError, match="plain relative path"):
        read_untrusted_bytes(box, relative, 10)


def test_deeply_nested_json_is_malformed_not_a_crash(box):
    """Is JSON nested a million deep, or past the bound, the student's malformed output?"""
    (box / "deep.json").write_text("[" * 1_000_000 + "]" * 1_000_000)
    with pytest.raises(UntrustedFileError, match="nests deeper"):
        load_untrusted_json(box, "deep.json", 10_000_000)
    (box / "forty.json").write_text(json.dumps(_nested(40)))
    with pytest.raises(UntrustedFileError, match="nests deeper than 32"):
        load_untrusted_json(box, "forty.json", 10_000)
    assert load_untrusted_json(box, "forty.json", 10_000, max_depth=41) == _nested(40)


def _nested(depth):
    value = 0
    for _ in range(depth):
        value = {"k": [value]} if depth % 2 else [value]
    return value


def test_json_depth_counts_containers():
    """Does the depth count nested lists and dicts, and 0 for a scalar?"""
    assert json_depth(3) == 0
    assert json_depth({"a": [1, {"b": 2}]}) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe", "not UTF-8"), (b"{1: 2}", "not valid JSON")],
)
def test_malformed_text_is_named(box, content, message):
    """Are invalid UTF-8 and invalid JSON reported as the file's fault?"""
    (box / "r.json").write_bytes(content)
    with pytest.raises(UntrustedFileError, match=message):
        load_untrusted_json(box, "r.json", 100)
    if message == "not UTF-8":
        with pytest.raises(UntrustedFileError, match=message):
            read_untrusted_text(box, "r.json", 100)


def test_remove_tree_handles_depth_links_and_locked_directories(box, outside):
    """Does clean-up remove a 100,000-deep tree and locked directories, sparing link targets?"""
    directory = os.open(box, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(100_000):
        os.mkdir("d", dir_fd=directory)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=directory)
        os.close(directory)
        directory = child
    os.close(directory)
    os.symlink(outside, box / "link")
    os.symlink(outside.parent, box / "dirlink")
    (box / "locked").mkdir()
    (box / "locked" / "f").write_text("x")
    os.chmod(box / "locked", 0)
    remove_untrusted_tree(box)
    assert not box.exists()
    assert outside.read_text() == "staff only"


def test_remove_tree_of_a_link_removes_only_the_link(tmp_path, outside):
    """Is a link given as the tree removed itself, leaving its target untouched?"""
    link = tmp_path / "work"
    os.symlink(outside.parent, link)
    remove_untrusted_tree(link)
    assert not link.is_symlink()
    assert outside.read_text() == "staff only"
