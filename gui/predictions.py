"""Turning an inference result into edits against the image's state *now*, and applying them in chunks.

The edits are built from the instances the store holds when the result arrives, not when the
request was made, through model.annotations.edits.apply_prediction, which keeps every keypoint a
person touched. A whole-image result for an image on which the user has since drawn an instance
goes into the instance it overlaps most. `PredictionSink` applies queued results on the GUI
thread within a time budget per event-loop turn (one transaction per turn), so a burst of batch
results never stalls the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from model.annotations.edits import AddInstance, Batch, Edit, SetStatus, apply_prediction
from model.annotations.types import Instance, Keypoints, Prediction, ReviewStatus
from model.project.rows import same_instance

Box = tuple[float, float, float, float]
OPEN_STATUSES = (ReviewStatus.UNLABELLED, ReviewStatus.PREDICTED)


def iou(a: Box, b: Box) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def needs_review(keypoints: Keypoints, threshold: float) -> bool:
    """True when a labelled model keypoint (not set by a person) is below the threshold."""
    model = (keypoints.vis > 0) & ~keypoints.human
    conf = keypoints.confidence
    return bool(np.any(model & np.isfinite(conf) & (conf < threshold)))


def edits_for_result(image_id: int, status: ReviewStatus, instances: list[Instance],
                     predictions: list[tuple[int | None, Prediction]], threshold: float) -> list[Edit]:
    """Edits writing predictions into the current instances (human keypoints kept) plus a status change.

    predictions pair an instance id (None: whole-image pass) with its Prediction. Returns [] when
    nothing would change (e.g. every keypoint is a person's, or the instance has gone).
    """
    by_id = {inst.instance_id: inst for inst in instances}
    edits: list[Edit] = []
    used: set[int] = set()
    for iid, pred in predictions:
        target = by_id.get(iid) if iid is not None else _best_overlap(instances, pred.box, used)
        if iid is not None and target is None:
            continue  # the user removed that instance meanwhile
        if target is not None:
            used.add(int(target.instance_id))
        edit = apply_prediction(image_id, target, pred.keypoints, pred.confidence, pred.box, pred.score,
                                pred.visibility)
        if isinstance(edit, AddInstance) or not same_instance(edit.old, edit.new):
            edits.append(edit)
    if not edits:
        return []
    after = [e.instance.keypoints if isinstance(e, AddInstance) else e.new.keypoints for e in edits]
    if status in OPEN_STATUSES:
        flagged = any(needs_review(k, threshold) for k in after)
        new = ReviewStatus.IN_REVIEW if flagged else ReviewStatus.PREDICTED
        if new != status:
            edits.append(SetStatus(image_id, status, new))
    return edits


def _best_overlap(instances: list[Instance], box: Box, used: set[int]) -> Instance | None:
    best, best_iou = None, 0.1
    for inst in instances:
        if inst.instance_id in used:
            continue
        score = iou(tuple(inst.box), tuple(box))
        if score > best_iou:
            best, best_iou = inst, score
    return best


class PredictionSink(QObject):
    """Queues results and applies them in time-boxed chunks; `chunk_applied(batch, images)` follows each."""

    chunk_applied = Signal(object, int)  # applied Batch, number of images in it

    def __init__(self, build: Callable[[object], list[Edit]], apply: Callable[[Batch], Batch | None],
                 budget_ms: float = 12.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._build, self._apply = build, apply
        self._queue: deque = deque()
        self._budget = budget_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._drain)

    def push(self, result) -> None:
        self._queue.append(result)
        if not self._timer.isActive():
            self._timer.start()

    def pending(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        self._queue.clear()
        self._timer.stop()

    def flush(self) -> None:
        """Apply everything queued now (used when a batch ends and before undo)."""
        while self._queue:
            self._drain(budget=None)

    def _drain(self, budget: float | None = -1.0) -> None:
        budget = self._budget if budget == -1.0 else budget
        start = time.perf_counter()
        edits: list[Edit] = []
        seen: set[int] = set()
        while self._queue and (budget is None or time.perf_counter() - start < budget):
            if self._queue[0].image_id in seen:
                break  # a second result for one image is built after the first is applied
            result = self._queue.popleft()
            built = self._build(result)
            if built:
                edits.extend(built)
                seen.add(result.image_id)
            if len(edits) >= 256:
                break
        images = len(seen)
        if edits:
            applied = self._apply(Batch(tuple(edits), "predictions"))
            if applied is not None:
                self.chunk_applied.emit(applied, images)
        if self._queue:
            self._timer.start()
