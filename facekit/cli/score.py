"""`facekit score`: validate a submission CSV against the answer keys and score it."""

import argparse
from pathlib import Path

from facekit.base.contract import TASKS, VERIFICATION
from facekit.base.csv_reader import DEFAULT_MAX_BYTES
from facekit.base.errors import InputError, InvalidSubmission, SetupError
from facekit.cli.options import add_course_metrics, add_keys

DESCRIPTION = (
    "Validate a submission CSV (every problem is reported with file, line and "
    "column) and print its public, private and overall scores."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit score`."""
    parser.add_argument("task", choices=TASKS, help="which leaderboard task the CSV is for")
    parser.add_argument("submission", type=Path, help="the submission CSV")
    add_keys(parser)
    parser.add_argument(
        "--plot", type=Path, default=None, help="write the ROC curve to this image (verification)"
    )
    parser.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="reject larger submissions"
    )
    add_course_metrics(parser)


def run(args: argparse.Namespace) -> int:
    """Print the submission's scores (and draw its ROC curve with --plot)."""
    from autograder.scoring.course_config import load_task_metrics
    from autograder.scoring.report import format_score, save_roc_plot
    from autograder.scoring.score import score_parsed
    from autograder.scoring.submission import parse_submission
    from facekit.base.keys import load_keys
    from facekit.base.metrics import roc_auc, roc_curve

    if args.plot is not None and args.task != VERIFICATION:
        raise SetupError("--plot draws an ROC curve: it needs the verification task")
    metric = load_task_metrics(args.course)[args.task]
    keys = load_keys(args.task, args.keys)
    try:
        submission = parse_submission(keys, args.submission, max_bytes=args.max_bytes)
    except InvalidSubmission as error:  # one line of what happened, then every problem
        plural = "s" if error.count != 1 else ""
        raise InputError(
            f"invalid submission ({error.count} problem{plural}), not scored:\n{error}"
        ) from error
    score = score_parsed(keys, submission, metric)
    print(format_score(score, args.submission.name))
    if args.plot is not None:
        curve = roc_curve(keys.labels, submission.values)
        try:
            save_roc_plot(
                curve, roc_auc(curve), score.details["eer"], args.plot, args.submission.name
            )
        except OSError as error:
            raise InputError(f"cannot write the plot {args.plot}: {error}") from error
        print(f"ROC plot written to {args.plot}")
    return 0
