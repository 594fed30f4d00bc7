"""The synthetic identity generator: layout, determinism, bad arguments, atomic output."""

import pytest
from PIL import Image

from data_tools import synth
from data_tools.errors import DataToolsError
from data_tools.synth import generate_identities, identity_name
from facekit.cli.main import main


def test_layout_is_identity_folders_of_jpegs(synth_source):
    """Does synth write N identity folders of K RGB JPEGs of the requested size?"""
    folders = sorted(p for p in synth_source.iterdir() if p.is_dir())
    assert [f.name for f in folders] == [identity_name(i) for i in range(12)]
    for folder in folders:
        files = sorted(folder.iterdir())
        assert len(files) == 8
        with Image.open(files[0]) as picture:
            assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", (32, 32))
            assert not picture.info.get("exif")


def test_same_arguments_give_identical_bytes(tmp_path, tree_hashes):
    """Same seed -> byte-identical dataset, whatever the worker count; another seed differs."""
    first = generate_identities(tmp_path / "a", 3, 4, size=24, seed=5)
    second = generate_identities(tmp_path / "b", 3, 4, size=24, seed=5, workers=2)
    other = generate_identities(tmp_path / "c", 3, 4, size=24, seed=6)
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")
    assert first.digest == second.digest != other.digest


def test_identities_are_stable_and_images_vary():
    """Do two images of one identity differ (nuisances) while sharing its traits?"""
    one = synth._identity_traits(seed=1, identity=4)
    again = synth._identity_traits(seed=1, identity=4)
    assert one.face_w == again.face_w and (one.skin == again.skin).all()
    first = synth.render_face(1, 4, 0, 32).tobytes()
    assert first != synth.render_face(1, 4, 1, 32).tobytes()
    assert first == synth.render_face(1, 4, 0, 32).tobytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"identities": 0}, "--identities must be at least 1; got 0"),
        ({"images_per_identity": -1}, "--images-per-identity must be at least 1"),
        ({"size": 8}, "--size must be between 16 and 1024"),
        ({"seed": -3}, "--seed must be a non-negative integer"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    """Is each bad argument refused with a message naming it and the value received?"""
    arguments = {"identities": 2, "images_per_identity": 2, "size": 16, "seed": 0, **kwargs}
    with pytest.raises(DataToolsError, match=message):
        generate_identities(tmp_path / "out", **arguments)
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_overwrite(tmp_path):
    """Is a non-empty output directory kept unless --overwrite is given?"""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DataToolsError, match="already exists"):
        generate_identities(out, 1, 1, size=16)
    assert (out / "keep.txt").read_text() == "mine"
    generate_identities(out, 1, 1, size=16, overwrite=True)
    assert not (out / "keep.txt").exists()


def test_failure_leaves_nothing_partial(tmp_path, monkeypatch, leftovers):
    """A crash half-way through leaves neither the output nor a staging directory."""
    real_render = synth.render_face

    def render_then_fail(seed, identity, image, size):
        if identity == 1:
            raise OSError("disk full")
        return real_render(seed, identity, image, size)

    monkeypatch.setattr(synth, "render_face", render_then_fail)
    with pytest.raises(OSError, match="disk full"):
        generate_identities(tmp_path / "out", 3, 2, size=16)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_cli_synth_and_its_errors(tmp_path, capsys):
    """Does `facekit data synth` write the dataset, and report bad input without a traceback?"""
    out = tmp_path / "synth"
    argv = ["data", "synth", "--out", str(out), "--identities", "2", "--images-per-identity", "3"]
    assert main([*argv, "--size", "16"]) == 0
    assert len(list(out.glob("*/*.jpg"))) == 6
    assert main([*argv, "--size", "16"]) == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err and "Traceback" not in captured.err
