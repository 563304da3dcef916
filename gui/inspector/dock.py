"""The heatmap inspector dock: the S stacks of one keypoint (or one stack's K keypoints), overlay controls.

The dock owns only view state (which keypoint, stack, mode, overlay settings). It emits the user's
choices; the InspectorController turns them into canvas selection, overlay and edits.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.inspector.heatmap_grid import HeatmapGrid
from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction
from model.inspect.render import COLORMAPS, DEFAULT_COLORMAP

MODE_STACKS, MODE_KEYPOINTS = "stacks", "keypoints"
SOURCE_KEYPOINT, SOURCE_MAX = "keypoint", "max"


class HeatmapDock(QDockWidget):
    """Per-stack heatmaps of the selected instance with a shared colour bar and overlay controls."""

    keypoint_selected = Signal(int)
    stack_selected = Signal(int)
    overlay_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Heatmaps", parent)
        self.setObjectName("heatmap_dock")
        self._pred: Prediction | None = None
        self._skeleton: Skeleton | None = None
        self._keypoint, self._stack = 0, 0
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._build_selectors())
        layout.addLayout(self._build_overlay_controls())
        self.grid = HeatmapGrid()
        self.grid.setMinimumSize(240, 200)
        layout.addWidget(self.grid, 1)
        self.readout = QLabel(" ")
        self.readout.setObjectName("heatmap_readout")
        self.uncertainty = QLabel(" ")
        self.uncertainty.setObjectName("heatmap_uncertainty")
        self.uncertainty.setWordWrap(True)
        layout.addWidget(self.readout)
        layout.addWidget(self.uncertainty)
        layout.addLayout(self._build_list_controls())
        self.setWidget(body)
        self.grid.hovered.connect(lambda text: self.readout.setText(text or " "))
        self.grid.cell_clicked.connect(self._on_cell_clicked)

    def _build_selectors(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Stacks of keypoint", MODE_STACKS)
        self.mode_combo.addItem("Keypoints of stack", MODE_KEYPOINTS)
        self.keypoint_combo = QComboBox()
        self.stack_spin = QSpinBox()
        self.stack_spin.setPrefix("stack ")
        self.stack_spin.setMinimum(1)
        for w in (self.mode_combo, self.keypoint_combo, self.stack_spin):
            row.addWidget(w)
        self.mode_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.keypoint_combo.currentIndexChanged.connect(self._on_keypoint_combo)
        self.stack_spin.valueChanged.connect(self._on_stack_spin)
        return row

    def _build_overlay_controls(self) -> QVBoxLayout:
        self.overlay_check = QCheckBox("Overlay on image")
        self.source_combo = QComboBox()
        self.source_combo.addItem("keypoint", SOURCE_KEYPOINT)
        self.source_combo.addItem("max of all", SOURCE_MAX)
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(list(COLORMAPS))
        self.cmap_combo.setCurrentText(DEFAULT_COLORMAP)
        self.path_check = QCheckBox("Peak path")
        self.path_check.setChecked(True)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(60)
        self.opacity_slider.setToolTip("Overlay opacity")
        rows = QVBoxLayout()
        top, bottom = QHBoxLayout(), QHBoxLayout()
        for w in (self.overlay_check, self.source_combo, self.cmap_combo):
            top.addWidget(w)
        bottom.addWidget(QLabel("Opacity"))
        bottom.addWidget(self.opacity_slider, 1)
        bottom.addWidget(self.path_check)
        rows.addLayout(top)
        rows.addLayout(bottom)
        for signal in (self.overlay_check.toggled, self.source_combo.currentIndexChanged,
                       self.opacity_slider.valueChanged, self.path_check.toggled):
            signal.connect(lambda *_: self.overlay_changed.emit())
        self.cmap_combo.currentTextChanged.connect(self._on_cmap)
        return rows

    def _build_list_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.sort_check = QCheckBox("Sort images by uncertainty")
        self.only_uncertain_check = QCheckBox("Only uncertain")
        self.only_uncertain_check.setToolTip("Images whose worst keypoint score is above 1")
        self.only_picked_check = QCheckBox("Only picked frames")
        self.only_picked_check.setToolTip("Video frames chosen to label (Video → Pick Frames…)")
        row.addWidget(self.sort_check)
        row.addWidget(self.only_uncertain_check)
        row.addWidget(self.only_picked_check)
        row.addStretch(1)
        return row

    # ---- state -------------------------------------------------------------------------------
    @property
    def keypoint(self) -> int:
        return self._keypoint

    @property
    def stack(self) -> int:
        return self._stack

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    @property
    def prediction(self) -> Prediction | None:
        return self._pred

    @property
    def overlay_enabled(self) -> bool:
        return self.overlay_check.isChecked()

    @property
    def overlay_source(self) -> str:
        return self.source_combo.currentData()

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    @property
    def colormap(self) -> str:
        return self.cmap_combo.currentText()

    @property
    def path_enabled(self) -> bool:
        return self.path_check.isChecked()

    def set_mode(self, mode: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))

    # ---- data in -----------------------------------------------------------------------------
    def set_prediction(self, prediction: Prediction | None, skeleton: Skeleton | None,
                       keypoint: int | None = None, underlay: np.ndarray | None = None) -> None:
        """Show a new prediction (None: nothing to show) at `keypoint` (None: keep the current one);
        the stack is kept where possible, else the final stack is shown. underlay: the (h, w, 3)
        uint8 RGB image crop under the heatmaps, shown faded in the cells."""
        if skeleton is not self._skeleton:
            self._skeleton = skeleton
            self.keypoint_combo.blockSignals(True)
            self.keypoint_combo.clear()
            if skeleton is not None:
                self.keypoint_combo.addItems([f"{i + 1} {n}" for i, n in enumerate(skeleton.keypoints)])
            self.keypoint_combo.blockSignals(False)
            self._keypoint = 0
        new_stacks = None if prediction is None else prediction.stack_heatmaps.shape[0]
        old_stacks = None if self._pred is None else self._pred.stack_heatmaps.shape[0]
        self._pred = prediction
        if new_stacks is not None:
            self.stack_spin.blockSignals(True)
            self.stack_spin.setMaximum(new_stacks)
            if new_stacks != old_stacks:
                self._stack = new_stacks - 1  # the final stack: what the prediction is made of
            self._stack = min(self._stack, new_stacks - 1)
            self.stack_spin.setValue(self._stack + 1)
            self.stack_spin.blockSignals(False)
        names = list(skeleton.keypoints) if skeleton is not None else []
        self.grid.set_prediction(prediction, names, underlay)
        self.set_keypoint(self._keypoint if keypoint is None else keypoint)

    def set_keypoint(self, k: int) -> None:
        """Programmatic selection (e.g. from the canvas); redraws, emits nothing."""
        count = self.keypoint_combo.count()
        self._keypoint = min(max(int(k), 0), max(count - 1, 0))
        self.keypoint_combo.blockSignals(True)
        self.keypoint_combo.setCurrentIndex(self._keypoint if count else -1)
        self.keypoint_combo.blockSignals(False)
        self.redraw()

    def set_stack(self, s: int) -> None:
        self.stack_spin.setValue(int(s) + 1)  # emits through _on_stack_spin when it changes

    def redraw(self) -> None:
        """Re-draw the grid for the current mode, keypoint and stack (the benchmarked path)."""
        pred = self._pred
        if pred is None or self._skeleton is None:
            return
        stacks, count = pred.stack_heatmaps.shape[:2]
        k, s = min(self._keypoint, count - 1), min(self._stack, stacks - 1)
        if self.mode == MODE_STACKS:
            cells = [(i, k) for i in range(stacks)]
        else:
            cells = [(s, j) for j in range(count)]
        self.grid.show_cells(cells, selected=(s, k))

    # ---- user input --------------------------------------------------------------------------
    def _on_keypoint_combo(self, index: int) -> None:
        if index < 0:
            return
        self._keypoint = index
        self.redraw()
        self.keypoint_selected.emit(index)

    def _on_stack_spin(self, value: int) -> None:
        self._stack = value - 1
        self.redraw()
        self.stack_selected.emit(self._stack)

    def _on_cell_clicked(self, s: int, k: int) -> None:
        if s != self._stack:
            self.set_stack(s)
        if k != self._keypoint:
            self.keypoint_combo.setCurrentIndex(k)  # emits keypoint_selected
        else:
            self.redraw()

    def _on_cmap(self, name: str) -> None:
        self.grid.set_colormap(name)
        self.overlay_changed.emit()
