"""Which head? Accuracy and AUC on real faces for each head, over seeds, with their spread.

Run: `python benchmarks/bench_margin_heads.py [--device cuda] [--quick] [--seeds 0 1 2]
[--heads softmax arcface ...]`. Builds a competition from the real LFW identities in
../shared/data/lfw with `facekit data build` (the recipe of configs/lfw.toml: classification on
identities with at least --min-images images, --ver-identities others held out, so verification
is open-set: half of them give the labelled val pairs, the other half the hidden test pairs), then
trains the same config once per head and seed, everything else equal: data, epochs, optimiser.

Heads: `softmax` (cross-entropy on the Network's classifier alone), `arcface`, `cosface`,
`sphereface` (that margin head on the embeddings, next to the cross-entropy), and `HEAD+center`,
`HEAD+triplet` (the head plus a center loss, or a batch-hard triplet loss on identity-balanced
P x K batches). Every run predicts identities with the Network's own classifier (`out`) and scores
pairs by the cosine of `feats`. Printed per run and seed: the final training accuracy, the dev
accuracy and val AUC the trainer measured, the hidden test set's accuracy and AUC (scored with the
leaderboard's scorer) and, as an outside check, LFW's standard pairs.txt 10-fold accuracy (when
the source has pairs.txt) on the pairs none of whose identities was trained on; then per head the
mean and standard deviation over seeds, and a verdict of the config's head against softmax.

--quick is sized for a CPU (2 to 4 minutes a run on 2 quiet threads; every head over 3 seeds is
about an hour): a small Network, 48x48 images, 60 training identities, 36 verification identities.
Its settings were chosen on the val pairs, never on the test pairs: ArcFace s = 16, m = 0.2 (few
classes need no larger scale), the margin ramped up from 0 over the first 5 epochs, and 40 epochs.
The budget matters most: after 12 epochs (train accuracy about 0.5) every margin setting tried lost
to softmax on val AUC, since a margin only makes an unfitted training set harder; after 40 (train
accuracy about 0.9) it wins.
"""

import copy
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from autograder.scoring import score_submission
from data_tools.build import load_manifest
from facekit.base.contract import (
    ARCFACE,
    CLASSIFICATION,
    CLS_TRAIN,
    COSFACE,
    SPHEREFACE,
    VERIFICATION,
)
from facekit.base.csv_files import read_rows
from facekit.base.paths import REPO_ROOT
from facekit.cli.main import main as facekit
from facekit.notebook.reference import load_reference
from facekit.sandbox_side.inference import cosine_scores, eval_image, normalize
from facekit.training.checkpoint import load_checkpoint
from facekit.training.config import TrainConfig, check_config, load_config
from facekit.training.trainer import resolve_device, train

from bench_common import add_src, bench_parser

QUICK_NETWORK = {
    "block": "basic",
    "depths": [1, 1, 1],
    "widths": [16, 32, 64],
    "embedding_dim": 64,
}
MARGIN_HEADS = (ARCFACE, COSFACE, SPHEREFACE)
# Options of a head that is not the config's own (the config's head keeps its options). Modest
# scales: these data sets have hundreds of classes, not the tens of thousands s = 64 is made for.
HEAD_OPTIONS = {
    ARCFACE: {"s": 32.0, "m": 0.4},
    COSFACE: {"s": 32.0, "m": 0.3},
    SPHEREFACE: {"m": 2},  # m = 4 without the original's annealing barely trains from scratch
}
QUICK_HEAD_OPTIONS = {
    ARCFACE: {"s": 16.0, "m": 0.2},
    COSFACE: {"s": 16.0, "m": 0.2},
    SPHEREFACE: {"m": 2},
}
AUX_OPTIONS = {
    "center": {"weight": 0.003, "center_lr": 0.5},
    "triplet": {"weight": 1.0, "margin": 0.2},
}
TRIPLET_IMAGES_PER_IDENTITY = 4
# The competition: configs/lfw.toml's recipe, and the CPU-sized one of --quick.
LFW_SIZES = {"min_images": 5, "max_images": 100, "ver_identities": 100}
QUICK_SIZES = {
    "min_images": 15,
    "max_images": 30,
    "ver_identities": 36,
}  # P x 4 batches: every anchor has positives


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


def read_counts(comp: Path) -> dict[str, int]:
    """The competition's counts (identities, images, pairs) from its public manifest."""
    return load_manifest(comp).counts


