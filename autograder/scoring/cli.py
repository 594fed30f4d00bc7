"""`facekit score`, `facekit grades` and `facekit kaggle-bundle`: wiring only.

Exit codes: 0 success, 1 the user's input is invalid (a submission, gradebook or config),
3 a staff-side error (bad answer keys).
"""

import argparse
import sys
from pathlib import Path

from autograder.scoring.csv_reader import DEFAULT_MAX_BYTES
from autograder.scoring.formats import TASKS

EXIT_INVALID_INPUT = 1
EXIT_STAFF_ERROR = 3


def _fail(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _score(args: argparse.Namespace) -> int:
    from autograder.scoring.errors import InvalidSubmission, KeysError
    from autograder.scoring.keys import load_keys
    from autograder.scoring.metrics import roc_curve
    from autograder.scoring.report import format_score, save_roc_plot
    from autograder.scoring.score import score_parsed
    from autograder.scoring.submission import parse_submission

    try:
        keys = load_keys(args.task, args.keys)
        submission = parse_submission(keys, args.submission, max_bytes=args.max_bytes)
    except KeysError as error:
        return _fail(f"error: {error}", EXIT_STAFF_ERROR)
    except InvalidSubmission as error:
        plural = "s" if error.count != 1 else ""
        header = f"invalid submission ({error.count} problem{plural}), not scored:"
        return _fail(f"{header}\n{error}", EXIT_INVALID_INPUT)
    score = score_parsed(keys, submission)
    print(format_score(score, args.submission.name))
    if args.plot is not None:
        if args.task != "verification":
            return _fail("error: --plot needs the verification task (an ROC curve)", 2)
        curve = roc_curve(keys.labels, submission.values)
        save_roc_plot(curve, score.overall, score.details["eer"], args.plot, args.submission.name)
        print(f"ROC plot written to {args.plot}")
    return 0


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add `score`, `grades` and `kaggle-bundle`."""
    score = subcommands.add_parser(
        "score",
        help="validate a submission CSV against the answer keys and score it",
        description="Validate a submission CSV (every problem is reported with file, line and "
        "column) and print its public, private and overall scores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    score.add_argument("task", choices=TASKS, help="which leaderboard task the CSV is for")
    score.add_argument("submission", type=Path, help="the submission CSV")
    score.add_argument(
        "--keys", type=Path, required=True, help="directory holding cls_test.csv / ver_test.csv"
    )
    score.add_argument(
        "--plot", type=Path, default=None, help="write the ROC curve to this image (verification)"
    )
    score.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="reject larger submissions"
    )
    score.set_defaults(handler=_score)
