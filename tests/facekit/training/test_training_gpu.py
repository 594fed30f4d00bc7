"""Training on a GPU: AMP (bf16, fp16), channels_last, torch.compile and a 1-GPU torchrun launch.

Marked `gpu`: run with `pytest -m gpu` (benchmarks/gpu_suite.sh does); without CUDA every test
skips, saying so.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from facekit.base.contract import SUBMISSION_FILES, VERIFICATION
from facekit.base.csv_files import read_rows
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main as facekit
from facekit.notebook.reference import load_reference

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; none here"),
]


def gpu_config(tmp_path: Path, precision: str, compile_model: bool = False) -> Path:
    """configs/tiny_cpu.toml for one epoch on CUDA with `precision` autocast."""
    text = (REPO_ROOT / "configs" / "tiny_cpu.toml").read_text()
    replacements = {
        "epochs = 4": "epochs = 1",
        'device = "cpu"': 'device = "cuda"',
        'precision = "fp32"': f'precision = "{precision}"',
        "channels_last = true": f"channels_last = true\ncompile = {str(compile_model).lower()}",
    }
    for old, new in replacements.items():
        assert old in text, f"tiny_cpu.toml no longer holds {old!r}"
        text = text.replace(old, new)
    path = tmp_path / f"gpu_{precision}.toml"
    path.write_text(text)
    return path


def train_on_gpu(config: Path, comp: Path, run: Path) -> dict:
    """`facekit train` and the run's summary.json."""
    assert facekit(["train", "--config", str(config), "--data", str(comp), "--out", str(run)]) == 0
    return json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_amp_trains(tiny_competition, tmp_path, precision):
    """Does a bf16 or fp16 (gradient-scaled) autocast epoch on CUDA train to finite figures?"""
    comp, _ = tiny_competition
    summary = train_on_gpu(gpu_config(tmp_path, precision), comp, tmp_path / "run")
    assert 0.0 <= summary["dev_accuracy"] <= 1.0 and 0.0 <= summary["val_auc"] <= 1.0
    loss = float(read_rows(tmp_path / "run" / "metrics.csv")[-1]["train_loss"])
    assert math.isfinite(loss), f"training loss {loss}"


def test_compile_trains(tiny_competition, tmp_path):
    """Does a torch.compile'd bf16 epoch on CUDA finish with both submissions?"""
    comp, _ = tiny_competition
    train_on_gpu(gpu_config(tmp_path, "bf16", compile_model=True), comp, tmp_path / "run")
    assert (tmp_path / "run" / "submissions" / SUBMISSION_FILES[VERIFICATION]).is_file()


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        ("resnet", {"block": "basic", "depths": [1, 1], "widths": [16, 32], "embedding_dim": 32}),
        ("convnext", {"depths": [1, 1], "widths": [16, 32], "embedding_dim": 32}),
    ],
)
def test_channels_last_matches_contiguous(arch, options):
    """Do the reference Networks give the same outputs and gradients in NHWC as in NCHW on
    CUDA (float32, TF32 off)?"""
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    reference = load_reference()
    torch.manual_seed(0)
    network = reference.Network(10, arch=arch, **options).cuda()
    images = torch.randn(4, 3, 32, 32, device="cuda")
    results = []
    for memory_format in (torch.contiguous_format, torch.channels_last):
        network = network.to(memory_format=memory_format)
        network.zero_grad()
        output = network(images.contiguous(memory_format=memory_format))
        output["out"].sum().backward()
        gradient = next(network.parameters()).grad.clone()
        results.append((output["feats"].detach(), gradient))
    (feats_a, grad_a), (feats_b, grad_b) = results
    assert torch.allclose(feats_a, feats_b, atol=1e-4), (
        f"max abs err {(feats_a - feats_b).abs().max()}"
    )
    assert torch.allclose(grad_a, grad_b, atol=1e-3), f"max abs err {(grad_a - grad_b).abs().max()}"


def test_torchrun_one_gpu(tiny_competition, tmp_path):
    """Does `torchrun --nproc_per_node=1` train on cuda:LOCAL_RANK and write the run?"""
    comp, _ = tiny_competition
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
        "-m", "facekit", "train", "--config", str(gpu_config(tmp_path, "bf16")),
        "--data", str(comp), "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=dict(os.environ), cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world_size"] == 1 and summary["ranks_agree"] is True
