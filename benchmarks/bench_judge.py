"""How long the judge takes: preparing the reference answers once, then grading one notebook.

Run: python benchmarks/bench_judge.py [--repeats 3] [notebook.ipynb]
Prints seconds for the one-off preparation (trusted process) and per notebook (one sandboxed
worker run serving every rubric case), then the CPU seconds of each component's cases: the
reference's cases run in this process, watched by the policy monitor as a student's are, the
best of the repeats. That split is the floor under any grader: the rubric's own work.
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
    print_case_costs(cases, args.repeats)


def print_case_costs(cases, repeats: int) -> None:
    """CPU seconds of each component's cases, best of `repeats`, on one thread as in the worker."""
    import torch

    from facekit.notebook.reference import load_reference
    from facekit.sandbox_side.judge_worker import run_case

    reference = load_reference()
    torch.set_num_threads(1)
    costs: dict[str, float] = {}
    for prepared in cases:
        module_class = getattr(reference, prepared.request["class_name"])
        best = float("inf")
        for _ in range(repeats):
            start = time.process_time()
            run_case(module_class, prepared.request, prepared.tensors)
            best = min(best, time.process_time() - start)
        costs[prepared.component.id] = costs.get(prepared.component.id, 0.0) + best
    print(f"CPU seconds of the rubric's cases, one thread: {sum(costs.values()):.2f} s in all")
    for component, seconds in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"  {component:<24} {seconds:6.3f}")


if __name__ == "__main__":
    main()
