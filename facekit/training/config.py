"""Training configuration: TOML files parsed into typed, documented dataclasses.

Every field has a default and a one-line description (the `help` metadata). A key the schema does
not know is an error that names the key and the file, so a typo never silently trains with a
default. Keyword tables for the reference's constructors (`model.options`, `head.options`) are
checked against the constructors' signatures when the model is built.
"""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from facekit.base.errors import ConfigError
from facekit.base.tables import from_table, read_toml, setting
from facekit.sandbox_side.inference import IMAGE_SIZE, MEAN, STD, Preprocessing


@dataclass
class ModelConfig:
    """Which reference `Network` to build."""

    arch: Literal["resnet", "convnext"] = setting("backbone family of the Network", "resnet")
    options: dict[str, Any] = setting("extra keyword arguments for the reference Network", {})


@dataclass
class HeadConfig:
    """The margin head trained on the embeddings, next to cross-entropy on the Network's logits."""

    kind: Literal["softmax", "arcface", "cosface", "sphereface"] = setting(
        "margin head on the embeddings; softmax = none (plain cross-entropy only)", "arcface"
    )
    weight: float = setting("weight of the margin head's loss in the total loss", 1.0)
    margin_warmup_epochs: int = setting(
        "epochs over which the margin comes in (0 = off): arcface and cosface m grows from 0, "
        "sphereface logits blend in from margin-free ones",
        0,
    )
    options: dict[str, Any] = setting("keyword arguments for the head (e.g. s, m)", {})


@dataclass
class AuxLossConfig:
    """An optional metric-learning loss on the embeddings, joint or as a fine-tuning stage."""

    kind: Literal["none", "center", "triplet"] = setting("auxiliary embedding loss", "none")
    weight: float = setting("weight of the auxiliary loss in the total loss", 0.01)
    margin: float = setting("margin of the batch-hard triplet loss", 0.2)
    center_lr: float = setting("learning rate of the center-loss centers (SGD)", 0.5)
    stage: Literal["joint", "finetune"] = setting(
        "joint: from the first epoch; finetune: only in a second stage after `epochs`", "joint"
    )
    finetune_epochs: int = setting("epochs of the fine-tuning stage (stage = finetune)", 0)
    finetune_lr: float = setting("peak learning rate of the fine-tuning stage", 0.01)


@dataclass
class DataConfig:
    """The input pipeline."""

    image_size: int = setting("side of the square images fed to the Network (pixels)", IMAGE_SIZE)
    mean: list[float] = setting("per-channel (RGB) mean of [0, 1] pixels", list(MEAN))
    std: list[float] = setting("per-channel (RGB) divisor after the mean", list(STD))
    batch_size: int = setting("training images per step and per process", 256)
    eval_batch_size: int = setting("images per forward pass when evaluating", 256)
    num_workers: int = setting("DataLoader worker processes per training process", 8)
    images_per_identity: int = setting(
        "K of identity-balanced P x K batches (for triplet losses; 0 = plain shuffling)", 0
    )
    hflip: bool = setting("random horizontal flips", True)
    crop_scale_min: float = setting("smallest area fraction of the random resized crop", 0.8)
    color_jitter: float = setting("brightness/contrast/saturation jitter (0 = off)", 0.2)

    @property
    def preprocessing(self) -> Preprocessing:
        """The evaluation preprocessing these settings describe (recorded in checkpoints)."""
        return Preprocessing(self.image_size, tuple(self.mean), tuple(self.std))


@dataclass
class OptimConfig:
    """Optimiser, schedule and regularisation."""

    name: Literal["sgd", "adamw"] = setting("optimiser", "sgd")
    lr: float = setting("peak learning rate (per process batch; not rescaled for DDP)", 0.1)
    momentum: float = setting("SGD momentum", 0.9)
    weight_decay: float = setting("decoupled (AdamW) or L2 (SGD) weight decay", 5e-4)
    warmup_epochs: float = setting("linear warm-up length before the cosine decay", 1.0)
    min_lr_ratio: float = setting("final learning rate as a fraction of the peak", 0.01)
    label_smoothing: float = setting("label smoothing of the cross-entropy losses", 0.1)
    grad_clip: float = setting("clip the global gradient norm to this (0 = off)", 0.0)
    ema_decay: float = setting("exponential moving average of weights (0 = off)", 0.0)


@dataclass
class RunConfig:
    """Length, numerics and hardware."""

    epochs: int = setting("epochs of the main stage", 30)
    seed: int = setting("random seed (each DDP rank adds its rank)", 0)
    device: str = setting("auto (CUDA if available), cpu, cuda or cuda:N", "auto")
    precision: Literal["fp32", "bf16", "fp16"] = setting(
        "autocast dtype for forward passes (fp16 uses a gradient scaler)", "bf16"
    )
    channels_last: bool = setting("store images and weights in NHWC (faster convs on GPU)", True)
    compile: bool = setting("torch.compile the model for training", False)
    threads: int = setting("CPU threads for PyTorch (0 = PyTorch's default)", 0)


@dataclass
class TrainConfig:
    """A whole training run."""

    model: ModelConfig = setting("which reference Network to build", factory=ModelConfig)
    head: HeadConfig = setting("the margin head on the embeddings", factory=HeadConfig)
    aux: AuxLossConfig = setting("an optional auxiliary embedding loss", factory=AuxLossConfig)
    data: DataConfig = setting("the input pipeline", factory=DataConfig)
    optim: OptimConfig = setting("optimiser, schedule and regularisation", factory=OptimConfig)
    run: RunConfig = setting("length, numerics and hardware", factory=RunConfig)

    @property
    def total_epochs(self) -> int:
        """Epochs of both stages."""
        finetune = self.aux.finetune_epochs if self.aux.stage == "finetune" else 0
        return self.run.epochs + finetune

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (stored in checkpoints)."""
        return asdict(self)


def config_from_dict(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """A TrainConfig from nested dicts (a parsed TOML file or a checkpoint's stored config)."""
    config = from_table(TrainConfig, raw, source)
    check_config(config, source)
    return config


def load_config(path: Path) -> TrainConfig:
    """Read and check a TOML training config."""
    return config_from_dict(read_toml(path), str(path))


def check_config(config: TrainConfig, source: str) -> None:
    """Cross-field checks that types alone cannot express; raises ConfigError naming `source`.

    Run on every loaded config, and again by the trainer on the one it is given: a config edited
    in code (a benchmark's variants) gets the same message instead of failing mid-run.
    """
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
    if config.head.margin_warmup_epochs and config.head.kind == "softmax":
        raise ConfigError(
            f"{source}: head.margin_warmup_epochs needs a margin head (head.kind 'arcface', "
            "'cosface' or 'sphereface'), got head.kind 'softmax'"
        )
    if config.aux.stage == "finetune" and config.aux.kind == "none":
        raise ConfigError(f"{source}: aux.stage = 'finetune' needs aux.kind other than 'none'")
    if config.aux.stage == "finetune" and config.aux.finetune_epochs < 1:
        raise ConfigError(
            f"{source}: aux.stage = 'finetune' needs aux.finetune_epochs >= 1, "
            f"got {config.aux.finetune_epochs}"
        )
