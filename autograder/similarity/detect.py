"""`detect_similarity`: fingerprint a class's notebooks, rank every pair, write the report."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.batch import find_submissions
from autograder.similarity.fingerprint import (
    Fingerprint,
    fingerprint_code,
    fingerprint_notebook,
    graded_code,
)
from autograder.similarity.rank import PairScore, drop_common, rank_pairs
from autograder.similarity.report import write_report
from facekit.base.contract import COMPONENT_CLASSES
from facekit.base.paths import HANDOUT_NOTEBOOK


@dataclass(frozen=True)
class SimilarityOptions:
    """How a similarity run compares and what it writes."""

    handout: Path = HANDOUT_NOTEBOOK  # its code is starter code: never evidence of copying
    max_common: int | None = None  # drop fingerprints in more notebooks; None: max(5, 10% of class)
    pages: int = 50  # side-by-side pages for the most similar pairs
    jobs: int = 1  # processes that fingerprint notebooks
    progress: bool = False


@dataclass(frozen=True)
class SimilarityResult:
    """The ranked pairs, and the notebooks that could not be compared (student, reason)."""

    pairs: list[PairScore]
    unreadable: list[tuple[str, str]]
    notes: list[str]


def detect_similarity(
    paths: Iterable[Path], out: Path, options: SimilarityOptions | None = None
) -> SimilarityResult:
    """Compare every pair of the notebooks under `paths`; write pairs.csv and HTML into `out`."""
    options = options or SimilarityOptions()
    submissions = find_submissions(paths)
    boilerplate = fingerprint_code(graded_code(options.handout, COMPONENT_CLASSES)).hashes
    fingerprints = _fingerprint_all(submissions, COMPONENT_CLASSES, boilerplate, options)
    readable = [f for f in fingerprints if f.code is not None]
    max_common = options.max_common or max(5, len(readable) // 10)
    dropped = drop_common(readable, max_common)
    pairs = rank_pairs(readable)
    unreadable = [(f.student, f.problem) for f in fingerprints if f.code is None]
    notes = [
        f"{len(readable)} notebooks compared ({len(pairs)} pairs share anything); starter code "
        f"from {options.handout.name} removed",
        f"{dropped} fingerprints found in more than {max_common} notebooks ignored as common idiom",
        *(f"{student}: not compared: {reason}" for student, reason in unreadable),
    ]
    write_report(out, pairs, readable, options.pages, notes)
    return SimilarityResult(pairs, unreadable, notes)


def _fingerprint_all(submissions, contract, boilerplate, options) -> list[Fingerprint]:
    """Fingerprints in submission order, in forked workers when `jobs` > 1 (fork keeps the
    parent's hash salt, so the workers' hashes stay comparable)."""
    jobs = [(s.student, s.notebook, contract, boilerplate) for s in submissions]
    bar = tqdm(total=len(jobs), desc="fingerprinting", unit="nb", disable=not options.progress)
    with bar:
        if options.jobs <= 1:
            results = []
            for job in jobs:
                results.append(fingerprint_notebook(*job))
                bar.update()
            return results
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(options.jobs, mp_context=context) as pool:
            futures = [pool.submit(fingerprint_notebook, *job) for job in jobs]
            for _ in concurrent.futures.as_completed(futures):
                bar.update()
            return [future.result() for future in futures]
