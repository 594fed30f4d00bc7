"""How long the judge takes: preparing the reference answers once, then grading one notebook.

Run: python benchmarks/bench_judge.py [--repeats 3] [notebook.ipynb]
Prints seconds for the one-off preparation (trusted process) and per notebook (one sandboxed
worker run serving every rubric case). The batch target is <= 2 s per notebook on 2 cores.
"""

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

from facekit.base.paths import SOLUTION_NOTEBOOK


def main() -> None:
    parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        "notebook", nargs="?", type=Path, default=SOLUTION_NOTEBOOK, help="notebook to grade"
    )
    parser.add_argument("--repeats", type=int, default=3, help="gradings to time")
    args = parser.parse_args()

    start = time.perf_counter()
    from autograder.judge import grade_notebook
    from autograder.judge.prepare import new_grading_seed, prepared_cases

    cases = prepared_cases(new_grading_seed())
    print(f"prepare {len(cases)} cases (reference, trusted): {time.perf_counter() - start:.2f} s")
    timings, cpu = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = grade_notebook(args.notebook)
        timings.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
    print(f"grade {args.notebook.name}: {report.total:g}/{report.max_total:g} points")
    print(
        f"per notebook: median {statistics.median(timings):.2f} s, "
        f"min {min(timings):.2f} s over {args.repeats} runs; sandboxed worker CPU time "
        f"median {statistics.median(cpu):.2f} s"
    )
    print(f"machine load average (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
