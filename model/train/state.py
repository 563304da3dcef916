"""Model initialisation (scratch or --init) and the files of a run: best.pt, last.pt, last.state.pt.

best.pt and last.pt are ordinary hglabel checkpoints (save_checkpoint: config, skeleton with flip
pairs, normalisation, meta). last.state.pt holds what only training needs to continue (optimiser,
grad scaler, position in the run); it names the step of the last.pt it belongs to, and --resume
refuses a pair that does not match.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from model.annotations.skeleton import Skeleton
from model.errors import HglabelError
from model.infer.checkpoint import CheckpointError, SkeletonNeededError, load_checkpoint
from model.infer.normalization import Normalization
from model.io.atomic import replacing
from model.nn.hourglass import HourglassConfig, StackedHourglass, build_hourglass
from model.train.config import TrainConfig

log = logging.getLogger(__name__)

BEST, LAST, STATE = "best.pt", "last.pt", "last.state.pt"
DEFAULT_INPUT = 256


class ResumeError(HglabelError, ValueError):
    """A run cannot be resumed; the message names the file and the problem."""


@dataclass
class Position:
    """Where a run stands: optimiser steps taken, current epoch, batches done within it."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_value: float = float("inf")
    best_epoch: int = -1


def _transfer(model: StackedHourglass, state: dict[str, torch.Tensor]) -> list[str]:
    """Copy every tensor of `state` whose name and shape fit; returns the names left at their init."""
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    model.load_state_dict(fits, strict=False)
    return sorted(set(own) - set(fits))


def zero_heads(model: StackedHourglass) -> None:
    """Start every stack's `score` layer at zero, so the first heatmaps are the all-zero baseline (the
    MSE starts near its 'predict nothing' value instead of a large random-output error)."""
    with torch.no_grad():
        for layer in model.score:
            layer.weight.zero_()
            layer.bias.zero_()


def init_model(cfg: TrainConfig,
               skeleton: Skeleton) -> tuple[StackedHourglass, HourglassConfig, Normalization]:
    """A seeded new network, or one initialised from cfg.init (keypoint heads re-initialised when the
    keypoint count differs, e.g. an MPII model fine-tuned to a new skeleton)."""
    torch.manual_seed(cfg.seed)
    k = skeleton.num_keypoints
    if cfg.init is None:
        size = cfg.arch.input_size or DEFAULT_INPUT
        config = HourglassConfig(num_keypoints=k, stacks=cfg.arch.stacks, blocks=cfg.arch.blocks,
                                 features=cfg.arch.features, input_size=(size, size))
        model = build_hourglass(config)
        zero_heads(model)
        return model, config, Normalization()
    bundle = _load_init(cfg.init)
    src = bundle.config
    size = (cfg.arch.input_size,) * 2 if cfg.arch.input_size else src.input_size
    config = HourglassConfig(num_keypoints=k, stacks=src.stacks, blocks=src.blocks, features=src.features,
                             depth=src.depth, input_size=size)
    model = build_hourglass(config)
    fresh = _transfer(model, bundle.state_dict)
    if any(name.startswith("score.") for name in fresh):
        zero_heads(model)
    if fresh:
        log.warning("--init %s: %d tensors do not fit and start fresh (%s …)", cfg.init, len(fresh), fresh[0])
    return model, config, bundle.normalization


def _load_init(path: Path):
    """The --init checkpoint; files without a skeleton (pytorch-pose) are read as MPII (16 keypoints)."""
    try:
        return load_checkpoint(path)
    except SkeletonNeededError:
        return load_checkpoint(path, "mpii16")


def save_state(path: Path, optimizer: torch.optim.Optimizer, scaler_state: dict, pos: Position) -> None:
    """Write last.state.pt atomically (plain tensors and numbers only, so weights_only loading works)."""
    payload = {"step": pos.step, "epoch": pos.epoch, "batch_in_epoch": pos.batch_in_epoch,
               "best_value": pos.best_value, "best_epoch": pos.best_epoch,
               "optimizer": optimizer.state_dict(), "scaler": scaler_state}
    with replacing(path) as handle:
        torch.save(payload, handle)


def load_resume(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                config: HourglassConfig) -> tuple[Position, dict]:
    """Load last.pt into `model` and last.state.pt into `optimizer`; returns (position, scaler state)."""
    last, state_path = out_dir / LAST, out_dir / STATE
    if not last.is_file() or not state_path.is_file():
        raise ResumeError(f"{out_dir}: nothing to resume (needs {LAST} and {STATE} from an earlier run)")
    try:
        bundle = load_checkpoint(last, expect=config)
    except CheckpointError as exc:
        raise ResumeError(f"cannot resume: {exc}") from exc
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ResumeError(f"{state_path}: not a readable training state: {exc}") from exc
    if not isinstance(state, dict) or state.get("step") != bundle.meta.get("step"):
        raise ResumeError(f"{state_path}: does not belong to {last} (step {state.get('step')!r} vs "
                          f"{bundle.meta.get('step')!r})")
    model.load_state_dict(bundle.state_dict, strict=True)
    optimizer.load_state_dict(state["optimizer"])
    pos = Position(int(state["step"]), int(state["epoch"]), int(state["batch_in_epoch"]),
                   float(state["best_value"]), int(state["best_epoch"]))
    return pos, dict(state.get("scaler") or {})
