"""Canvas items of the inspector: the heatmap overlay, the numbered per-stack peak path, uncertainty rings.

All items live in image coordinates (the canvas's view box; image pixel centres at integers). The
heatmap overlay is one ImageItem whose QTransform comes from the crop's heatmap_to_image affine
(`model.inspect.geometry.overlay_transform`), so rotated and scaled crops sit exactly where they
came from.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont

from gui.inspector.qt_util import qtransform, rgba_ramp_lut
from model.inspect.geometry import overlay_transform
from model.inspect.render import DEFAULT_COLORMAP

pg.setConfigOptions(imageAxisOrder="row-major")

HEATMAP_Z, PATH_Z, MARKS_Z = 5.0, 8.0, 9.0


class HeatmapOverlay(pg.ImageItem):
    """One heatmap (h, w) drawn over its crop; transparent where the value is ≤ 0."""

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self._cmap = DEFAULT_COLORMAP
        self.setLookupTable(rgba_ramp_lut(self._cmap))
        self.setOpacity(0.6)
        self.hide()

    @property
    def colormap(self) -> str:
        return self._cmap

    def set_colormap(self, name: str) -> None:
        self._cmap = name
        self.setLookupTable(rgba_ramp_lut(name))

    def show_heatmap(self, heatmap: np.ndarray, heatmap_to_image: np.ndarray, vmax: float) -> None:
        """Show a (h, w) float32 heatmap over its crop; values are scaled over [0, vmax]."""
        self.setImage(np.asarray(heatmap, np.float32), autoLevels=False, levels=(0.0, max(vmax, 1e-6)))
        self.setTransform(qtransform(overlay_transform(heatmap_to_image)))
        self.show()


class PeakPath(pg.GraphicsObject):
    """Per-stack peaks of one keypoint as a trail 1 → S: a thin line, small dots, the stack numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(self.GraphicsItemFlag.ItemHasNoContents, True)
        self._line = pg.PlotCurveItem(pen=pg.mkPen(255, 255, 255, 200, width=1.5))
        self._line.setParentItem(self)
        self._dots = pg.ScatterPlotItem(pxMode=True, size=7, pen=pg.mkPen(0, 0, 0, 200), brush=None)
        self._dots.setParentItem(self)
        self._numbers: list[pg.TextItem] = []
        self._font = QFont()
        self._font.setPointSize(8)
        self._font.setBold(True)
        self._points = np.zeros((0, 2))

    def boundingRect(self):  # noqa: N802 (Qt API)
        return self._line.boundingRect()

    def paint(self, *_args) -> None:
        return

    @property
    def points(self) -> np.ndarray:
        """(S, 2) image pixels of the trail, stack 1 first."""
        return self._points.copy()

    def set_path(self, points: np.ndarray, color: tuple[int, int, int]) -> None:
        """points (S, 2) float image px; stack 1 … S, drawn from pale to full `color`."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        self._points = pts
        self._line.setData(pts[:, 0], pts[:, 1])
        count = len(pts)
        brushes = [pg.mkBrush(*color, int(90 + 165 * (i + 1) / max(count, 1))) for i in range(count)]
        self._dots.setData(pts[:, 0], pts[:, 1], brush=brushes)
        while len(self._numbers) < count:
            text = pg.TextItem(color=(255, 255, 255), anchor=(-0.15, 1.0), fill=pg.mkBrush(0, 0, 0, 140))
            text.setFont(self._font)
            text.setParentItem(self)
            self._numbers.append(text)
        for i, text in enumerate(self._numbers):
            text.setVisible(i < count)
            if i < count:
                text.setText(str(i + 1))
                text.setPos(QPointF(*pts[i]))
        self.show()


class UncertaintyMarks(pg.ScatterPlotItem):
    """Dashed-looking orange rings (fixed screen size) around the uncertain keypoints of the image."""

    def __init__(self) -> None:
        super().__init__(pxMode=True, symbol="o", size=24, brush=None,
                         pen=pg.mkPen(QColor(255, 150, 0), width=2.0, style=pg.QtCore.Qt.PenStyle.DashLine))
        self._xy = np.zeros((0, 2))

    @property
    def positions(self) -> np.ndarray:
        """(M, 2) image pixels of the marked keypoints."""
        return self._xy.copy()

    def set_marks(self, xy: np.ndarray, tips: list[str] | None = None) -> None:
        """xy (M, 2) image px of uncertain keypoints; tips are optional per-mark descriptions."""
        self._xy = np.asarray(xy, np.float64).reshape(-1, 2)
        self.setData(self._xy[:, 0], self._xy[:, 1], data=tips if tips is not None else None)
