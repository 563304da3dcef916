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

ABSENT_COLOR = QColor(190, 190, 190)
ABSENT_UNDER = QColor(0, 0, 0, 150)
ABSENT_SCALE = 0.7  # an absent suggestion's marker is smaller than a prediction's


@dataclass
class PointState:
    """What one keypoint item shows: visibility, confidence, who set it, selection and review flag."""

    vis: int
    confidence: float
    human: bool
    selected: bool = False
    instance_selected: bool = False
    flagged: bool = False  # the review policy flags it (a model keypoint under the threshold)
    absent: bool = False  # the model's "probably absent" suggestion (v = 0 at its peak)


class KeypointItem(QGraphicsObject):
    """One keypoint, drawn at constant screen size; a drag moves only this keypoint.

    Confirmed (human) keypoints are filled discs in the keypoint's colour (a ring when occluded);
    predictions are diamonds filled with their confidence colour, ringed red when under the threshold;
    "probably absent" suggestions (v = 0) are smaller hollow grey diamonds with a dashed outline.
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
        who = "probably absent" if state.absent else "confirmed" if state.human else "predicted"
        self.setToolTip(f"{name} ({who}, v={state.vis}){conf}")

    @property
    def radius(self) -> float:
        size = self.style.point_size / 2.0 * (ABSENT_SCALE if self.state.absent else 1.0)
        return size * (1.35 if self.state.selected else 1.0)

    def outline_pen(self) -> QPen:
        """The pen of the keypoint's marker outline (what tells the kinds apart besides the fill)."""
        if self.state.absent:
            return QPen(ABSENT_COLOR, 1.5, Qt.PenStyle.DashLine)
        if self.state.human:
            return QPen(self.color, 3.0) if self.state.vis == 1 else QPen(QColor(255, 255, 255), 1.5)
        line = Qt.PenStyle.SolidLine if self.state.vis == 2 else Qt.PenStyle.DotLine
        return QPen(self.color, 2.0, line)

    def fill(self) -> QBrush:
        """The marker's fill: none for an absent suggestion."""
        if self.state.absent:
            return QBrush(Qt.BrushStyle.NoBrush)
        if self.state.human:
            return QBrush(QColor(0, 0, 0, 90)) if self.state.vis == 1 else QBrush(self.color)
        return QBrush(self.style.confidence_color(self.state.confidence))

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
            painter.setPen(self.outline_pen())
            painter.setBrush(self.fill())
            painter.drawEllipse(QPointF(0, 0), r, r)
            return
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
        if self.state.absent:  # a dark under-stroke keeps the dashed grey visible on a bright floor
            painter.setPen(QPen(ABSENT_UNDER, 3.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(diamond)
        painter.setPen(self.outline_pen())
        painter.setBrush(self.fill())
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
