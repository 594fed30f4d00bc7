"""The `facekit` command line: one module per command, and the one place errors become exit codes.

Each module in COMMAND_MODULES exposes `register(subcommands)`, which adds its parser and sets a
`handler(args) -> int` default: it parses, calls the package that does the work and returns an
exit code (0, or 1 for a flagged result). Errors are not caught there: `main` turns any
`FacekitError` into `facekit <command>: <message>` on stderr and its kind's exit code, and any
other exception into exit 3 (the kit's own fault; FACEKIT_DEBUG=1 prints its traceback).
"""

import argparse
import importlib
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence

from autograder.sandbox import SandboxUnavailable
from facekit.base.errors import (
    ERROR_KINDS,
    EXIT_OK,
    FacekitError,
    InputError,
    KitFault,
    SetupError,
)
from facekit.cli.options import HelpFormatter

# One module per command, in the order the commands appear in --help.
COMMAND_MODULES = (
    "facekit.cli.data",
    "facekit.cli.release",
    "facekit.cli.grade",
    "facekit.cli.similarity",
    "facekit.cli.audit",
    "facekit.cli.gradescope_bundle",
    "facekit.cli.score",
    "facekit.cli.grades",
    "facekit.cli.kaggle_bundle",
    "facekit.cli.leaderboard",
    "facekit.cli.submit",
    "facekit.cli.train",
    "facekit.cli.grade_model",
    "facekit.cli.demo",
)
DEBUG_ENV = "FACEKIT_DEBUG"
EXIT_INTERRUPTED = 130


def exit_codes_epilog() -> str:
    """The exit-code contract of every command, from `ERROR_KINDS` (README.md quotes it)."""
    notes = {
        InputError: " Also a flagged result (data check problems, a model that does not "
        "reproduce).",
        SetupError: " Also a command-line usage error.",
    }
    lines = ["exit status, the same for every command:", f"  {EXIT_OK}  success"]
    for kind in ERROR_KINDS:
        text = f"{kind.kind}. {kind.__doc__}{notes.get(kind, '')}"
        lines.append(
            textwrap.fill(
                text, 92, initial_indent=f"  {kind.exit_code}  ", subsequent_indent="     "
            )
        )
    lines.append(
        f"Errors read `facekit COMMAND: MESSAGE` on stderr; {DEBUG_ENV}=1 adds the traceback "
        "of the kit's own faults."
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="facekit",
        description="Starter kit and autograder for the HW2P2 face classification and "
        "verification homework.",
        epilog=exit_codes_epilog(),
        formatter_class=HelpFormatter,
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen command and return its exit code (see `exit_codes_epilog`)."""
    args = build_parser().parse_args(argv)  # a usage error exits 2 here (argparse)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SandboxUnavailable as error:  # the stand-alone launcher cannot import the kit's errors
        return _report(args.command, SetupError(str(error)))
    except FacekitError as error:
        return _report(args.command, error)
    except Exception as error:  # noqa: BLE001 - whatever escapes is the kit's fault: say so
        fault = KitFault(
            f"the kit failed ({type(error).__name__}: {error}); this is a bug in facekit, not "
            f"your input: please report it with the traceback ({DEBUG_ENV}=1 shows it)"
        )
        return _report(args.command, fault)


def _report(command: str, error: FacekitError) -> int:
    """Print `facekit COMMAND: MESSAGE` on stderr (after the traceback with FACEKIT_DEBUG=1);
    return the error's exit code."""
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc()
    print(f"facekit {command}: {error}", file=sys.stderr)
    return error.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
