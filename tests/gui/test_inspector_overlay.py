"""The canvas heatmap overlay lights the right image pixels for a rotated, scaled crop (offscreen render)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui.inspector.overlay import HEATMAP_Z, HeatmapOverlay, PeakPath, UncertaintyMarks
from gui.views.canvas import ImageCanvas
from model.codec.transforms import apply_affine, image_to_heatmap_affine, invert_affine
from model.inspect.geometry import rasterise_heatmap

W, H = 200, 160
HOT = (11, 4)  # heatmap cell (u, v)


def crop_h2i(rotation: float) -> np.ndarray:
    """heatmap → image for box (60, 50, 80, 60), 64×64 input, stride 4: 6.25 image px per cell."""
    return invert_affine(image_to_heatmap_affine((60, 50, 80, 60), (64, 64), 4, rotation_deg=rotation))


@pytest.fixture
def canvas(qtbot):
    view = ImageCanvas()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(np.zeros((H, W, 3), np.uint8))
    return view


def lit_image_pixels(canvas) -> np.ndarray:
    """(N, 2) image coordinates of the bright widget pixels of the rendered canvas."""
    QApplication.processEvents()
    grabbed = canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = grabbed.width(), grabbed.height()
    arr = np.frombuffer(grabbed.constBits(), np.uint8, count=grabbed.bytesPerLine() * h)
    arr = arr.reshape(h, grabbed.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    ys, xs = np.nonzero(arr.astype(int).sum(axis=-1) > 500)  # inferno's top colour on a black image
    ratio = canvas.viewport().devicePixelRatioF()
    pts = [canvas.map_widget_to_image(QPointF(x / ratio, y / ratio)) for x, y in zip(xs, ys, strict=True)]
    return np.array([[p.x(), p.y()] for p in pts])


@pytest.mark.parametrize("rotation", [0.0, 35.0, -70.0])
def test_hot_cell_lights_the_image_pixels_it_came_from(canvas, rotation):
    h2i = crop_h2i(rotation)
    heatmap = np.zeros((16, 16), np.float32)
    heatmap[HOT[1], HOT[0]] = 1.0
    overlay = HeatmapOverlay()
    canvas.add_overlay(overlay, HEATMAP_Z)
    overlay.setOpacity(1.0)
    overlay.show_heatmap(heatmap, h2i, vmax=1.0)
    expected = apply_affine(h2i, np.array(HOT, float))
    # the item transform puts the cell centre (u + 0.5, v + 0.5) on the mapped image point
    centre = canvas.view_box.mapFromItemToView(overlay, QPointF(HOT[0] + 0.5, HOT[1] + 0.5))
    assert (centre.x(), centre.y()) == pytest.approx(tuple(expected), abs=1e-6)
    # rendered: the lit screen pixels sit on that image point and cover one cell (6.25² image px)
    lit = lit_image_pixels(canvas)
    assert len(lit) > 0
    assert lit.mean(axis=0) == pytest.approx(expected, abs=0.75)
    assert np.abs(lit - expected).max() <= 6.25 / np.sqrt(2) + 1.0
    # and they are the pixels the Qt-free rasteriser lights
    raster = rasterise_heatmap(heatmap, h2i, (W, H))
    lit_px = {(int(round(x)), int(round(y))) for x, y in lit}
    hot_px = {(int(x), int(y)) for y, x in zip(*np.nonzero(raster > 0.5), strict=True)}
    assert len(lit_px & hot_px) >= 0.6 * len(lit_px)


def test_peak_path_and_marks_sit_at_image_points(canvas):
    path, marks = PeakPath(), UncertaintyMarks()
    canvas.add_overlay(path, 8)
    canvas.add_overlay(marks, 9)
    trail = np.array([[20.0, 30.0], [40.0, 35.0], [45.0, 60.0]])
    path.set_path(trail, (255, 0, 0))
    assert path.points.tolist() == trail.tolist()
    numbers = [c for c in path.childItems() if hasattr(c, "textItem") and c.isVisible()]
    assert sorted(n.textItem.toPlainText() for n in numbers) == ["1", "2", "3"]
    for n in numbers:
        i = int(n.textItem.toPlainText()) - 1
        p = canvas.view_box.mapFromItemToView(path, n.pos())
        assert (p.x(), p.y()) == pytest.approx(tuple(trail[i]))
    path.set_path(trail[:2], (0, 255, 0))
    assert sum(n.isVisible() for n in numbers) == 2
    marks.set_marks(np.array([[10.0, 12.0]]), ["snout: low peak"])
    assert marks.positions.tolist() == [[10.0, 12.0]]
    assert [s.pos().x() for s in marks.points()] == [10.0]
