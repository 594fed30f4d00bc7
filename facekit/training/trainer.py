"""The training loop: one process or many (torchrun/DDP), CPU or GPU, resumable.

Per epoch, rank 0 evaluates (dev accuracy, val AUC), appends a row to `metrics.csv` and saves
`checkpoints/last.pt` (plus `epoch_NNN.pt`); at the end it writes both submission CSVs, the
curves and `summary.json`. Run directory layout:

    RUN/config.json  metrics.csv  curves.png  summary.json
    RUN/checkpoints/{last.pt, epoch_001.pt, ...}
    RUN/submissions/{classification.csv, verification.csv}
"""

import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from facekit.base.contract import CLS_TEST, TEST_PAIRS, VAL_PAIRS, VER_IMAGES
from facekit.base.csv_files import read_rows
from facekit.base.metrics import roc_auc, roc_curve
from facekit.notebook.reference import load_reference
from facekit.sandbox_side import inference
from facekit.training import distributed
from facekit.training.checkpoint import (
    CheckpointError,
    CheckpointMeta,
    load_checkpoint,
    save_checkpoint,
)
from facekit.training.config import TrainConfig, check_config
from facekit.training.data import (
    DataError,
    competition_split,
    set_epoch,
    test_image_ids,
    train_loader,
)
from facekit.training.ema import ModelEma
from facekit.training.objective import TrainingModel, measure_embedding_dim, network_kwargs
from facekit.training.plots import plot_curves
from facekit.training.submission_csv import pair_scores, write_submissions

METRICS_COLUMNS = (
    "epoch",
    "stage",
    "lr",
    "train_loss",
    "train_accuracy",
    "dev_accuracy",
    "val_auc",
    "images_per_second",
    "loader_wait_fraction",
    "epoch_seconds",
)
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
LAST_CHECKPOINT = "checkpoints/last.pt"  # in the run directory; what `resume` continues from


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced (rank 0 only)."""

    run_dir: Path
    checkpoint: Path
    classification_csv: Path
    verification_csv: Path
    dev_accuracy: float
    val_auc: float
    parameters: int
    world_size: int
    ranks_agree: bool


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` means this rank's CUDA device when there is one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def lr_factor(step: int, total_steps: int, warmup_steps: int, min_ratio: float) -> float:
    """Linear warm-up to 1, then cosine decay to `min_ratio` at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def parameter_count(module: nn.Module) -> int:
    """Number of parameters (what the course's budget counts)."""
    return sum(p.numel() for p in module.parameters())


def val_auc(network: nn.Module, comp: Path, config: TrainConfig, device: torch.device) -> float:
    """ROC AUC of cosine scores on the labelled validation pairs."""
    pairs = read_rows(comp / VAL_PAIRS)
    scores = pair_scores(
        network,
        pairs,
        comp / VER_IMAGES,
        config.data.preprocessing,
        config.data.eval_batch_size,
        device,
    )
    labels = [row["label"] == "1" for row in pairs]
    return roc_auc(roc_curve(labels, scores))


def dev_accuracy(network, dev, config: TrainConfig, device: torch.device) -> float:
    """Top-1 accuracy of the Network's logits on the dev split."""
    _, logits = inference.embed(
        network, dev.paths, config.data.preprocessing, config.data.eval_batch_size, device
    )
    return float((logits.argmax(dim=1) == torch.tensor(dev.labels)).float().mean())


