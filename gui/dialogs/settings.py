"""Settings dialog: what users tune — review threshold, point size, confidence and box colours."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.item_models.keypoints import LEGEND as CONFIDENCE_LEGEND
from gui.views.style import OverlayStyle, Rgb
from model.annotations.review import DEFAULT_THRESHOLD, ReviewPolicy

COLOR_FIELDS = (
    ("low_color", "Low confidence"),
    ("high_color", "High confidence"),
    ("box_color", "Instance box"),
    ("selected_color", "Selection"),
)


class ColorButton(QPushButton):
    """A button showing a colour; clicking opens a colour picker (`changed` when one is chosen)."""

    changed = Signal(tuple)

    def __init__(self, rgb: Rgb, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_rgb(rgb)
        self.clicked.connect(self._pick)

    def set_rgb(self, rgb: Rgb) -> None:
        self.rgb = tuple(int(c) for c in rgb)
        r, g, b = self.rgb
        self.setText(f"#{r:02x}{g:02x}{b:02x}")
        self.setStyleSheet(f"background-color: rgb({r}, {g}, {b})")

    def _pick(self) -> None:
        color = QColorDialog.getColor(QColor(*self.rgb), self, "Choose a colour")
        if color.isValid():
            self.set_rgb((color.red(), color.green(), color.blue()))
            self.changed.emit(self.rgb)


class SettingsDialog(QDialog):
    """Edits an OverlayStyle and the review threshold; `style()` and `review()` are the results.
    'Keyboard Shortcuts…' emits shortcuts_requested."""

    shortcuts_requested = Signal()

    def __init__(self, style: OverlayStyle, parent: QWidget | None = None, keep_zoom: bool = True,
                 review: ReviewPolicy | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._base = style
        self.threshold = QDoubleSpinBox(objectName="threshold")
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue((review or ReviewPolicy()).threshold)
        self.point_size = QSpinBox(objectName="point_size")
        self.point_size.setRange(4, 40)
        self.point_size.setValue(style.point_size)
        form = QFormLayout()
        form.addRow("Review threshold (confidence):", self.threshold)
        self.threshold.setToolTip(CONFIDENCE_LEGEND)
        form.addRow("Point size (pixels):", self.point_size)
        self.keep_zoom_check = QCheckBox("Keep the zoom between images of the same size",
                                         objectName="keep_zoom")
        self.keep_zoom_check.setChecked(keep_zoom)
        form.addRow("", self.keep_zoom_check)
        self.shortcuts_button = QPushButton("Keyboard Shortcuts…", objectName="edit_shortcuts")
        self.shortcuts_button.clicked.connect(self.shortcuts_requested)
        form.addRow("Shortcuts:", self.shortcuts_button)
        self.colors: dict[str, ColorButton] = {}
        for name, label in COLOR_FIELDS:
            button = ColorButton(getattr(style, name))
            button.setObjectName(name)
            self.colors[name] = button
            form.addRow(label + ":", button)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def keep_zoom(self) -> bool:
        return self.keep_zoom_check.isChecked()

    def style(self) -> OverlayStyle:
        colors = {name: button.rgb for name, button in self.colors.items()}
        return replace(self._base, point_size=int(self.point_size.value()), **colors)

    def review(self) -> ReviewPolicy:
        return ReviewPolicy(float(self.threshold.value()))

    def _defaults(self) -> None:
        d = OverlayStyle()
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.point_size.setValue(d.point_size)
        self.keep_zoom_check.setChecked(True)
        for name, button in self.colors.items():
            button.set_rgb(getattr(d, name))
