"""Build a competition (public directory + hidden answer keys) from an identity-folder dataset.

Classification identities and verification identities are disjoint (open-set verification);
verification identities are split again into val (labelled pairs) and test (hidden labels) so
no image or identity is shared between those two either. Test and verification images are
renamed by a keyed hash of their bytes, so a name says nothing about who is in the picture, and
re-encoded (`data_tools.reencode`), so their bytes match no file of a published dataset.

The seed decides every split and every name. It is therefore a secret: it is recorded in the
keys manifest, never in the public one.
"""

import hashlib
import hmac
import json
import math
import shutil
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_tools.atomic import check_target, publish, staging_dir
from data_tools.config import BuildConfig
from data_tools.errors import DataToolsError
from data_tools.reencode import REENCODED_SUFFIX, reencode_image
from data_tools.source import SourceImage, list_identities, read_source
from facekit.base import contract
from facekit.base.csv_files import write_csv
from facekit.base.files import file_sha256

FORMAT = "facekit-competition-v1"
MAX_AUTO_PAIRS = 1000


@dataclass(frozen=True)
class Manifest:
    """The public `manifest.json` of a built competition."""

    path: Path
    arguments: dict
    counts: dict
    files: dict[str, str]  # relative path -> sha256


@dataclass(frozen=True)
class _Pair:
    image_a: SourceImage
    image_b: SourceImage
    label: int


