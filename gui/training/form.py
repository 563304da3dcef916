"""The options part of the Train dialog: data, start from the current model or fresh, time budget, batch.

"Current model" shows that model's own stacks, features and input size (they are what the run
trains); a fresh network shows "auto" where the trainer's plan chooses for the device and data.

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


AUTO = 0  # spin value shown as "auto": the trainer plans it


def _spin(low: int, high: int, value: int | None, step: int = 1, suffix: str = "",
          auto: bool = False) -> QSpinBox:
    box = QSpinBox()
    box.setRange(AUTO if auto else low, high)
    box.setSingleStep(step)
    if auto:
        box.setSpecialValueText("auto")
    box.setValue(AUTO if value is None else value)
    box.setSuffix(suffix)
    return box


def _value(box: QSpinBox) -> int | None:
    return None if box.specialValueText() and box.value() == AUTO else box.value()


class TrainForm(QWidget):
    """Widgets for TrainOptions. `hidden` supplies what the form does not show (device, threads, …)."""

    def __init__(self, hidden: TrainOptions | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden = hidden or TrainOptions()
        self.current_checkpoint: Path | None = None
        self.current_arch: tuple[int, int, int] | None = None  # stacks, features, input side of that model
        self._fresh_arch = (self.hidden.stacks, self.hidden.features, self.hidden.input_size)
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
        self.stacks = _spin(1, 8, self.hidden.stacks, auto=True)
        self.features = _spin(8, 512, self.hidden.features, step=8, auto=True)
        self.input_size = _spin(64, 512, self.hidden.input_size, step=64, suffix=" px", auto=True)
        self.minutes = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=24 * 60.0, suffix=" min")
        self.minutes.setSpecialValueText("off: run epochs")
        self.minutes.setValue(self.hidden.minutes or 0.0)
        self.epochs = _spin(1, 10_000, self.hidden.epochs)
        self.batch_size = _spin(2, 512, self.hidden.batch_size, auto=True)
        self.val_share = QDoubleSpinBox(decimals=0, minimum=0, maximum=50, suffix=" %")
        self.val_share.setValue(round(100 * self.hidden.val_fraction))
        self._summary = DataSummary(0, None, 0)
        self._build()
        self.fresh.toggled.connect(self._update_enabled)
        self.minutes.valueChanged.connect(lambda _v: self._update_enabled())
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
        form.addRow("Time budget", self.minutes)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Held out for validation", self.val_share)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data, 3)
        layout.addWidget(start, 2)
        layout.addWidget(run, 2)

    # ---- state ----------------------------------------------------------------------------------
    def set_current_model(self, checkpoint: str | Path | None,
                          arch: tuple[int, int, int] | None = None) -> None:
        """The session's model (None: none loaded, so only a fresh network is possible) and its
        (stacks, features, input side), shown while "Current model" is chosen."""
        new = Path(checkpoint) if checkpoint else None
        self.current_arch = arch if new is not None else None
        if new == self.current_checkpoint and self.start_group.checkedButton() is not None:
            self._update_enabled()
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
        boxes = (self.stacks, self.features, self.input_size)
        if not fresh and self.current_arch is not None:
            if all(box.isEnabled() for box in boxes):  # leaving "fresh": remember what the user typed
                self._fresh_arch = tuple(_value(box) for box in boxes)
            for box, value in zip(boxes, self.current_arch, strict=True):
                box.setValue(value)
        elif fresh and not all(box.isEnabled() for box in boxes):
            for box, value in zip(boxes, self._fresh_arch, strict=True):
                box.setValue(AUTO if value is None else value)
        for box in boxes:
            box.setEnabled(fresh)
        self.epochs.setEnabled(self.minutes.value() == 0)

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
        return replace(self.hidden, data=self.data_choice(), init=init, stacks=_value(self.stacks),
                       features=_value(self.features), input_size=_value(self.input_size),
                       minutes=self.minutes.value() or None, epochs=self.epochs.value(),
                       batch_size=_value(self.batch_size), val_fraction=self.val_share.value() / 100.0)


def summary_from_session(session) -> DataSummary:
    """Image counts known to the session (no store query); instances still to be counted."""
    counts = session.counts()
    return DataSummary(counts[ReviewStatus.DONE], None, counts[ReviewStatus.IN_REVIEW])
