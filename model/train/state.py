"""Model initialisation (scratch or --init) and the files of a run: best.pt, last.pt, last.state.pt.

best.pt and last.pt are ordinary hglabel checkpoints (save_checkpoint: config, skeleton with flip
pairs, normalisation, meta). last.state.pt is the resumable unit on its own: the network's weights
and config together with what only training needs (optimiser, grad scaler, position, elapsed time,
baseline), written atomically and BEFORE last.pt, so a kill at any moment leaves a state file that
resumes (last.pt may then be one save older or newer; --resume reads only the state).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from model.annotations.skeleton import Skeleton
from model.codec.spec import HeatmapSpec
from model.errors import HglabelError
from model.infer.checkpoint import SkeletonNeededError, default_heatmap_spec, load_checkpoint
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
    elapsed_s: float = 0.0  # wall clock spent training so far (over resumes)
    total_steps: int = 0  # the plan's step count when it was saved (minutes mode)
    val_round: int = 0  # validation rounds done
    baseline: dict | None = None  # the starting model's validation metrics (fine-tuning)


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
    state = bundle.state_dict
    if tuple(bundle.skeleton.keypoints) != tuple(skeleton.keypoints):
        if not cfg.init_auto:
            check_init_skeleton(cfg.init, bundle.skeleton, skeleton)
        state = {k: v for k, v in state.items() if not k.startswith(("score.", "score_."))}  # new heads
    src = bundle.config
    size = (cfg.arch.input_size,) * 2 if cfg.arch.input_size else src.input_size
    config = HourglassConfig(num_keypoints=k, stacks=src.stacks, blocks=src.blocks, features=src.features,
                             depth=src.depth, input_size=size)
    model = build_hourglass(config)
    fresh = _transfer(model, state)
    if any(name.startswith("score.") for name in fresh):
        zero_heads(model)
    if fresh:
        log.warning("--init %s: %d tensors do not fit and start fresh (%s …)", cfg.init, len(fresh), fresh[0])
    return model, config, bundle.normalization


class InitMismatchError(ValueError):
    """The --init checkpoint's keypoints do not fit the data's skeleton."""


def check_init_skeleton(path: Path, init_skeleton: Skeleton, skeleton: Skeleton) -> None:
    """Refuse an init whose heads have the data's keypoint count but other names or order (its heads
    would be copied and silently mislabel every keypoint); another count gets new heads."""
    if (init_skeleton.num_keypoints == skeleton.num_keypoints
            and tuple(init_skeleton.keypoints) != tuple(skeleton.keypoints)):
        raise InitMismatchError(
            f"--init {path}: its keypoints {list(init_skeleton.keypoints)} do not match the data's "
            f"{list(skeleton.keypoints)} (same count, other names or order); give --init none or a "
            "checkpoint of this skeleton")


def heatmap_spec_for(cfg: TrainConfig, config: HourglassConfig) -> HeatmapSpec:
    """The spec a run trains with: the --init checkpoint's (sigma, padding, decoder) at this run's input
    size, or the defaults for a new network."""
    if cfg.init is None:
        return default_heatmap_spec(config)
    return replace(_load_init(cfg.init).heatmap, input_size=tuple(config.input_size), stride=config.stride)


def fine_tunes(cfg: TrainConfig, skeleton: Skeleton) -> bool:
    """True when the run starts from a checkpoint of the same keypoints (its model is the one to beat)."""
    if cfg.init is None:
        return False
    return tuple(_load_init(cfg.init).skeleton.keypoints) == tuple(skeleton.keypoints)


def _load_init(path: Path):
    """The --init checkpoint; files without a skeleton (pytorch-pose) are read as MPII (16 keypoints)."""
    try:
        return load_checkpoint(path)
    except SkeletonNeededError:
        return load_checkpoint(path, "mpii16")


def save_state(path: Path, model: nn.Module, config: HourglassConfig, optimizer: torch.optim.Optimizer,
               scaler_state: dict, pos: Position) -> None:
    """Write last.state.pt atomically: weights, config, optimiser, scaler and position in ONE file
    (plain tensors and numbers only, so weights_only loading works)."""
    payload = {"step": pos.step, "epoch": pos.epoch, "batch_in_epoch": pos.batch_in_epoch,
               "best_value": pos.best_value, "best_epoch": pos.best_epoch, "elapsed_s": pos.elapsed_s,
               "total_steps": pos.total_steps, "val_round": pos.val_round,
               "baseline": dict(pos.baseline) if pos.baseline else None,
               "config": config.to_dict(),
               "model": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
               "optimizer": optimizer.state_dict(), "scaler": scaler_state}
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as handle:
        torch.save(payload, handle)


def load_resume(out_dir: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                config: HourglassConfig) -> tuple[Position, dict]:
    """Load last.state.pt (weights into `model`, optimiser state); returns (position, scaler state)."""
    state_path = out_dir / STATE
    if not state_path.is_file():
        raise ResumeError(f"{out_dir}: nothing to resume (needs {STATE} from an earlier run)")
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ResumeError(f"{state_path}: not a readable training state: {exc}") from exc
    if not isinstance(state, dict) or "model" not in state:
        raise ResumeError(f"{state_path}: not a training state of this version (no weights inside); "
                          "start a new run with --overwrite")
    if state.get("config") != config.to_dict():
        raise ResumeError(f"{state_path}: was trained as {state.get('config')}, this run is "
                          f"{config.to_dict()}; give the same network options as the first run")
    try:
        model.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ResumeError(f"{state_path}: does not fit this network: {exc}") from exc
    pos = Position(int(state["step"]), int(state["epoch"]), int(state["batch_in_epoch"]),
                   float(state["best_value"]), int(state["best_epoch"]), float(state.get("elapsed_s", 0.0)),
                   int(state.get("total_steps", 0)), int(state.get("val_round", 0)), state.get("baseline"))
    return pos, dict(state.get("scaler") or {})
