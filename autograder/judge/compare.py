"""Numeric comparison of a tensor with its expected value, as a structured, readable difference.

The comparison the handout's self-checks use: standalone (torch only) because the handout's
`check_helpers` cell carries a copy of it, kept identical by
tests/solutions/test_selfcheck_comparison.py, so self-checks use the grader's tolerances rule.
Self-checks run on public data and may show expected values; the judge's feedback on its hidden
cases does not, and describes differences with `findings.describe_difference` instead.
"""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mismatch:
    """Why `got` is not close to `expected`; `problem` is shape, dtype, nonfinite or values."""

    name: str
    problem: str
    detail: str
    max_abs_error: float = float("nan")
    max_rel_error: float = float("nan")

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


def _index(flat_index: int, shape: torch.Size) -> tuple[int, ...]:
    """Turn a flat index into a tuple index over `shape`."""
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def _where(flat_index: int, shape: torch.Size) -> str:
    return f"index {_index(flat_index, shape)}" if len(shape) else "the (scalar) value"


def _nonfinite_counts(tensor: torch.Tensor) -> tuple[int, int]:
    return int(torch.isnan(tensor).sum()), int(torch.isinf(tensor).sum())


def compare_tensors(
    name: str, got: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float
) -> Mismatch | None:
    """None when `got` matches `expected` in shape, dtype and values (NaN where NaN is expected);
    else the first problem found, with the max abs/rel error and the first differing element."""
    if tuple(got.shape) != tuple(expected.shape):
        return Mismatch(
            name, "shape", f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        )
    if got.dtype != expected.dtype:
        return Mismatch(name, "dtype", f"dtype {got.dtype}, expected {expected.dtype}")
    if not got.dtype.is_floating_point:
        differ = (got != expected).flatten().nonzero()
        if len(differ) == 0:
            return None
        first = int(differ[0])
        return Mismatch(
            name,
            "values",
            f"{len(differ)} of {got.numel()} values differ; first at {_where(first, got.shape)}: "
            f"got {got.flatten()[first].item()}, expected {expected.flatten()[first].item()}",
        )
    got64, expected64 = got.double(), expected.double()
    got_nonfinite = ~torch.isfinite(got64)
    expected_nonfinite = ~torch.isfinite(expected64)
    unexpected = got_nonfinite & ~expected_nonfinite
    if unexpected.any():
        nans, infs = _nonfinite_counts(got64[unexpected])
        first = int(unexpected.flatten().nonzero()[0])
        return Mismatch(
            name,
            "nonfinite",
            f"{nans} NaN and {infs} Inf value(s) where the expected values are finite; first at "
            f"{_where(first, got.shape)} (expected {expected64.flatten()[first].item():.6g})",
        )
    close = torch.isclose(got64, expected64, atol=atol, rtol=rtol, equal_nan=True)
    if close.all():
        return None
    finite = ~got_nonfinite & ~expected_nonfinite
    error = torch.where(finite, (got64 - expected64).abs(), torch.zeros_like(got64))
    relative = error / expected64.abs().clamp_min(1e-12)
    max_abs = float(error.max()) if error.numel() else 0.0
    max_rel = float(relative.max()) if relative.numel() else 0.0
    worst = int(error.flatten().argmax())
    failing = (~close).flatten().nonzero()
    first = int(failing[0])
    detail = (
        f"{len(failing)} of {got.numel()} value(s) differ beyond atol={atol:g} + "
        f"rtol={rtol:g}·|expected|; max abs err {max_abs:.3g} at {_where(worst, got.shape)} "
        f"(got {got64.flatten()[worst].item():.6g}, expected "
        f"{expected64.flatten()[worst].item():.6g}), max rel err {max_rel:.3g}; first differing "
        f"element at {_where(first, got.shape)}: got {got64.flatten()[first].item():.6g}, "
        f"expected {expected64.flatten()[first].item():.6g}"
    )
    return Mismatch(name, "values", detail, max_abs, max_rel)


def check_finite(name: str, got: torch.Tensor) -> Mismatch | None:
    """None when every value of `got` is finite; else how many NaN/Inf and where the first is."""
    if not got.dtype.is_floating_point or torch.isfinite(got).all():
        return None
    nans, infs = _nonfinite_counts(got)
    first = int((~torch.isfinite(got)).flatten().nonzero()[0])
    return Mismatch(
        name,
        "nonfinite",
        f"{nans} NaN and {infs} Inf value(s); first at {_where(first, got.shape)}",
    )


def describe_mismatch(
    name: str, got: torch.Tensor, expected: torch.Tensor, atol: float = 1e-4, rtol: float = 1e-4
) -> str:
    """One line for a person: `OK <name>` or `MISMATCH <name>: <what differs>` (self-checks)."""
    mismatch = compare_tensors(name, got.detach(), expected.detach(), atol, rtol)
    return f"OK {name}" if mismatch is None else f"MISMATCH {mismatch}"
