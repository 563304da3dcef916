"""Applying queued batch results in chunks: `PredictionSink` builds their edits (the caller's rule,
model.project.merge) and applies them on the GUI thread within a time budget per event-loop turn
(one transaction per turn), so a burst of batch results never stalls the window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from model.annotations.edits import Batch, Edit


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
