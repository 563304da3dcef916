"""Graphics items of one instance: a draggable keypoint, the clickable instance tag, box and edges."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsSimpleTextItem

from gui.views.style import OverlayStyle, qcolor

if TYPE_CHECKING:
    from gui.views.keypoint_layer import KeypointLayer


@dataclass
class PointState:
    """What one keypoint item shows: visibility, confidence, who set it, selection and review flag."""

    vis: int
    confidence: float
    human: bool
    selected: bool = False
    instance_selected: bool = False
    flagged: bool = False  # the review policy flags it (a model keypoint under the threshold)


class KeypointItem(QGraphicsObject):
    """One keypoint, drawn at constant screen size; a drag moves only this keypoint.

    Confirmed (human) keypoints are filled discs in the keypoint's colour (a ring when occluded);
    predictions are diamonds filled with their confidence colour, ringed red when under the threshold.
    """

    def __init__(self, layer: KeypointLayer, instance: int, k: int, name: str, color: QColor,
                 state: PointState, style: OverlayStyle) -> None:
        super().__init__(layer)
        self.layer, self.instance, self.k, self.name = layer, instance, k, name
        self.color, self.state, self.style = color, state, style
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(20 if state.selected else 10)
        self._press_pos: QPointF | None = None
        self._moved = False
        self._label = QGraphicsSimpleTextItem(name, self)
        self._label.setBrush(QBrush(QColor(255, 255, 255)))
        self._label.setPen(QPen(QColor(0, 0, 0), 0.6))
        font = QFont()
        font.setBold(True)
        self._label.setFont(font)
        self._label.setPos(self.radius + 3, -self.radius - 14)
        self._label.setVisible(False)
        conf = "" if math.isnan(state.confidence) else f" {state.confidence:.2f}"
        who = "confirmed" if state.human else "predicted"
        self.setToolTip(f"{name} ({who}, v={state.vis}){conf}")

    @property
    def radius(self) -> float:
        return self.style.point_size / 2.0 * (1.35 if self.state.selected else 1.0)

    @property
    def flagged(self) -> bool:
        return self.state.flagged

    @property
    def label_visible(self) -> bool:
        return self._label.isVisible()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        r = self.radius + 5
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        r = max(self.radius + 3, 6.0)
        path.addEllipse(QPointF(0, 0), r, r)
        return path

    def collidesWithPath(self, path: QPainterPath, _mode=Qt.ItemSelectionMode.IntersectsItemShape) -> bool:  # noqa: N802
        """Hit-test against the disc: Qt would use the view box's clip path for a clipped item,
        which makes the whole bounding square (and more) grab the mouse."""
        return path.intersects(self.shape())

    def contains(self, point: QPointF) -> bool:
        return self.shape().contains(point)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = self.radius
        if self.state.selected:
            painter.setPen(QPen(qcolor(self.style.selected_color), 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(0, 0), r + 3.5, r + 3.5)
        if self.state.human:
            self._paint_confirmed(painter, r)
        else:
            self._paint_predicted(painter, r)

    def _paint_confirmed(self, painter: QPainter, r: float) -> None:
        if self.state.vis == 1:
            painter.setPen(QPen(self.color, 3.0))
            painter.setBrush(QBrush(QColor(0, 0, 0, 90)))
        else:
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(QBrush(self.color))
        painter.drawEllipse(QPointF(0, 0), r, r)

    def _paint_predicted(self, painter: QPainter, r: float) -> None:
        fill = self.style.confidence_color(self.state.confidence)
        if self.flagged:
            painter.setPen(QPen(qcolor(self.style.low_color), 2.0, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(0, 0), r + 4, r + 4)
        diamond = QPainterPath()
        diamond.moveTo(0, -r)
        diamond.lineTo(r, 0)
        diamond.lineTo(0, r)
        diamond.lineTo(-r, 0)
        diamond.closeSubpath()
        line = Qt.PenStyle.SolidLine if self.state.vis == 2 else Qt.PenStyle.DotLine
        painter.setPen(QPen(self.color, 2.0, line))
        painter.setBrush(QBrush(fill))
        painter.drawPath(diamond)

    # ---- interaction -------------------------------------------------------------------------
    def hoverEnterEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._label.setVisible(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self._label.setVisible(False)
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        event.accept()
        self._press_pos = QPointF(self.pos())
        self._moved = False
        self.layer.item_pressed(self)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._press_pos is None:
            return
        self.setPos(self.parentItem().mapFromScene(event.scenePos()))
        self._moved = True
        self.layer.item_moved(self)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self._press_pos is None:
            return
        if self._moved:  # pyqtgraph drops moves closer than 10 ms: the release has the final place
            self.setPos(self.parentItem().mapFromScene(event.scenePos()))
        moved = self._moved and self.pos() != self._press_pos
        self._press_pos = None
        self.layer.item_released(self, moved)


class InstanceTag(QGraphicsObject):
    """The clickable '#n' tag at a box's top-left corner; clicking it selects the instance."""

    def __init__(self, layer: KeypointLayer, instance: int, text: str, color: QColor) -> None:
        super().__init__(layer)
        self.layer, self.instance, self.text, self.color = layer, instance, text, color
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(15)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF(0, -18, 12 + 8 * len(self.text), 18)

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self.color))
        painter.drawRect(self.boundingRect())
        painter.setPen(QPen(QColor(0, 0, 0)))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, self.text)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        event.accept()
        self.layer.instance_clicked.emit(self.instance)
