"""Probably-absent keypoints: a per-keypoint heatmap-peak threshold, calibrated on labelled frames.

A keypoint whose peak is below its threshold is predicted with v = 0 (drawn distinctly, exported as
not visible). The threshold of keypoint k separates the peaks where k is labelled absent (v = 0)
from those where it is labelled present (v > 0) on validation frames: the midpoint of the gap when
they separate, else the cut with the fewest mistakes. Without absent examples it is 0 (never absent).
Stored in checkpoint meta as "absent_threshold" (K floats).
"""

from __future__ import annotations

import numpy as np

META_KEY = "absent_threshold"


def calibrate_thresholds(confidence: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(K,) float64 thresholds from peaks confidence (N, K) and labels vis (N, K) (0 = absent)."""
    conf = np.asarray(confidence, np.float64)
    present = np.asarray(vis) > 0
    out = np.zeros(conf.shape[1], np.float64)
    for k in range(conf.shape[1]):
        pos, neg = conf[present[:, k], k], conf[~present[:, k], k]
        if len(neg) == 0 or len(pos) == 0:
            continue
        if neg.max() < pos.min():
            out[k] = 0.5 * (neg.max() + pos.min())
            continue
        cuts = np.unique(np.concatenate([pos, neg]))
        mistakes = [(np.sum(neg >= c) + np.sum(pos < c), c) for c in cuts]
        out[k] = min(mistakes)[1]
    return out


def thresholds_from_meta(meta: dict, num_keypoints: int) -> np.ndarray | None:
    """The checkpoint's thresholds (K,) or None when it has none (or they do not fit)."""
    values = (meta or {}).get(META_KEY)
    if not isinstance(values, list | tuple) or len(values) != num_keypoints:
        return None
    try:
        arr = np.asarray(values, np.float64)
    except (TypeError, ValueError):
        return None
    return arr if np.isfinite(arr).all() else None


def absent_mask(confidence: np.ndarray, thresholds: np.ndarray | None) -> np.ndarray:
    """(…, K) bool: True where the peak is below the keypoint's threshold ("probably absent")."""
    conf = np.asarray(confidence, np.float64)
    if thresholds is None:
        return np.zeros(conf.shape, bool)
    return conf < np.asarray(thresholds, np.float64)
