"""The skeleton overlay: boxes, edges and draggable keypoints of every instance of the shown image.

The layer lives in image coordinates (a child of the canvas's view box). It only reports intents
(pressed, dragged to x, y on release, instance clicked, box moved/resized on release); the session
turns them into edits and hands the layer fresh data. A refresh that arrives during a drag waits
until the mouse is released. A tracked instance's box and tag take its track's colour and name.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QTimer, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsObject, QGraphicsRectItem

from gui.views.box_handles import CORNERS, BoxHandle
from gui.views.keypoint_items import InstanceTag, KeypointItem, PointState
from gui.views.style import OverlayStyle, qcolor, track_color, track_name
from model.annotations.review import ReviewPolicy, absent_suggestions
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance


class KeypointLayer(QGraphicsObject):
    """Draws instances and emits the user's intents; owns no annotation state of its own."""

    keypoint_pressed = Signal(int, int)  # instance index, keypoint index
    keypoint_dragged = Signal(int, int, float, float)  # instance, keypoint, x, y on release
    instance_clicked = Signal(int)
    box_edited = Signal(int, object, str)  # instance, (x, y, w, h) on release, "Move box" / "Resize box"

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
        self._dragging: KeypointItem | BoxHandle | None = None
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

    def handles_of(self, instance: int) -> list[BoxHandle]:
        return [item for item in self._children if isinstance(item, BoxHandle) and item.instance == instance]

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
        tracked = instance.track_id is not None
        box_rgb = track_color(instance.track_id) if tracked else style.box_color
        if is_selected and not tracked:
            box_rgb = style.selected_color
        box_pen = QPen(qcolor(box_rgb), 2.5 if is_selected else 1.2)
        box_pen.setCosmetic(True)
        x, y, w, h = instance.box
        rect = QGraphicsRectItem(QRectF(x, y, w, h), self)
        rect.setPen(box_pen)
        rect.setZValue(1)
        label = f"#{index + 1} {track_name(instance.track_id)}".strip()
        tag = InstanceTag(self, index, label, qcolor(box_rgb))
        tag.setPos(x, y)
        self._children += [rect, tag]
        if is_selected:
            roles = (*CORNERS, "move")
            self._children += [BoxHandle(self, index, role, rect, qcolor(box_rgb)) for role in roles]
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
        flags, absent = self._review.flags(kp), absent_suggestions(kp)
        for k in sorted(shown | {int(k) for k in np.flatnonzero(absent)}):  # absent ones: no edges
            state = PointState(int(kp.vis[k]), float(kp.confidence[k]), bool(kp.human[k]),
                               selected=is_selected and k == selected_k, instance_selected=is_selected,
                               flagged=bool(flags[k]), absent=bool(absent[k]))
            color = qcolor(skeleton.colors[k])
            item = KeypointItem(self, index, k, skeleton.keypoints[k], color, state, style)
            item.setPos(float(kp.xy[k, 0]), float(kp.xy[k, 1]))
            self._points[(index, k)] = item
            self._children.append(item)

    # ---- called by BoxHandle ------------------------------------------------------------------
    def box_drag_started(self, handle: BoxHandle) -> None:
        self._dragging = handle

    def box_drag_finished(self, instance: int, rect: QRectF | None, label: str) -> None:
        """Report the new box (None: unchanged), then rebuild from fresh data after the handler returns
        (the refresh the edit causes waits, as during a keypoint drag: the handle is still in use)."""
        if rect is not None:
            self.box_edited.emit(instance, (rect.x(), rect.y(), rect.width(), rect.height()), label)
        self._dragging = None
        if self._pending or rect is not None:
            self._pending = False
            QTimer.singleShot(0, self._rebuild_when_idle)

    def _rebuild_when_idle(self) -> None:
        """A scheduled rebuild waits for a drag that started meanwhile (it would remove the grabbed item)."""
        if self._dragging is not None:
            self._pending = True
        else:
            self._rebuild()

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
