"""Batch-grading speed: facekit (warm) against `nbgrader autograde` on the same solved notebooks.

Both grade N copies of the source notebook (every component solved), one after the other, each
as a TA runs it: `facekit grade` (sandboxed; warm: every worker a fork of a zygote that imported
torch once) and `nbgrader autograde` (unsandboxed; a fresh kernel per notebook, running the
notebook's own checks). Prints seconds per notebook for each, end to end (start-up, facekit's
self-test on the reference and the zygote's start included), the seconds of each notebook's
own grading (the batch log's, JOBS at a time), the CPU seconds per notebook of each
command's whole process tree (what a notebook costs a core, however busy the machine), and the
ratios. Targets (issue 15): <= 0.5 s per notebook per core, and >= 10x faster than nbgrader, on
a quiet 2-core machine; the load average is printed beside the figures, since a busy machine
slows both.

    python benchmarks/bench_grading.py [--copies 16] [--jobs CORES]
"""

import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import describe_isolation, isolation_report
from autograder.sandbox_zygote import warm_by_default
from facekit.base.paths import SOLUTION_NOTEBOOK

from bench_common import bench_parser

ASSIGNMENT = "hw2p2"


def load() -> str:
    """The load averages and the core count, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


@dataclass
class Cost:
    """Wall seconds, and CPU seconds of the command's whole process tree (its workers, sandboxed
    runs and kernels included: each is waited for by its parent, so the kernel sums them up)."""

    wall: float = 0.0
    cpu: float = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, env: dict | None = None) -> Cost:
    """What `command` costs; its output goes to cwd/<name>.log, shown when it fails."""
    log = cwd / f"{command[3]}.log"
    start, cpu = time.perf_counter(), _children_cpu()
    with log.open("w") as stream:
        completed = subprocess.run(command, cwd=cwd, env=env, stdout=stream, stderr=stream)
    cost = Cost(time.perf_counter() - start, _children_cpu() - cpu)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{log.read_text()[-3000:]}")
    return cost


def facekit_cost(root: Path, copies: int, jobs: int) -> tuple[Cost, float]:
    """(what `facekit grade` on the copies costs end to end, the sum of the batch log's
    per-notebook wall seconds)."""
    submissions = root / "facekit"
    submissions.mkdir()
    for index in range(copies):
        shutil.copy(SOLUTION_NOTEBOOK, submissions / f"student{index:03d}.ipynb")
    out = root / "facekit-out"
    command = [sys.executable, "-m", "facekit", "grade", str(submissions), "--out", str(out)]
    cost = timed([*command, "--jobs", str(jobs), "--force"], root)
    with (out / "batch_log.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    if any(float(row["total"]) != float(row["max_total"]) for row in rows):
        raise SystemExit(f"facekit did not give every solved notebook full marks: {rows}")
    return cost, sum(float(row["seconds"]) for row in rows)


def nbgrader_cost(root: Path, copies: int) -> Cost:
    """What `nbgrader autograde` on the copies costs (in a course folder of their own; the
    `generate_assignment` it needs first is not counted)."""
    course = root / "nbgrader"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(SOLUTION_NOTEBOOK, course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for index in range(copies):
        folder = course / "submitted" / f"student{index:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(SOLUTION_NOTEBOOK, folder / f"{ASSIGNMENT}.ipynb")
    env = {**os.environ, "HOME": str(course)}  # no personal nbgrader_config.py
    nbgrader = [sys.executable, "-m", "nbgrader"]
    timed([*nbgrader, "generate_assignment", ASSIGNMENT, "--force"], course, env)
    return timed([*nbgrader, "autograde", ASSIGNMENT, "--force"], course, env)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--copies", type=int, default=16, help="notebooks in the batch")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count(),
        help="notebooks facekit grades at once (nbgrader autograde grades one at a time)",
    )
    args = parser.parse_args()
    print(describe_isolation(isolation_report()))
    print(f"facekit grades {'warm' if warm_by_default() else 'COLD (a protection is missing)'}")
    with tempfile.TemporaryDirectory(prefix="facekit-bench-grading-") as tmp:
        root = Path(tmp)
        print(f"before facekit: {load()}", flush=True)
        facekit, graded = facekit_cost(root, args.copies, args.jobs)
        print(f"before nbgrader: {load()}", flush=True)
        nbgrader = nbgrader_cost(root, args.copies)
        print(f"after both: {load()}")
    n = args.copies
    print(
        f"facekit grade (warm, --jobs {args.jobs}): {facekit.wall:.1f} s for {n} notebooks = "
        f"{facekit.wall / n:.2f} s per notebook end to end (each notebook's own grading "
        f"{graded / n:.2f} s, {args.jobs} at a time); CPU {facekit.cpu / n:.2f} s per notebook "
        "(target <= 0.5 per core)"
    )
    print(
        f"nbgrader autograde: {nbgrader.wall:.1f} s for {n} notebooks = {nbgrader.wall / n:.2f} "
        f"s per notebook; CPU {nbgrader.cpu / n:.2f} s per notebook"
    )
    print(
        f"ratio nbgrader / facekit: {nbgrader.wall / facekit.wall:.1f}x wall, "
        f"{nbgrader.cpu / facekit.cpu:.1f}x CPU (target >= 10)"
    )


if __name__ == "__main__":
    main()
