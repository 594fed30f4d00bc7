"""Batch-grading speed: seconds per notebook for N copies of the source notebook.

Target: <= 2 s per notebook with `--jobs 2` on 2 cores. Also prints what one sandboxed run costs
by itself (interpreter start-up, and `import torch` inside the sandbox), which bounds the figure
from below: each notebook is graded in one sandboxed worker process that serves all its cases.

    python benchmarks/bench_grading.py [--copies 6] [--jobs 2]
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.sandbox import Limits, describe_isolation, isolation_report, run_sandboxed
from facekit.base.paths import SOLUTION_NOTEBOOK


def sandbox_seconds(code: str, workdir: Path) -> float:
    """Wall seconds of one sandboxed run of `code`."""
    script = workdir / "probe.py"
    script.write_text(code)
    result = run_sandboxed(script, workdir, Limits())
    if not result.ok:
        raise RuntimeError(f"sandbox probe failed: {result.failure_reason()}")
    return result.wall_seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=6, help="notebooks in the batch")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at once")
    args = parser.parse_args()
    print(describe_isolation(isolation_report()))
    with tempfile.TemporaryDirectory(prefix="facekit-bench-grading-") as tmp:
        root = Path(tmp)
        (root / "probe").mkdir()
        empty = sandbox_seconds("pass", root / "probe")
        with_torch = sandbox_seconds("import torch, safetensors.torch", root / "probe")
        print(f"one sandboxed run: {empty:.2f} s empty, {with_torch:.2f} s with `import torch`")
        submissions = root / "submissions"
        submissions.mkdir()
        for index in range(args.copies):
            shutil.copy(SOLUTION_NOTEBOOK, submissions / f"student{index:03d}.ipynb")
        command = [sys.executable, "-m", "facekit", "grade", str(submissions)]
        command += ["--out", str(root / "out"), "--jobs", str(args.jobs), "--force"]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        log = (root / "out" / "batch_log.csv").read_text()
    print(
        f"graded {args.copies} notebooks with --jobs {args.jobs} in {elapsed:.1f} s: "
        f"{elapsed / args.copies:.2f} s per notebook (end to end, incl. start-up; target <= 2)"
    )
    print(log)


if __name__ == "__main__":
    main()
