"""The image canvas (pyqtgraph): image, zoom (wheel), pan (right or middle drag), fit, box drawing.

Pixel convention (CONTEXT.md): integer coordinates are pixel centres, so the image item covers
[-0.5, W - 0.5] × [-0.5, H - 0.5] and view coordinates are image pixel coordinates. Extra overlay
items (e.g. heatmaps placed with setRect over their crop) go in through add_overlay.

The photo itself is a QGraphicsPixmapItem over a 32-bit QImage prepared by the decode thread:
measured on 1920×1080, painting it costs ~10 ms against ~35–60 ms for pg.ImageItem, which
re-renders its array on every new image.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem

from gui.views.keypoint_layer import KeypointLayer

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

MIN_BOX_PIXELS = 4.0


class CanvasViewBox(pg.ViewBox):
    """A view box where left drag draws a box, a left click is a click, right/middle drag pans."""

    clicked = Signal(float, float)
    box_drawn = Signal(float, float, float, float)

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._band = QGraphicsRectItem()
        pen = QPen(Qt.GlobalColor.cyan, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._band.setPen(pen)
        self._band.setZValue(50)
        self._band.hide()
        self.addItem(self._band, ignoreBounds=True)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(float(p.x()), float(p.y()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph API)
        ev.accept()
        if ev.button() == Qt.MouseButton.LeftButton:
            start = self.mapSceneToView(ev.buttonDownScenePos(Qt.MouseButton.LeftButton))
            end = self.mapSceneToView(ev.scenePos())
            rect = QRectF(QPointF(start), QPointF(end)).normalized()
            if ev.isFinish():
                self._band.hide()
                if rect.width() >= MIN_BOX_PIXELS and rect.height() >= MIN_BOX_PIXELS:
                    self.box_drawn.emit(rect.x(), rect.y(), rect.width(), rect.height())
            else:
                self._band.setRect(rect)
                self._band.show()
            return
        last = self.mapSceneToView(ev.lastScenePos())
        now = self.mapSceneToView(ev.scenePos())
        self.translateBy(x=last.x() - now.x(), y=last.y() - now.y())


class ImageCanvas(pg.GraphicsView):
    """Shows one RGB image and the keypoint layer; reports clicks and drawn boxes in image pixels."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background=(30, 30, 30))
        self.view_box = CanvasViewBox()
        self.setCentralItem(self.view_box)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setOffset(-0.5, -0.5)
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.image_item.setZValue(0)
        self.view_box.addItem(self.image_item)
        self._keep: np.ndarray | None = None
        self.layer = KeypointLayer()
        self.view_box.addItem(self.layer, ignoreBounds=True)
        self._size: tuple[int, int] | None = None
        self._last_size: tuple[int, int] | None = None  # of the last image shown, kept while empty
        self.keep_zoom = True  # the next image of the same size keeps the zoom (else: fit)
        self._overlays: list[QGraphicsItem] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the shown image, None when empty."""
        return self._size

    def set_image(self, image: np.ndarray | None, fit: bool = True) -> None:
        """image: (H, W, 3) uint8 RGB or None to clear (converted here; the app uses set_loaded)."""
        if image is None:
            self.image_item.setPixmap(QPixmap())
            self._size, self._keep = None, None
            return
        bgra = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGRA))
        h, w = bgra.shape[:2]
        self._show(QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32), bgra, fit)

    def set_loaded(self, item, fit: bool = False) -> None:
        """Show a LoadedImage (gui.workers.image_loader): its QImage is ready to paint."""
        self._show(item.qimage, item.bgra, fit)

    def _show(self, qimage: QImage, buffer: np.ndarray, fit: bool) -> None:
        self._keep = buffer  # the QImage shares this memory
        self.image_item.setPixmap(QPixmap.fromImage(qimage))
        size = (qimage.width(), qimage.height())
        changed = self._last_size != size
        self._size = self._last_size = size
        if fit or changed or not self.keep_zoom:
            self.fit()

    def forget_zoom(self) -> None:
        """The next image fits the view whatever its size (a new project)."""
        self._last_size = None

    def fit(self) -> None:
        """Zoom so the whole image is visible."""
        if self._size is None:
            return
        w, h = self._size
        self.view_box.setRange(QRectF(-0.5, -0.5, w, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        """Scale the view about its centre (factor < 1 zooms in)."""
        self.view_box.scaleBy((factor, factor))

    def add_overlay(self, item: QGraphicsItem, z: float = 5.0) -> None:
        """Host an extra item in image coordinates (e.g. a heatmap ImageItem placed with setRect)."""
        item.setZValue(z)
        self.view_box.addItem(item, ignoreBounds=True)
        self._overlays.append(item)

    def remove_overlay(self, item: QGraphicsItem) -> None:
        if item in self._overlays:
            self._overlays.remove(item)
            self.view_box.removeItem(item)

    def map_image_to_widget(self, x: float, y: float) -> QPointF:
        """Image pixel → viewport widget coordinates (for tests and tools)."""
        scene = self.view_box.mapViewToScene(QPointF(x, y))
        return QPointF(self.mapFromScene(scene))

    def map_widget_to_image(self, point: QPoint | QPointF) -> QPointF:
        """Viewport widget coordinates → image pixels."""
        p = point.toPoint() if isinstance(point, QPointF) else point
        return self.view_box.mapSceneToView(self.mapToScene(p))
