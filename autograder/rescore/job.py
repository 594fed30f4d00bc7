"""One sandboxed embedding job: fill a fresh working directory, run the worker, read its tensors.

The sandbox gets COPIES of everything (images, weights, the student's module): never a hard
link or any other inode the staff own, since the sandbox may write to, truncate or take over
whatever is in its directory. Images get opaque names in a secret random order, so code in the
sandbox cannot tell which test id or verification image a row belongs to from its position or
name. What comes back is read as untrusted data (`facekit.base.untrusted`): one regular file,
bounded, not through a link, parsed by safetensors, and every tensor's dtype, shape and values
checked.
"""

import json
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save_file

from autograder.sandbox import Limits, SandboxResult, run_sandboxed
from facekit.base.errors import InputError
from facekit.base.untrusted import UntrustedFileError, read_untrusted_bytes, remove_untrusted_tree
from facekit.sandbox_side import inference

WORKER_SCRIPT = Path(inference.__file__).with_name("rescore_worker.py")  # run as a script
OUTPUTS = "outputs.safetensors"
TOP_K = 5  # logits kept per image: the arg-max and its closest rivals (for near ties)
MAX_EMBEDDING_DIM = 8192
_HEADER_BYTES = 64 * 1024


class MalformedOutput(InputError, ValueError):
    """The worker's output file is missing or not the tensors asked for (the student's fault)."""


@dataclass(frozen=True)
class Network:
    """What to build in the sandbox: module source, weights, constructor arguments, input."""

    source: str
    weights: dict[str, torch.Tensor]
    num_classes: int
    network_kwargs: dict[str, Any]
    preprocessing: inference.Preprocessing
    channels_last: bool = False


@dataclass(frozen=True)
class Outputs:
    """Checked worker outputs, rows in the caller's image order (not the sandbox's)."""

    feats: torch.Tensor  # float32 (N, D)
    top_logits: torch.Tensor  # float32 (N, K), largest first
    top_classes: torch.Tensor  # int64 (N, K)


@dataclass(frozen=True)
class JobResult:
    """The sandbox's exit, and the outputs when it ran and they were well formed."""

    run: SandboxResult
    outputs: Outputs | None
    problem: str | None  # why there are no outputs: the run failed or the file is malformed


def _fill(workdir: Path, network: Network, images: Sequence[Path], order: list[int], job: dict):
    (workdir / "images").mkdir()
    for position, index in enumerate(order):
        shutil.copyfile(images[index], workdir / "images" / f"{position:06d}")
    (workdir / "job.json").write_text(json.dumps(job))
    (workdir / "student_module.py").write_text(network.source, encoding="utf-8")
    shutil.copyfile(inference.__file__, workdir / "facekit_inference.py")
    # Fresh contiguous copies: safetensors refuses shared or strided storage.
    weights = {k: v.detach().contiguous().clone() for k, v in network.weights.items()}
    save_file(weights, workdir / "weights.safetensors")


def check_outputs(tensors: dict[str, torch.Tensor], rows: int, num_classes: int) -> Outputs:
    """`tensors` as `Outputs`, or MalformedOutput naming the first thing that is wrong."""
    expected = {"feats", "top_logits", "top_classes"}
    if set(tensors) != expected:
        raise MalformedOutput(f"{OUTPUTS} holds {sorted(tensors)}, expected {sorted(expected)}")
    feats, logits, classes = (tensors[k] for k in ("feats", "top_logits", "top_classes"))
    k = min(TOP_K, num_classes)
    checks = [
        (feats.dtype == torch.float32 and logits.dtype == torch.float32, "float32 feats/logits"),
        (classes.dtype == torch.int64, "int64 class indices"),
        (feats.ndim == 2 and feats.shape[0] == rows, f"feats of shape ({rows}, D)"),
        (0 < feats.shape[-1] <= MAX_EMBEDDING_DIM, f"1 to {MAX_EMBEDDING_DIM} feats per image"),
        (tuple(logits.shape) == (rows, k), f"top_logits of shape ({rows}, {k})"),
        (tuple(classes.shape) == (rows, k), f"top_classes of shape ({rows}, {k})"),
    ]
    for holds, wanted in checks:
        if not holds:
            shapes = {name: (str(t.dtype), tuple(t.shape)) for name, t in tensors.items()}
            raise MalformedOutput(f"the Network's outputs are not {wanted}: {shapes}")
    if not (torch.isfinite(feats).all() and torch.isfinite(logits).all()):
        raise MalformedOutput("the Network's feats or logits contain NaN or infinity")
    if ((classes < 0) | (classes >= num_classes)).any():
        raise MalformedOutput(f"a class index is outside 0..{num_classes - 1}")
    if (logits.diff(dim=1) > 0).any() or (classes.sort(dim=1).values.diff(dim=1) == 0).any():
        raise MalformedOutput("top_logits are not sorted largest first over distinct classes")
    return Outputs(feats, logits, classes)


def read_outputs(workdir: Path, rows: int, num_classes: int) -> Outputs:
    """The worker's tensors from `workdir`, bounded and checked (rows in the sandbox's order)."""
    limit = rows * (4 * MAX_EMBEDDING_DIM + 12 * TOP_K) + _HEADER_BYTES
    try:
        data = read_untrusted_bytes(workdir, OUTPUTS, limit)
    except UntrustedFileError as error:
        raise MalformedOutput(str(error)) from None
    try:
        tensors = load(data)
    except Exception as error:  # safetensors raises its own error types for a corrupt file
        raise MalformedOutput(f"{OUTPUTS} is not a valid safetensors file ({error})") from None
    return check_outputs(tensors, rows, num_classes)


def run_job(
    network: Network,
    images: Sequence[Path],
    limits: Limits,
    batch_size: int,
    rng: random.Random | None = None,
) -> JobResult:
    """Embed `images` with `network` in the sandbox; rows of the outputs follow `images`."""
    rng = rng or random.SystemRandom()
    order = list(range(len(images)))
    rng.shuffle(order)
    job = {
        "network_kwargs": network.network_kwargs,
        "num_classes": network.num_classes,
        "preprocessing": network.preprocessing.to_dict(),
        "batch_size": batch_size,
        "threads": 0,
        "channels_last": network.channels_last,
        "device": "cuda" if limits.allow_gpu else "cpu",
        "images": [f"{position:06d}" for position in range(len(images))],
        "top_k": TOP_K,
    }
    workdir = Path(tempfile.mkdtemp(prefix="facekit-grade-model-"))
    try:
        _fill(workdir, network, images, order, job)
        result = run_sandboxed(WORKER_SCRIPT, workdir, limits)
        if not result.ok:
            return JobResult(result, None, f"the Network could not run: {result.failure_reason()}")
        try:
            outputs = read_outputs(workdir, len(images), network.num_classes)
        except MalformedOutput as error:
            return JobResult(result, None, str(error))
    finally:
        remove_untrusted_tree(workdir)
    back = torch.empty(len(order), dtype=torch.long)
    back[torch.tensor(order)] = torch.arange(len(order))  # image index -> sandbox row
    return JobResult(
        result,
        Outputs(outputs.feats[back], outputs.top_logits[back], outputs.top_classes[back]),
        None,
    )
