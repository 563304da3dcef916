"""The heatmap memory cache: LRU order, the megabyte bound, eviction counts, model invalidation."""

from __future__ import annotations

import numpy as np
import pytest

from model.annotations.types import Prediction
from model.inspect.heatmap_cache import MIB, CacheKey, HeatmapCache, size_of


def block(mib: float) -> np.ndarray:
    return np.zeros(int(mib * MIB) // 4, np.float32)


def test_lru_evicts_least_recently_used_within_budget():
    cache = HeatmapCache(max_mb=3)
    for i in range(3):
        assert cache.put(CacheKey(i, None, "m"), block(1))
    assert cache.nbytes == 3 * MIB
    assert cache.get(CacheKey(0, None, "m")) is not None  # 0 becomes most recent
    cache.put(CacheKey(3, None, "m"), block(1))  # evicts 1 (least recent)
    assert CacheKey(1, None, "m") not in cache
    assert [k.image_id for k in cache.lru_keys()] == [2, 0, 3]
    assert cache.nbytes <= cache.max_bytes
    assert cache.evictions == 1
    assert cache.get(CacheKey(1, None, "m")) is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_replacing_a_key_updates_the_byte_count():
    cache = HeatmapCache(max_mb=4)
    key = CacheKey(1, 7, "m")
    cache.put(key, block(2))
    cache.put(key, block(1))
    assert len(cache) == 1 and cache.nbytes == MIB


def test_oversized_value_is_not_stored_and_shrinking_evicts():
    cache = HeatmapCache(max_mb=2)
    assert not cache.put("huge", block(3))
    assert len(cache) == 0
    cache.put("a", block(1))
    cache.put("b", block(1))
    cache.set_max_mb(1)
    assert cache.lru_keys() == ["b"]
    with pytest.raises(ValueError, match="positive"):
        HeatmapCache(max_mb=0)


def test_discard_by_model_and_prediction_size():
    pred = Prediction(
        keypoints=np.zeros((4, 2)), confidence=np.zeros(4, np.float32),
        stack_heatmaps=np.zeros((2, 4, 16, 16), np.float32), stack_keypoints=np.zeros((2, 4, 2)),
        heatmap_to_image=np.zeros((2, 3)), box=(0, 0, 1, 1),
    )
    expected = 4 * 2 * 8 + 4 * 4 + 2 * 4 * 16 * 16 * 4 + 2 * 4 * 2 * 8 + 6 * 8
    assert size_of(pred) == expected
    cache = HeatmapCache(max_mb=1)
    for model in ("old", "new"):
        cache.put(CacheKey(1, 1, model), pred)
    assert cache.discard_where(lambda k: k.model_id == "old") == 1
    assert cache.lru_keys() == [CacheKey(1, 1, "new")]
    with pytest.raises(TypeError, match="cannot size"):
        size_of("text")