class Trainer:
    """Holds the state of one run; `run()` trains to the end (or `stop_after`) and evaluates."""

    def __init__(self, config: TrainConfig, comp: Path, run_dir: Path, resume: bool = False):
        check_config(config, "the training config")
        self.config, self.comp, self.run_dir = config, Path(comp), Path(run_dir)
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = resolve_device(config.run.device, local_rank)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.context = distributed.init_distributed(self.device)
        torch.manual_seed(config.run.seed + self.context.rank)

        self.train_images = competition_split(self.comp, "train")
        self.class_names = self.train_images.class_names
        self.dev_images = competition_split(self.comp, "dev", self.class_names)
        self.loader = train_loader(
            self.train_images,
            config.data,
            pin_memory=self.device.type == "cuda",
            seed=config.run.seed,
            rank=self.context.rank,
            world_size=self.context.world_size,
        )
        if len(self.loader) == 0:
            raise DataError(
                f"{self.comp}: {len(self.train_images.paths)} training images are fewer than one "
                f"batch of {config.data.batch_size} per process; lower data.batch_size"
            )

        reference = load_reference()
        self.network_kwargs = network_kwargs(config, reference)
        network = reference.Network(len(self.class_names), **self.network_kwargs).to(self.device)
        if config.run.channels_last:
            network = network.to(memory_format=torch.channels_last)
        embedding_dim = measure_embedding_dim(network, config.data.image_size, self.device)
        self.model = TrainingModel(
            network, config, reference, len(self.class_names), embedding_dim
        ).to(self.device)
        self.optimizer = self._optimizer()
        precision = config.run.precision
        self.autocast_dtype = AUTOCAST_DTYPES[precision]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=precision == "fp16")
        self.ema = ModelEma(network, config.optim.ema_decay) if config.optim.ema_decay else None
        self.epoch = self.step = 0
        if resume:
            self._resume()
        self.parallel_model = self._parallel()

    @property
    def network(self) -> nn.Module:
        return self.model.network

    @property
    def eval_network(self) -> nn.Module:
        """The weights evaluation and the submissions use (the EMA when enabled)."""
        return self.ema.module if self.ema else self.network

    def _optimizer(self) -> torch.optim.Optimizer:
        optim = self.config.optim
        centers, head = self.model.center_loss, self.model.head
        center_params = list(centers.parameters()) if centers is not None else []
        center_ids = {id(p) for p in center_params}
        # Margin heads normalise their weight rows, so decay regularises nothing there: it only
        # shrinks the rows, which inflates their effective learning rate as training goes on.
        head_ids = {id(p) for p in head.parameters()} if head is not None else set()
        decay, no_decay = [], []
        for parameter in self.model.parameters():
            if id(parameter) in center_ids:
                continue
            # Norm scales and biases are 1-D: decaying them only hurts.
            undecayed = parameter.ndim <= 1 or id(parameter) in head_ids
            (no_decay if undecayed else decay).append(parameter)
        groups = [
            {"params": decay, "weight_decay": optim.weight_decay, "peak_lr": optim.lr},
            {"params": no_decay, "weight_decay": 0.0, "peak_lr": optim.lr},
        ]
        if center_params:
            groups.append(
                {"params": center_params, "weight_decay": 0.0, "peak_lr": self.config.aux.center_lr}
            )
        if optim.name == "adamw":
            return torch.optim.AdamW(groups, lr=optim.lr)
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, nesterov=True)

    def _parallel(self) -> nn.Module:
        model: nn.Module = self.model
        if self.context.distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            model = DistributedDataParallel(model, device_ids=device_ids)
        if self.config.run.compile:
            model = torch.compile(model)
        return model

    def checkpoint_path(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT

    def _resume(self) -> None:
        path = self.checkpoint_path()
        state, meta = load_checkpoint(path)
        if meta.class_names != self.class_names:
            raise CheckpointError(
                f"{path}: trained on {len(meta.class_names)} identities that differ from the "
                f"{len(self.class_names)} in {self.comp}; resume with the same data"
            )
        network_state = {f"network.{name}": value for name, value in state["model"].items()}
        self.model.load_state_dict({**network_state, **state["objective"]})
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.module.load_state_dict(state["ema"])
        self.epoch, self.step = meta.epoch, meta.step

    def _save(self) -> Path:
        meta = CheckpointMeta(
            epoch=self.epoch,
            step=self.step,
            config=self.config.to_dict(),
            class_names=self.class_names,
            network_kwargs=self.network_kwargs,
            eval_weights="ema" if self.ema else "model",
            preprocessing=self.config.data.preprocessing.to_dict(),
        )
        objective = {
            name: value
            for name, value in self.model.state_dict().items()
            if not name.startswith("network.")
        }
        state: dict[str, Any] = {
            # The Network alone, under its own names: `Network.load_state_dict` accepts it as is.
            "model": self.network.state_dict(),
            "objective": objective,  # margin head weights and centers
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        if self.ema is not None:
            state["ema"] = self.ema.module.state_dict()
        path = self.checkpoint_path()
        save_checkpoint(path, state, meta)
        shutil.copyfile(path, path.with_name(f"epoch_{self.epoch:03d}.pt"))
        return path

    def _stage(self, epoch: int) -> tuple[str, int, int, float]:
        """(name, first epoch, epochs, lr multiplier) of the stage `epoch` belongs to."""
        run, aux = self.config.run, self.config.aux
        if epoch < run.epochs:
            return "main", 0, run.epochs, 1.0
        return "finetune", run.epochs, aux.finetune_epochs, aux.finetune_lr / self.config.optim.lr

    def _set_lr(self, epoch: int, step_in_epoch: int) -> float:
        name, first, epochs, multiplier = self._stage(epoch)
        steps_per_epoch = len(self.loader)
        step = (epoch - first) * steps_per_epoch + step_in_epoch
        # The fine-tuning stage starts at its peak: the weights are already trained.
        warmup = round(self.config.optim.warmup_epochs * steps_per_epoch) if name == "main" else 0
        factor = multiplier * lr_factor(
            step, epochs * steps_per_epoch, warmup, self.config.optim.min_lr_ratio
        )
        for group in self.optimizer.param_groups:
            group["lr"] = group["peak_lr"] * factor
        return self.optimizer.param_groups[0]["lr"]

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def train_epoch(self) -> dict[str, Any]:
        """One pass over this rank's share of the training set; metrics averaged over ranks."""
        config, epoch = self.config, self.epoch
        stage = self._stage(epoch)[0]
        aux_scale = 1.0 if config.aux.stage == "joint" or stage == "finetune" else 0.0
        set_epoch(self.loader, epoch)
        self.model.warm_up_margin(epoch)
        self.parallel_model.train()
        totals = torch.zeros(3, device=self.device)  # loss sum, correct, images
        wait = 0.0
        start = time.perf_counter()
        batches = tqdm(
            self.loader,
            desc=f"epoch {epoch + 1}/{config.total_epochs} ({stage})",
            disable=not self.context.is_main,
            leave=False,
            file=sys.stderr,
        )
        fetched = time.perf_counter()
        lr = 0.0
        for index, (images, labels) in enumerate(batches):
            wait += time.perf_counter() - fetched
            lr = self._set_lr(epoch, index)
            images = inference.normalize(
                images.to(self.device, non_blocking=True),
                config.run.channels_last,
                config.data.preprocessing,
            )
            labels = labels.to(self.device, non_blocking=True)
            with self._autocast():
                loss, logits, _ = self.parallel_model(images, labels, aux_scale)
            self.scaler.scale(loss).backward()
            if config.optim.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), config.optim.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            if self.ema is not None:
                self.ema.update(self.network)
            self.step += 1
            # Accumulate on the device: reading a value every step would stall a GPU.
            totals += torch.stack(
                [
                    loss.detach().float() * len(labels),
                    (logits.argmax(dim=1) == labels).sum().float(),
                    torch.tensor(float(len(labels)), device=self.device),
                ]
            )
            if self.context.is_main and index % 10 == 0:
                batches.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")
            fetched = time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - start
        totals = distributed.mean_over_ranks(totals, self.context)
        loss_sum, correct, images = totals.tolist()
        return {
            "epoch": epoch + 1,
            "stage": stage,
            "lr": lr,
            "train_loss": loss_sum / images,
            "train_accuracy": correct / images,
            "images_per_second": images * self.context.world_size / seconds,
            "loader_wait_fraction": wait / seconds,
            "epoch_seconds": seconds,
        }

    def evaluate(self) -> tuple[float, float]:
        """(dev accuracy, val AUC) of the evaluation weights."""
        network = self.eval_network
        accuracy = dev_accuracy(network, self.dev_images, self.config, self.device)
        auc = val_auc(network, self.comp, self.config, self.device)
        return accuracy, auc

    def _append_metrics(self, row: dict[str, Any]) -> None:
        path = self.run_dir / "metrics.csv"
        new = not path.exists()
        with path.open("a") as handle:
            if new:
                handle.write(",".join(METRICS_COLUMNS) + "\n")
            handle.write(",".join(str(row[column]) for column in METRICS_COLUMNS) + "\n")

    def run(self, stop_after: int | None = None) -> TrainResult | None:
        """Train from the current epoch; returns the result on rank 0 once all epochs are done.

        `stop_after` ends this invocation after that many epochs in total (resume later).
        """
        last_epoch = self.config.total_epochs
        if stop_after is not None:
            last_epoch = min(last_epoch, stop_after)
        if self.context.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(
                json.dumps(self.config.to_dict(), indent=2) + "\n"
            )
            if self.epoch == 0:
                (self.run_dir / "metrics.csv").unlink(missing_ok=True)
        while self.epoch < last_epoch:
            row = self.train_epoch()
            self.epoch += 1
            if self.context.is_main:
                row["dev_accuracy"], row["val_auc"] = self.evaluate()
                self._append_metrics(row)
                self._save()
                print(
                    f"epoch {row['epoch']}/{self.config.total_epochs}: loss "
                    f"{row['train_loss']:.4f}, dev accuracy {row['dev_accuracy']:.4f}, val AUC "
                    f"{row['val_auc']:.4f}, {row['images_per_second']:.1f} images/s",
                    file=sys.stderr,
                )
            distributed.barrier(self.context)
        agree = distributed.ranks_agree(self.network, self.context)
        if self.epoch < self.config.total_epochs or not self.context.is_main:
            return None
        return self._finish(agree)

    def _finish(self, ranks_agree: bool) -> TrainResult:
        """Write the submissions, the curves and summary.json (rank 0)."""
        config, comp = self.config, self.comp
        classification, verification = write_submissions(
            self.eval_network,
            self.class_names,
            test_images_dir=comp / CLS_TEST,
            test_ids=test_image_ids(comp),
            ver_images_dir=comp / VER_IMAGES,
            test_pairs_csv=comp / TEST_PAIRS,
            out_dir=self.run_dir / "submissions",
            preprocessing=config.data.preprocessing,
            batch_size=config.data.eval_batch_size,
            device=self.device,
        )
        accuracy, auc = self.evaluate()
        plot_curves(self.run_dir / "metrics.csv", self.run_dir / "curves.png")
        result = TrainResult(
            run_dir=self.run_dir,
            checkpoint=self.checkpoint_path(),
            classification_csv=classification,
            verification_csv=verification,
            dev_accuracy=accuracy,
            val_auc=auc,
            parameters=parameter_count(self.network),
            world_size=self.context.world_size,
            ranks_agree=ranks_agree,
        )
        summary = {key: str(v) if isinstance(v, Path) else v for key, v in asdict(result).items()}
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return result


def train(
    config: TrainConfig,
    comp: Path,
    run_dir: Path,
    resume: bool = False,
    stop_after: int | None = None,
) -> TrainResult | None:
    """Train a run end to end (see the module docstring); None on ranks other than 0 or when
    stopped early by `stop_after`."""
    try:
        return Trainer(config, comp, run_dir, resume).run(stop_after)
    finally:
        distributed.close_distributed()
