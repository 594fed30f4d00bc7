"""Training configuration: TOML files parsed into typed, documented dataclasses.

Every field has a default and a one-line description (the `help` metadata). A key the schema does
not know is an error that names the key and the file, so a typo never silently trains with a
default. Keyword tables for the reference's constructors (`model.options`, `head.options`) are
checked against the constructors' signatures when the model is built.
"""

import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from facekit.base.errors import SetupError
from facekit.sandbox_side.inference import IMAGE_SIZE, MEAN, STD, Preprocessing


class ConfigError(SetupError):
    """A training config file is missing, malformed or names something unknown."""


def _describe(default: Any, help: str) -> Any:
    """A dataclass field with a default and a one-line description."""
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class ModelConfig:
    """Which reference `Network` to build."""

    arch: Literal["resnet", "convnext"] = _describe("resnet", "backbone family of the Network")
    options: dict[str, Any] = _describe({}, "extra keyword arguments for the reference Network")


@dataclass
class HeadConfig:
    """The margin head trained on the embeddings, next to cross-entropy on the Network's logits."""

    kind: Literal["softmax", "arcface", "cosface", "sphereface"] = _describe(
        "arcface", "margin head on the embeddings; softmax = none (plain cross-entropy only)"
    )
    weight: float = _describe(1.0, "weight of the margin head's loss in the total loss")
    margin_warmup_epochs: int = _describe(
        0, "epochs over which an additive margin (arcface, cosface m) grows from 0 (0 = off)"
    )
    options: dict[str, Any] = _describe({}, "keyword arguments for the head (e.g. s, m)")


@dataclass
class AuxLossConfig:
    """An optional metric-learning loss on the embeddings, joint or as a fine-tuning stage."""

    kind: Literal["none", "center", "triplet"] = _describe("none", "auxiliary embedding loss")
    weight: float = _describe(0.01, "weight of the auxiliary loss in the total loss")
    margin: float = _describe(0.2, "margin of the batch-hard triplet loss")
    center_lr: float = _describe(0.5, "learning rate of the center-loss centers (SGD)")
    stage: Literal["joint", "finetune"] = _describe(
        "joint", "joint: from the first epoch; finetune: only in a second stage after `epochs`"
    )
    finetune_epochs: int = _describe(0, "epochs of the fine-tuning stage (stage = finetune)")
    finetune_lr: float = _describe(0.01, "peak learning rate of the fine-tuning stage")


@dataclass
class DataConfig:
    """The input pipeline."""

    image_size: int = _describe(IMAGE_SIZE, "side of the square images fed to the Network (pixels)")
    mean: list[float] = _describe(list(MEAN), "per-channel (RGB) mean of [0, 1] pixels")
    std: list[float] = _describe(list(STD), "per-channel (RGB) divisor after the mean")
    batch_size: int = _describe(256, "training images per step and per process")
    eval_batch_size: int = _describe(256, "images per forward pass when evaluating")
    num_workers: int = _describe(8, "DataLoader worker processes per training process")
    images_per_identity: int = _describe(
        0, "K of identity-balanced P x K batches (for triplet losses; 0 = plain shuffling)"
    )
    hflip: bool = _describe(True, "random horizontal flips")
    crop_scale_min: float = _describe(0.8, "smallest area fraction of the random resized crop")
    color_jitter: float = _describe(0.2, "brightness/contrast/saturation jitter (0 = off)")

    @property
    def preprocessing(self) -> Preprocessing:
        """The evaluation preprocessing these settings describe (recorded in checkpoints)."""
        return Preprocessing(self.image_size, tuple(self.mean), tuple(self.std))


@dataclass
class OptimConfig:
    """Optimiser, schedule and regularisation."""

    name: Literal["sgd", "adamw"] = _describe("sgd", "optimiser")
    lr: float = _describe(0.1, "peak learning rate (per process batch; not rescaled for DDP)")
    momentum: float = _describe(0.9, "SGD momentum")
    weight_decay: float = _describe(5e-4, "decoupled (AdamW) or L2 (SGD) weight decay")
    warmup_epochs: float = _describe(1.0, "linear warm-up length before the cosine decay")
    min_lr_ratio: float = _describe(0.01, "final learning rate as a fraction of the peak")
    label_smoothing: float = _describe(0.1, "label smoothing of the cross-entropy losses")
    grad_clip: float = _describe(0.0, "clip the global gradient norm to this (0 = off)")
    ema_decay: float = _describe(0.0, "exponential moving average of weights (0 = off)")


@dataclass
class RunConfig:
    """Length, numerics and hardware."""

    epochs: int = _describe(30, "epochs of the main stage")
    seed: int = _describe(0, "random seed (each DDP rank adds its rank)")
    device: str = _describe("auto", "auto (CUDA if available), cpu, cuda or cuda:N")
    precision: Literal["fp32", "bf16", "fp16"] = _describe(
        "bf16", "autocast dtype for forward passes (fp16 uses a gradient scaler)"
    )
    channels_last: bool = _describe(True, "store images and weights in NHWC (faster convs on GPU)")
    compile: bool = _describe(False, "torch.compile the model for training")
    threads: int = _describe(0, "CPU threads for PyTorch (0 = PyTorch's default)")


