"""What the benchmark scripts share: their argument parser and where the real faces are.

Not a benchmark itself. A script run as `python benchmarks/bench_x.py` imports it from beside
itself (Python puts the script's folder first on sys.path); tests/benchmarks/conftest.py puts
benchmarks/ on sys.path before it loads a script by path.
"""

import argparse
from pathlib import Path

from facekit.base.paths import REPO_ROOT

# The real face images beside the checkout, one folder per identity (LFW, with its pairs.txt).
LFW_DIR = REPO_ROOT.parent / "shared" / "data" / "lfw"


def bench_parser(description: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line: `description` (its docstring) and every default in --help."""
    return argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )


def add_src(parser: argparse.ArgumentParser, help: str) -> None:
    """`--src SRC` (into `args.src`, a Path): the identity-folder images, LFW by default."""
    parser.add_argument("--src", type=Path, default=LFW_DIR, help=help)
