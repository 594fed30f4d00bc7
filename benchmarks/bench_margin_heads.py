"""Does the margin head help? Accuracy and AUC on real faces after a fixed budget of epochs.

Run: `python benchmarks/bench_margin_heads.py [--device cuda] [--quick]`. Builds a competition
from the real LFW identities in ../shared/data/lfw (those with at least --min-images images;
--ver-identities of them held out for open-set verification), then trains the same config twice
for the same number of epochs: with its margin head (ArcFace in configs/resnet.toml) and with
plain softmax (head.kind = "softmax"), everything else equal. Prints, per run, the dev accuracy
and val AUC the trainer measured and the hidden test set's accuracy and AUC (scored with the
leaderboard's scorer). --quick shrinks the Network, the images (48x48) and the epochs for CPU.
"""

import argparse
import copy
import tempfile
import time
from pathlib import Path

from autograder.scoring import score_submission
from facekit.cli import main as facekit
from facekit.paths import REPO_ROOT
from facekit.training.config import TrainConfig, load_config
from facekit.training.trainer import train

QUICK_NETWORK = {
    "block": "basic",
    "depths": [1, 1, 1],
    "widths": [16, 32, 64],
    "embedding_dim": 64,
}


def build_competition(src: Path, root: Path, min_images: int, max_images: int, ver: int):
    """(comp, keys) built from identity folders with the kit's own builder."""
    comp, keys = root / "comp", root / "keys"
    code = facekit(
        [
            "data",
            "build",
            "--src",
            str(src),
            "--out",
            str(comp),
            "--keys",
            str(keys),
            "--seed",
            "11",
            "--min-images",
            str(min_images),
            "--max-images",
            str(max_images),
            "--ver-identities",
            str(ver),
            "--dev-fraction",
            "0.15",
            "--test-fraction",
            "0.15",
        ]
    )
    if code != 0:
        raise SystemExit(f"building the competition from {src} failed")
    return comp, keys


def configure(args) -> TrainConfig:
    """The base config with this benchmark's overrides."""
    config = load_config(args.config)
    config.run.device = args.device
    if args.epochs:
        config.run.epochs = args.epochs
    config.aux.kind, config.aux.stage = "none", "joint"  # compare heads alone
    if args.quick:
        config.model.arch, config.model.options = "resnet", dict(QUICK_NETWORK)
        config.data.image_size, config.data.batch_size, config.data.num_workers = 48, 32, 0
        config.head.options = {"s": 16.0, "m": 0.2} if config.head.kind == "arcface" else {}
        config.optim.name, config.optim.lr, config.optim.weight_decay = "adamw", 2e-3, 0.05
        config.optim.ema_decay, config.run.compile, config.run.threads = 0.0, False, 2
        # CPUs without bf16 units emulate it at a fraction of fp32 speed.
        config.run.precision = "fp32"
        config.run.epochs = args.epochs or 6
    return config


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "data" / "lfw",
        help="identity-folder images",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=REPO_ROOT / "configs" / "resnet.toml",
        help="base training config (its head is the margin head compared)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=0, help="epoch budget (0: the config's)")
    parser.add_argument("--min-images", type=int, default=10, help="identities with >= this many")
    parser.add_argument("--max-images", type=int, default=60, help="images kept per identity")
    parser.add_argument("--ver-identities", type=int, default=30, help="held out for verification")
    parser.add_argument("--workdir", type=Path, default=None, help="keep runs here (default: temp)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized: identities with >= 20 images, small Network, 48x48, fp32",
    )
    args = parser.parse_args()
    if args.quick:
        args.min_images, args.max_images, args.ver_identities = 20, 30, 12

    with tempfile.TemporaryDirectory(prefix="bench-margin-") as temporary:
        root = args.workdir or Path(temporary)
        comp, keys = build_competition(
            args.src, root, args.min_images, args.max_images, args.ver_identities
        )
        base = configure(args)
        plain = copy.deepcopy(base)
        plain.head.kind, plain.head.options = "softmax", {}
        rows = []
        for label, config in ((f"{base.head.kind} head", base), ("plain softmax", plain)):
            start = time.perf_counter()
            result = train(config, comp, root / label.replace(" ", "_"))
            seconds = time.perf_counter() - start
            test_accuracy = score_submission(
                "classification", result.classification_csv, keys
            ).overall
            test_auc = score_submission("verification", result.verification_csv, keys).overall
            rows.append(
                (label, result.dev_accuracy, result.val_auc, test_accuracy, test_auc, seconds)
            )
        print(
            f"\n{comp}: {base.run.epochs} epochs at {base.data.image_size}x"
            f"{base.data.image_size}, device {base.run.device}"
        )
        print(
            f"{'run':18s} {'dev acc':>8s} {'val AUC':>8s} {'test acc':>9s} {'test AUC':>9s} "
            f"{'seconds':>8s}"
        )
        for label, dev, val, test_acc, test_auc, seconds in rows:
            print(
                f"{label:18s} {dev:8.4f} {val:8.4f} {test_acc:9.4f} {test_auc:9.4f} {seconds:8.1f}"
            )
        margin, softmax = rows
        print(
            f"margin head minus softmax: test accuracy {margin[3] - softmax[3]:+.4f}, "
            f"test AUC {margin[4] - softmax[4]:+.4f}"
        )


if __name__ == "__main__":
    main()
