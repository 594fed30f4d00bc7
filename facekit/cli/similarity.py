"""`facekit similarity`: rank every pair of submitted notebooks by shared code."""

import argparse
import os
from pathlib import Path

from facekit.cli.options import add_out

DESCRIPTION = (
    "Winnowed fingerprints (the MOSS method) of each notebook's graded "
    "definitions and helpers, starter code removed; robust to renamed identifiers, "
    "reordered methods, comments and formatting. Writes pairs.csv, index.html and a "
    "side-by-side page per top pair."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `facekit similarity`."""
    parser.add_argument(
        "submissions", nargs="+", type=Path, help="notebooks, folders, or nbgrader's submitted/"
    )
    add_out(parser, "folder for the report")
    parser.add_argument("--pages", type=int, default=50, help="side-by-side pages to write")
    parser.add_argument(
        "--max-common",
        type=int,
        default=None,
        help="ignore code found in more notebooks than this (default: max(5, 10%% of the class))",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes for fingerprinting"
    )


def run(args: argparse.Namespace) -> int:
    """Fingerprint, rank and write the report; print the most similar pair."""
    from autograder.similarity.detect import SimilarityOptions, detect_similarity

    options = SimilarityOptions(
        max_common=args.max_common, pages=args.pages, jobs=args.jobs, progress=True
    )
    result = detect_similarity(args.submissions, args.out, options)
    for note in result.notes:
        print(note)
    if result.pairs:
        top = result.pairs[0]
        print(f"most similar: {top.student_a} and {top.student_b} (score {top.score:.3f})")
    print(f"report: {args.out / 'index.html'}")
    return 0
