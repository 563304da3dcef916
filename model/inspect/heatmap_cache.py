"""Memory cache of predictions with their per-stack heatmaps: LRU, bounded in megabytes, never persisted.

Heatmaps are large ((S, K, h, w) float32: 8 stacks × 16 keypoints × 64² is 2 MiB per instance) and
cheap to recompute, so they live here and not in the project file. A miss means "ask the inference
worker again"; the GUI keeps track of requests in flight.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import numpy as np

log = logging.getLogger(__name__)
MIB = 1024 * 1024


class CacheKey(NamedTuple):
    """What a cached heatmap belongs to: an image, an instance in it (None: the whole image), a model."""

    image_id: int
    instance_id: int | None
    model_id: str


def size_of(value: Any) -> int:
    """Bytes held by `value`: an ndarray's nbytes, or the sum over the ndarray fields of a dataclass."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        total = 0
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, np.ndarray):
                total += int(item.nbytes)
        return total
    raise TypeError(f"cannot size a {type(value).__name__} for the heatmap cache")


class HeatmapCache:
    """Least-recently-used map from a key (usually CacheKey) to a value, at most `max_mb` MiB in total.

    `sizer` measures a value (default: `size_of`). Safe to use from several threads.
    """

    def __init__(self, max_mb: float = 256.0, sizer: Callable[[Any], int] = size_of) -> None:
        if not max_mb > 0:
            raise ValueError(f"heatmap cache size must be positive, got {max_mb} MB")
        self._max_bytes = int(max_mb * MIB)
        self._sizer = sizer
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = 0

    # ---- queries ------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        return self._nbytes

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        """Membership without touching the LRU order or the hit counters."""
        return key in self._items

    def lru_keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def get(self, key: Hashable) -> Any | None:
        """The value (now the most recently used) or None on a miss."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry[0]

    # ---- updates ------------------------------------------------------------------------
    def put(self, key: Hashable, value: Any) -> bool:
        """Store `value` as the most recently used; evict the least recent to stay in budget.

        Returns False (and stores nothing) when the value alone is larger than the budget.
        """
        size = int(self._sizer(value))
        with self._lock:
            self._pop(key)
            if size > self._max_bytes:
                log.warning("heatmaps of %s (%.1f MiB) exceed the cache (%.1f MiB); not cached",
                            key, size / MIB, self._max_bytes / MIB)
                return False
            self._items[key] = (value, size)
            self._nbytes += size
            self._shrink()
            return True

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._pop(key)

    def discard_where(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key satisfies `predicate` (e.g. all of one model); returns the count."""
        with self._lock:
            doomed = [k for k in self._items if predicate(k)]
            for key in doomed:
                self._pop(key)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._nbytes = 0

    def set_max_mb(self, max_mb: float) -> None:
        """Change the budget, evicting at once if it shrank."""
        if not max_mb > 0:
            raise ValueError(f"heatmap cache size must be positive, got {max_mb} MB")
        with self._lock:
            self._max_bytes = int(max_mb * MIB)
            self._shrink()

    def _pop(self, key: Hashable) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._nbytes -= entry[1]

    def _shrink(self) -> None:
        while self._nbytes > self._max_bytes and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self._nbytes -= size
            self.evictions += 1
