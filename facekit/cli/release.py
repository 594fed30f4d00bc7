"""`facekit release`: build the handout from the source notebook, or check it is in sync."""

import argparse
import sys

from facekit.base.paths import HANDOUT_NOTEBOOK, SOLUTION_NOTEBOOK

DESCRIPTION = (
    "Build the student handout from the nbgrader source notebook: every solution "
    "region becomes a NotImplementedError stub. With --check, build into memory and exit 1 "
    "when the committed handout differs from a fresh build."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit release`."""
    parser.add_argument(
        "--source", default=SOLUTION_NOTEBOOK, help="nbgrader source notebook (with solutions)"
    )
    parser.add_argument("--out", default=HANDOUT_NOTEBOOK, help="handout notebook to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the handout at --out differs from a fresh build",
    )


def run(args: argparse.Namespace) -> int:
    """Build (or check) the handout and report the outcome."""
    from facekit.notebook.release import check_handout, write_handout

    if args.check:
        result = check_handout(args.source, args.out)
        if result.in_sync:
            print(f"{args.out} is in sync with {args.source}")
            return 0
        print(result.diff, end="")
        print(
            f"facekit release: {args.out} differs from a fresh build of {args.source}: "
            "run `facekit release` and commit the handout",
            file=sys.stderr,
        )
        return 1
    out = write_handout(args.source, args.out)
    print(f"wrote {out}")
    return 0
