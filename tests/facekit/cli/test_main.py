"""Does the command line import only the command that runs? (Issue 15: every `facekit` command
used to pay for importing torch and torchvision through the others.)"""

import subprocess
import sys

import pytest

from facekit.cli.main import COMMANDS


def _imported_after(argv: list[str]) -> set[str]:
    """The top-level packages `facekit ARGV` has imported when it exits."""
    code = (
        "import contextlib, io, sys\n"
        "from facekit.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        "print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["release", "--help"]])
def test_help_imports_neither_torch_nor_another_command(argv):
    """Does `facekit --help`, or a command whose work needs no torch, start without it?"""
    imported = _imported_after(argv)
    assert not imported & {"torch", "torchvision", "nbgrader"}, imported


def test_every_command_is_listed_and_its_own_help_works():
    """Does `facekit --help` list every command, and does each command's --help name it?"""
    for command in COMMANDS:
        result = subprocess.run(
            [sys.executable, "-m", "facekit", command.name, "--help"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert f"facekit {command.name}" in result.stdout
