"""Allocates 50 GB."""

import torch

x = torch.empty(50 * 10**9, dtype=torch.uint8)
x.fill_(1)
