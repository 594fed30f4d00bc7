"""Is the synthetic dataset a real learning problem? Linear probe vs a small CNN, on CPU.

Generates identities with `data_tools.synth`, then on the classification identities compares
a linear classifier (ridge) on raw pixels with a small CNN trained for a fixed number of steps,
and measures open-set verification (ROC AUC of CNN embedding cosine similarity) on identities the
CNN never saw. Prints a table.

    python benchmarks/bench_synthetic.py                  # about 6 CPU minutes on 2 threads
    python benchmarks/bench_synthetic.py --steps 100 --identities 20   # a quick look
"""

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.linear_model import RidgeClassifierCV
from sklearn.metrics import roc_auc_score
from torch import nn

from data_tools.synth import generate_identities, identity_name

from bench_common import bench_parser


def load(root: Path, identities: range, images: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W, 3) uint8 and labels (N,) of the given identities."""
    pictures, labels = [], []
    for label, identity in enumerate(identities):
        folder = root / identity_name(identity)
        for image in range(images):
            path = folder / f"{identity_name(identity)}_{image:04d}.jpg"
            pictures.append(np.asarray(Image.open(path).convert("RGB")))
            labels.append(label)
    return np.stack(pictures), np.array(labels)


class SmallCNN(nn.Module):
    """Strided stem, three conv stages, pooling: (N, 3, H, W) -> feats (N, 128), logits (N, C)."""

    def __init__(self, num_classes: int, width: int = 24, embedding: int = 128):
        super().__init__()
        # A strided stem keeps it cheap enough to train for a few CPU minutes.
        layers = [nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width)]
        layers.append(nn.ReLU(inplace=True))
        in_channels = width
        for out_channels in (width, width * 2, width * 4):
            layers += [
                nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_channels = out_channels
        self.backbone = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(in_channels, embedding), nn.BatchNorm1d(embedding))
        self.classifier = nn.Linear(embedding, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.embed(self.backbone(x))
        return feats, self.classifier(feats)


def to_tensor(pictures: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) scaled to about [-1, 1]."""
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def augment(batch: torch.Tensor) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 1/16 of the size (reflect-padded)."""
    flip = torch.rand(batch.shape[0]) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
    pad = batch.shape[-1] // 16
    padded = F.pad(batch, (pad, pad, pad, pad), mode="reflect")
    dx, dy = np.random.randint(0, 2 * pad + 1, 2)
    return padded[..., dy : dy + batch.shape[-2], dx : dx + batch.shape[-1]]


def linear_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float:
    """Test accuracy of a linear classifier (ridge, one-vs-rest) on standardised raw pixels.

    The regularisation strength is chosen by leave-one-out on the training images; with fewer
    images than pixels this costs one Gram matrix, so it is quick on a CPU.
    """
    train = train_x.reshape(len(train_x), -1).astype(np.float32)
    test = test_x.reshape(len(test_x), -1).astype(np.float32)
    mean, std = train.mean(0), train.std(0) + 1e-3
    probe = RidgeClassifierCV(alphas=np.logspace(-1, 5, 7)).fit((train - mean) / std, train_y)
    return float(probe.score((test - mean) / std, test_y))


def train_cnn(x: torch.Tensor, y: torch.Tensor, classes: int, steps: int) -> SmallCNN:
    """Train for `steps` batches of 64 (label-smoothed cross entropy, AdamW, cosine LR).

    A step count rather than a time budget keeps the figures independent of machine load.
    """
    model = SmallCNN(classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    wall, cpu = time.monotonic(), time.process_time()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 3e-3 * 0.5 * (1 + np.cos(np.pi * step / steps))
        batch = torch.randint(0, len(x), (64,))
        _, logits = model(augment(x[batch]))
        loss = F.cross_entropy(logits, y[batch], label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(
        f"  CNN: {steps} steps of 64 in {time.process_time() - cpu:.0f} s CPU "
        f"({time.monotonic() - wall:.0f} s wall), last loss {loss.item():.3f}"
    )
    return model.eval()


@torch.no_grad()
def embed(model: SmallCNN, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-normalised embeddings (N, 128) and logits (N, C), in batches."""
    outputs = [model(chunk) for chunk in x.split(256)]
    feats = torch.cat([f for f, _ in outputs])
    return F.normalize(feats, dim=1), torch.cat([o for _, o in outputs])


def verification_auc(feats: torch.Tensor, labels: np.ndarray) -> float:
    """ROC AUC of cosine similarity over every pair of the given images."""
    similarity = (feats @ feats.T).numpy()
    a, b = np.triu_indices(len(labels), k=1)
    return float(roc_auc_score(labels[a] == labels[b], similarity[a, b]))


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--identities", type=int, default=50, help="classification identities")
    parser.add_argument("--unseen", type=int, default=20, help="held-out verification identities")
    parser.add_argument("--images", type=int, default=40, help="images per identity")
    parser.add_argument("--test-images", type=int, default=10, help="of which held out for test")
    parser.add_argument("--size", type=int, default=64, help="image size in pixels")
    parser.add_argument("--steps", type=int, default=600, help="CNN training steps of 64")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0, help="generator and training seed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        total = args.identities + args.unseen
        generate_identities(Path(tmp) / "synth", total, args.images, args.size, args.seed)
        print(
            f"generated {total} identities x {args.images} images at {args.size}px "
            f"in {time.monotonic() - start:.1f} s"
        )
        pictures, labels = load(Path(tmp) / "synth", range(args.identities), args.images)
        unseen, unseen_labels = load(
            Path(tmp) / "synth", range(args.identities, total), args.images
        )

    is_test = np.tile(np.arange(args.images) >= args.images - args.test_images, args.identities)
    train_x, test_x = pictures[~is_test], pictures[is_test]
    train_y, test_y = labels[~is_test], labels[is_test]

    start = time.monotonic()
    linear_acc = linear_probe(train_x, train_y, test_x, test_y)
    print(f"  linear probe trained in {time.monotonic() - start:.0f} s")

    model = train_cnn(to_tensor(train_x), torch.from_numpy(train_y), args.identities, args.steps)
    _, logits = embed(model, to_tensor(test_x))
    cnn_acc = float((logits.argmax(1).numpy() == test_y).mean())
    seen_feats, _ = embed(model, to_tensor(test_x))
    unseen_feats, _ = embed(model, to_tensor(unseen))
    chance = 1 / args.identities

    print()
    print(f"| synthetic, {args.identities} ids x {args.images} imgs, {args.size}px | value |")
    print("|---|---|")
    print(f"| chance accuracy | {chance:.3f} |")
    print(f"| linear probe accuracy (ridge on raw pixels) | {linear_acc:.3f} |")
    print(f"| small CNN accuracy ({args.steps} steps) | {cnn_acc:.3f} |")
    print(
        f"| CNN verification AUC, seen ids (test images) | "
        f"{verification_auc(seen_feats, test_y):.3f} |"
    )
    print(
        f"| CNN verification AUC, {args.unseen} unseen ids | "
        f"{verification_auc(unseen_feats, unseen_labels):.3f} |"
    )


if __name__ == "__main__":
    main()
