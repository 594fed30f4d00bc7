"""The competition builder: layout, rules, determinism, bad input, real images."""

import csv
import json
import logging
import shutil

import numpy as np
import pytest
from PIL import Image

from data_tools.build import BuildConfig, build_competition
from data_tools.check import check_competition
from data_tools.errors import DataToolsError
from data_tools.reencode import reencode_image
from facekit.base import contract
from facekit.base.files import file_sha256
from facekit.cli.main import main

SMALL = {"ver_identities": 4, "val_pairs": 20, "test_pairs": 30}


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_built_competition_passes_check(built_competition):
    """Does the builder's own output pass every rule of `check`, keys included?"""
    comp, keys = built_competition
    assert check_competition(comp, keys) == []


def test_splits_and_keys_follow_the_rules(built_competition):
    """Disjoint identities, balanced pairs, opaque names, Public/Private on both key files."""
    comp, keys = built_competition
    cls_ids = {p.name for p in (comp / contract.CLS_TRAIN).iterdir()}
    assert cls_ids == {p.name for p in (comp / contract.CLS_DEV).iterdir()}
    ver_ids = {r["identity"] for r in rows(keys / contract.KEYS_VER_IMAGES)}
    assert len(cls_ids) == 8 and len(ver_ids) == 4 and not cls_ids & ver_ids
    val = rows(comp / contract.VAL_PAIRS)
    assert len(val) == 20 and sum(r["label"] == "1" for r in val) == 10
    test_keys = rows(keys / contract.KEYS_VER)
    assert len(test_keys) == 30 and sum(r["label"] == "1" for r in test_keys) == 15
    assert "label" not in rows(comp / contract.TEST_PAIRS)[0]
    for name in [p.name for p in (comp / contract.CLS_TEST).iterdir()]:
        assert contract.OPAQUE_NAME.match(name), name
    for key_file in (contract.KEYS_CLS, contract.KEYS_VER):
        usages = [r["usage"] for r in rows(keys / key_file)]
        assert set(usages) == {"Public", "Private"}
        assert abs(usages.count("Public") - len(usages) / 2) <= 1


def test_manifest_lists_every_public_file_and_hides_the_seed(built_competition, tree_hashes):
    """Does manifest.json hold the sha256 of every other file, and the seed stay in the keys?"""
    comp, keys = built_competition
    manifest = json.loads((comp / contract.MANIFEST).read_text())
    hashes = tree_hashes(comp)
    del hashes[contract.MANIFEST]
    assert manifest["files"] == hashes
    assert manifest["counts"]["test_pairs"] == 30 and "seed" not in manifest["arguments"]
    assert json.loads((keys / contract.KEYS_MANIFEST).read_text())["seed"] == 7


def test_same_seed_gives_identical_competition(tmp_path, synth_source, tree_hashes):
    """Same seed -> byte-identical competition and keys; another seed -> other splits."""
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        config = BuildConfig(seed=seed, **SMALL)
        build_competition(synth_source, tmp_path / name, tmp_path / f"{name}-keys", config)
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")
    assert tree_hashes(tmp_path / "a-keys") == tree_hashes(tmp_path / "b-keys")
    assert tree_hashes(tmp_path / "a") != tree_hashes(tmp_path / "c")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"cls_identities": 20}, "too few identities: need 20 for classification"),
        ({"min_images": 9}, "too few identities"),
        ({"val_pairs": 5000}, "--val-pairs 5000 needs 2500 same-identity"),
    ],
)
def test_too_few_identities_or_pairs(tmp_path, synth_source, leftovers, config, message):
    """Are impossible counts refused with the numbers, and nothing written?"""
    with pytest.raises(DataToolsError, match=message):
        build_competition(
            synth_source, tmp_path / "comp", tmp_path / "keys", BuildConfig(**{**SMALL, **config})
        )
    assert not (tmp_path / "comp").exists() and not (tmp_path / "keys").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"min_images": 2}, "--min-images must be at least 3"),
        ({"dev_fraction": 1.5}, "--dev-fraction must be strictly between 0 and 1; got 1.5"),
        ({"ver_identities": 3}, "--ver-identities must be at least 4"),
    ],
)
def test_bad_options_are_refused(config, message):
    """Is each bad option named together with the value received?"""
    with pytest.raises(DataToolsError, match=message):
        BuildConfig(**config)


