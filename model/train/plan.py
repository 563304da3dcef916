"""Planning a time-budgeted run: network/input size from the device and the data, steps from the clock.

`choose_arch` picks stacks/features/input size when the user gives none (a CPU gets a small network
and input, a GPU a larger one; the input follows the instances' size) and says why in words.
`Budget` turns `--minutes` into optimiser steps: it measures the step time during the first seconds,
then fits the total step count (and so the warm-up + cosine schedule) to the time left, and refits
it at every validation so that a load change on a shared machine still ends the run on time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def demo_checkpoint() -> Path | None:
    """The bundled demo model, found through the installed package (model.assets), or None without it."""
    from model.assets import DemoMissingError, demo_dir

    try:
        return demo_dir() / "checkpoint.pt"
    except DemoMissingError:
        return None


PROBE_S = 8.0  # seconds of steps measured before the step count is fitted
PROBE_MIN_STEPS = 3  # the first step is slow (allocation, caches): time at least this many
PROBE_WARMUP = 20  # warm-up length assumed while the step time is measured (refitted after)
MIN_PLANNED_STEPS = 20  # fewer optimiser steps than this would not make a useful model
CPU_ARCH = (2, 64)  # stacks, features: the demo model's shape (~1 s per batch of 8 at 128 px on 2 cores)
GPU_ARCH = (2, 128)


class PlanError(ValueError):
    """A run cannot be planned usefully (budget too short, too few frames); one line for the user."""


@dataclass(frozen=True)
class ArchChoice:
    stacks: int
    blocks: int
    features: int
    input_size: int
    reason: str


def median_instance_side(boxes: np.ndarray) -> float:
    """Median of max(w, h) over boxes (N, 4) [x, y, w, h]; 0 when there are none."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return float(np.median(np.maximum(boxes[:, 2], boxes[:, 3]))) if len(boxes) else 0.0


def input_for(device_type: str, side: float) -> int:
    """Square input side (multiple of 64): on a CPU 128 (64 for instances under ~64 px), on a GPU
    up to 256 following the instance size."""
    if device_type == "cuda":
        return 256 if side >= 160 or side == 0 else 128
    return 64 if 0 < side < 64 else 128


def choose_arch(device_type: str, boxes: np.ndarray, stacks: int | None, blocks: int | None,
                features: int | None, input_size: int | None, init_features: int | None) -> ArchChoice:
    """The network for a run. Given values are kept; missing ones come from the device (CPU: the demo
    model's 2 stacks × 64 features; GPU: 2 × 128), or from the init checkpoint's width when it
    starts from one (`init_features`), and the input from the instances' median size."""
    side = median_instance_side(boxes)
    base_stacks, base_features = GPU_ARCH if device_type == "cuda" else CPU_ARCH
    if init_features is not None:
        base_features = init_features
    size = input_size or input_for(device_type, side)
    parts = [f"{'GPU' if device_type == 'cuda' else 'CPU'}"]
    if features is None and init_features is not None:
        parts.append(f"{init_features} features to reuse the starting weights")
    elif features is None:
        parts.append(f"{base_features} features for this device")
    if input_size is None:
        parts.append(f"{size} px input for instances of median side {side:.0f} px")
    choice = ArchChoice(stacks or base_stacks, blocks or 1, features or base_features, size, "; ".join(parts))
    return choice


def warmup_for(total_steps: int, finetune: bool) -> int:
    """Warm-up steps: 10 % of the run when fine-tuning (at least 10), 5 % from scratch (at least 5)."""
    share, floor = (0.10, 10) if finetune else (0.05, 5)
    return max(floor, int(round(share * total_steps)))


class Budget:
    """Optimiser steps that fit `seconds` of wall clock; `elapsed_before` is time spent by earlier runs
    of the same (resumed) training."""

    def __init__(self, seconds: float, elapsed_before: float = 0.0, probe_s: float = PROBE_S) -> None:
        if not (math.isfinite(seconds) and seconds > 0):
            raise PlanError(f"--minutes must be a positive number, got {seconds / 60:g}")
        self.seconds = float(seconds)
        self.elapsed_before = float(elapsed_before)
        self.probe_s = min(probe_s, 0.1 * seconds)
        self._t0 = time.monotonic()
        self._steps: list[tuple[int, float]] = []  # (step, monotonic time after it)
        self.fitted = False
        self.reserve_s = 0.0  # time kept for the final validation and writing checkpoints

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self._t0

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def record(self, step: int) -> None:
        self._steps.append((step, time.monotonic()))
        del self._steps[:-50]

    def step_time(self) -> float:
        """Seconds per step over the recent steps (the first one, slow, left out when others exist)."""
        pts = self._steps[1:] if len(self._steps) > 2 else self._steps
        if len(pts) < 2:
            return float("inf")
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])

    def probe_done(self) -> bool:
        return len(self._steps) >= PROBE_MIN_STEPS + 1 and time.monotonic() - self._t0 >= self.probe_s

    def fit(self, steps_done: int, overhead_s: float = 0.0) -> int:
        """Total steps of the run: those done plus what the time left (less the reserve and the expected
        `overhead_s` of validations to come) allows at the measured step time."""
        self.fitted = True
        per_step = self.step_time()
        usable = self.left() - self.reserve_s - overhead_s
        more = int(usable / per_step) if math.isfinite(per_step) and per_step > 0 else 0
        return steps_done + max(0, more)