def build_competition(
    src: str | Path,
    comp: str | Path,
    keys: str | Path,
    config: BuildConfig | None = None,
    *,
    overwrite: bool = False,
    progress: bool = False,
) -> Manifest:
    """Build the competition directory `comp` and its hidden answer keys `keys` from `src`.

    Both directories appear only when complete; any error leaves neither behind.
    """
    config = config or BuildConfig()
    src, comp, keys = Path(src).resolve(), Path(comp).resolve(), Path(keys).resolve()
    _check_paths(src, comp, keys)
    check_target(comp, overwrite)
    check_target(keys, overwrite)

    files = list_identities(src)
    candidates = [name for name, paths in files.items() if len(paths) >= config.min_images]
    dataset = read_source(src, candidates, files, strict=config.strict, progress=progress)
    eligible = [name for name in candidates if len(dataset.identities[name]) >= config.min_images]
    cls_names, ver_names = _choose_identities(eligible, len(files), config)
    images = {name: _cap(dataset.identities[name], name, config) for name in cls_names + ver_names}

    splits = {name: _split_images(images[name], name, config) for name in cls_names}
    n_val_ids = min(len(ver_names) - 2, max(2, round(len(ver_names) * config.ver_val_fraction)))
    val_names, test_names = sorted(ver_names[:n_val_ids]), sorted(ver_names[n_val_ids:])
    val_pairs = _make_pairs(val_names, images, config.val_pairs, config, "val")
    test_pairs = _make_pairs(test_names, images, config.test_pairs, config, "test")
    name_key = hashlib.sha256(f"facekit-names/{config.seed}".encode()).digest()

    def opaque(image: SourceImage) -> str:
        digest = hmac.new(name_key, image.sha256.encode(), hashlib.sha256).hexdigest()
        suffix = REENCODED_SUFFIX if config.reencode else image.path.suffix.lower()
        return digest[: contract.OPAQUE_NAME_LENGTH] + suffix

    copies: list[tuple[SourceImage, str]] = []  # (image, relative destination)
    test_keys: list[tuple[str, str]] = []  # (file name, identity)
    for name in cls_names:
        train, dev, test = splits[name]
        copies += [(im, f"{contract.CLS_TRAIN}/{name}/{im.path.name}") for im in train]
        copies += [(im, f"{contract.CLS_DEV}/{name}/{im.path.name}") for im in dev]
        copies += [(im, f"{contract.CLS_TEST}/{opaque(im)}") for im in test]
        test_keys += [(opaque(im), name) for im in test]
    ver_identity = {opaque(im): name for name in ver_names for im in images[name]}
    copies += [
        (im, f"{contract.VER_IMAGES}/{opaque(im)}") for name in ver_names for im in images[name]
    ]
    if len({dest for _, dest in copies}) != len(copies):
        raise DataToolsError("two images map to the same output name; use another --seed")

    test_keys.sort()
    cls_usage = _assign_usage([label for _, label in test_keys], config, "cls")
    ver_usage = _assign_usage([str(p.label) for p in test_pairs], config, "ver")
    val_ids = [f"val_{i:05d}" for i in range(len(val_pairs))]
    test_ids = [f"test_{i:05d}" for i in range(len(test_pairs))]
    counts = {
        "cls_identities": len(cls_names),
        "ver_identities": len(ver_names),
        "ver_val_identities": n_val_ids,
        "ver_test_identities": len(ver_names) - n_val_ids,
        "train_images": sum(len(s[0]) for s in splits.values()),
        "dev_images": sum(len(s[1]) for s in splits.values()),
        "test_images": len(test_keys),
        "ver_images": len(ver_identity),
        "val_pairs": len(val_pairs),
        "val_pairs_same": sum(p.label for p in val_pairs),
        "test_pairs": len(test_pairs),
        "test_pairs_same": sum(p.label for p in test_pairs),
        "source_identities": len(files),
        "skipped_files": len(dataset.skipped),
    }
    public_arguments = {**asdict(config), "source": src.name}
    del public_arguments["seed"]

    with staging_dir(comp) as staged_comp, staging_dir(keys) as staged_keys:
        for image, dest in tqdm(
            copies, desc="writing competition", unit="img", disable=None if progress else True
        ):
            target = staged_comp / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            if config.reencode and _is_hidden_label(dest):
                rng = _rng(config.seed, "reencode", image.sha256)
                reencode_image(image.path, target, rng, config.perturbation, config.jpeg_quality)
            else:
                shutil.copyfile(image.path, target)
        (staged_comp / contract.CLS_TEST).mkdir(parents=True, exist_ok=True)
        (staged_comp / contract.VER_IMAGES).mkdir(parents=True, exist_ok=True)
        (staged_comp / contract.SAMPLE_SUBMISSIONS).mkdir()
        write_csv(
            staged_comp / contract.VAL_PAIRS,
            contract.VAL_PAIRS_HEADER,
            [
                (i, opaque(p.image_a), opaque(p.image_b), p.label)
                for i, p in zip(val_ids, val_pairs, strict=True)
            ],
        )
        write_csv(
            staged_comp / contract.TEST_PAIRS,
            contract.TEST_PAIRS_HEADER,
            [
                (i, opaque(p.image_a), opaque(p.image_b))
                for i, p in zip(test_ids, test_pairs, strict=True)
            ],
        )
        write_csv(
            staged_comp / contract.SAMPLE_CLS,
            contract.SUBMISSION_COLUMNS[contract.CLASSIFICATION],
            [(file, cls_names[0]) for file, _ in test_keys],
        )
        write_csv(
            staged_comp / contract.SAMPLE_VER,
            contract.SUBMISSION_COLUMNS[contract.VERIFICATION],
            [(i, "0.5") for i in test_ids],
        )
        write_csv(
            staged_keys / contract.KEYS_CLS,
            contract.KEY_COLUMNS[contract.CLASSIFICATION],
            [(f, label, u) for (f, label), u in zip(test_keys, cls_usage, strict=True)],
        )
        write_csv(
            staged_keys / contract.KEYS_VER,
            contract.KEY_COLUMNS[contract.VERIFICATION],
            [(i, p.label, u) for i, p, u in zip(test_ids, test_pairs, ver_usage, strict=True)],
        )
        write_csv(
            staged_keys / contract.KEYS_VER_IMAGES,
            contract.KEYS_VER_IMAGES_HEADER,
            sorted(ver_identity.items()),
        )

        checksums = {dest: image.sha256 for image, dest in copies if not _is_hidden_label(dest)}
        checksums.update(_checksums(staged_comp, skip=set(checksums)))
        manifest = Manifest(
            staged_comp / contract.MANIFEST,
            public_arguments,
            counts,
            dict(sorted(checksums.items())),
        )
        manifest_text = manifest_json(manifest)
        (staged_comp / contract.MANIFEST).write_text(manifest_text)
        private = {
            "format": FORMAT,
            "seed": config.seed,
            "source": str(src),
            "arguments": asdict(config),
            "counts": counts,
            "competition_manifest_sha256": hashlib.sha256(manifest_text.encode()).hexdigest(),
            "files": _checksums(staged_keys, skip=set()),
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in dataset.skipped],
        }
        (staged_keys / contract.KEYS_MANIFEST).write_text(json.dumps(private, indent=2) + "\n")
        publish(staged_comp, comp)
        try:
            publish(staged_keys, keys)
        except OSError:
            shutil.rmtree(comp, ignore_errors=True)
            raise
    return Manifest(comp / contract.MANIFEST, manifest.arguments, manifest.counts, manifest.files)