@dataclass
class TrainConfig:
    """A whole training run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    aux: AuxLossConfig = field(default_factory=AuxLossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    @property
    def total_epochs(self) -> int:
        """Epochs of both stages."""
        finetune = self.aux.finetune_epochs if self.aux.stage == "finetune" else 0
        return self.run.epochs + finetune

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in checkpoints)."""
        return asdict(self)


def _check_value(value: Any, hint: Any, where: str) -> Any:
    """`value` checked against the type `hint`; ints are accepted where floats are expected."""
    origin = get_origin(hint)
    if origin is Literal:
        if value not in get_args(hint):
            choices = ", ".join(repr(choice) for choice in get_args(hint))
            raise ConfigError(f"{where}: expected one of {choices}, got {value!r}")
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_check_value(item, get_args(hint)[0], where) for item in value]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if not isinstance(value, hint):
        raise ConfigError(
            f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def dataclass_from_table(cls: type, table: Any, source: str, prefix: str = "") -> Any:
    """An instance of dataclass `cls` from a TOML table, refusing unknown keys.

    `source` names the file and `prefix` the table (`optim.`) in error messages.
    """
    where = f"{source}: [{prefix.rstrip('.')}]" if prefix else source
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{prefix}{unknown[0]}' (known keys: {', '.join(sorted(known))})"
        )
    values = {}
    for name, value in table.items():
        hint = hints[name]
        if hasattr(hint, "__dataclass_fields__"):
            values[name] = dataclass_from_table(hint, value, source, f"{prefix}{name}.")
        else:
            values[name] = _check_value(value, hint, f"{source}: {prefix}{name}")
    return cls(**values)


def config_from_dict(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """A TrainConfig from nested dicts (a parsed TOML file or a checkpoint's stored config)."""
    config = dataclass_from_table(TrainConfig, raw, source)
    _validate(config, source)
    return config


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables, with one ConfigError for a missing or malformed file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def load_config(path: Path) -> TrainConfig:
    """Read and check a TOML training config."""
    return config_from_dict(read_toml(path), str(path))


def _validate(config: TrainConfig, source: str) -> None:
    """Cross-field checks that types alone cannot express."""
    positive = {
        "run.epochs": config.run.epochs,
        "data.image_size": config.data.image_size,
        "data.batch_size": config.data.batch_size,
        "data.eval_batch_size": config.data.eval_batch_size,
    }
    for name, value in positive.items():
        if value < 1:
            raise ConfigError(f"{source}: {name} must be at least 1, got {value}")
    if config.data.images_per_identity == 1 or config.data.images_per_identity < 0:
        raise ConfigError(
            f"{source}: data.images_per_identity must be 0 (off) or at least 2, "
            f"got {config.data.images_per_identity}"
        )
    for name, values in (("mean", config.data.mean), ("std", config.data.std)):
        if len(values) != 3:
            raise ConfigError(f"{source}: data.{name} must hold 3 numbers (R, G, B), got {values}")
    if min(config.data.std) <= 0:
        raise ConfigError(f"{source}: data.std must be positive, got {config.data.std}")
    if not 0.0 < config.data.crop_scale_min <= 1.0:
        raise ConfigError(
            f"{source}: data.crop_scale_min must be in (0, 1], got {config.data.crop_scale_min}"
        )
    if not 0.0 <= config.optim.ema_decay < 1.0:
        raise ConfigError(
            f"{source}: optim.ema_decay must be in [0, 1), got {config.optim.ema_decay}"
        )
    if config.head.margin_warmup_epochs < 0:
        raise ConfigError(
            f"{source}: head.margin_warmup_epochs must be at least 0, "
            f"got {config.head.margin_warmup_epochs}"
        )
    if config.head.margin_warmup_epochs and config.head.kind not in ("arcface", "cosface"):
        raise ConfigError(
            f"{source}: head.margin_warmup_epochs needs an additive margin (head.kind 'arcface' "
            f"or 'cosface'), got head.kind {config.head.kind!r}"
        )
    if config.aux.stage == "finetune" and config.aux.kind == "none":
        raise ConfigError(f"{source}: aux.stage = 'finetune' needs aux.kind other than 'none'")
    if config.aux.stage == "finetune" and config.aux.finetune_epochs < 1:
        raise ConfigError(
            f"{source}: aux.stage = 'finetune' needs aux.finetune_epochs >= 1, "
            f"got {config.aux.finetune_epochs}"
        )


def describe_fields(cls: type = TrainConfig, prefix: str = "") -> list[str]:
    """`section.key = default  # description` lines for every field (for docs and --help)."""
    lines = []
    for f in fields(cls):
        hint = get_type_hints(cls)[f.name]
        if hasattr(hint, "__dataclass_fields__"):
            lines.extend(describe_fields(hint, f"{prefix}{f.name}."))
            continue
        default = f.default if f.default is not MISSING else f.default_factory()
        lines.append(f"{prefix}{f.name} = {default!r}  # {f.metadata.get('help', '')}")
    return lines
