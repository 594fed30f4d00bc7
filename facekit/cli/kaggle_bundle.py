"""`facekit kaggle-bundle`: the answer keys as a Kaggle competition's solution files."""

import argparse
from pathlib import Path

from facekit.base.errors import InputError
from facekit.cli.options import (
    COURSE_METRICS_HELP,
    HelpFormatter,
    add_comp,
    add_keys,
    add_out,
    course_epilog,
)


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add `facekit kaggle-bundle`."""
    from autograder.scoring.course_config import MetricsTables

    parser = subcommands.add_parser(
        "kaggle-bundle",
        help="write solution.csv and sample_submission.csv per task for a Kaggle competition",
        description="Write OUT/<task>/solution.csv (with Kaggle's Usage column), "
        "OUT/<task>/sample_submission.csv and OUT/<task>/evaluation.md (the metric, for the "
        "competition's description) for classification and verification.",
        epilog=course_epilog(MetricsTables, "--course"),
        formatter_class=HelpFormatter,
    )
    add_keys(parser)
    add_comp(
        parser,
        required=False,
        help="competition directory whose sample_submissions/ to use (else generated from keys)",
    )
    parser.add_argument("--course", type=Path, default=None, help=COURSE_METRICS_HELP)
    add_out(parser, "output directory")
    parser.set_defaults(handler=run_kaggle_bundle)


def run_kaggle_bundle(args: argparse.Namespace) -> int:
    """Write the bundle and list its files."""
    from autograder.scoring.course_config import load_task_metrics
    from autograder.scoring.kaggle import write_kaggle_bundle

    metrics = load_task_metrics(args.course)
    try:
        written = write_kaggle_bundle(args.keys, args.out, args.comp, metrics)
    except OSError as error:
        raise InputError(f"cannot write the bundle to {args.out}: {error}") from error
    for path in written:
        print(f"wrote {path}")
    return 0
