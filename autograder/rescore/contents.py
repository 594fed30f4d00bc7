"""What a student's checkpoint holds: the Network's weights and how to build and feed it.

The checkpoint is untrusted input. It is opened only with `torch.load(weights_only=True)`
(tensors and plain containers; a pickled object is refused) and every field is checked here. Two
layouts carry the same contract (DESIGN.md, "Checkpoints"):

- the notebook's `best.pt`: a dict with `model` (the Network's state dict), `network_kwargs`,
  `preprocessing` (`inference.Preprocessing.to_dict()`) and `class_names`;
- `facekit train`'s checkpoints: the same facts in the JSON string `meta`.

Older or hand-made files (a bare state dict, or one under `model_state_dict`, `state_dict` or
`model`) are still read; what they do not record is taken from the course and named in a note.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from facekit.sandbox_side.inference import Preprocessing
from facekit.training.checkpoint import CheckpointError, CheckpointMeta, load_safely

# Keys students' notebooks commonly use for the weights inside a checkpoint dict.
STATE_DICT_KEYS = ("model", "model_state_dict", "state_dict")
MAX_KWARGS_JSON_BYTES = 16_384


@dataclass(frozen=True)
class CheckpointContents:
    """The Network's weights and, when the checkpoint records them, how to build and feed it."""

    weights: dict[str, torch.Tensor]
    network_kwargs: dict[str, Any] | None = None
    preprocessing: Preprocessing | None = None
    class_names: list[str] | None = None
    channels_last: bool = False
    notes: list[str] = field(default_factory=list)


def _is_batchnorm_statistic(name: str, value: torch.Tensor, weights: dict) -> bool:
    """A BatchNorm's running statistic: named so, beside that BatchNorm's counted 1-D weight of
    the same length and its step counter (so a buffer merely named `running_mean` cannot hide
    weights from the budget)."""
    prefix, _, leaf = name.rpartition(".")
    if leaf == "num_batches_tracked":
        return value.numel() == 1
    if leaf not in ("running_mean", "running_var"):
        return False
    weight = weights.get(f"{prefix}.weight")
    return (
        value.ndim == 1
        and isinstance(weight, torch.Tensor)
        and weight.shape == value.shape
        and f"{prefix}.num_batches_tracked" in weights
    )


def count_parameters(weights: dict[str, torch.Tensor]) -> int:
    """Parameter count from the checkpoint's tensors: every tensor the Network loads except
    BatchNorm running statistics (the student's code is not asked)."""
    return sum(
        value.numel()
        for name, value in weights.items()
        if not _is_batchnorm_statistic(name, value, weights)
    )


def _network_kwargs(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise CheckpointError(f"{where}: network_kwargs must be a dict with string keys")
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{where}: network_kwargs must hold plain values (numbers, strings, lists): {error}"
        ) from None
    if len(text) > MAX_KWARGS_JSON_BYTES:
        raise CheckpointError(f"{where}: network_kwargs is too large ({len(text)} bytes)")
    return json.loads(text)  # tuples become lists, exactly what the worker will pass


def _class_names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise CheckpointError(f"{where}: class_names must be a list of identity names")
    return list(value)


def _preprocessing(value: Any, where: str) -> Preprocessing:
    try:
        return Preprocessing.from_dict(value)
    except ValueError as error:
        raise CheckpointError(f"{where}: {error}") from None


def _from_meta(payload: dict[str, Any], where: str) -> CheckpointContents:
    meta = CheckpointMeta.from_json(payload["meta"], where)
    run = meta.config.get("run", {}) if isinstance(meta.config, dict) else {}
    return CheckpointContents(
        weights=payload.get(meta.eval_weights),
        network_kwargs=_network_kwargs(meta.network_kwargs, where),
        preprocessing=(
            None if meta.preprocessing is None else _preprocessing(meta.preprocessing, where)
        ),
        class_names=_class_names(meta.class_names, where),
        channels_last=run.get("channels_last") is True,
    )


def _from_dict(payload: dict[str, Any], where: str) -> CheckpointContents:
    if all(isinstance(value, torch.Tensor) for value in payload.values()):
        return CheckpointContents(weights=payload)
    weights = next((payload[k] for k in STATE_DICT_KEYS if k in payload), None)
    return CheckpointContents(
        weights=weights,
        network_kwargs=(
            _network_kwargs(payload["network_kwargs"], where)
            if "network_kwargs" in payload
            else None
        ),
        preprocessing=(
            _preprocessing(payload["preprocessing"], where) if "preprocessing" in payload else None
        ),
        class_names=(
            _class_names(payload["class_names"], where) if "class_names" in payload else None
        ),
    )


def read_checkpoint(path: Path) -> CheckpointContents:
    """The Network's weights and recorded contract from an untrusted checkpoint, safely."""
    payload = load_safely(path)
    where = str(path)
    contents = _from_meta(payload, where) if "meta" in payload else _from_dict(payload, where)
    weights = contents.weights
    if not isinstance(weights, dict) or not weights:
        raise CheckpointError(
            f"{path}: no state dict found (expected the Network's state_dict, or a dict with "
            f"one of {', '.join(STATE_DICT_KEYS)}); found keys {sorted(map(str, payload))[:10]}"
        )
    bad = [name for name, value in weights.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: state dict entry {bad[0]!r} is not a tensor")
    return contents
