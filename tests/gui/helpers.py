"""Helpers for GUI tests: real mouse events on canvas items, tiny checkpoints, waiting on the window."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from model.annotations.skeleton import Skeleton


def openfield_skeleton(openfield: Path) -> Skeleton:
    data = json.loads((openfield / "annotations.json").read_text())
    return Skeleton.from_coco_category(data["categories"][0])


def make_tiny_checkpoint(path: Path, skeleton: Skeleton) -> Path:
    import torch

    from model.infer.checkpoint import save_checkpoint
    from model.infer.normalization import Normalization
    from model.nn.hourglass import HourglassConfig, build_hourglass

    torch.manual_seed(0)
    config = HourglassConfig(num_keypoints=skeleton.num_keypoints, stacks=2, features=8, input_size=(64, 64))
    return save_checkpoint(path, build_hourglass(config), config, skeleton, Normalization())


def activate(qtbot, window) -> None:
    """Make window the active window, so its keyboard shortcuts fire (offscreen needs asking)."""
    from PySide6.QtWidgets import QApplication

    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def widget_point(canvas, x: float, y: float) -> QPoint:
    """Image pixel → viewport widget coordinates (rounded)."""
    return canvas.map_image_to_widget(x, y).toPoint()


def click_image(canvas, x: float, y: float) -> None:
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     widget_point(canvas, x, y))


def drag(canvas, start: QPoint, end: QPoint, steps: int = 6) -> None:
    """Left-button drag on the canvas viewport from start to end (widget coordinates)."""
    vp = canvas.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, steps + 1):
        p = QPointF(start) + (QPointF(end) - QPointF(start)) * (i / steps)
        QTest.qWait(12)  # pyqtgraph ignores moves closer than 10 ms (mouseRateLimit), as a hand is slower
        QTest.mouseMove(vp, p.toPoint())
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def drag_image(canvas, x0: float, y0: float, x1: float, y1: float) -> None:
    drag(canvas, widget_point(canvas, x0, y0), widget_point(canvas, x1, y1))


def key(widget, key_: Qt.Key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key_, modifiers)


def open_folder(qtbot, window, folder: Path, skeleton: Skeleton | None = None) -> None:
    """Open a folder through the window and wait until its first image is on the canvas."""
    window.open_folder(folder, skeleton)
    qtbot.waitUntil(lambda: window.session.store is not None and window.session.pixels is not None,
                    timeout=15000)