def configure(args) -> TrainConfig:
    """The base config with this benchmark's overrides."""
    config = load_config(args.config)
    config.run.device = args.device
    config.aux.kind, config.aux.stage = "none", "joint"  # compare heads alone
    if args.quick:
        config.model.arch, config.model.options = "resnet", dict(QUICK_NETWORK)
        config.data.image_size, config.data.batch_size, config.data.num_workers = 48, 32, 0
        config.data.eval_batch_size = 128
        if config.head.kind in QUICK_HEAD_OPTIONS:
            config.head.options = dict(QUICK_HEAD_OPTIONS[config.head.kind])
            config.head.margin_warmup_epochs = 5
        config.optim.name, config.optim.lr, config.optim.weight_decay = "adamw", 2e-3, 0.05
        config.optim.ema_decay, config.run.compile, config.run.threads = 0.0, False, 2
        # CPUs without bf16 units emulate it at a fraction of fp32 speed.
        config.run.precision = "fp32"
        config.run.epochs = 40
    if args.epochs:
        config.run.epochs = args.epochs
    return config


def default_heads(base: TrainConfig) -> list[str]:
    """Every head, and the config's margin head with each auxiliary loss."""
    margin = base.head.kind if base.head.kind in MARGIN_HEADS else ARCFACE
    return ["softmax", *MARGIN_HEADS, f"{margin}+center", f"{margin}+triplet"]


def head_config(base: TrainConfig, head: str, quick: bool) -> TrainConfig:
    """`base` trained with `head` (`softmax`, a margin head, or `HEAD+center` / `HEAD+triplet`)."""
    kind, _, aux = head.partition("+")
    if kind not in ("softmax", *MARGIN_HEADS) or aux not in ("", *AUX_OPTIONS):
        raise SystemExit(
            f"unknown head {head!r}: expected softmax, {', '.join(MARGIN_HEADS)}, "
            "or one of them followed by +center or +triplet"
        )
    config = copy.deepcopy(base)
    if kind != base.head.kind:
        options = QUICK_HEAD_OPTIONS if quick else HEAD_OPTIONS
        config.head.kind, config.head.options = kind, dict(options.get(kind, {}))
    if kind == "softmax":
        config.head.margin_warmup_epochs = 0
    if aux:
        config.aux.kind = aux
        for name, value in AUX_OPTIONS[aux].items():
            setattr(config.aux, name, value)
    if aux == "triplet":
        config.data.images_per_identity = TRIPLET_IMAGES_PER_IDENTITY
    check_config(config, f"the config of head {head!r}")  # before an hour of other heads' runs
    return config


def read_pairs_txt(path: Path) -> list[tuple[int, str, str, int]]:
    """LFW's pairs.txt as (fold, image a, image b, label 1 = same person); images are
    `<Name>/<Name>_NNNN.jpg`. The header gives folds and pairs per class per fold."""
    lines = path.read_text().split("\n")
    folds, per_class = map(int, lines[0].split())
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    if len(rows) != folds * 2 * per_class:
        raise ValueError(f"{path}: expected {folds * 2 * per_class} pairs, found {len(rows)}")

    def image(name: str, number: str) -> str:
        return f"{name}/{name}_{int(number):04d}.jpg"

    pairs = []
    for index, row in enumerate(rows):
        fold = index // (2 * per_class)
        if len(row) == 3:
            pairs.append((fold, image(row[0], row[1]), image(row[0], row[2]), 1))
        elif len(row) == 4:
            pairs.append((fold, image(row[0], row[1]), image(row[2], row[3]), 0))
        else:
            raise ValueError(f"{path}: line {index + 2} is not a pair: {row!r}")
    return pairs


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The score threshold (same person when score > threshold) of highest accuracy."""
    ordered = np.unique(scores)
    candidates = np.concatenate([[ordered[0] - 1.0], (ordered[:-1] + ordered[1:]) / 2])
    accuracy = [np.mean((scores > t) == labels) for t in candidates]
    return float(candidates[int(np.argmax(accuracy))])


def ten_fold_accuracy(scores, labels, folds) -> tuple[float, float]:
    """LFW's protocol: for each fold, the threshold chosen on the other folds, accuracy on this
    one; (mean, standard deviation) over the folds that hold pairs."""
    scores, labels, folds = map(np.asarray, (scores, labels, folds))
    accuracies = []
    for fold in np.unique(folds):
        held_out = folds == fold
        if held_out.all():
            continue
        threshold = best_threshold(scores[~held_out], labels[~held_out])
        accuracies.append(float(np.mean((scores[held_out] > threshold) == labels[held_out])))
    return statistics.fmean(accuracies), statistics.pstdev(accuracies)


def open_set_pairs(pairs, trained: set[str]):
    """The pairs none of whose two identities is among `trained` (no leak from training)."""
    return [pair for pair in pairs if not {pair[1].split("/")[0], pair[2].split("/")[0]} & trained]


class LfwPairsCheck:
    """LFW's pairs.txt 10-fold accuracy of a run, on the pairs whose identities it never trained
    on. The pairs' images are decoded once and shared by every run."""

    def __init__(self, src: Path, comp: Path, image_size: int):
        trained = {path.name for path in (comp / CLS_TRAIN).iterdir()}
        every_pair = read_pairs_txt(src / "pairs.txt")
        self.total = len(every_pair)
        self.pairs = open_set_pairs(every_pair, trained)
        names = sorted({pair[1] for pair in self.pairs} | {pair[2] for pair in self.pairs})
        row = {name: index for index, name in enumerate(names)}
        self.index_a = torch.tensor([row[pair[1]] for pair in self.pairs])
        self.index_b = torch.tensor([row[pair[2]] for pair in self.pairs])
        self.images = torch.stack([eval_image(src / name, image_size) for name in names])

    @torch.no_grad()
    def accuracy(self, checkpoint: Path, device: str, batch_size: int) -> float:
        """Mean 10-fold accuracy of the checkpoint's evaluation weights."""
        payload, meta = load_checkpoint(checkpoint)
        network = load_reference().Network(len(meta.class_names), **meta.network_kwargs)
        network.load_state_dict(payload[meta.eval_weights])
        device = resolve_device(device)
        network = network.to(device).eval()
        feats = torch.cat(
            [
                network(normalize(batch.to(device)))["feats"].float().cpu()
                for batch in self.images.split(batch_size)
            ]
        )
        scores = cosine_scores(feats[self.index_a], feats[self.index_b]).numpy()
        labels, folds = [p[3] for p in self.pairs], [p[0] for p in self.pairs]
        return ten_fold_accuracy(scores, labels, folds)[0]


