"""What the Train dialog asks for, and the `hglabel` command lines that carry it out (no Qt).

A run is one or two commands of `python -m model` (the headless CLI): with "done images only"
the project's done images are first exported to a COCO file in the run folder (`hglabel export`,
done images by default), then `hglabel train` reads that file; with "all confirmed labels" the
project itself is the training data (done images plus keypoints a person set on other images).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import model

REPO_ROOT = Path(model.__file__).resolve().parents[1]  # where `python -m model` finds the package
EXPORT_NAME = "train_data.coco.json"


class DataChoice(StrEnum):
    DONE = "done"  # images marked done, every keypoint on them as stored
    CONFIRMED = "confirmed"  # done images + keypoints a person set on images not yet done


@dataclass(frozen=True)
class TrainOptions:
    """One training run. `init` None means a fresh network; stacks/features/input_size/batch_size None
    leave the choice to the trainer's plan (device and instance sizes). `minutes` runs by the clock
    (the default); None runs `epochs` instead."""

    data: DataChoice = DataChoice.DONE
    init: Path | None = None
    stacks: int | None = None
    features: int | None = None
    input_size: int | None = None
    minutes: float | None = 5.0
    epochs: int = 30
    batch_size: int | None = None
    val_fraction: float = 0.2
    device: str = "auto"
    threads: int = 0  # CPU threads of the training process (0: the trainer's choice)
    workers: int = -1  # data loader processes (-1: the CLI's choice)
    extra: tuple[str, ...] = ()  # further `hglabel train` flags, passed as given

    def __post_init__(self) -> None:
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"time budget must be positive, got {self.minutes} minutes")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 2:
            raise ValueError(f"batch size must be at least 2, got {self.batch_size}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"validation share must be in [0, 1), got {self.val_fraction}")
        bad = ((self.stacks is not None and self.stacks < 1)
               or (self.features is not None and self.features < 1)
               or (self.input_size is not None and (self.input_size < 64 or self.input_size % 64)))
        if self.init is None and bad:
            raise ValueError(f"fresh network needs stacks ≥ 1, features ≥ 1 and an input size that is a "
                             f"multiple of 64, got {self.stacks}, {self.features}, {self.input_size}")


@dataclass(frozen=True)
class TrainPlan:
    """The commands of one run, in order: arguments after `python -m model`."""

    out_dir: Path
    commands: tuple[tuple[str, ...], ...]
    project: Path

    @property
    def train_command(self) -> tuple[str, ...]:
        return self.commands[-1]


def model_program() -> tuple[str, list[str]]:
    """(program, leading arguments) that run the headless CLI: this Python with `-m model`."""
    return sys.executable, ["-m", "model"]


def new_run_dir(models_folder: Path, now: datetime | None = None) -> Path:
    """<models folder>/<YYYYmmdd-HHMMSS>, with -2, -3 … appended if that folder exists
    (models_folder: gui.folders.runs_root(store))."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(models_folder) / stamp
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{stamp}-{n}")
    return path


def train_flags(options: TrainOptions) -> list[str]:
    """The `hglabel train` flags for options (data, --out and --images excluded)."""
    budget = (["--minutes", repr(float(options.minutes))] if options.minutes
              else ["--epochs", str(options.epochs)])
    flags = [*budget, "--val-fraction", repr(float(options.val_fraction)), "--device", options.device]
    if options.batch_size is not None:
        flags += ["--batch-size", str(options.batch_size)]
    if options.init is not None:
        flags += ["--init", str(options.init)]
    else:
        flags += ["--init", "none"]
        for flag, value in (("--stacks", options.stacks), ("--features", options.features),
                            ("--input-size", options.input_size)):
            if value is not None:
                flags += [flag, str(value)]
    if options.threads > 0:
        flags += ["--threads", str(options.threads)]
    if options.workers >= 0:
        flags += ["--workers", str(options.workers)]
    return flags + list(options.extra)


def plan_training(project_file: Path, image_root: Path, out_dir: Path, options: TrainOptions) -> TrainPlan:
    """The command lines of a run on the project at project_file writing into out_dir."""
    project_file, image_root, out_dir = Path(project_file), Path(image_root), Path(out_dir)
    flags = ["--out", str(out_dir), *train_flags(options)]
    if options.data == DataChoice.DONE:
        coco = out_dir / EXPORT_NAME
        commands = (("export", str(project_file), "--out", str(coco)),
                    ("train", str(coco), "--images", str(image_root), *flags))
    else:
        commands = (("train", str(project_file), *flags),)
    return TrainPlan(out_dir, commands, project_file)
