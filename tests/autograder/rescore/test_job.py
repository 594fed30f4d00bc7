"""The worker's outputs are hostile data: bounded, no links or FIFOs, every tensor checked."""

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from autograder.rescore.job import OUTPUTS, TOP_K, MalformedOutput, check_outputs, read_outputs

ROWS, CLASSES, DIM = 6, 9, 4


def good_outputs() -> dict[str, torch.Tensor]:
    """Well-formed outputs for ROWS images of a CLASSES-way Network."""
    logits = torch.randn(ROWS, CLASSES)
    top = logits.topk(TOP_K, dim=1)
    return {"feats": torch.randn(ROWS, DIM), "top_logits": top.values, "top_classes": top.indices}


def test_well_formed_outputs_are_accepted(tmp_path: Path):
    """Are valid tensors written by safetensors read back unchanged?"""
    tensors = good_outputs()
    save_file(tensors, tmp_path / OUTPUTS)
    outputs = read_outputs(tmp_path, ROWS, CLASSES)
    assert torch.equal(outputs.feats, tensors["feats"])
    assert torch.equal(outputs.top_classes, tensors["top_classes"])


def _set(name: str, value) -> callable:
    return lambda tensors: {**tensors, name: value(tensors[name])}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("feats", lambda t: t[:-1]), "feats of shape"),
        (_set("feats", lambda t: t.unsqueeze(0)), "feats of shape"),
        (_set("feats", lambda t: torch.zeros(ROWS, 9000)), "1 to 8192 feats"),
        (_set("feats", lambda t: t.double()), "float32"),
        (_set("feats", lambda t: t.index_fill(0, torch.tensor([2]), float("nan"))), "NaN"),
        (_set("top_logits", lambda t: t.index_fill(0, torch.tensor([0]), float("inf"))), "NaN"),
        (_set("top_logits", lambda t: t.flip(1)), "sorted largest first"),
        (_set("top_logits", lambda t: t[:, :2]), "top_logits of shape"),
        (_set("top_classes", lambda t: t + CLASSES), "outside 0..8"),
        (_set("top_classes", lambda t: t - CLASSES), "outside 0..8"),
        (_set("top_classes", lambda t: t[:, :1].expand(-1, TOP_K).contiguous()), "distinct"),
        (_set("top_classes", lambda t: t.int()), "int64"),
        (lambda tensors: {**tensors, "extra": torch.zeros(1)}, "expected"),
        (lambda tensors: {"feats": tensors["feats"]}, "expected"),
    ],
    ids=[
        "fewer-rows", "3-d", "huge-dim", "float64", "nan-feats", "inf-logits", "unsorted",
        "short-top", "class-too-big", "class-negative", "repeated-class", "int32", "extra-key",
        "missing-keys",
    ],
)  # fmt: skip
def test_malformed_tensors_are_refused(change, message: str):
    """Is every wrong shape, dtype, count or value a MalformedOutput that says what is wrong?"""
    with pytest.raises(MalformedOutput, match=message):
        check_outputs(change(good_outputs()), ROWS, CLASSES)


def _symlink(target: str):
    return lambda path: os.symlink(target, path)


@pytest.mark.parametrize(
    ("plant", "message"),
    [
        (lambda path: None, "missing"),
        (_symlink("/dev/zero"), "symbolic link"),
        (_symlink("/proc/self/fd/0"), "symbolic link"),
        (_symlink("/etc/passwd"), "symbolic link"),
        (os.mkfifo, "FIFO"),
        (os.mkdir, "directory"),
        (lambda path: os.truncate(os.open(path, os.O_CREAT | os.O_WRONLY), 2**34), "more than"),
        (lambda path: path.write_bytes(b"\x00" * 64), "not a valid safetensors"),
        (lambda path: path.write_bytes(b"\xff" * 8 + b"{}"), "not a valid safetensors"),
    ],
    ids=["absent", "dev-zero", "stdin", "host-file", "fifo", "directory", "huge", "zeros", "junk"],
)
def test_hostile_output_files_are_refused_quickly(tmp_path: Path, plant, message: str):
    """Do links, FIFOs, directories, huge or corrupt files fail at once, never hang or blow up?"""
    plant(tmp_path / OUTPUTS)
    with pytest.raises(MalformedOutput, match=message):  # a FIFO would block, /dev/zero never end
        read_outputs(tmp_path, ROWS, CLASSES)
