"""Choosing the frames of a sequence worth labelling: uniform in time, k-means on thumbnails, uncertain.

- uniform: N indices evenly spaced over [0, count - 1].
- kmeans (as DeepLabCut's `extract_frames`): every `step`-th frame is shrunk to a `thumb` grey
  thumbnail (cv2.INTER_AREA), the thumbnails are clustered into N groups by OpenCV's `cv2.kmeans`
  (k-means++ seeding, fixed RNG seed: the same video gives the same picks), and each cluster gives the
  frame nearest its centre — so N different-looking frames rather than N near-duplicates.
- uncertain: the N frames with the highest uncertainty score (> 1 means a keypoint is uncertain),
  greedily, no two within `min_gap` frames (neighbouring frames are nearly the same doubt).
All return sorted frame indices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import cv2
import numpy as np

METHODS = ("uniform", "kmeans", "uncertain")


def pick_uniform(count: int, n: int) -> list[int]:
    """n (or fewer, for a short sequence) evenly spaced indices in [0, count)."""
    if count <= 0 or n <= 0:
        return []
    return sorted({int(round(v)) for v in np.linspace(0, count - 1, min(n, count))})


def thumbnail(image: np.ndarray, size: tuple[int, int] = (32, 24)) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (size[1] * size[0],) float32 grey thumbnail in [0, 1]."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).reshape(-1).astype(np.float32) / 255.0


def pick_kmeans(frames, n: int, step: int | None = None, max_samples: int = 2000,
                thumb: tuple[int, int] = (32, 24), seed: int = 0,
                on_progress: Callable[[int, int], None] | None = None) -> list[int]:
    """n frames of `frames` (a FrameSequence) from k-means on thumbnails of every step-th frame."""
    count = len(frames)
    if count == 0 or n <= 0:
        return []
    step = step or max(1, -(-count // max_samples))
    indices, thumbs = [], []
    for index, image in _every(frames, step):
        indices.append(index)
        thumbs.append(thumbnail(image, thumb))
        if on_progress is not None:
            on_progress(index + 1, count)
    if len(indices) <= n:
        return indices
    data = np.stack(thumbs)
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, labels, centres = cv2.kmeans(data, n, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    labels = labels.reshape(-1)
    picked = []
    for c in range(n):
        members = np.flatnonzero(labels == c)
        if members.size:
            dist = ((data[members] - centres[c]) ** 2).sum(axis=1)
            picked.append(indices[int(members[np.argmin(dist)])])
    return sorted(picked)


def _every(frames, step: int):
    """(index, image) of every step-th frame, decoded sequentially (skipping undecodable ones)."""
    iterate = getattr(getattr(frames, "reader", None), "iter_frames", None)
    if iterate is not None:  # a video: one sequential decode is far cheaper than seeks
        for index, image in iterate():
            if index % step == 0:
                yield index, image
        return
    for index in range(0, len(frames), step):
        yield index, frames.read(index)


def pick_uncertain(scores: Mapping[int, float | None], n: int, min_gap: int = 5) -> list[int]:
    """The n highest-scoring frames (None/NaN never), no two closer than min_gap frames."""
    valid = [(s, k) for k, s in scores.items() if s is not None and s == s]
    ranked = sorted(valid, key=lambda t: (-t[0], t[1]))
    picked: list[int] = []
    for _, k in ranked:
        if len(picked) >= n:
            break
        if all(abs(k - p) >= min_gap for p in picked):
            picked.append(int(k))
    return sorted(picked)
