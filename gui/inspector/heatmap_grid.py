"""The grid of heatmap cells in the dock: reused ImageItems, one shared colour scale and colour bar.

Cells are laid out in view coordinates where one heatmap pixel is one unit, so a cell of a (h, w)
heatmap is the rectangle [x0, x0 + w) × [y0, y0 + h) and array element (v, u) covers
[x0 + u, x0 + u + 1) × [y0 + v, y0 + v + 1). Redraws only swap pre-coloured RGB arrays into reused
items (each cell is coloured once per prediction and colour map through the shared levels), and the
labels are plain QGraphicsSimpleTextItems, which keeps an 8 × 16 model well under 30 ms per redraw.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from model.annotations.types import Prediction
from model.inspect.geometry import image_to_cell
from model.inspect.render import DEFAULT_COLORMAP, colorize, colormap_lut, shared_levels

pg.setConfigOptions(imageAxisOrder="row-major")

Cell = tuple[int, int]  # (stack, keypoint), 0-based
_GAP, _LABEL, _BAR = 0.12, 0.26, 0.14  # fractions of the heatmap size


def best_columns(count: int, width: float, height: float) -> int:
    """Columns that make square cells (with label strip, gaps, colour bar) about largest in width × height."""
    best, best_size = 1, -1.0
    for cols in range(1, max(count, 1) + 1):
        rows = math.ceil(count / cols)
        size = min(width / (cols * (1 + _GAP) + _BAR + 0.55), height / (rows * (1 + _LABEL)))
        if size >= 0.97 * best_size:  # near ties go to more columns: a flatter grid reads better
            best, best_size = cols, max(size, best_size)
    return best


class _Label(QGraphicsSimpleTextItem):
    """A cheap text label of constant screen size anchored at a view point (anchor fractions of its box)."""

    def __init__(self, font: QFont, anchor: tuple[float, float]) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setFont(font)
        self.setBrush(QBrush(QColor(225, 225, 225)))
        self.setZValue(5)
        self._anchor = anchor

    def set_text(self, text: str) -> None:
        if text != self.text():
            self.setText(text)
            box = self.boundingRect()
            self.setTransform(QTransform.fromTranslate(-self._anchor[0] * box.width(),
                                                       -self._anchor[1] * box.height()))


class HeatmapGrid(pg.GraphicsView):
    """Shows a list of (stack, keypoint) heatmaps of one prediction; reports hover and clicks."""

    cell_clicked = Signal(int, int)  # stack, keypoint
    hovered = Signal(str)  # read-out line; '' when the pointer leaves the cells

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=(28, 28, 28))
        self.view = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view.setMouseEnabled(False, False)
        self.setCentralItem(self.view)
        self._font = QFont()
        self._font.setPointSize(8)
        self._images: list[pg.ImageItem] = []
        self._labels: list[_Label] = []
        self._peaks = pg.ScatterPlotItem(pxMode=True, symbol="o", size=13, brush=None,
                                         pen=pg.mkPen(80, 255, 255, 170, width=1.0))
        self._peaks.setZValue(3)
        self.view.addItem(self._peaks)
        self._frame = QGraphicsRectItem()
        pen = QPen(QColor(0, 230, 255), 2.0)
        pen.setCosmetic(True)
        self._frame.setPen(pen)
        self._frame.setZValue(4)
        self.view.addItem(self._frame)
        self._bar = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self._bar)
        self._bar_labels = [self._text(anchor=(0.0, 0.5)) for _ in range(3)]
        self._message = self._text(anchor=(0.5, 0.5))
        self._pred: Prediction | None = None
        self._names: list[str] = []
        self._peak_uv: np.ndarray | None = None  # (S, K, 2) heatmap coordinates of per-stack peaks
        self._levels: tuple[float, float] = (0.0, 1.0)
        self._cmap = DEFAULT_COLORMAP
        self._rgb: dict[Cell, np.ndarray] = {}  # coloured cells of the current prediction and colour map
        self._underlay: np.ndarray | None = None
        self._cells: list[Cell] = []
        self._selected: Cell | None = None
        self._shape: tuple[int, int, int, int] | None = None  # (count, cols, h, w) of the layout
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.set_prediction(None, [])

    # ---- data in -----------------------------------------------------------------------------
    @property
    def levels(self) -> tuple[float, float]:
        """The shared absolute colour scale (min, max) of the current prediction."""
        return self._levels

    @property
    def cells(self) -> list[Cell]:
        return list(self._cells)

    def cell_image(self, index: int) -> np.ndarray:
        """(h, w, 3) uint8 RGB currently shown in displayed cell `index` (for tests)."""
        return self._images[index].image

    def set_prediction(self, prediction: Prediction | None, names: list[str],
                       underlay: np.ndarray | None = None) -> None:
        """New prediction: one colour scale over all its S × K heatmaps; cells are drawn by show_cells.

        underlay: optional (h, w, 3) uint8 RGB crop of the image under the heatmaps (same grid),
        shown darkened where the heatmap is low.
        """
        self._pred, self._names, self._underlay = prediction, list(names), underlay
        self._cells, self._shape, self._rgb = [], None, {}
        self.hovered.emit("")  # a read-out of the previous prediction would be stale
        for item in self._images + self._labels:
            item.hide()
        self._peaks.setData([], [])
        self._frame.hide()
        if prediction is None:
            self._peak_uv = None
            self._bar.hide()
            for label in self._bar_labels:
                label.hide()
            self._message.set_text("No heatmaps — predict this image (P)")
            self._message.show()
            self.view.setRange(QRectF(-50, -10, 100, 20), padding=0)
            return
        self._message.hide()
        self._peak_uv = image_to_cell(prediction.heatmap_to_image, prediction.stack_keypoints)
        self._levels = shared_levels(prediction.stack_heatmaps)
        self._colour_bar()

    def set_colormap(self, name: str) -> None:
        """Re-colour with another map (see model.inspect.render.COLORMAPS); redraws the shown cells."""
        colormap_lut(name)  # validates the name
        self._cmap, self._rgb = name, {}
        if self._pred is not None:
            self._colour_bar()
            selected = self._selected
            self.show_cells(self._cells, selected)

    def _colour_bar(self) -> None:
        lo, hi = self._levels
        ramp = np.linspace(hi, lo, 256, dtype=np.float32)[:, None]
        self._bar.setImage(colorize(ramp, self._levels, colormap_lut(self._cmap)), autoLevels=False,
                           levels=(0, 255))
        for label, value in zip(self._bar_labels, (hi, (hi + lo) / 2, lo), strict=True):
            label.set_text(f"{value:.2f}")

    def _coloured(self, s: int, k: int) -> np.ndarray:
        rgb = self._rgb.get((s, k))
        if rgb is None:
            values = self._pred.stack_heatmaps[s, k]
            rgb = colorize(values, self._levels, colormap_lut(self._cmap))
            if self._underlay is not None and self._underlay.shape[:2] == values.shape:
                weight = np.sqrt(np.clip(values / max(self._levels[1], 1e-6), 0.0, 1.0))[:, :, None]
                mixed = weight * rgb + (1.0 - weight) * 0.5 * self._underlay
                rgb = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
            self._rgb[(s, k)] = rgb
        return rgb

    def show_cells(self, cells: list[Cell], selected: Cell | None = None) -> None:
        """Draw these (stack, keypoint) heatmaps in reading order; frame `selected` if shown."""
        pred = self._pred
        self._selected = selected
        if pred is None:
            return
        _, _, h, w = pred.stack_heatmaps.shape
        cols = best_columns(len(cells), self.width(), self.height())
        if self._shape != (len(cells), cols, h, w):
            self._layout(len(cells), cols, h, w)
        self._cells = list(cells)
        xs, ys = [], []
        for i, (s, k) in enumerate(cells):
            self._images[i].setImage(self._coloured(s, k), autoLevels=False, levels=(0, 255))
            peak = pred.stack_heatmaps[s, k].max()
            self._labels[i].set_text(f"{self._cell_title(s, k)}  {peak:.2f}")
            x0, y0 = self._origin(i)
            xs.append(x0 + self._peak_uv[s, k, 0] + 0.5)
            ys.append(y0 + self._peak_uv[s, k, 1] + 0.5)
        self._peaks.setData(xs, ys)
        if selected in cells:
            x0, y0 = self._origin(cells.index(selected))
            self._frame.setRect(QRectF(x0, y0, w, h))
            self._frame.show()
        else:
            self._frame.hide()

    # ---- layout ------------------------------------------------------------------------------
    def _text(self, anchor: tuple[float, float]) -> _Label:
        item = _Label(self._font, anchor)
        self.view.addItem(item, ignoreBounds=True)
        return item

    def _cell_title(self, s: int, k: int) -> str:
        return f"s{s + 1} · {self._name(k)}"

    def _name(self, k: int) -> str:
        return self._names[k] if k < len(self._names) else f"kp {k + 1}"

    def _origin(self, index: int) -> tuple[float, float]:
        _, cols, h, w = self._shape  # type: ignore[misc]
        r, c = divmod(index, cols)
        return c * w * (1 + _GAP), r * h * (1 + _LABEL) + h * _LABEL

    def _layout(self, count: int, cols: int, h: int, w: int) -> None:
        """Create missing items, place cells, labels and the colour bar; fit the view."""
        self._shape = (count, cols, h, w)
        while len(self._images) < count:
            item = pg.ImageItem(axisOrder="row-major")
            self.view.addItem(item)
            self._images.append(item)
            self._labels.append(self._text(anchor=(0.0, 1.0)))
        for i, (image, label) in enumerate(zip(self._images, self._labels, strict=True)):
            visible = i < count
            image.setVisible(visible)
            label.setVisible(visible)
            if visible:
                x0, y0 = self._origin(i)
                image.setPos(x0, y0)  # one heatmap pixel is one view unit
                label.setPos(x0, y0)
        rows = max(1, math.ceil(count / cols))
        bar_x = cols * w * (1 + _GAP)
        bar_h = rows * h * (1 + _LABEL) - h * _LABEL
        self._bar.setRect(QRectF(bar_x, h * _LABEL, w * _BAR, bar_h))
        self._bar.show()
        for j, label in enumerate(self._bar_labels):
            label.setPos(bar_x + w * _BAR * 1.3, h * _LABEL + bar_h * j / 2)
            label.show()
        self.view.setRange(QRectF(0, 0, bar_x + w * (_BAR + 0.55), rows * h * (1 + _LABEL)), padding=0.02)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if getattr(self, "_pred", None) is not None and self._cells:  # not before __init__ ends
            cols = best_columns(len(self._cells), self.width(), self.height())
            if self._shape is None or self._shape[1] != cols:
                self.show_cells(self._cells, self._selected)

    # ---- pointer -----------------------------------------------------------------------------
    def cell_at(self, view_point: QPointF) -> tuple[int, float, float] | None:
        """(cell index, u, v) under a point in view coordinates (u, v continuous heatmap coords)."""
        if self._shape is None:
            return None
        _, _, h, w = self._shape
        for i in range(len(self._cells)):
            x0, y0 = self._origin(i)
            x, y = view_point.x() - x0, view_point.y() - y0
            if 0 <= x < w and 0 <= y < h:
                return i, x - 0.5, y - 0.5
        return None

    def readout(self, index: int, u: float, v: float) -> str:
        """'stack s · name · value · image x, y' for heatmap point (u, v) of displayed cell `index`."""
        pred = self._pred
        s, k = self._cells[index]
        value = float(pred.stack_heatmaps[s, k, int(round(v)), int(round(u))])
        xy = pred.heatmap_to_image[:, :2] @ (u, v) + pred.heatmap_to_image[:, 2]
        return f"stack {s + 1} · {self._name(k)} · {value:.3f} · x {xy[0]:.1f}, y {xy[1]:.1f}"

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """The read-out clears when the mouse leaves the grid."""
        self.hovered.emit("")
        super().leaveEvent(event)

    def _on_move(self, scene_pos) -> None:
        hit = self.cell_at(self.view.mapSceneToView(scene_pos)) if self._pred is not None else None
        self.hovered.emit("" if hit is None else self.readout(*hit))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._pred is None:
            return
        hit = self.cell_at(self.view.mapSceneToView(event.scenePos()))
        if hit is not None:
            s, k = self._cells[hit[0]]
            self.cell_clicked.emit(s, k)
