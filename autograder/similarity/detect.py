"""`detect_similarity`: fingerprint a class's notebooks, rank every pair, write the report."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping
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

HASH_SEED = "0"  # Python's string hashing in the fingerprinting workers: see _fingerprint_all
_HASH_SEED_VARIABLE = "PYTHONHASHSEED"


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
    fingerprints = _fingerprint_all(submissions, COMPONENT_CLASSES, options)
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


def boilerplate_hashes(handout: Path, contract: Mapping[str, str]) -> set[int]:
    """The fingerprints of the handout's graded code: starter code, never evidence."""
    return fingerprint_code(graded_code(handout, contract)).hashes


@contextlib.contextmanager
def _fixed_hash_seed_for_new_processes() -> Iterator[None]:
    """Processes started inside the block hash text with one fixed seed (PYTHONHASHSEED)."""
    before = os.environ.get(_HASH_SEED_VARIABLE)
    os.environ[_HASH_SEED_VARIABLE] = HASH_SEED
    try:
        yield
    finally:
        if before is None:
            del os.environ[_HASH_SEED_VARIABLE]
        else:
            os.environ[_HASH_SEED_VARIABLE] = before


def _fingerprint_all(submissions, contract, options) -> list[Fingerprint]:
    """Fingerprints in submission order (and the handout's, removed from each), computed in
    `jobs` worker processes started with one fixed hash seed. copydetect hashes k-grams with
    Python's `hash()`, salted per process: with a fresh salt each run, which fingerprints
    winnowing keeps changed, and so did the scores, enough for a copied pair to rank below an
    independent one on one run and above it on the next. With the seed fixed, a class gets the
    same report every time."""
    bar = tqdm(
        total=len(submissions), desc="fingerprinting", unit="nb", disable=not options.progress
    )
    context = multiprocessing.get_context("spawn")  # a fresh interpreter reads the seed
    with (
        bar,
        _fixed_hash_seed_for_new_processes(),  # workers start on demand, all inside this block
        concurrent.futures.ProcessPoolExecutor(max(1, options.jobs), mp_context=context) as pool,
    ):
        boilerplate = pool.submit(boilerplate_hashes, options.handout, contract).result()
        futures = [
            pool.submit(fingerprint_notebook, s.student, s.notebook, contract, boilerplate)
            for s in submissions
        ]
        for _ in concurrent.futures.as_completed(futures):
            bar.update()
        return [future.result() for future in futures]