def manifest_json(manifest: Manifest) -> str:
    """The text of a public manifest file."""
    data = {
        "format": FORMAT,
        "arguments": manifest.arguments,
        "counts": manifest.counts,
        "files": manifest.files,
    }
    return json.dumps(data, indent=2) + "\n"


def load_manifest(comp: str | Path) -> Manifest:
    """Read `comp/manifest.json`; a missing or malformed file is a `DataToolsError`."""
    path = Path(comp) / contract.MANIFEST
    try:
        data = json.loads(path.read_text())
        return Manifest(path, data["arguments"], data["counts"], data["files"])
    except FileNotFoundError as error:
        raise DataToolsError(f"{path} is missing; is {comp} a built competition?") from error
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataToolsError(f"{path} is not a valid competition manifest: {error}") from error


def _checksums(root: Path, skip: set[str]) -> dict[str, str]:
    sums = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative not in skip:
            sums[relative] = file_sha256(path)
    return sums


def _check_paths(src: Path, comp: Path, keys: Path) -> None:
    if keys == comp or keys.is_relative_to(comp):
        raise DataToolsError(
            f"keys directory {keys} is inside the competition directory {comp}; the answer keys "
            "must live outside what students receive"
        )
    if comp.is_relative_to(keys):
        raise DataToolsError(f"competition directory {comp} is inside the keys directory {keys}")
    for target in (comp, keys):
        if target.is_relative_to(src) or src.is_relative_to(target):
            raise DataToolsError(f"output {target} and source {src} must not contain each other")


def _choose_identities(
    eligible: list[str], total: int, config: BuildConfig
) -> tuple[list[str], list[str]]:
    """Classification names (sorted) and verification names (in random order), disjoint."""
    n_ver = config.ver_identities or max(4, round(0.2 * len(eligible)))
    n_cls = config.cls_identities or len(eligible) - n_ver
    if n_cls < 2 or n_cls + n_ver > len(eligible):
        raise DataToolsError(
            f"too few identities: need {max(n_cls, 2)} for classification + {n_ver} for "
            f"verification with at least {config.min_images} usable images each; the source "
            f"has {len(eligible)} such identities (of {total})"
        )
    order = _rng(config.seed, "identities").permutation(len(eligible))
    chosen = [eligible[i] for i in order]
    return sorted(chosen[n_ver : n_ver + n_cls]), chosen[:n_ver]


def _cap(images: list[SourceImage], name: str, config: BuildConfig) -> list[SourceImage]:
    if config.max_images is None or len(images) <= config.max_images:
        return images
    keep = _rng(config.seed, "cap", name).choice(len(images), config.max_images, replace=False)
    return [images[i] for i in sorted(keep)]


def _split_images(images: list[SourceImage], name: str, config: BuildConfig) -> tuple[list, ...]:
    """(train, dev, test) images of one classification identity, each non-empty."""
    order = _rng(config.seed, "split", name).permutation(len(images))
    shuffled = [images[i] for i in order]
    n_test = max(1, round(len(images) * config.test_fraction))
    n_dev = max(1, round(len(images) * config.dev_fraction))
    test, dev = shuffled[:n_test], shuffled[n_test : n_test + n_dev]
    train = shuffled[n_test + n_dev :]
    return sorted(train, key=_by_name), sorted(dev, key=_by_name), sorted(test, key=_by_name)


