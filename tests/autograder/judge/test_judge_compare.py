"""The numeric comparison and its messages (what a student reads when a case fails)."""

import pytest
import torch

from autograder.judge.compare import check_finite, compare_tensors, describe_mismatch


def test_close_tensors_match():
    """Are values within atol + rtol·|expected| (and NaN where NaN is expected) a match?"""
    expected = torch.tensor([1.0, float("nan"), -2.0])
    got = expected + torch.tensor([5e-5, 0.0, -5e-5])
    assert compare_tensors("out", got, expected, atol=1e-4, rtol=0) is None


def test_value_mismatch_names_errors_and_indices():
    """Does a value mismatch give max abs/rel error, where, and the first differing element?"""
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[0, 2], got[1, 1] = 0.5, -2.0
    mismatch = compare_tensors("output", got, expected, atol=1e-4, rtol=1e-4)
    assert mismatch.problem == "values"
    text = str(mismatch)
    assert "2 of 6 value(s) differ" in text
    assert "max abs err 2 at index (1, 1)" in text
    assert "first differing element at index (0, 2): got 0.5, expected 0" in text


@pytest.mark.parametrize(
    ("got", "expected", "problem", "phrase"),
    [
        (torch.zeros(2, 3), torch.zeros(3, 2), "shape", "shape (2, 3), expected (3, 2)"),
        (torch.zeros(2), torch.zeros(2, dtype=torch.float64), "dtype", "expected torch.float64"),
        (torch.tensor([1.0, float("inf")]), torch.ones(2), "nonfinite", "0 NaN and 1 Inf"),
        (torch.tensor([1, 2]), torch.tensor([1, 3]), "values", "first at index (1,): got 2"),
    ],
)
def test_each_kind_of_mismatch(got, expected, problem, phrase):
    """Are shape, dtype, NaN/Inf and integer mismatches each reported as such?"""
    mismatch = compare_tensors("t", got, expected, atol=1e-4, rtol=1e-4)
    assert mismatch.problem == problem
    assert phrase in mismatch.detail


def test_scalar_mismatch_and_finiteness():
    """Do scalars read naturally, and does check_finite find the first NaN?"""
    mismatch = compare_tensors("loss", torch.tensor(1.5), torch.tensor(1.0), 1e-4, 1e-4)
    assert "the (scalar) value" in mismatch.detail
    assert check_finite("grad", torch.tensor([0.0, float("nan")])).detail.startswith("1 NaN")
    assert check_finite("grad", torch.ones(3)) is None


def test_self_check_line():
    """Is the one-line self-check format `OK name` / `MISMATCH name: ...`?"""
    assert describe_mismatch("logits", torch.ones(2), torch.ones(2)) == "OK logits"
    assert describe_mismatch("logits", torch.ones(2), torch.zeros(2)).startswith(
        "MISMATCH logits: 2 of 2 value(s) differ"
    )
