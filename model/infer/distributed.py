"""torchrun support for batch prediction: ranks from the environment, a barrier, per-rank partial files.

Each rank predicts jobs[rank::world] and writes its partial file next to the output; after a barrier
(torch.distributed over gloo, which needs no GPU and exchanges no tensors) rank 0 merges the partial
files in the single-process order, writes the final output and deletes them. Files rather than
collectives carry the results, so they are also left for inspection if rank 0 dies while merging.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import torch
import torch.distributed as dist

from model.device import Ranks, resolve_device
from model.infer.jobs import JobOutput
from model.io.atomic import write_json_atomic

log = logging.getLogger(__name__)
T = TypeVar("T")
# Ranks wait at the barrier for the slowest one; a large folder on a slow rank can take hours.
BARRIER_TIMEOUT = datetime.timedelta(hours=48)


def shard(items: Sequence[T], ranks: Ranks) -> list[T]:
    """This rank's share: items[rank::world]."""
    return list(items[ranks.rank :: ranks.world])


def rank_device(device: str, ranks: Ranks) -> str:
    """One GPU per local rank when distributed on CUDA (model.device); otherwise the device as given."""
    if ranks.distributed and device in ("auto", "cuda") and torch.cuda.is_available():
        return str(resolve_device(device, ranks.local_rank))
    return device


def init_group(ranks: Ranks) -> None:
    """Join the torchrun process group (gloo, env:// rendezvous) when distributed."""
    if ranks.distributed and not dist.is_initialized():
        dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)


def barrier_and_leave(ranks: Ranks) -> None:
    """Wait for every rank, then leave the process group."""
    if ranks.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def partial_path(out: Path, rank: int, world: int) -> Path:
    return out.parent / f".{out.name}.rank{rank}-of-{world}.json"


def write_partial(out: Path, ranks: Ranks, output: JobOutput) -> Path:
    path = partial_path(out, ranks.rank, ranks.world)
    write_json_atomic(path, {"results": output.results, "images": output.images, "failures": output.failures})
    return path


def _read_partial(path: Path) -> JobOutput:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return JobOutput(
            results=[(int(o), int(n), dict(e)) for o, n, e in data["results"]],
            images=[(int(o), dict(e)) for o, e in data["images"]],
            failures=[(int(o), str(t)) for o, t in data["failures"]],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"{path}: cannot read a rank's partial results: {exc}") from exc


def gather_on_main(out: Path, ranks: Ranks, output: JobOutput) -> JobOutput | None:
    """Alone: output as it is. Under torchrun: every rank writes its partial file and waits for the
    others; rank 0 gets the merged output (merge_partials), the other ranks None."""
    if not ranks.distributed:
        return output
    write_partial(out, ranks, output)
    barrier_and_leave(ranks)
    return merge_partials(out, ranks.world) if ranks.is_main else None


def merge_partials(out: Path, world: int) -> JobOutput:
    """All ranks' partial files merged in single-process order; the files are deleted afterwards."""
    paths = [partial_path(out, r, world) for r in range(world)]
    merged = JobOutput()
    for path in paths:
        part = _read_partial(path)
        merged.results += part.results
        merged.images += part.images
        merged.failures += part.failures
    merged.results.sort(key=lambda t: (t[0], t[1]))
    merged.images.sort(key=lambda t: t[0])
    merged.failures.sort(key=lambda t: t[0])
    for path in paths:
        path.unlink(missing_ok=True)
    return merged
