"""Matching a shuffled submission's ids to the key rows: exact, or None so the caller falls back."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from facekit.base import id_match
from facekit.base.columnar import positions
from facekit.base.id_match import SortedIds, id_words

KEY_IDS = [f"test_{i:07d}" for i in range(1000)]


def shuffled(ids: list[str], seed: int = 0) -> list[str]:
    return [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]


def expected_rows(ids: list[str], key_ids: list[str]) -> np.ndarray:
    return pc.index_in(pa.array(ids), value_set=pa.array(key_ids)).to_numpy()


@pytest.mark.parametrize(
    "key_ids",
    [
        KEY_IDS,
        ["a", "b", "c"],  # one byte: one padded word
        [f"{i:08d}" for i in range(300)],  # exactly one word, no padding
        [f"pair_{i:011d}" for i in range(300)],  # exactly two words
        ["é1", "é2", "ü3", "ab4"],  # one length in UTF-8 bytes, not in characters
    ],
)
def test_a_permutation_is_matched_to_the_same_rows_as_a_hash_table_finds(key_ids) -> None:
    """Whatever the ids' width, the rows are index_in's, row for row."""
    submission = shuffled(key_ids)
    rows = SortedIds.of(pa.array(key_ids)).rows_of(pa.array(submission))
    assert rows is not None and np.array_equal(rows, expected_rows(submission, key_ids))


def test_sliced_arrays_are_read_from_their_own_offset() -> None:
    """An array that is a slice of a longer one (a non-zero offset) is read where it starts."""
    keys = pa.array(["xx_skip", *KEY_IDS])[1:]
    submission = pa.array(["skipped", *shuffled(KEY_IDS)])[1:]
    rows = SortedIds.of(keys).rows_of(submission)
    assert np.array_equal(rows, expected_rows(submission.to_pylist(), KEY_IDS))


@pytest.mark.parametrize(
    "ids",
    [
        ["p1", "p22", "p3"],  # mixed lengths
        [],
        ["", ""],
    ],
)
def test_ids_not_all_of_one_length_are_not_matched_here(ids) -> None:
    assert id_words(pa.array(ids, pa.string())) is None
    assert SortedIds.of(pa.array(ids, pa.string())) is None


def edited(change: str) -> list[str]:
    ids = shuffled(KEY_IDS)
    if change == "unknown":
        ids[10] = "test_9999999"
    elif change == "repeated":
        ids[10] = ids[11]
    elif change == "longer":
        ids[10] = "test_00000001"
    elif change == "fewer":
        ids = ids[:-1]
    return ids


@pytest.mark.parametrize("change", ["unknown", "repeated", "longer", "fewer"])
def test_anything_but_a_permutation_is_none(change: str) -> None:
    """An unknown, repeated, wider or missing id: no rows, here or from `positions`."""
    key_ids = pa.array(KEY_IDS)
    submission = pa.array(edited(change))
    assert SortedIds.of(key_ids).rows_of(submission) is None
    assert positions(submission, key_ids, SortedIds.of(key_ids)) is None


def test_an_unknown_id_sharing_a_keys_hash_is_caught_by_its_words(monkeypatch) -> None:
    """An id the keys lack, whose hash equals that of the key it replaces, is still refused."""
    # The hash of the ids' last four characters: test_9900042 collides with test_0000042.
    monkeypatch.setattr(id_match, "_hashes", lambda words, seed: words[-1] << np.uint64(32))
    key_ids = pa.array(KEY_IDS)
    submission = [("test_9900042" if i == "test_0000042" else i) for i in shuffled(KEY_IDS)]
    assert SortedIds.of(key_ids) is not None
    assert SortedIds.of(key_ids).rows_of(pa.array(submission)) is None


def test_keys_sharing_a_hash_are_left_to_the_exact_lookup(monkeypatch) -> None:
    """Keys whose hashes collide under every seed tried are not matched here; `positions` still
    finds every row."""
    monkeypatch.setattr(id_match, "_hashes", lambda words, seed: words[0])
    key_ids = pa.array(KEY_IDS)
    submission = shuffled(KEY_IDS)
    assert SortedIds.of(key_ids) is None
    rows = positions(pa.array(submission), key_ids, SortedIds.of(key_ids))
    assert np.array_equal(rows, expected_rows(submission, KEY_IDS))


def test_a_collision_under_one_seed_is_resolved_by_the_next() -> None:
    """Keys whose hashes share their high bits under the first seed are sorted by another."""
    real_hashes = id_match._hashes
    key_ids = pa.array(KEY_IDS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            id_match,
            "_hashes",
            lambda words, seed: np.zeros_like(words[0]) if seed == 0 else real_hashes(words, seed),
        )
        sorted_ids = SortedIds.of(key_ids)
    assert sorted_ids is not None and sorted_ids.seed == 1
    submission = shuffled(KEY_IDS)
    assert np.array_equal(
        sorted_ids.rows_of(pa.array(submission)), expected_rows(submission, KEY_IDS)
    )
