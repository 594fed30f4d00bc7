"""`facekit grade-model`: re-score a student's checkpoint; the work is in `autograder.rescore`."""

import argparse
from pathlib import Path

from autograder.rescore.grade_model import GradeModelTables
from autograder.sandbox import add_allow_weaker_argument, require_isolation
from facekit.base.paths import REPO_ROOT
from facekit.cli.options import add_comp, add_course, add_keys, add_out

DEFAULT_COURSE_CONFIG = REPO_ROOT / "configs" / "grade_model.toml"


DESCRIPTION = (
    "Rebuild the student's Network from their notebook in the sandboxed worker, "
    "load their checkpoint (tensors only), recompute both tasks' predictions, score them "
    "and compare with the CSVs they submitted; flags models over the parameter budget. "
    "The Network's constructor arguments and preprocessing are read from the checkpoint. "
    "A tiny reference Network runs through the same sandbox first. Exit status: 0 "
    "reproduces; 1 flagged (does not reproduce, could not run, over budget, invalid "
    "notebook or checkpoint); 2 staff setup or usage; 3 the grader's self-test failed."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit grade-model`."""
    parser.add_argument("--notebook", type=Path, required=True, help="the student's notebook")
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="the student's checkpoint (state dict)"
    )
    add_comp(parser)
    add_keys(parser)
    parser.add_argument(
        "--submission",
        type=Path,
        nargs="+",
        default=[],
        help="the student's submitted CSVs (classification and/or verification) to compare",
    )
    add_course(
        parser,
        GradeModelTables,
        "course TOML with [grade_model] max_parameters, allowed image sizes, tolerances and limits",
        option="--course-config",
        default=DEFAULT_COURSE_CONFIG,
    )
    parser.add_argument(
        "--network-kwargs",
        default=None,
        help="JSON object of Network keyword arguments when the checkpoint does not store them",
    )
    parser.add_argument("--gpu", action="store_true", help="let the sandboxed worker use CUDA")
    add_allow_weaker_argument(parser)
    add_out(
        parser,
        "directory for the recomputed CSVs and report.json",
        required=False,
        metavar="DIR",
    )


def run(args: argparse.Namespace) -> int:
    """Print the report; 0 when the model reproduces, 1 when it is flagged."""
    from autograder.rescore.grade_model import grade_model

    require_isolation(args.allow_weaker_sandbox)
    report = grade_model(
        notebook=args.notebook,
        checkpoint=args.checkpoint,
        comp=args.comp,
        keys=args.keys,
        submissions=args.submission,
        course_config=args.course_config,
        network_kwargs_json=args.network_kwargs,
        allow_gpu=args.gpu,
        out_dir=args.out,
        allow_weaker=args.allow_weaker_sandbox,
    )
    print(report.summary())
    return 0 if report.ok else 1
