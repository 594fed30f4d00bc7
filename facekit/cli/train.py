"""`facekit train` and `facekit grade-model`: argument parsing only; the work is elsewhere.

`python -m facekit.training ARGS` is `facekit train ARGS`, the form `torchrun` launches:
    torchrun --nproc_per_node=8 -m facekit.training --config configs/resnet.toml --data C --out R
"""

import argparse
import sys
from pathlib import Path

from facekit.base.paths import REPO_ROOT
from facekit.cli.config_help import HelpFormatter, course_epilog

CONFIGS_DIR = REPO_ROOT / "configs"
DEFAULT_COURSE_CONFIG = CONFIGS_DIR / "grade_model.toml"


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit train` (shared with `python -m facekit.training`)."""
    parser.add_argument("--config", type=Path, required=True, help="training config TOML")
    parser.add_argument("--data", type=Path, required=True, help="competition directory")
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument(
        "--resume", action="store_true", help="continue from OUT/checkpoints/last.pt"
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="stop once this many epochs are done in total (for time-limited jobs; --resume later)",
    )
    parser.add_argument("--device", default=None, help="override run.device (cpu, cuda, cuda:N)")


def run_train(args: argparse.Namespace) -> int:
    """Handler of `facekit train`."""
    from facekit.base.errors import ConfigError
    from facekit.training.checkpoint import CheckpointError
    from facekit.training.config import load_config
    from facekit.training.data import DataError
    from facekit.training.trainer import train

    try:
        config = load_config(args.config)
        if args.device:
            config.run.device = args.device
        if args.resume and not (args.out / "checkpoints" / "last.pt").is_file():
            raise CheckpointError(f"{args.out}: nothing to resume (no checkpoints/last.pt)")
        result = train(config, args.data, args.out, resume=args.resume, stop_after=args.stop_after)
    except (ConfigError, DataError, CheckpointError, ValueError) as error:
        print(f"facekit train: {error}", file=sys.stderr)
        return 2
    if result is not None:
        print(f"dev accuracy {result.dev_accuracy:.4f}, val AUC {result.val_auc:.4f}")
        print(f"submissions: {result.classification_csv} {result.verification_csv}")
        print(f"checkpoint: {result.checkpoint}")
    return 0


def add_grade_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit grade-model`."""
    parser.add_argument("--notebook", type=Path, required=True, help="the student's notebook")
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="the student's checkpoint (state dict)"
    )
    parser.add_argument("--data", type=Path, required=True, help="competition directory")
    parser.add_argument("--keys", type=Path, required=True, help="hidden answer-key directory")
    parser.add_argument(
        "--submission",
        type=Path,
        nargs="+",
        default=[],
        help="the student's submitted CSVs (classification and/or verification) to compare",
    )
    parser.add_argument(
        "--course-config",
        type=Path,
        default=DEFAULT_COURSE_CONFIG,
        help="course TOML with [grade_model] max_parameters, allowed image sizes, tolerances "
        "and limits",
    )
    parser.add_argument(
        "--network-kwargs",
        default=None,
        help="JSON object of Network keyword arguments when the checkpoint does not store them",
    )
    parser.add_argument("--gpu", action="store_true", help="let the sandboxed worker use CUDA")
    from autograder.sandbox import add_allow_weaker_argument  # noqa: PLC0415 - grade-model only

    add_allow_weaker_argument(parser)
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for the recomputed CSVs and report.json"
    )


def run_grade_model(args: argparse.Namespace) -> int:
    """Handler of `facekit grade-model`."""
    from autograder.rescore.grade_model import RescoreError, grade_model
    from autograder.sandbox import SandboxUnavailable, require_isolation

    try:
        require_isolation(args.allow_weaker_sandbox)
        report = grade_model(
            notebook=args.notebook,
            checkpoint=args.checkpoint,
            comp=args.data,
            keys=args.keys,
            submissions=args.submission,
            course_config=args.course_config,
            network_kwargs_json=args.network_kwargs,
            allow_gpu=args.gpu,
            out_dir=args.out,
            allow_weaker=args.allow_weaker_sandbox,
        )
    except RescoreError as error:
        print(f"facekit grade-model: {error}", file=sys.stderr)
        return error.exit_code
    except SandboxUnavailable as error:  # the machine's setup: staff's to fix or accept
        print(f"facekit grade-model: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add `train` and `grade-model`."""
    from autograder.rescore.grade_model import GradeModelTables
    from facekit.base.tables import describe_keys
    from facekit.training.config import TrainConfig

    train = subcommands.add_parser(
        "train",
        help="train the reference Network (CPU, GPU or torchrun/DDP)",
        description="Train the reference Network with a margin head on a competition directory; "
        "writes checkpoints, metrics.csv, curves.png and both submission CSVs to --out. "
        "Multi-GPU: torchrun --nproc_per_node=N -m facekit.training (same options).",
        epilog="config keys (TOML tables [model] [head] [aux] [data] [optim] [run]):\n"
        + describe_keys(TrainConfig),
        formatter_class=HelpFormatter,
    )
    add_train_arguments(train)
    train.set_defaults(handler=run_train)

    grade = subcommands.add_parser(
        "grade-model",
        help="re-score a student's checkpoint with their own Network, sandboxed",
        description="Rebuild the student's Network from their notebook in the sandboxed worker, "
        "load their checkpoint (tensors only), recompute both tasks' predictions, score them "
        "and compare with the CSVs they submitted; flags models over the parameter budget. "
        "The Network's constructor arguments and preprocessing are read from the checkpoint. "
        "A tiny reference Network runs through the same sandbox first. Exit status: 0 "
        "reproduces; 1 flagged (does not reproduce, could not run, over budget, invalid "
        "notebook or checkpoint); 2 staff setup or usage; 3 the grader's self-test failed.",
        epilog=course_epilog(GradeModelTables, "--course-config"),
        formatter_class=HelpFormatter,
    )
    add_grade_model_arguments(grade)
    grade.set_defaults(handler=run_grade_model)
