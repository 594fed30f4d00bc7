"""`facekit submit`: a student uploads a submission CSV to the leaderboard."""

import argparse
import os
from pathlib import Path

from facekit.base.contract import TASKS
from facekit.base.errors import SetupError

STUDENT_TOKEN_ENV = "FACEKIT_TOKEN"


DESCRIPTION = "Upload a submission CSV and print its public score."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit submit`."""
    parser.add_argument("--server", required=True, help="leaderboard URL, e.g. http://host:8000")
    parser.add_argument(
        "--token",
        help=f"your token; safer: set ${STUDENT_TOKEN_ENV} instead (not in shell history)",
    )
    parser.add_argument("--task", required=True, choices=TASKS, help="which task")
    parser.add_argument("file", type=Path, help="submission CSV")


def run(args: argparse.Namespace) -> int:
    """Upload the file and print the public score the server gave it."""
    from autograder.leaderboard.client import submit_file

    token = args.token or os.environ.get(STUDENT_TOKEN_ENV)
    if not token:
        raise SetupError(f"no token: pass --token or set {STUDENT_TOKEN_ENV}")
    receipt = submit_file(args.server, token, args.task, args.file)
    print(
        f"{receipt['task']}: public {receipt['metric']} {receipt['public']:.5f} "
        f"({receipt['submissions_left_today']} submissions left today)"
    )
    return 0
