"""Validate a competition directory (and optionally its hidden keys) against the layout and rules.

Rules: classification and verification identities are disjoint, and so are the val and test
verification identities; no image (same bytes) is in two splits; test and verification file
names are opaque; pairs point at existing images; the keys match the public files; every file
matches the manifest's checksum; no test or verification image has the bytes of a file of the
source dataset (a public dataset would name its identity). Each broken rule is reported as a
`Problem` naming the file.
"""

import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from data_tools.errors import DataToolsError
from data_tools.source import list_identities
from facekit.base import contract
from facekit.base.csv_reader import CsvRows, read_text
from facekit.base.errors import ProblemList
from facekit.base.files import file_sha256, is_image_name
from facekit.base.keys import NO_SIZE_LIMIT, key_rows, split_problems

# Mismatches of one kind listed one by one before the rest are counted.
MAX_LISTED = 10


@dataclass(frozen=True)
class Problem:
    """One broken rule: a short code, the file (relative to the competition), what is wrong."""

    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.code}]"


@dataclass
class _Inventory:
    """The image files of a competition, by split."""

    train: dict[str, list[str]]  # identity -> relative paths
    dev: dict[str, list[str]]
    test: list[str]  # file names in cls_data/test
    ver: list[str]  # file names in ver_data/images


def check_competition(
    comp: str | Path, keys: str | Path | None = None, *, source: str | Path | None = None
) -> list[Problem]:
    """Every problem found in `comp` (and `keys` when given); an empty list means clean.

    `source` is the identity-folder dataset the competition was built from; by default the one
    recorded in the keys manifest, when it still exists. Raises `DataToolsError` only when `comp`
    (or `keys`, or an explicit `source`) is not a directory at all.
    """
    comp = Path(comp)
    if not comp.is_dir():
        raise DataToolsError(f"competition directory {comp} does not exist or is not a directory")
    if keys is not None and not Path(keys).is_dir():
        raise DataToolsError(f"keys directory {keys} does not exist or is not a directory")
    problems: list[Problem] = []
    problems += _check_layout(comp)
    inventory, found = _inventory(comp)
    problems += found
    identities = set(inventory.train) | set(inventory.dev)
    problems += _check_classes(inventory)
    problems += _check_names(inventory, identities | _hidden_identities(keys))
    val_pairs, found = _read_pairs(comp, contract.VAL_PAIRS, contract.VAL_PAIRS_HEADER, inventory)
    problems += found
    test_pairs, found = _read_pairs(
        comp, contract.TEST_PAIRS, contract.TEST_PAIRS_HEADER, inventory
    )
    problems += found
    problems += _check_pair_sets(val_pairs, test_pairs)
    problems += _check_duplicates(comp, inventory, val_pairs, test_pairs)
    problems += _check_samples(comp, inventory, identities, test_pairs)
    problems += _check_manifest(comp, inventory, val_pairs, test_pairs)
    if keys is not None:
        problems += _check_keys(comp, Path(keys), inventory, identities, val_pairs, test_pairs)
    source_dir = _source_dir(keys, source)
    if source_dir is not None:
        problems += _check_source_lookup(comp, inventory, source_dir)
    return problems


