"""The inference child process: owns torch and the network; reads images; answers over a pipe.

Why a process and not only a thread: the network's Python side (module calls, decoding, crops)
holds the GIL for a good share of every batch, and a GUI thread that waits for the GIL stalls just
like one that waits for torch. In its own process the model can use every core without touching
the window's latency. No Qt here: the module is imported by the spawned child.

Protocol (tuples, pickled by multiprocessing):
  ("load", path, skeleton | None, device[, flip_test])   → ("loaded", ModelInfo) | ("load_failed", message)
  ("predict", [(image_id, path, [(instance_id | None, box | None), …]), …])
      → ("predicted", [(image_id, ((iid, Prediction), …)) or (image_id, message), …])
  ("quit",)                                 → the process ends (also when the pipe closes)
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from model.annotations.skeleton import Skeleton

log = logging.getLogger(__name__)

CHILD_NICE = 5  # the window's threads come first; on an idle machine this costs nothing


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar and the session need to know about the loaded network."""

    path: str
    name: str
    device: str
    precision: str
    skeleton: Skeleton
    stacks: int
    input_size: tuple[int, int]
    features: int = 0


def model_info(path: str, predictor) -> ModelInfo:
    cfg = predictor.config
    return ModelInfo(path, Path(path).name, predictor.device_name, predictor.precision, predictor.skeleton,
                     cfg.stacks, tuple(cfg.input_size), cfg.features)


def predict_jobs(predictor, jobs: list, batch_size: int = 4) -> list:
    """[(image_id, path, [(iid, box | None), …])] → [(image_id, ((iid, Prediction), …) or message)]."""
    from model.io.images import ImageReadError, read_image

    out, items, owners = [], [], []
    for image_id, path, boxes in jobs:
        try:
            image = read_image(path)
        except (ImageReadError, OSError) as exc:
            out.append((image_id, str(exc)))
            continue
        for iid, box in boxes or [(None, None)]:
            items.append((image, box))
            owners.append((image_id, iid))
    if not items:
        return out
    try:
        preds = predictor.predict(items, batch_size=batch_size)
    except Exception as exc:  # a torch error must not kill the process; report it per image
        log.exception("prediction failed")
        failed = dict.fromkeys(image_id for image_id, _ in owners)
        return out + [(image_id, f"prediction failed: {exc}") for image_id in failed]
    grouped: dict[int, list] = {}
    for (image_id, iid), pred in zip(owners, preds, strict=True):
        grouped.setdefault(image_id, []).append((iid, pred))
    return out + [(image_id, tuple(pairs)) for image_id, pairs in grouped.items()]


def _leave_a_core() -> None:
    """torch gets cores - 1 threads (at least 1), so the window's thread always finds a free core."""
    import torch

    cores = os.cpu_count() or 2
    torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))


def serve(conn) -> None:
    """The child's main loop (target of the spawned process)."""
    from model.infer.predictor import load_predictor  # torch: only in the child

    with contextlib.suppress(OSError):
        os.nice(CHILD_NICE)
    _leave_a_core()
    predictor = None
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the window went away (even by SIGKILL): end quietly
        kind = msg[0]
        if kind == "quit":
            return
        if kind == "load":
            _, path, skeleton, device, *options = msg
            try:
                predictor = load_predictor(path, skeleton, device, flip_test=bool(options and options[0]))
                reply = ("loaded", model_info(path, predictor))
            except Exception as exc:  # CheckpointError, ValueError, RuntimeError from torch
                reply = ("load_failed", str(exc))
        elif kind == "predict":
            reply = ("predicted", predict_jobs(predictor, msg[1]) if predictor is not None
                     else [(job[0], "no model loaded") for job in msg[1]])
        else:
            reply = ("error", f"unknown request {kind!r}")
        try:
            conn.send(reply)
        except (EOFError, OSError, BrokenPipeError):
            return