def _make_pairs(
    names: list[str],
    images: dict[str, list[SourceImage]],
    requested: int | None,
    config: BuildConfig,
    purpose: str,
) -> list[_Pair]:
    """Balanced pairs (half same identity, half different) among `names`, in random order."""
    rng = _rng(config.seed, "pairs", purpose)
    sizes = np.array([len(images[n]) for n in names])
    same_available = int(sum(math.comb(int(k), 2) for k in sizes))
    diff_available = math.comb(int(sizes.sum()), 2) - same_available
    wanted = requested or min(MAX_AUTO_PAIRS, 2 * same_available, 2 * diff_available)
    n_same, n_diff = wanted // 2, wanted - wanted // 2
    if n_same > same_available or n_diff > diff_available:
        raise DataToolsError(
            f"--{purpose}-pairs {wanted} needs {n_same} same-identity and {n_diff} "
            f"different-identity pairs, but the {len(names)} {purpose} identities allow only "
            f"{same_available} and {diff_available}; ask for fewer pairs or more identities"
        )
    # Every image as (identity index, image index); pairs are drawn as two flat indices.
    owner = np.repeat(np.arange(len(names)), sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = [im for n in names for im in images[n]]
    same = _draw_pairs(rng, n_same, same_available, owner, offsets, same_identity=True)
    diff = _draw_pairs(rng, n_diff, diff_available, owner, offsets, same_identity=False)
    pairs = [_Pair(flat[a], flat[b], 1) for a, b in same]
    pairs += [_Pair(flat[a], flat[b], 0) for a, b in diff]
    return [pairs[i] for i in rng.permutation(len(pairs))]


def _draw_pairs(
    rng: np.random.Generator,
    wanted: int,
    available: int,
    owner: np.ndarray,
    offsets: np.ndarray,
    *,
    same_identity: bool,
) -> list[tuple[int, int]]:
    """`wanted` distinct unordered pairs of flat image indices, same or different identity."""
    if 2 * wanted > available:  # dense: enumerate every candidate, sample without replacement
        if same_identity:  # block by block, never the whole (images x images) triangle
            blocks = [np.triu_indices(int(end - start), k=1) for start, end in pairwise(offsets)]
            a = np.concatenate([start + i for start, (i, _) in zip(offsets, blocks, strict=False)])
            b = np.concatenate([start + j for start, (_, j) in zip(offsets, blocks, strict=False)])
        else:  # only reached when few images exist
            a, b = np.triu_indices(len(owner), k=1)
            a, b = a[owner[a] != owner[b]], b[owner[a] != owner[b]]
        chosen = rng.choice(len(a), wanted, replace=False)
        return [(int(a[i]), int(b[i])) for i in chosen]
    seen: set[tuple[int, int]] = set()
    pairs = []
    weights = np.diff(offsets) * (np.diff(offsets) - 1)
    while len(pairs) < wanted:
        if same_identity:
            who = rng.choice(len(weights), p=weights / weights.sum())
            a, b = offsets[who] + rng.choice(offsets[who + 1] - offsets[who], 2, replace=False)
        else:
            a, b = rng.integers(len(owner), size=2)
            if owner[a] == owner[b]:
                continue
        key = (int(min(a, b)), int(max(a, b)))
        if key not in seen:
            seen.add(key)
            pairs.append((int(a), int(b)))
    return pairs


def _assign_usage(strata: list[str], config: BuildConfig, purpose: str) -> list[str]:
    """Public/Private per row, stratified: each stratum is split in the same proportion.

    Rows are visited stratum by stratum (shuffled within) and a running count hands out Public
    rows so the global share is exact and each stratum is within one row of it.
    """
    rng = _rng(config.seed, "usage", purpose)
    order = sorted(range(len(strata)), key=lambda i: strata[i])
    by_stratum: dict[str, list[int]] = {}
    for i in order:
        by_stratum.setdefault(strata[i], []).append(i)
    visit = [i for rows in by_stratum.values() for i in rng.permutation(rows)]
    usage = [""] * len(strata)
    offset = rng.uniform()
    for k, i in enumerate(visit):
        public = math.floor((k + 1) * config.public_fraction + offset) > math.floor(
            k * config.public_fraction + offset
        )
        usage[i] = "Public" if public else "Private"
    return usage


def _rng(seed: int, purpose: str, *names: str) -> np.random.Generator:
    """A random stream for one purpose (and identity), independent of every other."""
    words = [purpose, *names]
    entropy = [int(hashlib.sha256(w.encode()).hexdigest()[:8], 16) for w in words]
    return np.random.default_rng([seed, *entropy])


def _is_hidden_label(dest: str) -> bool:
    """Is this a test or verification image, whose identity students must not look up?"""
    return dest.startswith((f"{contract.CLS_TEST}/", f"{contract.VER_IMAGES}/"))


def _by_name(image: SourceImage) -> str:
    return image.path.name
