"""Match a shuffled submission's ids to the key rows by sorting hashes, when ids have one length.

`pyarrow.compute.index_in` builds a hash table of the key ids on every call: about 0.4 s for a
million. Ids written by `facekit data build` all have the same length (`test_0000042`), so each
is a few 64-bit words: hashing them is a handful of vectorised multiplies, and sorting the hashes
lines the submission up with the keys. Comparing the words themselves then makes the match exact,
whatever the hash does. Anything else (ids of mixed lengths, an id the keys lack or one given
twice, two keys with one hash) answers None, and the caller falls back to `index_in`.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_MIX = np.uint64(0x9E3779B97F4A7C15)
"""An odd constant (2**64 / golden ratio): multiplying by it spreads a word's bits."""

_SEEDS_TRIED = 4
"""Hash functions tried before giving up on keys whose hashes' high bits collide. A million keys
keep 44 bits: about one key set in 35 has a collision, and one in a million collides four times
(it is then matched by `index_in`)."""


def id_words(ids: pa.Array) -> list[np.ndarray] | None:
    """Each id's UTF-8 bytes, zero-padded to W whole words: W arrays (N,) uint64; None unless
    every id of the string array `ids` has one length (and N > 0)."""
    if ids.type != pa.string() or not len(ids) or ids.null_count:
        return None
    count = len(ids)
    offsets = np.frombuffer(ids.buffers()[1], np.int32, count + 1, ids.offset * 4)
    width = int(offsets[1] - offsets[0])
    if width == 0 or not np.all(np.diff(offsets) == width):
        return None
    text = np.frombuffer(ids.buffers()[2], np.uint8, width * count, int(offsets[0]))
    padded = np.zeros((count, -(-width // 8) * 8), np.uint8)
    padded[:, :width] = text.reshape(count, width)
    words = padded.view(np.uint64)
    return [np.ascontiguousarray(words[:, column]) for column in range(words.shape[1])]


def _hashes(words: list[np.ndarray], seed: int) -> np.ndarray:
    """One uint64 per id, mixing all its words; each `seed` gives another hash function."""
    hashes = np.full(len(words[0]), seed, np.uint64)
    for word in words:
        hashes ^= word
        hashes *= _MIX
    return hashes


def _sorted_tagged(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in increasing order of hash, and the hashes' high bits in that order.

    Each hash keeps its high bits and carries its row in the low ones: sorting those numbers
    (a vectorised sort) is twice as fast as argsort, and the row comes out of each.
    """
    row_bits = max(1, (len(hashes) - 1).bit_length())
    rows_mask = np.uint64((1 << row_bits) - 1)
    tagged = np.sort((hashes & ~rows_mask) | np.arange(len(hashes), dtype=np.uint64))
    return (tagged & rows_mask).astype(np.int64), tagged & ~rows_mask


@dataclass(frozen=True, eq=False)
class SortedIds:
    """The key ids as words (`id_words`), the key rows in increasing order of their hashes (by
    `seed`) and those hashes' high bits in that order, no two alike."""

    words: list[np.ndarray]
    seed: int
    order: np.ndarray
    sorted_hashes: np.ndarray

    @classmethod
    def of(cls, key_ids: pa.Array) -> "SortedIds | None":
        """The sorted ids of `key_ids`, or None when they are not all of one length (or, very
        rarely, when every seed tried leaves two keys with the same high bits)."""
        words = id_words(key_ids)
        for seed in range(_SEEDS_TRIED if words else 0):
            order, sorted_hashes = _sorted_tagged(_hashes(words, seed))
            if np.all(sorted_hashes[1:] != sorted_hashes[:-1]):
                return cls(words, seed, order, sorted_hashes)
        return None

    def rows_of(self, ids: pa.Array) -> np.ndarray | None:
        """The key row of each of `ids` (N,) int64 when `ids` is a permutation of the key ids.

        None when it is not, or when this match cannot tell (see the module's docstring).
        """
        words = id_words(ids)
        if words is None or len(words) != len(self.words) or len(ids) != len(self.order):
            return None
        order, sorted_hashes = _sorted_tagged(_hashes(words, self.seed))
        if not np.array_equal(sorted_hashes, self.sorted_hashes):
            return None
        rows = np.empty(len(order), np.int64)
        rows[order] = self.order
        same = all(
            np.array_equal(key_word[rows], word)
            for key_word, word in zip(self.words, words, strict=True)
        )
        return rows if same else None
