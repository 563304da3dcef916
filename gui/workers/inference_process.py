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
    name = Path(path).name + (" + instance finder" if getattr(predictor, "finder", None) is not None else "")
    return ModelInfo(path, name, predictor.device_name, predictor.precision, predictor.skeleton,
                     cfg.stacks, tuple(cfg.input_size), cfg.features)


def _leave_a_core() -> None:
    """torch gets cores - 1 threads (at least 1), so the window's thread always finds a free core."""
    import torch

    cores = os.cpu_count() or 2
    torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))


def serve(conn) -> None:
    """The child's main loop (target of the spawned process)."""
    from model.infer.predictor import load_predictor  # torch: only in the child
    from model.infer.project_predict import predict_jobs
    from model.infer.tracking import FrameMemory

    with contextlib.suppress(OSError):
        os.nice(CHILD_NICE)
    _leave_a_core()
    predictor = None
    memory = FrameMemory()  # video frames predicted in order: each crop from the previous result
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
                memory = FrameMemory()
                reply = ("loaded", model_info(path, predictor))
            except Exception as exc:  # CheckpointError, ValueError, RuntimeError from torch
                reply = ("load_failed", str(exc))
        elif kind == "predict":
            reply = ("predicted", predict_jobs(predictor, msg[1], memory=memory) if predictor is not None
                     else [(job[0], "no model loaded") for job in msg[1]])
        else:
            reply = ("error", f"unknown request {kind!r}")
        try:
            conn.send(reply)
        except (EOFError, OSError, BrokenPipeError):
            return
