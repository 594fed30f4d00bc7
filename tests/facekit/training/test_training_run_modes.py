"""Run modes on the tiny config: stop and resume, torchrun (DDP, gloo on CPU), torch.compile."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facekit.base.contract import CLASSIFICATION, SUBMISSION_FILES, VERIFICATION
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main as facekit

pytestmark = pytest.mark.slow


def short_config(tmp_path: Path, epochs: int, precision: str = "fp32") -> Path:
    """configs/tiny_cpu.toml with fewer epochs and the given autocast precision."""
    text = (REPO_ROOT / "configs" / "tiny_cpu.toml").read_text()
    assert "epochs = 4" in text and 'precision = "fp32"' in text
    text = text.replace("epochs = 4", f"epochs = {epochs}")
    path = tmp_path / "short.toml"
    path.write_text(text.replace('precision = "fp32"', f'precision = "{precision}"'))
    return path


def test_stop_then_resume_finishes(tiny_run, tmp_path: Path):
    """Stop after epoch 1, resume: the run ends at epoch 2 with both submissions written.

    Trains under bf16 autocast on CPU, the GPU's precision path.
    """
    config, run = short_config(tmp_path, 2, "bf16"), tmp_path / "run"
    common = ["train", "--config", str(config), "--data", str(tiny_run.comp), "--out", str(run)]
    assert facekit([*common, "--stop-after", "1"]) == 0
    assert (run / "checkpoints" / "epoch_001.pt").is_file()
    assert not (run / "submissions").exists()
    assert facekit([*common, "--resume"]) == 0
    lines = (run / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2"]
    assert (run / "submissions" / SUBMISSION_FILES[VERIFICATION]).is_file()


def test_torchrun_two_cpu_processes(tiny_run, tmp_path: Path):
    """torchrun --nproc_per_node=2 (gloo): both ranks train, rank 0 writes, weights agree.

    Uses identity-balanced batches and the batch-hard triplet loss, split across the ranks.
    """
    config, run = short_config(tmp_path, 1), tmp_path / "ddp_run"
    text = config.read_text().replace('kind = "center"', 'kind = "triplet"')
    config.write_text(text.replace("[data]\n", "[data]\nimages_per_identity = 4\n"))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "facekit",
        "train",
        "--config",
        str(config),
        "--data",
        str(tiny_run.comp),
        "--out",
        str(run),
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=environment, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["ranks_agree"] is True
    assert (run / "submissions" / SUBMISSION_FILES[CLASSIFICATION]).is_file()


def test_torch_compile_trains(tiny_run, tmp_path: Path):
    """run.compile = true: one epoch through TorchInductor on CPU, then the usual outputs."""
    config = short_config(tmp_path, 1)
    config.write_text(
        config.read_text().replace("channels_last = true", "channels_last = true\ncompile = true")
    )
    run = tmp_path / "compiled"
    assert (
        facekit(["train", "--config", str(config), "--data", str(tiny_run.comp), "--out", str(run)])
        == 0
    )
    assert json.loads((run / "summary.json").read_text())["parameters"] > 0