def test_bad_paths_are_refused(tmp_path, synth_source):
    """Missing source, keys inside the competition, existing output: each a clear error."""
    with pytest.raises(DataToolsError, match="does not exist"):
        build_competition(tmp_path / "nowhere", tmp_path / "comp", tmp_path / "keys")
    with pytest.raises(DataToolsError, match="keys directory .* is inside the competition"):
        build_competition(synth_source, tmp_path / "comp", tmp_path / "comp" / "keys")
    (tmp_path / "comp").mkdir()
    (tmp_path / "comp" / "old.txt").write_text("x")
    with pytest.raises(DataToolsError, match="already exists"):
        build_competition(synth_source, tmp_path / "comp", tmp_path / "keys")


@pytest.fixture
def damaged_source(tmp_path, synth_source):
    """The synthetic source plus a corrupt JPEG, a text file and a byte-identical copy."""
    src = tmp_path / "src"
    shutil.copytree(synth_source, src)
    first = src / "id_00000"
    (first / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (first / "notes.txt").write_text("not an image")
    shutil.copy(first / "id_00000_0000.jpg", src / "id_00005" / "copy_of_another.jpg")
    return src


def test_bad_files_are_skipped_and_counted(tmp_path, damaged_source, caplog):
    """Corrupt and non-image files and duplicate bytes are skipped with a warning."""
    with caplog.at_level(logging.WARNING):
        manifest = build_competition(
            damaged_source, tmp_path / "comp", tmp_path / "keys", BuildConfig(**SMALL)
        )
    assert manifest.counts["skipped_files"] == 3
    assert "broken.jpg: unreadable or corrupt image" in caplog.text
    assert "notes.txt: not an image file" in caplog.text
    assert "copy_of_another.jpg: same bytes as" in caplog.text
    assert check_competition(tmp_path / "comp", tmp_path / "keys") == []


def test_strict_stops_at_the_first_bad_file(tmp_path, damaged_source, leftovers):
    """Under --strict a corrupt file is an error naming it, and nothing is written."""
    with pytest.raises(DataToolsError, match=r"broken\.jpg: unreadable or corrupt .*--strict"):
        build_competition(
            damaged_source, tmp_path / "comp", tmp_path / "keys", BuildConfig(strict=True, **SMALL)
        )
    assert not (tmp_path / "comp").exists() and leftovers(tmp_path) == []


def test_cli_build_and_its_errors(tmp_path, synth_source, capsys):
    """Does `facekit data build` build, and report an impossible request without a traceback?"""
    argv = [
        "data",
        "build",
        "--src",
        str(synth_source),
        "--seed",
        "3",
        "--val-pairs",
        "10",
        "--test-pairs",
        "10",
        "--ver-identities",
        "4",
    ]
    assert main([*argv, "--out", str(tmp_path / "c"), "--keys", str(tmp_path / "k")]) == 0
    assert "8 classification identities" in capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "d"), "--keys", str(tmp_path / "d" / "k")]) == 2
    captured = capsys.readouterr()
    assert "facekit data: keys directory" in captured.err and "Traceback" not in captured.err


def test_real_att_faces_competition_passes_check(tmp_path, shared_data):
    """AT&T faces (40 ids x 10 PGM): the built competition passes `check`."""
    config = BuildConfig(seed=11, ver_identities=8)
    manifest = build_competition(shared_data / "att_faces", tmp_path / "c", tmp_path / "k", config)
    assert manifest.counts["cls_identities"] == 32
    counts = manifest.counts
    assert (counts["train_images"], counts["dev_images"], counts["test_images"]) == (256, 32, 32)
    assert check_competition(tmp_path / "c", tmp_path / "k") == []