@dataclass(frozen=True)
class Row:
    """One finished run's figures."""

    label: str
    seed: int
    train_accuracy: float
    dev_accuracy: float
    val_auc: float
    test_accuracy: float
    test_auc: float
    lfw_accuracy: float  # NaN without pairs.txt
    seconds: float


FIGURES = ("train_accuracy", "dev_accuracy", "val_auc", "test_accuracy", "test_auc", "lfw_accuracy")


def run(label: str, config: TrainConfig, seed: int, comp: Path, keys: Path, root: Path, lfw):
    """Train `config` with `seed` and score its submissions against the hidden keys (and on
    LFW's pairs when `lfw` is an LfwPairsCheck)."""
    config = copy.deepcopy(config)
    config.run.seed = seed
    start = time.perf_counter()
    result = train(config, comp, root / f"{label.replace('+', '_plus_')}_seed{seed}")
    seconds = time.perf_counter() - start
    last_epoch = read_rows(result.run_dir / "metrics.csv")[-1]
    batch = config.data.eval_batch_size
    lfw_accuracy = lfw.accuracy(result.checkpoint, config.run.device, batch) if lfw else np.nan
    return Row(
        label,
        seed,
        float(last_epoch["train_accuracy"]),
        result.dev_accuracy,
        result.val_auc,
        score_submission(CLASSIFICATION, result.classification_csv, keys).overall,
        score_submission(VERIFICATION, result.verification_csv, keys).overall,
        lfw_accuracy,
        seconds,
    )


def print_table(rows: list[Row]) -> None:
    """Per-seed rows."""
    print(
        f"{'head':18s} {'seed':>5s} {'train acc':>9s} {'dev acc':>8s} {'val AUC':>8s} "
        f"{'test acc':>9s} {'test AUC':>9s} {'LFW 10-fold':>11s} {'seconds':>8s}"
    )
    for row in rows:
        print(
            f"{row.label:18s} {row.seed:5d} {row.train_accuracy:9.4f} {row.dev_accuracy:8.4f} "
            f"{row.val_auc:8.4f} {row.test_accuracy:9.4f} {row.test_auc:9.4f} "
            f"{row.lfw_accuracy:11.4f} {row.seconds:8.1f}"
        )


def spread(values: list[float]) -> str:
    """`mean ± standard deviation` over seeds (the deviation needs two seeds)."""
    mean = statistics.fmean(values)
    deviation = f"{statistics.stdev(values):.4f}" if len(values) > 1 else "  n/a "
    return f"{mean:.4f} ± {deviation}"


def print_summary(rows: list[Row]) -> None:
    """Per head: mean ± standard deviation over seeds of every figure."""
    seeds = len({row.seed for row in rows})
    print(f"\nmean ± standard deviation over {seeds} seed(s):")
    print(f"{'head':18s} " + " ".join(f"{name.replace('_', ' '):>17s}" for name in FIGURES[1:]))
    for label in dict.fromkeys(row.label for row in rows):
        mine = [row for row in rows if row.label == label]
        cells = (spread([getattr(row, name) for row in mine]) for name in FIGURES[1:])
        print(f"{label:18s} " + " ".join(f"{cell:>17s}" for cell in cells))


