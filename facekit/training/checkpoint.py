"""Checkpoints that hold only tensors and plain data, loadable with `torch.load(weights_only=True)`.

A checkpoint is a dict: `model`, `ema` (or absent), `optimizer`, `scaler` state dicts, and `meta`,
a JSON string with the epoch, step, config, class names (ImageFolder order, which maps logits to
identities), the Network's constructor arguments, the evaluation preprocessing
(`inference.Preprocessing.to_dict()`) and which weights produced the run's CSVs. No pickled
Python object is ever stored, so anyone (the autograder included) can open one safely.
"""

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from facekit.base.errors import InputError
from facekit.base.files import replacing

FORMAT = "facekit-checkpoint-1"


class CheckpointError(InputError):
    """A checkpoint cannot be read safely or lacks what is needed."""


@dataclass(frozen=True)
class CheckpointMeta:
    """The JSON part of a checkpoint."""

    epoch: int
    step: int
    config: dict[str, Any]
    class_names: list[str]
    network_kwargs: dict[str, Any]
    eval_weights: str  # "model" or "ema": the weights evaluation and the CSVs used
    preprocessing: dict[str, Any] | None = None  # absent from checkpoints written before it

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str) -> "CheckpointMeta":
        try:
            raw = json.loads(text)
            raw.pop("format")
            return cls(**raw)
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{source}: malformed checkpoint metadata ({error})") from None


def save_checkpoint(path: Path, state: dict[str, Any], meta: CheckpointMeta) -> None:
    """Write atomically (temporary file, then rename) so a crash never leaves half a file."""
    with replacing(Path(path)) as partial:
        torch.save({**state, "meta": meta.to_json()}, partial)


def load_safely(path: Path) -> dict[str, Any]:
    """Open any checkpoint with `weights_only=True`: tensors and plain containers, never code.

    A file that would need unpickling arbitrary objects (a custom class, a function, a
    `__reduce__` payload) is refused with CheckpointError; nothing of it is executed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CheckpointError(
            f"{path}: refused: the checkpoint contains pickled Python objects, not only tensors "
            f"({first_line}). Save `model.state_dict()` (tensors only) with torch.save."
        ) from None
    except Exception as error:  # torch.load raises many unrelated types for a corrupt file
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"{path}: expected a dict of tensors (a state dict), got {type(payload).__name__}"
        )
    return payload


def load_checkpoint(path: Path) -> tuple[dict[str, Any], CheckpointMeta]:
    """A training checkpoint's state dicts and metadata (for --resume)."""
    payload = load_safely(path)
    if "meta" not in payload or "model" not in payload:
        raise CheckpointError(f"{path}: not a facekit training checkpoint (no 'meta' or 'model')")
    return payload, CheckpointMeta.from_json(payload.pop("meta"), str(path))
