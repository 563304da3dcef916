"""The one device and rank helper: where this process stands in a torchrun job and which device it uses.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; `ranks_from_env` reads and checks them (rank 0 of 1
when unset). `resolve_device` turns auto/cpu/cuda/cuda:N into a torch.device: auto and cuda take
this process's local GPU (LOCAL_RANK modulo the GPUs) when CUDA is present; cuda without CUDA is an
error. Prediction, training and the window's inference process all ask here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def ranks_from_env(env: Mapping[str, str] | None = None) -> Ranks:
    """RANK, WORLD_SIZE and LOCAL_RANK as torchrun sets them; ValueError if they are inconsistent."""
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise ValueError(f"RANK/WORLD_SIZE/LOCAL_RANK must be integers: {exc}") from exc
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ValueError(
            f"inconsistent torchrun environment: RANK={rank} WORLD_SIZE={world} LOCAL_RANK={local}"
        )
    return Ranks(rank, world, local)


def resolve_device(device: str | torch.device = "auto", local_rank: int = 0) -> torch.device:
    """'auto' → CUDA (GPU local_rank % count) when available, else CPU; 'cuda' likewise but an error
    without CUDA; 'cpu' and 'cuda:N' as given. ValueError for anything else."""
    text = str(device)
    if text in ("auto", "cuda"):
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if text == "cuda":
            raise ValueError("device 'cuda' requested but CUDA is not available here")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r} (use auto, cpu or cuda)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {text!r} requested but CUDA is not available here")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {text!r} (use auto, cpu or cuda)")
    return dev


def describe_device(device: torch.device) -> str:
    """'cpu', or 'cuda:N (GPU name)' for the status bar and logs."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return "cpu"
