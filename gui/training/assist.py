"""Assist mode: the loop runs by itself. After every N newly done images a time-boxed fine-tune of the
current model runs in the background (a low-priority `hglabel train` child); when it beats the current
model on its validation frames (the trainer's never-worse gate writes best.pt only then) the new model
is loaded and re-predicts only the not-done images no person has touched (model.project.touched): an
image with a person's instance, keypoint or box keeps its whole instance list. One status line says
what happened (how many images were re-predicted, how many touched ones were left). Off by default;
turning it off cancels a run in progress.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.folders import runs_root
from gui.training.options import DataChoice, TrainOptions, new_run_dir, plan_training
from gui.training.repredict import ModelSwap
from gui.training.runner import TrainOutcome, TrainRunner

log = logging.getLogger(__name__)

DEFAULT_EVERY = 10
DEFAULT_MINUTES = 2.0
NICE = 10  # the child trains at low priority: the window's threads come first


class Assist(QObject):
    """Watches the session's done count; `status(text)` reports each run's start and end."""

    status = Signal(str)
    run_finished = Signal(object)  # TrainOutcome

    def __init__(self, session, every: int = DEFAULT_EVERY, minutes: float | None = DEFAULT_MINUTES,
                 hidden: TrainOptions | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.every, self.minutes = int(every), minutes  # minutes None: the hidden options' epochs
        self.hidden = hidden or TrainOptions(threads=1)
        self.runner = TrainRunner(self)
        self.runner.finished.connect(self._on_finished)
        self.enabled = False
        self.swap: ModelSwap | None = None
        self.runs = 0
        self._base_done = 0
        session.progress_changed.connect(self._on_progress)

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        if on:
            self._base_done = self.session.progress()[0]
            self.status.emit(f"Assist on: fine-tunes in the background every {self.every} newly done images")
        else:
            if self.runner.is_running():
                self.runner.cancel()
            self.status.emit("Assist off")

    def busy(self) -> bool:
        return self.runner.is_running() or bool(self.runner.stage) or self.swap is not None

    def _on_progress(self, done: int, _total: int) -> None:
        if self.enabled and not self.busy() and done - self._base_done >= self.every:
            self.start()

    def start(self) -> bool:
        """Start one background fine-tune from the current model on the done images."""
        store, info = self.session.store, self.session.predictions.model_info
        if store is None or info is None:
            self.status.emit("Assist: load a model first")
            return False
        self._base_done = self.session.progress()[0]
        extra = (*self.hidden.extra, "--nice", str(NICE), "--seed", str(self.runs))  # held-out frame rotates
        options = replace(self.hidden, data=DataChoice.DONE, init=Path(info.path), minutes=self.minutes,
                          extra=extra)
        self.runs += 1
        self.runner.start(plan_training(store.path, store.image_root, new_run_dir(runs_root(store)), options))
        budget = f"for {self.minutes:g} min" if self.minutes else f"for {options.epochs} epochs"
        self.status.emit(f"Assist: fine-tuning {info.name} on {self._base_done} done images {budget} "
                         "in the background …")
        return True

    def _on_finished(self, outcome: TrainOutcome) -> None:
        self.run_finished.emit(outcome)
        if outcome.checkpoint is None:
            self.status.emit(f"Assist: {outcome.message}")
            return
        store = self.session.store
        if not self.enabled or store is None or outcome.out_dir.parent != runs_root(store):
            return  # turned off, or another project is open now: the model stays in its run folder
        message = (outcome.done or {}).get("message", "")
        self.swap = ModelSwap(self.session, outcome.checkpoint, self, skip_touched=True)
        swap = self.swap
        self.swap.predicting.connect(lambda n: self._swapped(message, n, swap.touched))
        self.swap.failed.connect(lambda text: self._swap_failed(text))
        self.swap.start()

    def _swapped(self, message: str, images: int, touched: int) -> None:
        self.swap = None
        self.status.emit(f"Assist: {message}; re-predicting {images} images no person touched, "
                         f"left {touched} touched images as they are")

    def _swap_failed(self, text: str) -> None:
        self.swap = None
        self.status.emit(f"Assist: new model not loaded: {text}")
