"""bench_margin_heads.py: heads as configs, LFW's pairs.txt protocol, and the --quick run."""

import re
import subprocess
import sys

import numpy as np
import pytest

from facekit.base.contract import ARCFACE, COSFACE, SPHEREFACE
from facekit.base.paths import REPO_ROOT
from facekit.training.config import check_config, load_config

LFW_CONFIG = REPO_ROOT / "configs" / "lfw.toml"


@pytest.mark.parametrize(
    ("head", "kind", "aux", "images_per_identity"),
    [
        ("softmax", "softmax", "none", 0),
        (ARCFACE, ARCFACE, "none", 0),
        (COSFACE, COSFACE, "none", 0),
        (SPHEREFACE, SPHEREFACE, "none", 0),
        ("arcface+center", ARCFACE, "center", 0),
        ("arcface+triplet", ARCFACE, "triplet", 4),
    ],
)
@pytest.mark.parametrize("quick", [False, True])
def test_heads_change_only_the_head(
    bench_margin_heads, head, kind, aux, images_per_identity, quick
):
    """Does each head train configs/lfw.toml with that head (and auxiliary loss) and nothing
    else changed, in a config the trainer accepts?"""
    base = load_config(LFW_CONFIG)
    config = bench_margin_heads.head_config(base, head, quick=quick)
    check_config(config, head)
    assert (config.head.kind, config.aux.kind) == (kind, aux)
    assert config.data.images_per_identity == images_per_identity
    assert (config.model, config.optim, config.run) == (base.model, base.optim, base.run)
    if kind == base.head.kind:
        assert config.head.options == base.head.options  # the config's own head keeps its own
    if kind == "softmax":  # no margin to warm up
        assert config.head.margin_warmup_epochs == 0
    else:
        assert config.head.margin_warmup_epochs == base.head.margin_warmup_epochs


def test_default_heads_cover_the_table(bench_margin_heads):
    """Are softmax, the three margin heads, + center and + triplet all compared by default?"""
    heads = bench_margin_heads.default_heads(load_config(LFW_CONFIG))
    expected = ["softmax", ARCFACE, COSFACE, SPHEREFACE, "arcface+center", "arcface+triplet"]
    assert heads == expected


@pytest.mark.parametrize("head", ["arcfase", "softmax+dropout", "center"])
def test_unknown_head_is_refused(bench_margin_heads, head):
    """Is a misspelt head an error naming it, never a silent softmax run?"""
    with pytest.raises(SystemExit, match=re.escape(f"unknown head '{head}'")):
        bench_margin_heads.head_config(load_config(LFW_CONFIG), head, quick=False)


def test_pairs_txt_is_read_as_ten_folds(bench_margin_heads, shared_data):
    """Is LFW's pairs.txt read as 10 folds of 300 same and 300 different pairs of real files?"""
    path = shared_data / "lfw" / "pairs.txt"
    pairs = bench_margin_heads.read_pairs_txt(path)
    assert len(pairs) == 6000
    for fold in range(10):
        labels = [label for f, _, _, label in pairs if f == fold]
        assert (len(labels), sum(labels)) == (600, 300)
    fold, image_a, image_b, label = pairs[0]
    assert (fold, label) == (0, 1) and image_a.split("/")[0] == image_b.split("/")[0]
    assert all((path.parent / image).is_file() for _, a, b, _ in pairs[:50] for image in (a, b))


def test_open_set_pairs_drop_trained_identities(bench_margin_heads):
    """Is a pair dropped when either of its identities was trained on?"""
    pairs = [
        (0, "A/A_0001.jpg", "A/A_0002.jpg", 1),
        (0, "A/A_0001.jpg", "B/B_0001.jpg", 0),
        (1, "C/C_0001.jpg", "D/D_0003.jpg", 0),
    ]
    assert bench_margin_heads.open_set_pairs(pairs, {"B"}) == [pairs[0], pairs[2]]


def test_ten_fold_accuracy_chooses_thresholds_on_other_folds(bench_margin_heads):
    """Does each fold use a threshold from the other folds: separable scores give 1.0, and a
    fold whose scores are shifted from the others' is judged by the others' threshold?"""
    labels = np.tile([1, 0], 50)
    folds = np.repeat(np.arange(10), 10)
    scores = np.where(labels == 1, 0.8, 0.2)
    assert bench_margin_heads.ten_fold_accuracy(scores, labels, folds) == (1.0, 0.0)
    shifted = scores + np.where(folds == 0, 0.7, 0.0)  # fold 0: every score above 0.5
    mean, spread = bench_margin_heads.ten_fold_accuracy(shifted, labels, folds)
    assert mean == pytest.approx((9 * 1.0 + 0.5) / 10) and spread > 0


@pytest.mark.slow
@pytest.mark.timeout(1800)  # four short trainings and ~7,000 LFW images decoded for pairs.txt
def test_quick_run_prints_the_table(shared_data, tmp_path):
    """Does --quick build the LFW competition, train two heads over two seeds (1 epoch, fewer
    images) and print per-seed rows, the spread table, the 10-fold check and the verdict?"""
    command = [
        sys.executable, str(REPO_ROOT / "benchmarks" / "bench_margin_heads.py"), "--quick",
        "--src", str(shared_data / "lfw"), "--workdir", str(tmp_path), "--epochs", "1",
        "--seeds", "0", "1", "--heads", "softmax", ARCFACE,
        "--min-images", "20", "--max-images", "20", "--ver-identities", "8", "--device", "cpu",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    rows = [line.split() for line in lines if line.split()[:1] in (["softmax"], [ARCFACE])]
    assert len([row for row in rows if row[1] in ("0", "1")]) == 4  # 2 heads x 2 seeds
    assert "mean ± standard deviation over 2 seed(s):" in done.stdout
    assert "LFW 10-fold: accuracy on the" in done.stdout
    assert "VERDICT" in done.stdout and "TARGET open-set verification test AUC" in done.stdout
    assert (tmp_path / "arcface_seed0" / "checkpoints" / "last.pt").is_file()
