"""The skeleton overlay: boxes, edges and draggable keypoints of every instance of the shown image.

The layer lives in image coordinates (a child of the canvas's view box). It only reports intents
(pressed, dragged to x, y on release, instance clicked); the session turns them into edits and
hands the layer fresh data. A refresh that arrives during a drag waits until the mouse is released.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsObject, QGraphicsRectItem

from gui.views.keypoint_items import InstanceTag, KeypointItem, PointState
from gui.views.style import OverlayStyle, qcolor
from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance


class KeypointLayer(QGraphicsObject):
    """Draws instances and emits the user's intents; owns no annotation state of its own."""

    keypoint_pressed = Signal(int, int)  # instance index, keypoint index
    keypoint_dragged = Signal(int, int, float, float)  # instance, keypoint, x, y on release
    instance_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.setZValue(10)
        self._style = OverlayStyle()
        self._review = ReviewPolicy()
        self._skeleton: Skeleton | None = None
        self._instances: list[Instance] = []
        self._selection: tuple[int | None, int | None] = (None, None)
        self._points: dict[tuple[int, int], KeypointItem] = {}
        self._edges: dict[int, list[tuple[int, int, QGraphicsLineItem]]] = {}
        self._children: list[QGraphicsItem] = []
        self._dragging: KeypointItem | None = None
        self._pending = False

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return QRectF()

    def paint(self, _painter: QPainter, _option, _widget=None) -> None:
        return

    # ---- data in -----------------------------------------------------------------------------
    def set_data(self, skeleton: Skeleton | None, instances: list[Instance],
                 selection: tuple[int | None, int | None], style: OverlayStyle,
                 review: ReviewPolicy | None = None) -> None:
        """Replace what is drawn; deferred until release while a keypoint is being dragged. `review`
        decides which model keypoints get the dashed "needs review" ring."""
        self._skeleton, self._instances, self._selection, self._style = skeleton, instances, selection, style
        self._review = review if review is not None else ReviewPolicy()
        if self._dragging is not None:
            self._pending = True
            return
        self._rebuild()

    def point_item(self, instance: int, k: int) -> KeypointItem | None:
        return self._points.get((instance, k))

    def tag_item(self, instance: int) -> InstanceTag | None:
        for item in self._children:
            if isinstance(item, InstanceTag) and item.instance == instance:
                return item
        return None

    def _clear(self) -> None:
        scene = self.scene()
        for item in self._children:
            if scene is not None:
                scene.removeItem(item)
            item.setParentItem(None)
        self._children, self._points, self._edges = [], {}, {}

    def _rebuild(self) -> None:
        self._clear()
        if self._skeleton is None:
            return
        for index, instance in enumerate(self._instances):
            self._build_instance(index, instance)

    def _build_instance(self, index: int, instance: Instance) -> None:
        style, skeleton = self._style, self._skeleton
        selected_instance, selected_k = self._selection
        is_selected = index == selected_instance
        box_rgb = style.selected_color if is_selected else style.box_color
        box_pen = QPen(qcolor(box_rgb), 2.0 if is_selected else 1.2)
        box_pen.setCosmetic(True)
        x, y, w, h = instance.box
        rect = QGraphicsRectItem(QRectF(x, y, w, h), self)
        rect.setPen(box_pen)
        rect.setZValue(1)
        tag = InstanceTag(self, index, f"#{index + 1}", qcolor(box_rgb))
        tag.setPos(x, y)
        self._children += [rect, tag]
        kp = instance.keypoints
        shown = {k for k in range(kp.num_keypoints) if kp.vis[k] > 0}
        edges = []
        for a, b in skeleton.edges:
            if a in shown and b in shown:
                pen = QPen(qcolor(skeleton.colors[a], 200), style.edge_width)
                pen.setCosmetic(True)
                line = QGraphicsLineItem(QLineF(*kp.xy[a], *kp.xy[b]), self)
                line.setPen(pen)
                line.setZValue(2)
                edges.append((a, b, line))
                self._children.append(line)
        self._edges[index] = edges
        flags = self._review.flags(kp)
        for k in sorted(shown):
            state = PointState(int(kp.vis[k]), float(kp.confidence[k]), bool(kp.human[k]),
                               selected=is_selected and k == selected_k, instance_selected=is_selected,
                               flagged=bool(flags[k]))
            color = qcolor(skeleton.colors[k])
            item = KeypointItem(self, index, k, skeleton.keypoints[k], color, state, style)
            item.setPos(float(kp.xy[k, 0]), float(kp.xy[k, 1]))
            self._points[(index, k)] = item
            self._children.append(item)

    # ---- called by KeypointItem --------------------------------------------------------------
    def item_pressed(self, item: KeypointItem) -> None:
        self._dragging = item
        self.keypoint_pressed.emit(item.instance, item.k)

    def item_moved(self, item: KeypointItem) -> None:
        pos = item.pos()
        for a, b, line in self._edges.get(item.instance, []):
            current = line.line()
            if a == item.k:
                line.setLine(QLineF(pos, current.p2()))
            elif b == item.k:
                line.setLine(QLineF(current.p1(), pos))

    def item_released(self, item: KeypointItem, moved: bool) -> None:
        """Report the drag, then rebuild from the fresh data after the item's event handler returns."""
        pos = item.pos()
        if moved:
            self.keypoint_dragged.emit(item.instance, item.k, float(pos.x()), float(pos.y()))
        self._dragging = None
        if self._pending:
            self._pending = False
            QTimer.singleShot(0, self._rebuild)
