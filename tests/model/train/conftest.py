"""Fixtures of the training tests: one torch thread, the in-repo openfield frames as TrainItems, a tiny
run helper that records the progress events."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from model.train.config import ArchOptions, TrainConfig
from model.train.data import items_from_coco
from model.train.loop import StopFlag, Trainer
from model.train.progress import Progress


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every training test runs on one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def mouse12(openfield: Path):
    """(skeleton, 12 TrainItems) of the in-repo openfield frames."""
    return items_from_coco(openfield / "annotations.json", openfield / "images")


def tiny(out: Path, **kw) -> TrainConfig:
    base = TrainConfig(out_dir=out, epochs=2, batch_size=4, lr=2e-3, warmup_steps=1, val_fraction=0.0,
                       seed=0, device="cpu", workers=0, arch=ArchOptions(1, 1, 8, 64))
    return replace(base, **kw)


class Recorder(Progress):
    """Keeps every event; `hook(event, fields)` runs after each one (to stop or 'kill' a run)."""

    def __init__(self, hook=None) -> None:
        super().__init__(enabled=True, out=io.StringIO(), err=io.StringIO(), bar=False)
        self.hook = hook
        self.events: list[dict] = []

    def emit(self, event: str, **fields) -> None:
        super().emit(event, **fields)
        self.events.append(json.loads(self.out.getvalue().splitlines()[-1]))
        if self.hook is not None:
            self.hook(event, fields)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]


def run(cfg: TrainConfig, skeleton, items, val=(), hook=None):
    """(trainer, result, recorder) of one run."""
    rec = Recorder(hook)
    trainer = Trainer(cfg, skeleton, list(items), list(val), progress=rec, stop=StopFlag())
    return trainer, trainer.run(), rec
