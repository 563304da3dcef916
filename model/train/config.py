"""Training options (what `hglabel train` accepts) and the learning-rate schedule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from model.train.augment import AugmentConfig

PRECISIONS = ("auto", "fp32", "mixed")


@dataclass(frozen=True)
class ArchOptions:
    """Network shape for a run from scratch (ignored for stacks/blocks/features when --init is given)."""

    stacks: int = 2
    blocks: int = 1
    features: int = 128
    input_size: int | None = None  # None: 256 from scratch, the init checkpoint's size otherwise


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the data."""

    out_dir: Path
    epochs: int | None = 50  # None: run by the clock (`minutes`)
    batch_size: int = 16  # per process
    lr: float = 1e-3
    warmup_steps: int = 50  # epochs mode; the time plan fits its own (plan.warmup_for)
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    workers: int = -1  # -1: 0 on the CPU, 4 with CUDA
    precision: str = "auto"  # auto: mixed (autocast) on CUDA, fp32 on the CPU
    channels_last: bool = True
    init: Path | None = None
    init_auto: bool = False  # init is the default demo model (new heads when keypoints differ)
    arch: ArchOptions = field(default_factory=ArchOptions)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    resume: bool = False
    minutes: float | None = None  # time budget: steps planned from the measured step time
    val_every_s: float | None = None  # minutes mode: validation interval (None: a tenth of the budget)
    save_every_s: float = 120.0  # last.pt + last.state.pt at least this often (a killed run resumes)
    rotate_val: bool = False  # very few images: the one held-out image was chosen by the seed
    plan_note: str = ""  # what was chosen and why (the start event and the first stderr line)

    def __post_init__(self) -> None:
        if self.epochs is None and self.minutes is None:
            raise ValueError("give epochs or minutes")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise ValueError(f"--minutes must be a positive number, got {self.minutes}")
        if self.batch_size < 2:
            raise ValueError(f"batch size must be at least 2 (BatchNorm), got {self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive number, got {self.lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val fraction must be in [0, 1), got {self.val_fraction}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")

    def to_meta(self) -> dict:
        """Plain-data summary for checkpoint meta and the start event."""
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["init"] = str(self.init) if self.init else None
        return data


def lr_at(step: int, total_steps: int, base_lr: float, warmup_steps: int,
          final_fraction: float = 0.01, max_warmup_share: float = 0.1) -> float:
    """Linear warm-up over `warmup_steps` (at most `max_warmup_share` of the run), then cosine decay to
    `final_fraction` × base at `total_steps`."""
    warm = max(1, min(warmup_steps, int(total_steps * max_warmup_share)))
    if step < warm:
        return base_lr * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total_steps - warm))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return base_lr * (final_fraction + (1.0 - final_fraction) * cosine)
