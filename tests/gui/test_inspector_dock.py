"""The heatmap dock on constructed per-stack outputs: cells, shared scale, hover read-out, clicks, modes."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.inspector.dock import MODE_KEYPOINTS, MODE_STACKS, HeatmapDock
from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction
from model.inspect.render import colormap_lut

S, K, N = 3, 4, 16
H2I = np.array([[4.0, 0.0, 101.5], [0.0, 4.0, 51.5]])
SKELETON = Skeleton("mouse", ("snout", "leftear", "rightear", "tailbase"), flip_pairs=((1, 2),))


def constructed_prediction() -> Prediction:
    """Stack s, keypoint k: one hot cell at (u, v) = (2 + 3k, 1 + 4s) with value 0.2 + 0.3 s."""
    hm = np.zeros((S, K, N, N), np.float32)
    uv = np.zeros((S, K, 2))
    for s in range(S):
        for k in range(K):
            uv[s, k] = (2 + 3 * k, 1 + 4 * s)
            hm[s, k, 1 + 4 * s, 2 + 3 * k] = 0.2 + 0.3 * s
    xy = uv @ H2I[:, :2].T + H2I[:, 2]
    return Prediction(keypoints=xy[-1], confidence=hm[-1].reshape(K, -1).max(1), stack_heatmaps=hm,
                      stack_keypoints=xy, heatmap_to_image=H2I, box=(100.0, 50.0, 64.0, 64.0))


def hover(viewport, point) -> None:
    """A plain mouse move (no button held) delivered to the viewport, independent of earlier tests' state."""
    pos = QPointF(point)
    event = QMouseEvent(QEvent.Type.MouseMove, pos, QPointF(viewport.mapToGlobal(point)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


@pytest.fixture
def dock(qtbot):
    d = HeatmapDock()
    qtbot.addWidget(d)
    d.resize(520, 620)
    d.show()
    qtbot.waitExposed(d)
    d.set_prediction(constructed_prediction(), SKELETON)
    QApplication.processEvents()
    return d


def cell_widget_point(dock, index: int, u: float, v: float):
    """Viewport point over heatmap position (u, v) (continuous, cell centre at u + 0.5) of cell `index`."""
    grid = dock.grid
    x0, y0 = grid._origin(index)
    scene = grid.view.mapViewToScene(QPointF(x0 + u, y0 + v))
    return grid.mapFromScene(scene)


def test_stacks_mode_shows_every_stack_of_the_keypoint_on_one_scale(dock):
    assert dock.mode == MODE_STACKS and dock.stack == S - 1  # the final stack is selected first
    dock.set_keypoint(2)
    assert dock.grid.cells == [(s, 2) for s in range(S)]
    assert dock.grid.levels == (0.0, pytest.approx(0.8))
    lut = colormap_lut(dock.colormap)
    for i in range(S):
        img = dock.grid.cell_image(i)
        hot = np.argwhere(np.any(img != lut[0], axis=-1))
        assert hot.tolist() == [[1 + 4 * i, 2 + 3 * 2]]  # row v, column u of that stack's peak
        value = 0.2 + 0.3 * i
        assert img[1 + 4 * i, 8].tolist() == lut[int(value / 0.8 * 255)].tolist()  # absolute, shared scale


def test_click_selects_stack_and_keypoint_and_hover_reads_out(qtbot, dock):
    picked = []
    dock.keypoint_selected.connect(lambda k: picked.append(("k", k)))
    dock.stack_selected.connect(lambda s: picked.append(("s", s)))
    dock.set_mode(MODE_KEYPOINTS)
    assert dock.grid.cells == [(S - 1, k) for k in range(K)]
    QTest.mouseClick(dock.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cell_widget_point(dock, 3, 8, 8))
    assert dock.keypoint == 3 and ("k", 3) in picked
    dock.set_mode(MODE_STACKS)
    assert dock.grid.cells == [(s, 3) for s in range(S)]
    QTest.mouseClick(dock.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     cell_widget_point(dock, 0, 8, 8))
    assert dock.stack == 0 and ("s", 0) in picked and dock.stack_spin.value() == 1
    # hover over stack 2's peak of keypoint 3: cell centre (u, v) = (11, 5) → image (4·11 + 101.5, 4·5 + 51.5)
    hover(dock.grid.viewport(), cell_widget_point(dock, 1, 11.5, 5.5))
    qtbot.waitUntil(lambda: "stack 2" in dock.readout.text())
    text = dock.readout.text()
    assert "tailbase" in text and "0.500" in text
    x, y = (float(v) for v in re.search(r"x ([\d.]+), y ([\d.]+)", text).groups())
    assert (x, y) == (pytest.approx(145.5, abs=1.5), pytest.approx(71.5, abs=1.5))  # a widget pixel of slack


def test_image_crop_shows_faded_under_the_cells(dock):
    underlay = np.full((N, N, 3), 200, np.uint8)
    dock.set_prediction(constructed_prediction(), SKELETON, keypoint=0, underlay=underlay)
    img = dock.grid.cell_image(S - 1)  # stacks mode: final stack of keypoint 0, hot at (v, u) = (9, 2)
    assert img[0, 0].tolist() == [100, 100, 100]  # zero heatmap: the crop at half brightness
    assert img[9, 2].tolist() == colormap_lut(dock.colormap)[255].tolist()  # the peak hides the crop


def test_colour_map_and_empty_state(dock):
    dock.cmap_combo.setCurrentText("viridis")
    img = dock.grid.cell_image(0)
    assert img[0, 0].tolist() == colormap_lut("viridis")[0].tolist()
    dock.set_prediction(None, SKELETON)
    assert dock.prediction is None
    assert not any(item.isVisible() for item in dock.grid._images)


def test_installed_pyside_does_not_leak_references_to_none(dock):
    """PySide6 6.12.0 dropped a reference to None per void call (Python 3.11 then aborts); pinned out."""
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(2000):
        dock.grid.setVisible(True)
        dock.grid.update()
    assert (sys.getrefcount(None), sys.getrefcount(True)) == pytest.approx(before, abs=50)
