"""`facekit train`: train the reference Network; the work is in `facekit.training`.

On several GPUs torchrun launches the same command line through `python -m facekit`:
    torchrun --nproc_per_node=8 -m facekit train --config configs/resnet.toml --comp C --out R
"""

import argparse
from pathlib import Path

from facekit.base.errors import SetupError
from facekit.base.tables import describe_keys
from facekit.cli.options import add_comp, add_out
from facekit.training.config import TrainConfig
from facekit.training.trainer import LAST_CHECKPOINT

DESCRIPTION = (
    "Train the reference Network with a margin head on a competition directory; "
    "writes checkpoints, metrics.csv, curves.png and both submission CSVs to --out. "
    "Multi-GPU: torchrun --nproc_per_node=N -m facekit train (same options)."
)
EPILOG = "config keys (TOML tables [model] [head] [aux] [data] [optim] [run]):\n" + describe_keys(
    TrainConfig
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit train`."""
    parser.add_argument("--config", type=Path, required=True, help="training config TOML")
    add_comp(parser)
    add_out(parser, "run directory to write")
    parser.add_argument(
        "--resume", action="store_true", help=f"continue from OUT/{LAST_CHECKPOINT}"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="stop once this many epochs are done in total (for time-limited jobs; --resume later)",
    )
    parser.add_argument("--device", default=None, help="override run.device (cpu, cuda, cuda:N)")


def run(args: argparse.Namespace) -> int:
    """Train (or resume) the run and print where its results went."""
    from facekit.training.config import load_config
    from facekit.training.trainer import train

    config = load_config(args.config)
    if args.device:
        config.run.device = args.device
    if args.resume and not (args.out / LAST_CHECKPOINT).is_file():
        raise SetupError(f"{args.out}: nothing to resume (no {LAST_CHECKPOINT})")
    result = train(config, args.comp, args.out, resume=args.resume, stop_after=args.stop_after)
    if result is not None:
        print(f"dev accuracy {result.dev_accuracy:.4f}, val AUC {result.val_auc:.4f}")
        print(f"submissions: {result.classification_csv} {result.verification_csv}")
        print(f"checkpoint: {result.checkpoint}")
    return 0
