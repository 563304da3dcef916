"""Handles on the selected instance's box: four corners resize it, the bottom-centre square moves it
(the top edge holds the instance's tag).

Dragging shows the new box live; on release the layer reports (instance, x, y, w, h, label) once,
so a move or a resize is one undo step. Handles keep their screen size at any zoom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsRectItem

if TYPE_CHECKING:
    from gui.views.keypoint_layer import KeypointLayer

HANDLE_PX = 9.0
MIN_SIDE = 2.0
CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def handle_point(rect: QRectF, role: str) -> QPointF:
    """Where handle `role` sits on rect (image coordinates)."""
    if role == "move":
        return QPointF(rect.center().x(), rect.bottom())
    x = rect.left() if "left" in role else rect.right()
    y = rect.top() if role.startswith("top") else rect.bottom()
    return QPointF(x, y)


def dragged_rect(rect: QRectF, role: str, start: QPointF, now: QPointF) -> QRectF:
    """rect after dragging handle `role` from start to now (a corner never crosses the opposite one)."""
    if role == "move":
        return rect.translated(now - start)
    left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
    if "left" in role:
        left = min(now.x(), right - MIN_SIDE)
    else:
        right = max(now.x(), left + MIN_SIDE)
    if role.startswith("top"):
        top = min(now.y(), bottom - MIN_SIDE)
    else:
        bottom = max(now.y(), top + MIN_SIDE)
    return QRectF(QPointF(left, top), QPointF(right, bottom))


class BoxHandle(QGraphicsObject):
    """One handle of the box `rect_item` of instance `instance`."""

    def __init__(self, layer: KeypointLayer, instance: int, role: str, rect_item: QGraphicsRectItem,
                 color: QColor) -> None:
        super().__init__(layer)
        self.layer, self.instance, self.role = layer, instance, role
        self.rect_item, self.color = rect_item, color
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setZValue(18)
        shapes = Qt.CursorShape
        diagonal = shapes.SizeFDiagCursor if role in ("top_left", "bottom_right") else shapes.SizeBDiagCursor
        self.setCursor(shapes.SizeAllCursor if role == "move" else diagonal)
        self.setToolTip("Drag to move the box" if role == "move" else "Drag to resize the box")
        self._start: QPointF | None = None
        self._rect0 = QRectF()
        self.setPos(handle_point(rect_item.rect(), role))

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        r = HANDLE_PX / 2 + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        r = HANDLE_PX / 2
        painter.setPen(QPen(QColor(0, 0, 0), 1.0))
        painter.setBrush(QBrush(self.color if self.role != "move" else QColor(255, 255, 255)))
        painter.drawRect(QRectF(-r, -r, 2 * r, 2 * r))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        event.accept()
        self._start = self.layer.mapFromScene(event.scenePos())
        self._rect0 = QRectF(self.rect_item.rect())
        self.layer.box_drag_started(self)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._start is not None:
            now = self.layer.mapFromScene(event.scenePos())
            self._show(dragged_rect(self._rect0, self.role, self._start, now))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._start is None:
            return
        rect = dragged_rect(self._rect0, self.role, self._start, self.layer.mapFromScene(event.scenePos()))
        self._start = None
        self._show(rect)
        changed = rect != self._rect0
        self.layer.box_drag_finished(self.instance, rect if changed else None,
                                     "Move box" if self.role == "move" else "Resize box")

    def _show(self, rect: QRectF) -> None:
        self.rect_item.setRect(rect)
        for item in self.layer.handles_of(self.instance):
            item.setPos(handle_point(rect, item.role))