def verdict(margin: list[Row], softmax: list[Row]) -> str:
    """What the test figures say, in words; never claims more than they show."""
    pairs = list(zip(margin, softmax, strict=True))  # same seed, same data
    gains = [m.test_auc - p.test_auc for m, p in pairs]
    auc = statistics.fmean(gains)
    accuracy = statistics.fmean(m.test_accuracy - p.test_accuracy for m, p in pairs)
    figures = (
        f"{margin[0].label} minus softmax (mean over seeds): test AUC {auc:+.4f} "
        f"(per seed: {', '.join(f'{gain:+.4f}' for gain in gains)}), "
        f"test accuracy {accuracy:+.4f}"
    )
    if auc > 0:
        consistent = f"in all {len(gains)} seeds" if min(gains) > 0 else "on average only"
        return (
            f"{figures}\nVERDICT: the margin head improves open-set verification AUC "
            f"{consistent}. Test accuracy comes from the Network's own classifier (`out`), "
            "which only cross-entropy trains, so it need not move with the AUC."
        )
    return (
        f"{figures}\nVERDICT: the margin head does NOT improve verification AUC at this budget. "
        "A margin makes the training task harder; it pays off once the network fits its "
        "training identities (see train acc) and has capacity left to tighten them, which a "
        "small network on a few epochs of ~1000 images may not reach."
    )


def main() -> None:
    parser = bench_parser(__doc__)
    add_src(parser, "identity-folder images (with LFW's pairs.txt for the 10-fold check)")
    parser.add_argument(
        "--config",
        type=Path,
        default=REPO_ROOT / "configs" / "lfw.toml",
        help="base training config (its head is the one compared with softmax)",
    )
    parser.add_argument(
        "--heads",
        nargs="+",
        default=None,
        help="heads to train: softmax, arcface, cosface, sphereface, HEAD+center, HEAD+triplet "
        "(default: all four and the config's head with each auxiliary loss)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=0, help="epoch budget (0: the config's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of runs")
    parser.add_argument(
        "--min-images", type=int, help="identities with >= this many (default 5; --quick 15)"
    )
    parser.add_argument(
        "--max-images", type=int, help="images kept per identity (default 100; --quick 30)"
    )
    parser.add_argument(
        "--ver-identities", type=int, help="held out for verification (default 100; --quick 36)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep runs here (default: temp)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized: identities with 15 to 30 images, small Network, 48x48, fp32, 40 epochs",
    )
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else LFW_SIZES
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    with tempfile.TemporaryDirectory(prefix="bench-margin-") as temporary:
        root = args.workdir or Path(temporary)
        comp, keys = build_competition(
            args.src, root, args.min_images, args.max_images, args.ver_identities
        )
        base = configure(args)
        heads = args.heads or default_heads(base)
        configs = {head: head_config(base, head, args.quick) for head in heads}
        has_pairs = (args.src / "pairs.txt").is_file()
        lfw = LfwPairsCheck(args.src, comp, base.data.image_size) if has_pairs else None
        rows = [
            run(head, config, seed, comp, keys, root, lfw)
            for head, config in configs.items()
            for seed in args.seeds
        ]
        counts = read_counts(comp)
        print(
            f"\n{comp}: budget {base.run.epochs} epochs of {counts['train_images']} training "
            f"images ({counts['cls_identities']} identities) at {base.data.image_size}x"
            f"{base.data.image_size}, batch {base.data.batch_size}, device "
            f"{base.run.device}, seeds {args.seeds}"
        )
        print(
            f"verification on {counts['ver_identities']} identities unseen in training: "
            f"{counts['val_pairs']} val pairs ({counts['ver_val_identities']} identities, used to "
            f"choose settings), {counts['test_pairs']} test pairs ({counts['ver_test_identities']} "
            "other identities, reported only)"
        )
        for head, config in configs.items():
            print(
                f"{head}: head {config.head.kind} {config.head.options}, margin warm-up "
                f"{config.head.margin_warmup_epochs} epochs, aux {config.aux.kind}"
            )
        if lfw:
            print(
                f"LFW 10-fold: accuracy on the {len(lfw.pairs)} of pairs.txt's {lfw.total} pairs "
                "whose identities were never trained on (threshold chosen on the other 9 folds)"
            )
        print_table(rows)
        print_summary(rows)
        if base.head.kind in heads and "softmax" in heads:
            print(
                verdict(
                    [row for row in rows if row.label == base.head.kind],
                    [row for row in rows if row.label == "softmax"],
                )
            )
        if base.head.kind in heads:
            auc = statistics.fmean(row.test_auc for row in rows if row.label == base.head.kind)
            print(
                f"TARGET open-set verification test AUC >= 0.95 on a GPU with {args.config.name}: "
                f"{base.head.kind} {auc:.4f} ({'met' if auc >= 0.95 else 'NOT met'})"
            )


if __name__ == "__main__":
    main()
