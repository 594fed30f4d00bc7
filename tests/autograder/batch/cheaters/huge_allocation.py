"""Allocates 50 GB."""

import torch


def _attack():
    global x
    x = torch.empty(50 * 10**9, dtype=torch.uint8)
    x.fill_(1)


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
