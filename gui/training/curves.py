"""Live training curves (pyqtgraph): loss per optimiser step, and a validation metric per epoch.

Points are collected as events arrive and drawn at most every `redraw_ms` (redrawing on each step
would load the GUI thread); every step is drawn, none dropped by downsampling.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

# (key in the "val" dict of an epoch event, label, higher is better)
VAL_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("mean_px_error", "Mean keypoint error (px)", False),
    ("PCK@0.1", "PCK@0.1", True),
    ("PCK@0.05", "PCK@0.05", True),
    ("oks_ap", "OKS AP", True),
)
LOSS_PEN = pg.mkPen(70, 140, 230, width=1.2)
EPOCH_BRUSH = pg.mkBrush(240, 150, 40)
VAL_PEN = pg.mkPen(60, 180, 90, width=1.6)


def finite_points(xs: list[float], ys: list[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """(N,) float64 x and y of the points whose y is a finite number (None/NaN/inf left out)."""
    keep = [(x, y) for x, y in zip(xs, ys, strict=True) if isinstance(y, int | float) and math.isfinite(y)]
    if not keep:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(keep, np.float64)
    return arr[:, 0], arr[:, 1]


class TrainCurves(QWidget):
    """Left: training loss per step (line) and per epoch (dots). Right: a validation metric per epoch."""

    def __init__(self, parent: QWidget | None = None, redraw_ms: int = 150) -> None:
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(background="w")
        self.loss_plot.setTitle("Training loss", color="k")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLabel("left", "heatmap MSE")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_plot.addLegend(offset=(-10, 10), labelTextColor="k")
        self.loss_curve = self.loss_plot.plot(pen=LOSS_PEN, name="per step")
        # every step is drawn (no clipping or downsampling: a short run's steps must all show)
        self.epoch_curve = self.loss_plot.plot(pen=None, symbol="o", symbolSize=6, symbolBrush=EPOCH_BRUSH,
                                               symbolPen=None, name="epoch mean")
        self.val_plot = pg.PlotWidget(background="w")
        self.val_plot.setLabel("bottom", "epoch")
        self.val_plot.showGrid(x=True, y=True, alpha=0.2)
        self.val_curve = self.val_plot.plot(pen=VAL_PEN, symbol="o", symbolSize=6,
                                            symbolBrush=VAL_PEN.color())
        self.metric_box = QComboBox()
        for key, label, _higher in VAL_METRICS:
            self.metric_box.addItem(label, key)
        self.metric_box.currentIndexChanged.connect(lambda _i: self.redraw())
        self.best_label = QLabel()
        self._build_layout()
        self._timer = QTimer(self, singleShot=True, interval=redraw_ms)
        self._timer.timeout.connect(self.redraw)
        self.clear()

    def _build_layout(self) -> None:
        right = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(QLabel("Validation:"))
        row.addWidget(self.metric_box, 1)
        right.addLayout(row)
        right.addWidget(self.val_plot, 1)
        right.addWidget(self.best_label)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addLayout(right, 2)

    # ---- data -----------------------------------------------------------------------------------
    def clear(self) -> None:
        self._steps: list[float] = []
        self._losses: list[float | None] = []
        self._epoch_steps: list[float] = []
        self._epoch_losses: list[float | None] = []
        self._epochs: list[float] = []
        self._vals: list[dict] = []
        self.best_label.setText("")
        self.redraw()

    def add_step(self, event: dict) -> None:
        """A "step" event: {"step": int, "loss": float | None, …}."""
        self._steps.append(float(event.get("step", len(self._steps) + 1)))
        self._losses.append(event.get("loss"))
        self._schedule()

    def add_epoch(self, event: dict) -> None:
        """An "epoch" event: {"epoch", "step", "loss", "val": {metric: value}, "best": bool}."""
        self._epoch_steps.append(float(event.get("step", 0)))
        self._epoch_losses.append(event.get("loss"))
        self._epochs.append(float(event.get("epoch", len(self._epochs) + 1)))
        self._vals.append(dict(event.get("val") or {}))
        if event.get("best"):
            self.best_label.setText(f"Best so far: epoch {event.get('epoch')}")
        self._schedule()

    def selected_metric(self) -> str:
        """The validation metric shown (not `metric`: that name is QWidget's paint-device virtual)."""
        return self.metric_box.currentData()

    def loss_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (N,), losses (N,)) float64 received so far (finite losses only)."""
        return finite_points(self._steps, self._losses)

    def val_points(self, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(epochs (M,), values (M,)) float64 of a validation metric (default: the chosen one)."""
        key = metric or self.selected_metric()
        return finite_points(self._epochs, [v.get(key) for v in self._vals])

    # ---- drawing --------------------------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        """Draw every point received so far (also runs by itself shortly after new points)."""
        self._timer.stop()
        self.loss_curve.setData(*finite_points(self._steps, self._losses))
        self.epoch_curve.setData(*finite_points(self._epoch_steps, self._epoch_losses))
        x, y = self.val_points()
        self.val_curve.setData(x, y)
        self.val_plot.setTitle(self.metric_box.currentText() if len(x) or not self._epochs
                               else "Validation (none: no held-out images)", color="k")
