"""The options part of the Train dialog: data, start from the current model or fresh, epochs, batch size.

The done-instance count is read from the store on a background thread (the store is thread-safe),
so opening the dialog never waits on SQLite.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.training.options import DataChoice, TrainOptions
from model.annotations.types import ReviewStatus

DATA_CHOICES = (
    (DataChoice.DONE, "Images marked done"),
    (DataChoice.CONFIRMED, "Done images + keypoints a person set on other images"),
)


@dataclass(frozen=True)
class DataSummary:
    done_images: int
    done_instances: int | None  # None while being counted
    in_review_images: int


class InstanceCounter(QObject):
    """Counts the instances on some images off the GUI thread; `counted(n)` arrives on the GUI thread."""

    counted = Signal(int, int)  # generation, instances

    def start(self, store, image_ids: list[int], generation: int) -> None:
        def work() -> None:
            try:
                n = sum(1 for _ in store.iter_instance_rows(image_ids)) if image_ids else 0
            except Exception:  # the project was closed meanwhile: no count
                n = -1
            self.counted.emit(generation, n)

        threading.Thread(target=work, name="hglabel-train-count", daemon=True).start()


def _spin(low: int, high: int, value: int, step: int = 1, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class TrainForm(QWidget):
    """Widgets for TrainOptions. `hidden` supplies what the form does not show (device, threads, …)."""

    def __init__(self, hidden: TrainOptions | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden = hidden or TrainOptions()
        self.current_checkpoint: Path | None = None
        self.data_box = QComboBox()
        for choice, label in DATA_CHOICES:
            self.data_box.addItem(label, choice)
        self.summary_label = QLabel("Counting …")
        self.from_current = QRadioButton("Current model")
        self.fresh = QRadioButton("Fresh network")
        self.start_group = QButtonGroup(self)
        self.start_group.addButton(self.from_current)
        self.start_group.addButton(self.fresh)
        self.current_label = QLabel()
        self.stacks = _spin(1, 8, self.hidden.stacks)
        self.features = _spin(8, 512, self.hidden.features, step=8)
        self.input_size = _spin(64, 512, self.hidden.input_size, step=64, suffix=" px")
        self.epochs = _spin(1, 10_000, self.hidden.epochs)
        self.batch_size = _spin(2, 512, self.hidden.batch_size)
        self.val_share = QDoubleSpinBox(decimals=0, minimum=0, maximum=50, suffix=" %")
        self.val_share.setValue(round(100 * self.hidden.val_fraction))
        self._summary = DataSummary(0, None, 0)
        self._build()
        self.fresh.toggled.connect(self._update_enabled)
        self.data_box.currentIndexChanged.connect(lambda _i: self._show_summary())
        self.set_current_model(None)

    def _build(self) -> None:
        data = QGroupBox("Data")
        form = QFormLayout(data)
        form.addRow("Train on", self.data_box)
        form.addRow("", self.summary_label)
        start = QGroupBox("Start from")
        lay = QVBoxLayout(start)
        row = QHBoxLayout()
        row.addWidget(self.from_current)
        row.addWidget(self.current_label, 1)
        lay.addLayout(row)
        lay.addWidget(self.fresh)
        arch = QFormLayout()
        arch.addRow("Stacks", self.stacks)
        arch.addRow("Features", self.features)
        arch.addRow("Input size", self.input_size)
        lay.addLayout(arch)
        run = QGroupBox("Training")
        form = QFormLayout(run)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Held out for validation", self.val_share)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data, 3)
        layout.addWidget(start, 2)
        layout.addWidget(run, 2)

    # ---- state ----------------------------------------------------------------------------------
    def set_current_model(self, checkpoint: str | Path | None) -> None:
        """The session's model (None: none loaded, so only a fresh network is possible)."""
        new = Path(checkpoint) if checkpoint else None
        if new == self.current_checkpoint and self.start_group.checkedButton() is not None:
            return  # keep the user's choice
        self.current_checkpoint = new
        has = new is not None
        self.from_current.setEnabled(has)
        self.current_label.setText(self.current_checkpoint.name if has else "(none loaded)")
        self.current_label.setToolTip(str(self.current_checkpoint) if has else "")
        (self.from_current if has else self.fresh).setChecked(True)
        self._update_enabled()

    def _update_enabled(self) -> None:
        fresh = self.fresh.isChecked()
        for box in (self.stacks, self.features, self.input_size):
            box.setEnabled(fresh)

    def set_summary(self, summary: DataSummary) -> None:
        self._summary = summary
        self._show_summary()

    def _show_summary(self) -> None:
        s = self._summary
        inst = "counting instances …" if s.done_instances is None else f"{s.done_instances} instances"
        text = f"{s.done_images} done images, {inst}"
        if self.data_choice() == DataChoice.CONFIRMED:
            text += f"; plus keypoints a person set on up to {s.in_review_images} images in review"
        self.summary_label.setText(text)

    def has_data(self) -> bool:
        s = self._summary
        if self.data_choice() == DataChoice.CONFIRMED:
            return s.done_images + s.in_review_images > 0
        return s.done_images > 0 and s.done_instances != 0

    def data_choice(self) -> DataChoice:
        return DataChoice(self.data_box.currentData())

    def options(self) -> TrainOptions:
        """The chosen options (raises ValueError for an impossible combination)."""
        init = self.current_checkpoint if self.from_current.isChecked() else None
        return replace(self.hidden, data=self.data_choice(), init=init, stacks=self.stacks.value(),
                       features=self.features.value(), input_size=self.input_size.value(),
                       epochs=self.epochs.value(), batch_size=self.batch_size.value(),
                       val_fraction=self.val_share.value() / 100.0)


def summary_from_session(session) -> DataSummary:
    """Image counts known to the session (no store query); instances still to be counted."""
    counts = session.counts()
    return DataSummary(counts[ReviewStatus.DONE], None, counts[ReviewStatus.IN_REVIEW])
