"""`facekit kaggle-bundle`: the answer keys as a Kaggle competition's solution files."""

import argparse

from facekit.base.contract import SAMPLE_SUBMISSIONS
from facekit.base.errors import InputError
from facekit.cli.options import add_comp, add_course_metrics, add_keys, add_out

DESCRIPTION = (
    "Write OUT/<task>/solution.csv (with Kaggle's Usage column), "
    "OUT/<task>/sample_submission.csv and OUT/<task>/evaluation.md (the metric, for the "
    "competition's description) for classification and verification."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit kaggle-bundle`."""
    add_keys(parser)
    add_comp(
        parser,
        required=False,
        help=f"competition directory whose {SAMPLE_SUBMISSIONS}/ to use (else generated from keys)",
    )
    add_course_metrics(parser)
    add_out(parser, "output directory")


def run(args: argparse.Namespace) -> int:
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
