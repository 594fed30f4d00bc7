"""The training input pipeline over a competition directory (DESIGN.md layout).

Workers decode (PIL) and augment uint8 images (transforms.v2 on tensors); the
training loop copies uint8 batches to the device and normalises there (`inference.normalize`), so
a GPU receives a quarter of the bytes a float pipeline would send.
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Sampler
from torchvision.datasets.folder import find_classes
from torchvision.transforms import v2

from facekit.base.contract import CLS_DEV, CLS_TEST, CLS_TRAIN, SAMPLE_CLS
from facekit.base.csv_files import read_rows
from facekit.base.errors import SetupError
from facekit.base.files import is_image_name
from facekit.sandbox_side.inference import eval_image, read_image
from facekit.training.config import DataConfig


class DataError(SetupError):
    """The competition directory lacks something training needs."""


@dataclass(frozen=True)
class LabelledImages:
    """Image paths with integer labels in ImageFolder order (`class_names[label]`)."""

    paths: list[Path]
    labels: list[int]
    class_names: list[str]


def labelled_images(root: Path, class_names: list[str] | None = None) -> LabelledImages:
    """The images under `root/<identity>/`, labelled like torchvision's ImageFolder.

    With `class_names` given (the training identities), `root` must hold only those identities.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory (expected <identity>/<image> folders)")
    found, _ = find_classes(str(root))
    if class_names is None:
        class_names = found
    elif not set(found) <= set(class_names):
        extra = sorted(set(found) - set(class_names))
        raise DataError(f"{root}: identity {extra[0]!r} is not among the training identities")
    index = {name: label for label, name in enumerate(class_names)}
    paths, labels = [], []
    for name in found:
        for path in sorted((root / name).iterdir()):
            if is_image_name(path.name):
                paths.append(path)
                labels.append(index[name])
    if not paths:
        raise DataError(f"{root}: no images found")
    return LabelledImages(paths, labels, class_names)


def competition_split(comp: Path, split: str, class_names: list[str] | None = None):
    """`labelled_images` of `cls_data/train` or `cls_data/dev` inside a competition directory."""
    return labelled_images(Path(comp) / {"train": CLS_TRAIN, "dev": CLS_DEV}[split], class_names)


def test_image_ids(comp: Path) -> list[str]:
    """Ids (file names in cls_data/test) in the sample submission's order."""
    sample = Path(comp) / SAMPLE_CLS
    if not sample.is_file():
        raise DataError(f"{sample}: sample submission missing; is {comp} a competition directory?")
    ids = [row["id"] for row in read_rows(sample)]
    missing = [i for i in ids if not (Path(comp) / CLS_TEST / i).is_file()]
    if missing:
        raise DataError(f"{Path(comp) / CLS_TEST}: test image {missing[0]!r} is missing")
    return ids


def train_transform(config: DataConfig) -> v2.Transform:
    """Augmentation on uint8 (3, H, W) tensors, ending at (3, image_size, image_size)."""
    steps: list[v2.Transform] = [
        # Aligned faces: keep the aspect ratio near 1 so faces are not squashed.
        v2.RandomResizedCrop(
            config.image_size, scale=(config.crop_scale_min, 1.0), ratio=(0.9, 1.1), antialias=True
        )
    ]
    if config.hflip:
        steps.append(v2.RandomHorizontalFlip())
    if config.color_jitter > 0:
        j = config.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j))
    return v2.Compose(steps)


class TrainImages(Dataset):
    """Augmented training images: (uint8 (3, S, S), label)."""

    def __init__(self, images: LabelledImages, config: DataConfig):
        self.images = images
        self.transform = train_transform(config)

    def __len__(self) -> int:
        return len(self.images.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = read_image(self.images.paths[index])
        return self.transform(image), self.images.labels[index]


class EvalImages(Dataset):
    """Images prepared exactly as evaluation prepares them (for the pipeline benchmark)."""

    def __init__(self, paths: list[Path], image_size: int):
        self.paths, self.image_size = paths, image_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return eval_image(self.paths[index], self.image_size)


class IdentityBatchSampler(Sampler[list[int]]):
    """Batches of P identities x K images each ("PK" sampling), so every anchor of a batch-hard
    triplet loss has positives. Each DDP rank draws its own batches from a shared permutation.

    `len(self)` batches per epoch, each of `batch_size` indices (batch_size = P * K); identities
    with fewer than K images are sampled with replacement. Call `set_epoch` every epoch.
    """

    def __init__(
        self,
        labels: list[int],
        batch_size: int,
        images_per_identity: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        if batch_size % images_per_identity:
            raise DataError(
                f"data.batch_size ({batch_size}) must be a multiple of "
                f"data.images_per_identity ({images_per_identity})"
            )
        self.by_label: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            self.by_label.setdefault(label, []).append(index)
        self.identities_per_batch = batch_size // images_per_identity
        if self.identities_per_batch > len(self.by_label):
            raise DataError(
                f"a batch needs {self.identities_per_batch} identities but the data has "
                f"{len(self.by_label)}; lower data.batch_size or raise data.images_per_identity"
            )
        self.k, self.seed, self.rank, self.world_size = images_per_identity, seed, rank, world_size
        self.batches = max(1, len(labels) // (batch_size * world_size))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        identities = list(self.by_label)
        for batch in range(self.batches * self.world_size):
            chosen = torch.randperm(len(identities), generator=generator)
            indices = []
            for position in chosen[: self.identities_per_batch].tolist():
                pool = self.by_label[identities[position]]
                if len(pool) >= self.k:
                    picks = torch.randperm(len(pool), generator=generator)[: self.k]
                else:
                    picks = torch.randint(len(pool), (self.k,), generator=generator)
                indices.extend(pool[pick] for pick in picks.tolist())
            # Every rank draws the same sequence and keeps every world_size-th batch.
            if batch % self.world_size == self.rank:
                yield indices


def train_loader(
    images: LabelledImages,
    config: DataConfig,
    pin_memory: bool,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """Shuffled, augmented batches; each DDP rank sees its own 1/world_size of every epoch.

    With `config.images_per_identity` > 0 batches are identity-balanced (IdentityBatchSampler).
    Call `set_epoch(loader, epoch)` each epoch so batches differ between epochs.
    """
    dataset = TrainImages(images, config)
    workers = config.num_workers
    loading = {
        "num_workers": workers,
        "pin_memory": pin_memory,
        "persistent_workers": workers > 0,
        "prefetch_factor": 4 if workers > 0 else None,
    }
    if config.images_per_identity:
        batches = IdentityBatchSampler(
            images.labels, config.batch_size, config.images_per_identity, seed, rank, world_size
        )
        return DataLoader(dataset, batch_sampler=batches, **loading)
    sampler = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    batches = BatchSampler(
        sampler,
        config.batch_size,
        # A ragged last batch would make BatchNorm statistics noisy and recompile torch.compile.
        drop_last=len(dataset) // world_size >= config.batch_size,
    )
    return DataLoader(dataset, batch_sampler=batches, **loading)


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reseed `train_loader`'s shuffling for `epoch` (same on every rank, different per epoch)."""
    batches = loader.batch_sampler
    (batches if isinstance(batches, IdentityBatchSampler) else batches.sampler).set_epoch(epoch)
