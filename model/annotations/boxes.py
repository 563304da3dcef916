"""Instance boxes: the padded extent of keypoints, the box-follows-keypoints rule, box overlap (IoU).

An instance's box is the extent of its labelled keypoints padded on each side by max(10 px, 15 % of
the extent), clipped to the image when its size is known. It follows the keypoints as they are
placed or moved until a person sets the box (draws, moves or resizes it): then `Instance.box_set`
is True and the box is the person's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float]
MIN_BOX_PAD_PX = 10.0
BOX_PAD_FRACTION = 0.15


def padded_extent(xy: np.ndarray, image_size: tuple[int, int] | None = None) -> Box | None:
    """Box [x, y, w, h] around points xy (N, 2) float image px, padded by max(10 px, 15 %).

    Clipped to the image (w, h) with pixel centres at integers (x ∈ [-0.5, w - 0.5]) when
    image_size is given. None for no finite point or when nothing of the box lies in the image.
    """
    pts = np.asarray(xy, np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum(MIN_BOX_PAD_PX, BOX_PAD_FRACTION * (hi - lo))
    lo, hi = lo - pad, hi + pad
    if image_size is not None:
        lo = np.maximum(lo, -0.5)
        hi = np.minimum(hi, np.asarray(image_size, np.float64) - 0.5)
        if np.any(hi - lo <= 1.0):
            return None
    return (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))


def keypoint_box(xy: np.ndarray, vis: np.ndarray, image_size: tuple[int, int] | None = None) -> Box | None:
    """padded_extent of the labelled (vis (K,) > 0) keypoints of xy (K, 2); None when none is labelled."""
    labelled = np.asarray(vis).reshape(-1) > 0
    return padded_extent(np.asarray(xy, np.float64)[labelled], image_size)


def followed_box(current: Sequence[float], box_set: bool, xy: np.ndarray, vis: np.ndarray,
                 image_size: tuple[int, int] | None = None) -> Box:
    """The box an instance has after its keypoints became xy (K, 2) / vis (K,).

    A box a person set (box_set) stays; otherwise the padded extent of the labelled keypoints, or
    the current box when no keypoint is labelled.
    """
    if box_set:
        return as_box(current)
    found = keypoint_box(xy, vis, image_size)
    return as_box(current) if found is None else found


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x, y, w, h] boxes (0 when either has no area)."""
    ax0, ay0, aw, ah = (float(v) for v in a)
    bx0, by0, bw, bh = (float(v) for v in b)
    w = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) float64 IoU of boxes a (N, 4) and b (M, 4), [x, y, w, h]."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def is_whole_image(box: Sequence[float], size: tuple[int, int] | None) -> bool:
    """True for the whole-image box old versions gave click-started instances: [0, 0, W, H]
    (or [-0.5, -0.5, W, H]); with the size unknown, any box at the origin with integer sides."""
    x, y, w, h = (float(v) for v in box)
    if (x, y) not in ((0.0, 0.0), (-0.5, -0.5)):
        return False
    if size is None:
        return w.is_integer() and h.is_integer() and w >= 64 and h >= 64
    return (w, h) == (float(size[0]), float(size[1]))


def as_box(box: Sequence[float]) -> Box:
    x, y, w, h = (float(b) for b in box)
    return (x, y, w, h)
