"""What differs between a student's tensor and the reference's, as structured findings.

A finding says which tensor, what kind of difference (shape, dtype, non-finite values, values),
how many elements and where, and its pattern when one is recognisable (opposite sign, a constant
factor, a constant offset, confined to some rows). It never carries an expected value: the cases
are hidden and their inputs drawn fresh per grading, so the feedback must help find a bug
without serving as an answer oracle. Hints are chosen from these fields, never from wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch

MAX_ROWS_LISTED = 6


class Difference(StrEnum):
    MISSING = "missing"  # a gradient that never arrived, an output key not returned
    SHAPE = "shape"
    DTYPE = "dtype"
    NONFINITE = "nonfinite"  # NaN or Inf where finite values are expected
    VALUES = "values"


class Pattern(StrEnum):
    """A recognisable shape of a value difference (from got and expected, told without them)."""

    SIGN = "sign"  # got ≈ −expected
    FACTOR = "factor"  # got ≈ c · expected for one constant c
    OFFSET = "offset"  # got ≈ expected + c for one constant c
    SOME_ROWS = "some_rows"  # only some rows (samples) differ
    NEAR = "near"  # within 0.1 % relative: precision, not a formula


@dataclass(frozen=True)
class Finding:
    """One tensor's difference from the reference; `text` is for a person."""

    tensor: str  # the answer key: output, output/feats, grad_param/conv1.weight, ...
    difference: Difference
    text: str
    pattern: Pattern | None = None
    got_dtype: str = ""
    expected_dtype: str = ""

    def __str__(self) -> str:
        return f"{label(self.tensor)}: {self.text}"


def label(key: str) -> str:
    """A readable name for an answer key."""
    kind, _, name = key.partition("/")
    if kind == "output":
        return f"output[{name!r}]" if name else "output"
    return {
        "grad_input": f"gradient w.r.t. input {name}",
        "grad_param": f"gradient w.r.t. parameter {name}",
        "buffer": f"buffer {name} after the forward pass",
    }[kind]


def _where(flat_index: int, shape: torch.Size) -> str:
    if not len(shape):
        return "the (scalar) value"
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return f"index {tuple(reversed(index))}"


def _constant(values: torch.Tensor, relative: float) -> float | None:
    """The constant `values` all equal (within `relative` of their scale), else None."""
    if values.numel() < 2:
        return None
    middle = float(values.median())
    spread = float((values - middle).abs().max())
    return middle if spread <= relative * max(abs(middle), 1e-12) else None


def _pattern(got: torch.Tensor, expected: torch.Tensor, close: torch.Tensor):
    """(pattern, words) for a value difference, the words revealing no expected value."""
    if len(got.shape) >= 2 and got.shape[0] > 1:
        rows = (~close).flatten(1).any(1)
        if not rows.all():
            listed = rows.nonzero().flatten().tolist()
            shown = ", ".join(map(str, listed[:MAX_ROWS_LISTED]))
            more = "" if len(listed) <= MAX_ROWS_LISTED else ", ..."
            pattern_words = f"only rows (samples) {shown}{more} of {got.shape[0]} differ"
            return Pattern.SOME_ROWS, pattern_words
    scale = expected.abs() > 1e-6 * max(float(expected.abs().max()), 1e-30)
    if int(scale.sum()) >= 2:
        ratio = _constant(got[scale] / expected[scale], 1e-3)
        if ratio is not None and abs(ratio + 1) < 1e-3:
            return Pattern.SIGN, "every value has the opposite sign"
        if ratio is not None and abs(ratio - 1) > 1e-3:
            return Pattern.FACTOR, f"every value is off by the same factor ×{ratio:.4g}"
    offset = _constant(got - expected, 1e-3)
    if offset is not None and got.numel() >= 2:
        return Pattern.OFFSET, f"every value is off by the same constant {offset:+.4g}"
    return None, ""


def describe_difference(
    key: str, got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float
) -> Finding | None:
    """None when `got` matches `expected` (shape, dtype, values within atol + rtol·|expected|,
    NaN where NaN is expected); else a Finding that says how it differs, without its values."""
    if tuple(got.shape) != tuple(expected.shape):
        return Finding(
            key, Difference.SHAPE, f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        )
    if got.dtype != expected.dtype:
        return Finding(
            key,
            Difference.DTYPE,
            f"dtype {got.dtype}, expected {expected.dtype}",
            got_dtype=str(got.dtype).removeprefix("torch."),
            expected_dtype=str(expected.dtype).removeprefix("torch."),
        )
    if not got.dtype.is_floating_point:
        differ = (got != expected).flatten().nonzero()
        if len(differ) == 0:
            return None
        return Finding(
            key,
            Difference.VALUES,
            f"{len(differ)} of {got.numel()} values differ; first at "
            f"{_where(int(differ[0]), got.shape)}",
        )
    got64, expected64 = got.double(), expected.double()
    unexpected = ~torch.isfinite(got64) & torch.isfinite(expected64)
    if unexpected.any():
        nans = int(torch.isnan(got64[unexpected]).sum())
        infs = int(unexpected.sum()) - nans
        first = int(unexpected.flatten().nonzero()[0])
        return Finding(
            key,
            Difference.NONFINITE,
            f"{nans} NaN and {infs} Inf value(s) where the expected values are finite; first "
            f"at {_where(first, got.shape)}",
        )
    close = torch.isclose(got64, expected64, atol=atol, rtol=rtol, equal_nan=True)
    if close.all():
        return None
    finite = torch.isfinite(got64) & torch.isfinite(expected64)
    error = torch.where(finite, (got64 - expected64).abs(), torch.zeros_like(got64))
    relative = float((error / expected64.abs().clamp_min(1e-12)).max())
    failing = (~close).flatten().nonzero()
    words = (
        f"{len(failing)} of {got.numel()} value(s) differ beyond atol={atol:g} + "
        f"rtol={rtol:g}·|expected|; first at {_where(int(failing[0]), got.shape)}; max rel "
        f"err {relative:.2g}"
    )
    if relative < 1e-3:
        return Finding(key, Difference.VALUES, words + " (close: a precision issue)", Pattern.NEAR)
    pattern, pattern_words = _pattern(
        torch.where(finite, got64, 0), torch.where(finite, expected64, 0), close
    )
    return Finding(
        key, Difference.VALUES, words + (f"; {pattern_words}" if pattern else ""), pattern
    )


def check_finite(key: str, got: torch.Tensor) -> Finding | None:
    """None when every value of `got` is finite; else how many NaN/Inf and where the first is."""
    if not got.dtype.is_floating_point or torch.isfinite(got).all():
        return None
    nans = int(torch.isnan(got).sum())
    infs = int(torch.isinf(got).sum())
    first = int((~torch.isfinite(got)).flatten().nonzero()[0])
    return Finding(
        key,
        Difference.NONFINITE,
        f"{nans} NaN and {infs} Inf value(s); first at {_where(first, got.shape)}",
    )
