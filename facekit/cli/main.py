"""The `facekit` command line: wires each job's subcommands to the package that does the work.

Every command group lives next to its logic and exposes `register(subcommands)`, which adds its
parsers and sets a `handler(args) -> int` default. This module holds no logic of its own.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that expose `register(subcommands)`, in the order their commands appear in --help.
COMMAND_MODULES = (
    "facekit.cli.data",
    "facekit.cli.release",
    "facekit.cli.grade",
    "facekit.cli.similarity",
    "facekit.cli.audit",
    "facekit.cli.gradescope",
    "facekit.cli.score",
    "facekit.cli.leaderboard",
    "facekit.cli.train",
    "facekit.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="facekit",
        description="Starter kit and autograder for the HW2P2 face classification and "
        "verification homework.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
