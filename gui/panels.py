"""Panels: the image list with status filter and counts, the threshold slider, the status bar."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSlider,
    QStatusBar,
    QStyle,
    QStyleOptionProgressBar,
    QVBoxLayout,
    QWidget,
)

from gui.item_models.image_list import IMAGE_ID_ROLE, ImageListModel, StatusFilterModel
from gui.item_models.keypoints import LEGEND as CONFIDENCE_LEGEND
from gui.workers.thumbnails import THUMB_SIZE
from model.annotations.types import ReviewStatus


class ImageListPanel(QWidget):
    """Filter combo, per-status counts and the (virtual) list of images; emits the chosen image id."""

    image_activated = Signal(int)
    filter_changed = Signal(object)  # ReviewStatus | None

    def __init__(self, model: ImageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = StatusFilterModel(self)
        self.proxy.setSourceModel(model)
        self.filter_combo = QComboBox(objectName="status_filter")
        self.filter_combo.addItem("All images", None)
        for status in ReviewStatus:
            self.filter_combo.addItem(status.value.replace("_", " ").capitalize(), status)
        self.filter_combo.currentIndexChanged.connect(self._filter)
        self.counts = QLabel(objectName="status_counts", wordWrap=True)
        self.view = QListView(objectName="image_list")
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE * 3 // 4))
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.clicked.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter_combo)
        layout.addWidget(self.counts)
        layout.addWidget(self.view)

    def _filter(self) -> None:
        status = self.filter_combo.currentData()
        self.proxy.set_status(status)
        self.filter_changed.emit(status)

    def _clicked(self, index: QModelIndex) -> None:
        self.image_activated.emit(int(index.data(IMAGE_ID_ROLE)))

    def set_counts(self, counts: dict[ReviewStatus, int]) -> None:
        total = sum(counts.values())
        parts = [f"{counts[s]} {s.value.replace('_', ' ')}" for s in ReviewStatus if counts[s]]
        self.counts.setText(f"{total} images: " + ", ".join(parts))

    def show_current(self, image_id: int) -> None:
        """Select and scroll to the image's row (if the filter shows it)."""
        row = self.model.row_of(image_id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row))
        if index.isValid():
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index, QListView.ScrollHint.EnsureVisible)
        else:
            self.view.clearSelection()


class ThresholdControl(QWidget):
    """'Review below' slider (confidence 0–1 in hundredths)."""

    changed = Signal(float)

    def __init__(self, value: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="threshold_slider")
        self.slider.setRange(0, 100)
        self.slider.setFixedWidth(160)
        self.label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        caption = QLabel("Review below")
        for widget in (caption, self.slider, self.label):
            widget.setToolTip(CONFIDENCE_LEGEND)
        layout.addWidget(caption)
        layout.addWidget(self.slider)
        layout.addWidget(self.label)
        self.set_value(value)
        self.slider.valueChanged.connect(self._moved)

    def value(self) -> float:
        return self.slider.value() / 100.0

    def set_value(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.slider.blockSignals(False)
        self.label.setText(f"{value:.2f}")

    def _moved(self, v: int) -> None:
        self.label.setText(f"{v / 100:.2f}")
        self.changed.emit(v / 100.0)


class BatchProgress(QWidget):
    """A progress bar that repaints asynchronously (QProgressBar.setValue repaints at once, ~15 ms)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.done, self.total = 0, 1
        self.setFixedSize(220, 18)

    def set_progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), max(int(total), 1)
        self.update()

    def text(self) -> str:
        return f"Predicting {self.done} / {self.total}"

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt API)
        opt = QStyleOptionProgressBar()
        opt.initFrom(self)
        opt.minimum, opt.maximum, opt.progress = 0, self.total, min(self.done, self.total)
        opt.text, opt.textVisible = self.text(), True
        opt.textAlignment = Qt.AlignmentFlag.AlignCenter
        painter = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, self)


class StatusPanel(QStatusBar):
    """Messages on the left; batch progress with Cancel, the image, and device/model on the right."""

    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = BatchProgress()
        self.progress.setObjectName("batch_progress")
        self.cancel = QPushButton("Cancel", objectName="batch_cancel")
        self.cancel.clicked.connect(self.cancel_clicked)
        self.image_label = QLabel(objectName="image_label")
        self.model_label = QLabel("No model", objectName="model_label")
        # a warning that stays until the problem is gone (edits not saved, read-only project, …)
        self.problem_label = QLabel(objectName="problem_label")
        self.problem_label.setStyleSheet("QLabel { color: white; background: #b3261e; padding: 2px 6px; }")
        self.problem_label.hide()
        self.addPermanentWidget(self.problem_label, 1)
        for w in (self.progress, self.cancel):
            self.addPermanentWidget(w)
            w.hide()
        self.addPermanentWidget(self.image_label)
        self.addPermanentWidget(self.model_label)

    def show_problem(self, text: str) -> None:
        """Show text as a persistent warning ("" hides it); the full text is also the tooltip."""
        short = text if len(text) <= 160 else text[:157] + "…"
        self.problem_label.setText(short)
        self.problem_label.setToolTip(text)
        self.problem_label.setVisible(bool(text))

    def show_progress(self, done: int, total: int) -> None:
        self.progress.set_progress(done, total)
        if not self.progress.isVisible():
            self.progress.show()
            self.cancel.show()

    def hide_progress(self) -> None:
        self.progress.hide()
        self.cancel.hide()

    def set_model(self, name: str | None, device: str | None = None, precision: str | None = None) -> None:
        self.model_label.setText("No model" if name is None else f"{name} · {device} · {precision}")
