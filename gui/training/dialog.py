"""Model → Train: choose data and start point, run `hglabel train` in a QProcess, watch the curves, cancel,
and at the end load the new model and re-predict the images not yet done.

Only a completed run whose best.pt beat the starting model is offered: a cancelled run, or one whose
candidates were no better ("kept the current model: 2.1 px vs 7.3 px on 6 validation frames"), is
reported in words and re-predicts nothing.

The dialog is not modal: closing it only hides it, so a long run goes on while the user labels;
Model → Train shows it again. Runs write into <project folder>/models/<timestamp>/.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.folders import runs_root
from gui.training.curves import TrainCurves
from gui.training.form import DataSummary, InstanceCounter, TrainForm, summary_from_session
from gui.training.options import TrainOptions, new_run_dir, plan_training
from gui.training.repredict import ModelSwap, not_done_records
from gui.training.runner import Outcome, TrainOutcome, TrainRunner
from model.annotations.types import ReviewStatus

log = logging.getLogger(__name__)


class TrainDialog(QDialog):
    """Train on the session's project. `runner` and `hidden` options can be given (tests, power users)."""

    def __init__(self, session, parent: QWidget | None = None, runner: TrainRunner | None = None,
                 hidden: TrainOptions | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train the network")
        self.session = session
        self.runner = runner or TrainRunner(self)
        self.runner.setParent(self)
        self.form = TrainForm(hidden, self)
        self.curves = TrainCurves(self)
        self.counter = InstanceCounter(self)
        self.outcome: TrainOutcome | None = None
        self.swap: ModelSwap | None = None
        self.run_project: Path | None = None
        self._generation = 0
        self._total_steps = 0
        self._epochs = 0
        self._minutes: float | None = None
        self._t0 = 0.0
        self._make_widgets()
        self._build_layout()
        self._connect()
        self.refresh()
        self.resize(1000, 680)

    # ---- construction ---------------------------------------------------------------------------
    def _make_widgets(self) -> None:
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel Training")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.progress = QProgressBar()
        self._reset_progress()
        self.status_label = QLabel("Ready")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.offer = QFrame()
        self.offer.setFrameShape(QFrame.Shape.StyledPanel)
        self.offer_label = QLabel()
        self.offer_label.setWordWrap(True)
        self.load_button = QPushButton("Load && Re-predict")
        self.dismiss_button = QPushButton("Not Now")
        self.log_toggle = QToolButton(text="Log", checkable=True)
        self.log_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.log_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(2000)
        self.log_view.setVisible(False)

    def _build_layout(self) -> None:
        offer = QHBoxLayout(self.offer)
        offer.addWidget(self.offer_label, 1)
        offer.addWidget(self.load_button)
        offer.addWidget(self.dismiss_button)
        self.offer.setVisible(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.log_toggle)
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.offer)
        layout.addWidget(self.log_view)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.hide)
        self.load_button.clicked.connect(self.load_new_model)
        self.dismiss_button.clicked.connect(lambda: self.offer.setVisible(False))
        self.log_toggle.toggled.connect(self._show_log)
        self.runner.event.connect(self._on_event)
        self.runner.log_text.connect(self._append_log)
        self.runner.stage_changed.connect(self._on_stage)
        self.runner.finished.connect(self._on_finished)
        self.counter.counted.connect(self._on_counted)
        self.session.project_changed.connect(self._refresh_if_shown)
        self.session.progress_changed.connect(lambda _d, _t: self._refresh_if_shown())
        self.session.predictions.model_changed.connect(lambda _info: self._refresh_if_shown())

    # ---- state from the session -----------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.refresh()
        super().showEvent(event)

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Re-read the data summary and the current model (the run going on, if any, is not touched)."""
        info = self.session.predictions.model_info
        if not self.runner.is_running():
            arch = (info.stacks, info.features, int(info.input_size[0])) if info is not None else None
            self.form.set_current_model(info.path if info is not None else None, arch)
        store = self.session.store
        summary = summary_from_session(self.session)
        self._generation += 1
        if store is None:
            summary = DataSummary(0, 0, 0)
        else:
            done = [r.id for r in self.session.records if r.status == ReviewStatus.DONE]
            self.counter.start(store, done, self._generation)
        self.form.set_summary(summary)
        self._update_buttons()

    def _on_counted(self, generation: int, instances: int) -> None:
        if generation == self._generation and instances >= 0:
            s = summary_from_session(self.session)
            self.form.set_summary(DataSummary(s.done_images, instances, s.in_review_images))
            self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.runner.is_running() or bool(self.runner.stage)
        ready = self.session.store is not None and self.form.has_data()
        self.start_button.setEnabled(ready and not running)
        self.cancel_button.setEnabled(running)
        self.form.setEnabled(not running)

    # ---- run ------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a run with the form's options; False (and a message) when that is not possible."""
        store = self.session.store
        if store is None or self.runner.stage:
            return False
        try:
            options = self.form.options()
        except ValueError as exc:
            self._set_status(str(exc), error=True)
            return False
        plan = plan_training(store.path, store.image_root, new_run_dir(runs_root(store)), options)
        self.run_project, self.outcome = store.path, None
        self.curves.clear()
        self.offer.setVisible(False)
        self._reset_progress()
        self._total_steps, self._epochs, self._t0 = 0, options.epochs, time.monotonic()
        self._minutes = options.minutes
        self.cancel_button.setText("Cancel Training")
        self._append_log(f"Run folder: {plan.out_dir}\n")
        self.runner.start(plan)
        self._update_buttons()
        return True

    def cancel(self) -> None:
        """First click: stop after the current step (last.pt is written). Second click: kill."""
        if not self.runner.is_running():
            return
        again = self.runner.cancelled
        self.runner.cancel()
        self.cancel_button.setText("Kill Now")
        self._set_status("Killing …" if again else "Stopping after the current step …")

    def shutdown(self) -> None:
        """The application is closing: stop a run (blocks until it has written last.pt, at most ~10 s)."""
        self.runner.shutdown()

    def _on_stage(self, stage: str) -> None:
        if stage == "export":
            self._set_status("Exporting the done images …")
        elif stage == "train":
            self._set_status("Starting the trainer …")
        self._update_buttons()

    def _reset_progress(self) -> None:
        """No step count until the trainer says how many (a time-budgeted run knows after measuring)."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")

    def _set_total(self, total: int) -> None:
        self._total_steps = total
        self.progress.setRange(0, max(1, total))
        self.progress.setFormat("%v / %m steps")

    def _on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            self._epochs = int(event.get("train", {}).get("epochs") or self._epochs)
            if event.get("total_steps"):
                self._set_total(int(event["total_steps"]))
            else:
                self.progress.setFormat("measuring the step time …")
            self.progress.setValue(int(event.get("step") or 0))
            self._t0 = time.monotonic()
            self._set_status(f"Training on {event.get('train_instances')} instances "
                             f"({event.get('val_images')} images held out) on {event.get('device')}, "
                             f"batch {event.get('batch_size')}: {event.get('plan') or ''}")
        elif kind in ("plan", "epoch") and event.get("total_steps"):
            self._set_total(int(event["total_steps"]))
        if kind == "step":
            self.curves.add_step(event)
            step = int(event.get("step") or 0)
            self.progress.setValue(min(step, self.progress.maximum()))
            self._set_status(self._step_text(event))
        elif kind == "epoch":
            self.curves.add_epoch(event)

    def _step_text(self, event: dict) -> str:
        step, loss = int(event.get("step") or 0), event.get("loss")
        elapsed = time.monotonic() - self._t0
        loss_text = f"{loss:.3g}" if isinstance(loss, int | float) else "–"
        if self._minutes:
            left = max(0.0, self._minutes * 60 - elapsed)
            total = f" / {self._total_steps}" if self._total_steps else ""
            return f"Step {step}{total} · loss {loss_text} · about {_duration(left)} left"
        eta = elapsed / max(1, step) * max(0, self._total_steps - step)
        return (f"Epoch {int(event.get('epoch', 0)) + 1} / {self._epochs} · step {step} / {self._total_steps}"
                f" · loss {loss_text} · about {_duration(eta)} left")

    def _on_finished(self, outcome: TrainOutcome) -> None:
        self.outcome = outcome
        self.curves.redraw()
        self._update_buttons()
        self.cancel_button.setText("Cancel Training")
        if outcome.status == Outcome.FAILED:
            self._set_status(f"Training failed: {outcome.message}", error=True)
            self.log_toggle.setChecked(True)
        elif outcome.checkpoint is None:
            self._set_status(outcome.message)  # cancelled, or no candidate beat the current model
        else:
            self._set_status(f"{outcome.message} — saved {outcome.checkpoint}")
        if outcome.checkpoint is not None:
            self._offer(outcome)

    # ---- after the run --------------------------------------------------------------------------
    def _offer(self, outcome: TrainOutcome) -> None:
        store = self.session.store
        if store is None or store.path != self.run_project:
            return  # another project is open now: the model stays in its run folder
        todo = len(not_done_records(self.session))
        done = outcome.done or {}
        what = f"{outcome.checkpoint.name} of {outcome.out_dir.name}"
        if outcome.checkpoint.name == "best.pt" and (done.get("best_epoch") or 0) > 0:
            what += f" (best epoch {done.get('best_epoch')})"
        self.offer_label.setText(f"Load the new model {what} and re-predict the {todo} images not yet done?")
        self.offer.setVisible(True)

    def load_new_model(self) -> ModelSwap | None:
        """Load the run's checkpoint into the session and re-predict every image not yet done."""
        if self.outcome is None or self.outcome.checkpoint is None or self.session.store is None:
            return None
        self.offer.setVisible(False)
        self.swap = ModelSwap(self.session, self.outcome.checkpoint, self)
        self.swap.predicting.connect(
            lambda n: self._set_status(f"New model loaded; re-predicting {n} images" if n
                                       else "New model loaded; every image is done"))
        self.swap.failed.connect(lambda text: self._set_status(f"New model not loaded: {text}", error=True))
        self._set_status(f"Loading {self.outcome.checkpoint} …")
        self.swap.start()
        return self.swap

    # ---- small helpers --------------------------------------------------------------------------
    def _set_status(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #b00020;" if error else "")

    def _append_log(self, text: str) -> None:
        self.log_view.moveCursor(self.log_view.textCursor().MoveOperation.End)
        self.log_view.insertPlainText(text)
        self.log_view.ensureCursorVisible()

    def _show_log(self, shown: bool) -> None:
        self.log_view.setVisible(shown)
        self.log_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
