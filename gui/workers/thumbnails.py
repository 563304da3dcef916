"""Thumbnails for the image list, made on one background thread, newest request first.

The list view asks only for the rows it paints, so with 10 000 images only a screenful is ever
decoded. JPEGs are decoded at reduced resolution (OpenCV's IMREAD_REDUCED_*), which is several
times faster than a full decode. Results are QImages (safe to build off the GUI thread).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from gui.workers.priority import lower_current_thread_priority
from model.io.frames import read_source
from model.io.images import ImageReadError

log = logging.getLogger(__name__)

THUMB_SIZE = 72


def make_thumbnail(path: Path, size: int = THUMB_SIZE) -> QImage:
    """A QImage (RGB888) no larger than size × size; raises ImageReadError when unreadable."""
    rgb = None
    if path.suffix.lower() in (".jpg", ".jpeg"):
        data = np.fromfile(path, np.uint8) if path.is_file() else None
        if data is not None and data.size:
            bgr = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_8)
            if bgr is not None:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb is None:
        rgb = read_source(path)
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = cv2.resize(rgb, new_size, interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ThumbnailLoader(QObject):
    """Request thumbnails by image id; `ready(image_id, QImage)` arrives on the GUI thread."""

    ready = Signal(int, QImage)
    _made = Signal(int, int, QImage)  # generation, image id, thumbnail

    def __init__(self, cache_size: int = 3000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._cache_size = cache_size
        self._queue: OrderedDict[int, Path] = OrderedDict()
        self._failed: set[int] = set()
        self._cond = threading.Condition()
        self._generation = 0
        self._stopped = False
        self._made.connect(self._store)
        self._thread = threading.Thread(target=self._run, name="hglabel-thumbnails", daemon=True)
        self._thread.start()

    def get(self, image_id: int) -> QImage | None:
        return self._cache.get(image_id)

    def request(self, image_id: int, path: Path) -> None:
        """Queue a thumbnail (most recent requests are served first); no-op when cached or failed."""
        if image_id in self._cache or image_id in self._failed:
            return
        with self._cond:
            self._queue[image_id] = Path(path)
            self._queue.move_to_end(image_id)
            while len(self._queue) > 200:  # rows scrolled past long ago
                self._queue.popitem(last=False)
            self._cond.notify()

    def clear(self) -> None:
        with self._cond:
            self._generation += 1
            self._queue.clear()
        self._cache.clear()
        self._failed.clear()

    def shutdown(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        lower_current_thread_priority(10)
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                image_id, path = self._queue.popitem(last=True)
                generation = self._generation
            try:
                thumb = make_thumbnail(path)
            except (ImageReadError, OSError, cv2.error) as exc:
                log.debug("no thumbnail for %s: %s", path, exc)
                thumb = QImage()
            self._made.emit(generation, image_id, thumb)

    def _store(self, generation: int, image_id: int, thumb: QImage) -> None:
        if generation != self._generation:
            return
        if thumb.isNull():
            self._failed.add(image_id)
            return
        self._cache[image_id] = thumb
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(image_id, thumb)
