"""benchmarks/gpu_suite.sh: its --dry-run runs every step on the CPU, so the suite never rots."""

import os
import subprocess

import pytest

from facekit.base.paths import REPO_ROOT

SUITE = REPO_ROOT / "benchmarks" / "gpu_suite.sh"


def test_bad_argument_is_exit_2():
    """Is an unknown option refused (exit 2) with a message naming it?"""
    done = subprocess.run(["bash", str(SUITE), "--fast"], capture_output=True, text=True)
    assert done.returncode == 2 and "unknown argument '--fast'" in done.stderr


@pytest.mark.slow
def test_dry_run_passes(shared_data, tmp_path):
    """Does `gpu_suite.sh --dry-run` run the four steps on the CPU and print the targets?"""
    done = subprocess.run(
        ["bash", str(SUITE), "--dry-run", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FACEKIT_LFW": str(shared_data / "lfw")},
    )
    assert done.returncode == 0, done.stdout[-5000:]
    for step in ("1/4 GPU tests", "2/4 training throughput", "3/4 fixed-budget", "4/4 facekit"):
        assert step in done.stdout
    targets = done.stdout.split("=== targets ===")[1]
    assert "TARGET reference resnet images/s >= 1.0x" in targets
    assert "TARGET reference convnext achieved TFLOP/s" in targets
    assert "TARGET open-set verification test AUC >= 0.95" in targets
    assert "every step passed" in done.stdout
    assert (tmp_path / "grade_model" / "report.json").is_file()
