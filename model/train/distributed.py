"""Distributed training context: the same command runs alone or under torchrun (DDP, gloo/nccl).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; with WORLD_SIZE > 1 a process group is created
(nccl on CUDA, gloo on the CPU) and only rank 0 writes files and prints progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from model.device import ranks_from_env, resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: rank, world size and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> DistContext:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); otherwise a single process."""
    ranks = ranks_from_env()
    world, rank, local_rank = ranks.world, ranks.rank, ranks.local_rank
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend)
        log.info("rank %d/%d joined (%s, %s)", rank, world, backend, dev)
    return DistContext(rank, world, local_rank, dev)


def wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    """The model wrapped in DistributedDataParallel when distributed, else unchanged."""
    if not ctx.distributed:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def any_true(flag: bool, ctx: DistContext) -> bool:
    """True on every rank when `flag` is true on any rank (a stop request must be agreed on)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_across(value: float, ctx: DistContext) -> float:
    """The mean of a float over all ranks (the same on each)."""
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64,
                     device=ctx.device if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def teardown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
