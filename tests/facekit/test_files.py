"""Atomic file replacement."""

import pytest

from facekit.base.files import replacing


def test_success_replaces_the_file(tmp_path):
    """Does the new content appear in one piece, with no temporary left behind?"""
    target = tmp_path / "sub" / "out.txt"
    with replacing(target) as partial:
        partial.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_failure_keeps_the_old_file(tmp_path):
    """Does an error inside the block leave the old file and remove the temporary?"""
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as partial:
        partial.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
