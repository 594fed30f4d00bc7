"""Describe a competition: counts per split, images per identity, pair balance, image sizes."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from data_tools.errors import DataToolsError
from facekit.base import contract
from facekit.base.csv_files import read_rows
from facekit.base.files import is_image_name, replacing


@dataclass(frozen=True)
class CompetitionStats:
    """What `facekit data stats` prints and plots."""

    split_images: dict[str, int]  # train, dev, test, ver -> number of images
    images_per_identity: dict[str, int]  # classification identity -> train + dev (+ test) images
    pair_labels: dict[str, dict[str, int]]  # val (and test, with keys) -> {"same", "different"}
    image_sizes: Counter  # (width, height) -> number of images
    unreadable: list[str]  # images whose size could not be read (relative paths)


def competition_stats(comp: str | Path, keys: str | Path | None = None) -> CompetitionStats:
    """Gather the statistics of `comp`; `keys` adds the test labels and test pair balance."""
    comp = Path(comp)
    for folder in (contract.CLS_TRAIN, contract.CLS_DEV, contract.CLS_TEST, contract.VER_IMAGES):
        if not (comp / folder).is_dir():
            raise DataToolsError(f"{comp} is not a competition directory: {folder} is missing")
    split_paths = {
        "train": sorted((comp / contract.CLS_TRAIN).glob("*/*")),
        "dev": sorted((comp / contract.CLS_DEV).glob("*/*")),
        "test": sorted((comp / contract.CLS_TEST).glob("*")),
        "ver": sorted((comp / contract.VER_IMAGES).glob("*")),
    }
    split_paths = {k: [p for p in v if is_image_name(p.name)] for k, v in split_paths.items()}
    per_identity = Counter(p.parent.name for p in split_paths["train"] + split_paths["dev"])
    pair_labels = {"val": _label_counts(comp / contract.VAL_PAIRS)}
    if keys is not None:
        keys = Path(keys)
        per_identity.update(row["label"] for row in _rows(keys / contract.KEYS_CLS))
        pair_labels["test"] = _label_counts(keys / contract.KEYS_VER)
    sizes: Counter = Counter()
    unreadable = []
    for path in (p for paths in split_paths.values() for p in paths):
        try:
            with Image.open(path) as picture:
                sizes[picture.size] += 1
        except OSError:
            unreadable.append(path.relative_to(comp).as_posix())
    return CompetitionStats(
        split_images={k: len(v) for k, v in split_paths.items()},
        images_per_identity=dict(sorted(per_identity.items())),
        pair_labels=pair_labels,
        image_sizes=sizes,
        unreadable=unreadable,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataToolsError(f"{path} is missing")
    return read_rows(path)


def _label_counts(path: Path) -> dict[str, int]:
    labels = Counter(row.get("label") for row in _rows(path))
    return {"same": labels["1"], "different": labels["0"]}


def format_stats(stats: CompetitionStats) -> str:
    """A short human-readable report."""
    counts = sorted(stats.images_per_identity.values())
    lines = ["images per split: " + ", ".join(f"{k} {v}" for k, v in stats.split_images.items())]
    if counts:
        lines.append(
            f"classification identities: {len(counts)}; images per identity: min {counts[0]}, "
            f"median {counts[len(counts) // 2]}, max {counts[-1]}"
        )
    for split, labels in stats.pair_labels.items():
        lines.append(f"{split} pairs: {labels['same']} same, {labels['different']} different")
    common = ", ".join(f"{w}x{h} ({n})" for (w, h), n in stats.image_sizes.most_common(3))
    lines.append(f"image sizes: {len(stats.image_sizes)} distinct; most common {common}")
    if stats.unreadable:
        lines.append(f"unreadable images: {len(stats.unreadable)} (first: {stats.unreadable[0]})")
    return "\n".join(lines)


def plot_stats(stats: CompetitionStats, path: str | Path) -> None:
    """Render the four panels to a PNG at `path` (written whole or not at all)."""
    from matplotlib.figure import Figure  # heavy; and no pyplot, so no display backend needed

    path = Path(path)
    figure = Figure(figsize=(11, 8), layout="constrained")
    splits, histogram, pairs, sizes = figure.subplots(2, 2).flat
    splits.bar(list(stats.split_images), list(stats.split_images.values()), color="tab:blue")
    splits.set(title="Images per split", ylabel="images")
    histogram.hist(list(stats.images_per_identity.values()) or [0], bins=20, color="tab:green")
    histogram.set(title="Images per classification identity", xlabel="images", ylabel="identities")
    names = list(stats.pair_labels)
    same = [stats.pair_labels[n]["same"] for n in names]
    different = [stats.pair_labels[n]["different"] for n in names]
    pairs.bar(names, same, label="same identity", color="tab:orange")
    pairs.bar(names, different, bottom=same, label="different identities", color="tab:gray")
    pairs.set(title="Verification pair balance", ylabel="pairs")
    pairs.legend()
    if stats.image_sizes:
        widths = [w for w, _ in stats.image_sizes]
        heights = [h for _, h in stats.image_sizes]
        counts = list(stats.image_sizes.values())
        scale = 200 / max(counts)
        sizes.scatter(widths, heights, s=[10 + c * scale for c in counts], alpha=0.6)
    sizes.set(title="Image sizes (marker area ~ count)", xlabel="width (px)", ylabel="height (px)")
    with replacing(path) as partial:
        figure.savefig(partial, dpi=100, format="png")
