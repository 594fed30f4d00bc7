"""Single-process or `torchrun` (DDP) execution, detected from the environment.

`torchrun` sets RANK, WORLD_SIZE and LOCAL_RANK; without them training runs as one process and
nothing here touches torch.distributed. NCCL on CUDA, gloo on CPU (how CI tests the DDP path).
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 writes every file; the others only compute."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun; a no-op context otherwise."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistContext()
    context = DistContext(
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if context.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return context


def close_distributed() -> None:
    """Leave the process group (if one was joined)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistContext) -> None:
    """Wait for every rank (e.g. while rank 0 evaluates and writes)."""
    if context.distributed:
        dist.barrier()


def mean_over_ranks(values: torch.Tensor, context: DistContext) -> torch.Tensor:
    """Average a tensor over ranks (for logging: loss and accuracy of the whole job)."""
    if not context.distributed:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / context.world_size


def ranks_agree(model: torch.nn.Module, context: DistContext) -> bool:
    """Whether every rank holds identical weights (DDP keeps them in sync; this proves it)."""
    if not context.distributed:
        return True
    with torch.no_grad():
        # On the parameters' device: NCCL gathers CUDA tensors only.
        checksum = torch.stack([p.detach().double().sum() for p in model.parameters()])
    gathered = [torch.empty_like(checksum) for _ in range(context.world_size)]
    dist.all_gather(gathered, checksum)
    return all(torch.equal(gathered[0], other) for other in gathered[1:])