@pytest.mark.slow
def test_real_lfw_competition_passes_check(tmp_path, shared_data):
    """LFW identities with >= 20 images (62): the built competition passes `check`, and no test
    or verification image has the SHA-256 of any of LFW's 13,233 files."""
    config = BuildConfig(
        seed=5, min_images=20, max_images=25, ver_identities=12, val_pairs=200, test_pairs=200
    )
    manifest = build_competition(shared_data / "lfw", tmp_path / "c", tmp_path / "k", config)
    assert manifest.counts["cls_identities"] == 50 and manifest.counts["ver_identities"] == 12
    assert check_competition(tmp_path / "c", tmp_path / "k") == []
    lfw_hashes = {file_sha256(p) for p in (shared_data / "lfw").rglob("*.jpg")}
    assert len(lfw_hashes) > 13_000
    hidden = _hidden_label_images(tmp_path / "c")
    assert len(hidden) > 300
    assert not {file_sha256(p) for p in hidden} & lfw_hashes


def _hidden_label_images(comp):
    return [*(comp / contract.CLS_TEST).iterdir(), *(comp / contract.VER_IMAGES).iterdir()]


def test_hidden_label_images_are_fresh_metadata_free_jpegs(tmp_path, shared_data):
    """Are test and verification images new JPEGs (no EXIF/ICC), of the source's size and mode,
    while train and dev images stay byte-identical copies?"""
    config = BuildConfig(seed=11, ver_identities=8)
    build_competition(shared_data / "att_faces", tmp_path / "c", tmp_path / "k", config)
    comp = tmp_path / "c"
    source_hashes = {file_sha256(p) for p in (shared_data / "att_faces").rglob("*.pgm")}
    for path in _hidden_label_images(comp):
        assert path.suffix == ".jpg" and file_sha256(path) not in source_hashes
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (92, 112) and image.mode == "L"
            assert "exif" not in image.info and "icc_profile" not in image.info
    for path in (comp / contract.CLS_TRAIN).rglob("*.pgm"):
        assert file_sha256(path) in source_hashes


def test_check_flags_images_a_hash_lookup_would_name(tmp_path, shared_data, capsys):
    """Does `data check` report test/ver images with a source file's bytes, first ten by name?"""
    config = BuildConfig(seed=11, ver_identities=8, reencode=False)
    build_competition(shared_data / "att_faces", tmp_path / "c", tmp_path / "k", config)
    problems = check_competition(tmp_path / "c", tmp_path / "k")
    lookups = [p for p in problems if p.code == "source-lookup"]
    assert len(lookups) == 11 and problems == lookups
    assert "has the bytes of the source file s" in lookups[0].message
    assert lookups[-1].message.startswith("... and ")
    moved = tmp_path / "moved_source"
    shutil.copytree(shared_data / "att_faces", moved)
    assert main(["data", "check", str(tmp_path / "c"), "--source", str(moved)]) == 1
    assert "[source-lookup]" in capsys.readouterr().err


def test_reencoding_perturbs_only_slightly(tmp_path, shared_data):
    """Does a re-encoded image stay close to its source (the same face for the model)?"""
    source = next((shared_data / "lfw" / "Aaron_Eckhart").iterdir())
    target = tmp_path / "x.jpg"
    reencode_image(source, target, np.random.default_rng(0), perturbation=0.03, quality=92)
    with Image.open(source) as a, Image.open(target) as b:
        before = np.asarray(a.convert("RGB"), dtype=float)
        after = np.asarray(b, dtype=float)
    assert before.shape == after.shape
    assert np.abs(before - after).mean() < 25, np.abs(before - after).mean()
    assert file_sha256(target) != file_sha256(source)
