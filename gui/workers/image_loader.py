"""Image decode and prefetch off the GUI thread, with a small LRU cache of display-ready images.

A worker thread reads the file (model.io.images.read_image: EXIF orientation, 16-bit, greyscale
handled there) and converts it to a QImage in 32-bit format, the one the raster paint engine draws
without conversion; the GUI thread only wraps it in a pixmap. Results arrive through `loaded`
(queued to the GUI thread); `get` answers from the cache at once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from gui.workers.priority import lower_current_thread_priority
from model.io.frames import read_source
from model.io.images import ImageReadError

DECODE_NICE = 3  # below the GUI thread, above inference and thumbnails

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: qimage (RGB32) shares memory with bgra (H, W, 4) uint8, which it keeps alive."""

    image_id: int
    path: Path
    bgra: np.ndarray
    qimage: QImage

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.bgra.shape[1]), int(self.bgra.shape[0])

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB copy."""
        return cv2.cvtColor(self.bgra, cv2.COLOR_BGRA2RGB)


def decode_for_display(image_id: int, path: Path) -> LoadedImage:
    """Read an image file and prepare it for painting; raises ImageReadError naming the file."""
    rgb = read_source(path)
    bgra = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA))
    h, w = bgra.shape[:2]
    qimage = QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32)
    return LoadedImage(image_id, Path(path), bgra, qimage)


class ImageLoader(QObject):
    """Decodes images on background threads; keeps the most recent `cache_size` ready to show."""

    ready = Signal(object)  # LoadedImage, emitted on the GUI thread once cached
    failed = Signal(int, str)  # image id, message naming the file
    _decoded = Signal(int, object)  # generation, LoadedImage (from a worker thread)
    _error = Signal(int, int, str)  # generation, image id, message

    def __init__(self, cache_size: int = 10, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[int, LoadedImage] = OrderedDict()
        self._cache_size = max(2, cache_size)
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hglabel-decode",
                                        initializer=lower_current_thread_priority, initargs=(DECODE_NICE,))
        self._generation = 0
        self._decoded.connect(self._store)
        self._error.connect(self._fail)

    def get(self, image_id: int) -> LoadedImage | None:
        """The cached image, or None (then call request)."""
        item = self._cache.get(image_id)
        if item is not None:
            self._cache.move_to_end(image_id)
        return item

    def request(self, image_id: int, path: Path) -> bool:
        """Start decoding unless cached or already in flight; True when a decode was started."""
        if image_id in self._cache:
            return False
        with self._lock:
            if image_id in self._in_flight:
                return False
            self._in_flight.add(image_id)
        self._pool.submit(self._work, self._generation, image_id, Path(path))
        return True

    def put(self, item: LoadedImage) -> None:
        """Cache an image decoded elsewhere (e.g. the first image, decoded while the project opened)."""
        self._store(self._generation, item)

    def is_pending(self, image_id: int) -> bool:
        with self._lock:
            return image_id in self._in_flight

    def clear(self) -> None:
        """Forget everything (a new project); decodes still running are dropped on arrival."""
        self._generation += 1
        self._cache.clear()
        with self._lock:
            self._in_flight.clear()

    def shutdown(self) -> None:
        self.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _work(self, generation: int, image_id: int, path: Path) -> None:
        """Worker thread: decode, then hand over to the GUI thread through a queued signal."""
        try:
            item = decode_for_display(image_id, path)
        except ImageReadError as exc:
            self._error.emit(generation, image_id, str(exc))
            return
        except Exception as exc:  # a worker must never die silently
            log.exception("decoding %s failed", path)
            self._error.emit(generation, image_id, f"{path}: {exc}")
            return
        self._decoded.emit(generation, item)

    def _done(self, image_id: int) -> None:
        with self._lock:
            self._in_flight.discard(image_id)

    def _store(self, generation: int, item: LoadedImage) -> None:
        """GUI thread: cache a decoded image and announce it, unless it belongs to a cleared project."""
        if generation != self._generation:
            return
        self._done(item.image_id)
        self._cache[item.image_id] = item
        self._cache.move_to_end(item.image_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self.ready.emit(item)

    def _fail(self, generation: int, image_id: int, message: str) -> None:
        if generation != self._generation:
            return
        self._done(image_id)
        self.failed.emit(image_id, message)
