"""How long `facekit similarity` takes for a class, and whether planted copies come out on top.

Run: `python benchmarks/bench_similarity.py [--students 400] [--jobs 2]`. Writes the class (the
test corpus's generated independent students, plus one renamed and one partial copy) to a
temporary folder, runs the whole comparison (fingerprints, every pair, report with 50 pages),
and prints the seconds, the pairs compared, and the rank of each planted copy.
Target (issue 12): 400 notebooks in under a minute on 2 cores.
"""

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.similarity.detect import SimilarityOptions, detect_similarity
from facekit.base import contract
from facekit.base.paths import SOLUTION_NOTEBOOK

CORPUS = Path(__file__).resolve().parents[1] / "tests/autograder/similarity/independent.py"


def _corpus():
    spec = importlib.util.spec_from_file_location("facekit_bench_corpus", CORPUS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_class(folder: Path, students: int) -> None:
    """`students` independent notebooks plus copy_renamed (of 0) and copy_partial (of 1)."""
    corpus, source = _corpus(), nbformat.read(SOLUTION_NOTEBOOK, as_version=4)
    notebooks = {f"s{i:04d}": corpus.independent_notebook(source, seed=i) for i in range(students)}

    def copy(base, victim, only):
        replacement = nbformat.from_dict(base)
        parts = corpus.components_of(notebooks[victim])
        for cell in replacement.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in parts and grade_id in only:
                cell.source = corpus.rename_identifiers(parts[grade_id])
        return replacement

    blocks = {*contract.BLOCKS, contract.ARCFACE}
    notebooks["copy_renamed"] = copy(notebooks["s0000"], "s0000", set(corpus.WRITERS))
    own = corpus.independent_notebook(source, seed=10**6)
    notebooks["copy_partial"] = copy(own, "s0001", blocks | {contract.TRIPLET_LOSS})
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=400, help="independent notebooks")
    parser.add_argument("--jobs", type=int, default=2, help="fingerprinting processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        write_class(folder, args.students)
        start = time.perf_counter()
        result = detect_similarity(
            [folder], Path(tmp) / "report", SimilarityOptions(jobs=args.jobs)
        )
        seconds = time.perf_counter() - start
    total = args.students + 2
    print(f"{total} notebooks, {total * (total - 1) // 2} pairs, jobs={args.jobs}: {seconds:.1f} s")
    for copy, victim in (("copy_renamed", "s0000"), ("copy_partial", "s0001")):
        rank = next(
            i
            for i, pair in enumerate(result.pairs, start=1)
            if {pair.student_a, pair.student_b} == {copy, victim}
        )
        print(f"{copy} of {victim}: rank {rank} (score {result.pairs[rank - 1].score:.3f})")
    print(f"best independent pair score: {_best_independent(result.pairs):.3f}")


def _best_independent(pairs) -> float:
    return max(
        (
            p.score
            for p in pairs
            if not ({p.student_a, p.student_b} & {"copy_renamed", "copy_partial"})
        ),
        default=0.0,
    )


if __name__ == "__main__":
    main()