def _source_dir(keys: str | Path | None, source: str | Path | None) -> Path | None:
    """The source dataset to compare with: the explicit one, else the keys' record if present."""
    if source is not None:
        if not Path(source).is_dir():
            raise DataToolsError(f"source dataset {source} does not exist or is not a directory")
        return Path(source)
    if keys is None:
        return None
    try:
        recorded = json.loads((Path(keys) / contract.KEYS_MANIFEST).read_text())["source"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None  # a broken keys manifest is reported by _check_keys
    return Path(recorded) if Path(recorded).is_dir() else None


def _check_source_lookup(comp: Path, inventory: _Inventory, source: Path) -> list[Problem]:
    """No hidden-label image may be byte-identical to a source file: its hash would name it."""
    source_hashes = {
        file_sha256(path): path
        for paths in list_identities(source).values()
        for path in paths
        if path.is_file()
    }
    hidden = [f"{contract.CLS_TEST}/{name}" for name in inventory.test]
    hidden += [f"{contract.VER_IMAGES}/{name}" for name in inventory.ver]
    problems = []
    for relative in hidden:
        original = source_hashes.get(file_sha256(comp / relative))
        if original is not None:
            problems.append(
                Problem(
                    "source-lookup",
                    relative,
                    f"has the bytes of the source file {original.relative_to(source)}: anyone "
                    "with the public dataset can look up its identity by hash (rebuild with "
                    "re-encoding on)",
                )
            )
    if len(problems) > MAX_LISTED:
        more = f"... and {len(problems) - MAX_LISTED} more images with the bytes of a source file"
        problems = [*problems[:MAX_LISTED], Problem("source-lookup", contract.VER_IMAGES, more)]
    return problems


def _check_layout(comp: Path) -> list[Problem]:
    problems = []
    for folder in (contract.CLS_TRAIN, contract.CLS_DEV, contract.CLS_TEST, contract.VER_IMAGES):
        if not (comp / folder).is_dir():
            problems.append(Problem("missing", folder, "required directory is missing"))
    for file in (
        contract.VAL_PAIRS,
        contract.TEST_PAIRS,
        contract.SAMPLE_CLS,
        contract.SAMPLE_VER,
        contract.MANIFEST,
    ):
        if not (comp / file).is_file():
            problems.append(Problem("missing", file, "required file is missing"))
    return problems


def _inventory(comp: Path) -> tuple[_Inventory, list[Problem]]:
    problems: list[Problem] = []

    def labelled(split: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        root = comp / split
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            relative = f"{split}/{entry.name}"
            if not entry.is_dir():
                problems.append(Problem("layout", relative, "file outside an identity folder"))
                continue
            found[entry.name] = [f"{relative}/{n}" for n in flat(entry, relative)]
        return found

    def flat(root: Path, relative: str) -> list[str]:
        names = []
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            if entry.is_dir():
                problems.append(Problem("layout", f"{relative}/{entry.name}", "unexpected folder"))
            elif not is_image_name(entry.name):
                problems.append(
                    Problem("not-image", f"{relative}/{entry.name}", "not an image file")
                )
            else:
                names.append(entry.name)
        return names

    inventory = _Inventory(
        train=labelled(contract.CLS_TRAIN),
        dev=labelled(contract.CLS_DEV),
        test=flat(comp / contract.CLS_TEST, contract.CLS_TEST),
        ver=flat(comp / contract.VER_IMAGES, contract.VER_IMAGES),
    )
    return inventory, problems


def _hidden_identities(keys: str | Path | None) -> set[str]:
    """Verification identity names from the keys (if readable), to spot revealing names."""
    path = None if keys is None else Path(keys) / contract.KEYS_VER_IMAGES
    if path is None or not path.is_file():
        return set()
    rows, _ = _read_rows(path, _k(contract.KEYS_VER_IMAGES), contract.KEYS_VER_IMAGES_HEADER)
    return {identity for _, (_, identity) in rows}


def _read_rows(
    path: Path, relative: str, header: tuple[str, ...]
) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The complete rows of a competition or keys CSV as (physical line, fields).

    Read by the scorer's own reader (`csv_reader`), so a wrong header, an encoding, a quoting
    error or a row with the wrong number of fields is reported at the line an editor shows,
    blank lines included. Rows with an empty field are reported and left out.
    """
    found = ProblemList(relative)
    text = read_text(path, found, NO_SIZE_LIMIT)
    rows = [] if text is None else list(CsvRows(text, header, found))
    problems = _located("bad-csv", found)
    complete = []
    for line, fields in rows:
        if all(fields):
            complete.append((line, fields))
        else:
            message = f"expected {len(header)} non-empty fields"
            problems.append(Problem("bad-csv", f"{relative}:{line}", message))
    return complete, problems


def _located(code: str, found: ProblemList) -> list[Problem]:
    """The problems the shared CSV reader (or key validator) recorded, as `Problem`s."""
    problems = []
    for problem in found.problems:
        where = found.file if problem.line is None else f"{found.file}:{problem.line}"
        message = (
            problem.message if problem.column is None else f"{problem.column}: {problem.message}"
        )
        problems.append(Problem(code, where, message))
    if found.omitted:
        problems.append(Problem(code, found.file, f"... and {found.omitted} more problems"))
    return problems


def _check_classes(inventory: _Inventory) -> list[Problem]:
    problems = []
    for name in sorted(set(inventory.dev) - set(inventory.train)):
        problems.append(
            Problem(
                "identity-split",
                f"{contract.CLS_DEV}/{name}",
                "identity is in dev but not in train",
            )
        )
    for name in sorted(set(inventory.train) - set(inventory.dev)):
        problems.append(
            Problem(
                "identity-split",
                f"{contract.CLS_TRAIN}/{name}",
                "identity is in train but not in dev",
            )
        )
    for name, files in inventory.train.items():
        if not files:
            problems.append(Problem("empty", f"{contract.CLS_TRAIN}/{name}", "no training images"))
    return problems


def _check_names(inventory: _Inventory, identities: set[str]) -> list[Problem]:
    """Test and verification names must be opaque hashes that name no identity."""
    problems = []
    # Short names ("s1") would match by accident inside unrelated words.
    searchable = [name for name in identities if len(name) >= 3]
    for folder, names in (
        (contract.CLS_TEST, inventory.test),
        (contract.VER_IMAGES, inventory.ver),
    ):
        for name in names:
            if contract.OPAQUE_NAME.match(name):
                continue
            revealed = [i for i in searchable if i.lower() in name.lower()]
            if revealed:
                message = f"file name reveals identity {revealed[0]!r}"
                problems.append(Problem("revealing-name", f"{folder}/{name}", message))
            else:
                message = (
                    f"file name is not an opaque hash "
                    f"({contract.OPAQUE_NAME_LENGTH} hex digits and an extension)"
                )
                problems.append(Problem("revealing-name", f"{folder}/{name}", message))
    return problems


@dataclass(frozen=True)
class _PairRow:
    pair_id: str
    image_a: str
    image_b: str
    label: str | None


def _read_pairs(
    comp: Path, relative: str, header: tuple[str, ...], inventory: _Inventory
) -> tuple[list[_PairRow], list[Problem]]:
    path = comp / relative
    if not path.is_file():
        return [], []
    rows, problems = _read_rows(path, relative, header)
    pairs, seen_ids, seen_pairs = [], set(), {}
    images = set(inventory.ver)
    for line, fields in rows:
        where = f"{relative}:{line}"
        pair = _PairRow(*fields, *([None] * (4 - len(fields))))
        if pair.pair_id in seen_ids:
            problems.append(Problem("bad-csv", where, f"pair_id {pair.pair_id!r} repeats"))
        seen_ids.add(pair.pair_id)
        for image in (pair.image_a, pair.image_b):
            if image not in images:
                message = (
                    f"pair {pair.pair_id} points at missing image {contract.VER_IMAGES}/{image}"
                )
                problems.append(Problem("missing-pair-image", where, message))
        if pair.image_a == pair.image_b:
            problems.append(
                Problem("bad-pair", where, f"pair {pair.pair_id} pairs an image with itself")
            )
        key = frozenset((pair.image_a, pair.image_b))
        if key in seen_pairs:
            message = f"pair {pair.pair_id} repeats pair {seen_pairs[key]}"
            problems.append(Problem("bad-pair", where, message))
        seen_pairs.setdefault(key, pair.pair_id)
        if pair.label is not None and pair.label not in ("0", "1"):
            problems.append(Problem("bad-csv", where, f"label must be 0 or 1; got {pair.label!r}"))
        pairs.append(pair)
    return pairs, problems


def _check_pair_sets(val_pairs: list[_PairRow], test_pairs: list[_PairRow]) -> list[Problem]:
    """Val and test pairs must share no pair id and no image."""
    problems = []
    shared_ids = {p.pair_id for p in val_pairs} & {p.pair_id for p in test_pairs}
    for pair_id in sorted(shared_ids):
        problems.append(
            Problem(
                "bad-csv",
                contract.TEST_PAIRS,
                f"pair_id {pair_id!r} is also used in {contract.VAL_PAIRS}",
            )
        )
    shared_images = _pair_images(val_pairs) & _pair_images(test_pairs)
    for image in sorted(shared_images):
        problems.append(
            Problem(
                "split-leak",
                f"{contract.VER_IMAGES}/{image}",
                "image is used by both val and test pairs",
            )
        )
    return problems


def _pair_images(pairs: list[_PairRow]) -> set[str]:
    return {p.image_a for p in pairs} | {p.image_b for p in pairs}


def _check_duplicates(
    comp: Path, inventory: _Inventory, val_pairs: list[_PairRow], test_pairs: list[_PairRow]
) -> list[Problem]:
    """The same bytes must never be in two splits (train, dev, test, ver val, ver test);
    every image must be readable."""
    val_images, test_images = _pair_images(val_pairs), _pair_images(test_pairs)
    located: list[tuple[str, str]] = []  # (split, relative path)
    for split, identities in (("train", inventory.train), ("dev", inventory.dev)):
        located += [(split, path) for files in identities.values() for path in files]
    located += [("test", f"{contract.CLS_TEST}/{name}") for name in inventory.test]
    for name in inventory.ver:
        split = "ver-test" if name in test_images and name not in val_images else "ver-val"
        located.append((split, f"{contract.VER_IMAGES}/{name}"))
    by_hash: dict[str, list[tuple[str, str]]] = defaultdict(list)
    problems = []
    for split, relative in located:
        data = (comp / relative).read_bytes()
        by_hash[hashlib.sha256(data).hexdigest()].append((split, relative))
        try:  # the header only: cheap, and catches truncated or mislabelled files
            Image.open(io.BytesIO(data)).close()
        except OSError as error:
            problems.append(Problem("unreadable-image", relative, f"not a readable image: {error}"))
    for copies in by_hash.values():
        if len({split for split, _ in copies}) > 1:
            first = copies[0]
            others = ", ".join(f"{path} ({split})" for split, path in copies[1:])
            message = f"same image ({first[0]}) also in another split: {others}"
            problems.append(Problem("duplicate-image", first[1], message))
    return problems


def _check_samples(
    comp: Path, inventory: _Inventory, identities: set[str], test_pairs: list[_PairRow]
) -> list[Problem]:
    problems = []
    cls_path, ver_path = comp / contract.SAMPLE_CLS, comp / contract.SAMPLE_VER
    if cls_path.is_file():
        header = contract.SUBMISSION_COLUMNS[contract.CLASSIFICATION]
        rows, found = _read_rows(cls_path, contract.SAMPLE_CLS, header)
        problems += found
        ids = [(line, row_id) for line, (row_id, _) in rows]
        problems += _compare_ids(contract.SAMPLE_CLS, ids, set(inventory.test), "test images")
        for line, (_, label) in rows:
            if label not in identities:
                problems.append(
                    Problem(
                        "bad-csv",
                        f"{contract.SAMPLE_CLS}:{line}",
                        f"label {label!r} is not an identity",
                    )
                )
    if ver_path.is_file():
        header = contract.SUBMISSION_COLUMNS[contract.VERIFICATION]
        rows, found = _read_rows(ver_path, contract.SAMPLE_VER, header)
        problems += found
        problems += _compare_ids(
            contract.SAMPLE_VER,
            [(line, pair_id) for line, (pair_id, _) in rows],
            {p.pair_id for p in test_pairs},
            "test pairs",
        )
    return problems


def _compare_ids(
    relative: str, ids: Sequence[tuple[int, str]], expected: set[str], what: str
) -> list[Problem]:
    """Problems when `ids` (a CSV's id column as (physical line, id)) is not exactly `expected`.

    Wrong keys for a competition would mismatch every row, so each kind of mismatch lists its
    first few rows and then a count.
    """
    repeated, unknown, seen = [], [], set()
    for line, value in ids:
        if value in seen:
            repeated.append(Problem("bad-csv", f"{relative}:{line}", f"id {value!r} repeats"))
        elif value not in expected:
            unknown.append(
                Problem(
                    "keys-mismatch", f"{relative}:{line}", f"id {value!r} is not one of the {what}"
                )
            )
        seen.add(value)
    missing = [
        Problem("keys-mismatch", relative, f"no row for {what[:-1]} {value!r}")
        for value in sorted(expected - seen)
    ]
    problems = []
    for found, summary in (
        (repeated, "repeated ids"),
        (unknown, f"ids not among the {what}"),
        (missing, f"{what} without a row"),
    ):
        problems += found[:MAX_LISTED]
        if len(found) > MAX_LISTED:
            problems.append(
                Problem(
                    found[0].code, relative, f"... and {len(found) - MAX_LISTED} more {summary}"
                )
            )
    return problems


def _check_manifest(
    comp: Path, inventory: _Inventory, val_pairs: list[_PairRow], test_pairs: list[_PairRow]
) -> list[Problem]:
    path = comp / contract.MANIFEST
    if not path.is_file():
        return []
    try:
        manifest = json.loads(path.read_text())
        files, counts = dict(manifest["files"]), dict(manifest["counts"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        return [Problem("manifest", contract.MANIFEST, f"not a valid manifest: {error}")]
    problems = []
    present = {p.relative_to(comp).as_posix() for p in comp.rglob("*") if p.is_file()} - {
        contract.MANIFEST
    }
    for relative, expected in sorted(files.items()):
        if relative not in present:
            problems.append(Problem("checksum", relative, "listed in the manifest but missing"))
        elif file_sha256(comp / relative) != expected:
            problems.append(Problem("checksum", relative, "sha256 differs from the manifest"))
    for relative in sorted(present - set(files)):
        problems.append(Problem("checksum", relative, "file is not listed in the manifest"))
    actual = {
        "cls_identities": len(inventory.train),
        "train_images": sum(len(f) for f in inventory.train.values()),
        "dev_images": sum(len(f) for f in inventory.dev.values()),
        "test_images": len(inventory.test),
        "ver_images": len(inventory.ver),
        "val_pairs": len(val_pairs),
        "test_pairs": len(test_pairs),
    }
    for name, value in actual.items():
        if name in counts and counts[name] != value:
            message = f"manifest count {name} is {counts[name]}, found {value}"
            problems.append(Problem("manifest", contract.MANIFEST, message))
    return problems


def _check_keys(
    comp: Path,
    keys: Path,
    inventory: _Inventory,
    identities: set[str],
    val_pairs: list[_PairRow],
    test_pairs: list[_PairRow],
) -> list[Problem]:
    problems = []
    if keys.resolve().is_relative_to(comp.resolve()):
        problems.append(
            Problem("keys-inside", str(keys), "keys directory is inside the competition directory")
        )
    cls_rows, found = _read_keys(keys, contract.CLASSIFICATION, set(inventory.test), "test images")
    problems += found
    for line, _, label, _ in cls_rows or []:
        if label not in identities:
            problems.append(
                Problem(
                    "keys-mismatch",
                    f"{_k(contract.KEYS_CLS)}:{line}",
                    f"label {label!r} is not a training identity",
                )
            )
    ver_rows, found = _read_keys(
        keys, contract.VERIFICATION, {p.pair_id for p in test_pairs}, "test pairs"
    )
    problems += found
    owner_path = keys / contract.KEYS_VER_IMAGES
    if not owner_path.is_file():
        problems.append(
            Problem("missing", _k(contract.KEYS_VER_IMAGES), "required keys file is missing")
        )
    else:
        owner_rows, found = _read_rows(
            owner_path, _k(contract.KEYS_VER_IMAGES), contract.KEYS_VER_IMAGES_HEADER
        )
        problems += found
        owner = dict(fields for _, fields in owner_rows)
        problems += _compare_ids(
            _k(contract.KEYS_VER_IMAGES),
            [(line, image) for line, (image, _) in owner_rows],
            set(inventory.ver),
            "verification images",
        )
        problems += _check_open_set(owner, identities, val_pairs, test_pairs, ver_rows or [])
    problems += _check_keys_manifest(comp, keys)
    return problems


def _k(name: str) -> str:
    return f"<keys>/{name}"


def _read_keys(
    keys: Path, task: str, expected: set[str], what: str
) -> tuple[list[tuple[int, str, str, str]] | None, list[Problem]]:
    """A key file's complete rows (physical line, id, label, usage), validated by the scorer's
    own key validator (`facekit.base.keys`): every row problem, a split the scorer refuses, and
    ids that are not exactly the `expected` ones (the `what` of the competition)."""
    name = contract.KEY_FILES[task]
    if not (keys / name).is_file():
        return None, [Problem("missing", _k(name), "required keys file is missing")]
    found = ProblemList(_k(name))
    text = read_text(keys / name, found, NO_SIZE_LIMIT)
    rows = key_rows(task, text, found)
    problems = _located("bad-csv", found)
    if not found and rows:
        labels = np.array(
            [label == "1" if task == contract.VERIFICATION else label for *_, label, _ in rows]
        )
        public = np.array([usage == contract.USAGES[0] for *_, usage in rows])
        problems += [
            Problem("usage", _k(name), message) for message in split_problems(task, labels, public)
        ]
    complete = [row for row in rows if all(row[1:])]
    ids = [(line, row_id) for line, row_id, _, _ in complete]
    return complete, problems + _compare_ids(_k(name), ids, expected, what)


def _check_open_set(
    owner: dict[str, str],
    identities: set[str],
    val_pairs: list[_PairRow],
    test_pairs: list[_PairRow],
    ver_keys: list[tuple[int, str, str, str]],
) -> list[Problem]:
    """Verification identities are unseen in classification and split between val and test."""
    problems = []
    for image, identity in sorted(owner.items()):
        if identity in identities:
            problems.append(
                Problem(
                    "identity-overlap",
                    f"{contract.VER_IMAGES}/{image}",
                    f"identity {identity!r} is in both classification and verification",
                )
            )
    val_ids = {owner.get(i) for p in val_pairs for i in (p.image_a, p.image_b)} - {None}
    test_ids = {owner.get(i) for p in test_pairs for i in (p.image_a, p.image_b)} - {None}
    for identity in sorted(val_ids & test_ids):
        problems.append(
            Problem(
                "identity-overlap",
                contract.TEST_PAIRS,
                f"identity {identity!r} is in both val and test pairs",
            )
        )
    test_labels = {pair_id: label for _, pair_id, label, _ in ver_keys}
    for relative, pairs, labels in (
        (contract.VAL_PAIRS, val_pairs, None),
        (_k(contract.KEYS_VER), test_pairs, test_labels),
    ):
        for pair in pairs:
            label = pair.label if labels is None else labels.get(pair.pair_id)
            a, b = owner.get(pair.image_a), owner.get(pair.image_b)
            if label in ("0", "1") and a and b and (a == b) != (label == "1"):
                problems.append(
                    Problem(
                        "wrong-label",
                        relative,
                        f"pair {pair.pair_id} is labelled {label} but shows {a!r} and {b!r}",
                    )
                )
    return problems


def _check_keys_manifest(comp: Path, keys: Path) -> list[Problem]:
    path = keys / contract.KEYS_MANIFEST
    if not path.is_file() or not (comp / contract.MANIFEST).is_file():
        return []
    try:
        expected = json.loads(path.read_text())["competition_manifest_sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        return [
            Problem("manifest", _k(contract.KEYS_MANIFEST), f"not a valid keys manifest: {error}")
        ]
    if file_sha256(comp / contract.MANIFEST) != expected:
        return [
            Problem(
                "manifest",
                _k(contract.KEYS_MANIFEST),
                "these keys were built for a different competition manifest",
            )
        ]
    return []
