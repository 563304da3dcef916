"""Heatmap-guided correction: candidate positions from the final heatmap's local maxima, flip partners.

Tab in the GUI walks a keypoint through the candidates, highest first. The walk is stateless: the
next candidate is the one after the candidate the keypoint currently sits on (within a tolerance),
or the best one when it sits on none, so undo, drags and image switches never confuse it.
"""

from __future__ import annotations

import numpy as np

from model.annotations.edits import Batch, KeypointValue, SetKeypoint, keypoint_value
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Prediction
from model.codec.heatmap import local_maxima
from model.codec.transforms import apply_affine


def maxima_candidates(
    prediction: Prediction, keypoint: int, max_count: int = 10, min_value: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of keypoint `keypoint` in the final stack: ((M, 2) float64 image px, (M,) float32).

    Highest first. The decoded keypoint itself is always candidate 0 (it is where the prediction put
    the point, sub-pixel refined), replacing the maximum it was refined from.
    """
    heatmaps = prediction.stack_heatmaps
    if not 0 <= keypoint < heatmaps.shape[1]:
        raise IndexError(f"keypoint {keypoint} out of range 0..{heatmaps.shape[1] - 1}")
    uv, values = local_maxima(heatmaps[-1, keypoint], max_count=max_count, min_value=min_value)
    points = apply_affine(prediction.heatmap_to_image, uv) if len(uv) else np.zeros((0, 2))
    decoded = np.asarray(prediction.keypoints[keypoint], np.float64)
    if len(points):
        cell = cell_size_px(prediction.heatmap_to_image)
        if np.hypot(*(points[0] - decoded)) <= 1.5 * cell:
            points[0] = decoded
    else:
        points = decoded[None, :].copy()
        values = np.asarray([prediction.confidence[keypoint]], np.float32)
    return points, np.asarray(values, np.float32)


def cell_size_px(heatmap_to_image: np.ndarray) -> float:
    """Image pixels per heatmap cell (geometric mean of the affine's scale)."""
    return float(np.sqrt(abs(np.linalg.det(np.asarray(heatmap_to_image, np.float64)[:, :2]))))


def next_candidate(candidates: np.ndarray, current_xy, tolerance_px: float, step: int = 1) -> int:
    """Index of the candidate to move to from `current_xy`.

    candidates (M, 2) image px, M >= 1. If the point is within `tolerance_px` of a candidate, the
    next one (`step` +1 forward, -1 backward, wrapping) is returned; otherwise the first (step > 0)
    or last (step < 0).
    """
    pts = np.asarray(candidates, np.float64)
    if pts.ndim != 2 or pts.shape[0] == 0:
        raise ValueError("no candidates to move to")
    dist = np.hypot(*(pts - np.asarray(current_xy, np.float64)).T)
    nearest = int(np.argmin(dist))
    if dist[nearest] > tolerance_px:
        return 0 if step > 0 else len(pts) - 1
    return (nearest + step) % len(pts)


def flip_partner(skeleton: Skeleton, keypoint: int) -> int | None:
    """The left/right partner of `keypoint` in the skeleton's flip pairs, or None."""
    partner = int(skeleton.flip_index()[keypoint])
    return None if partner == keypoint else partner


def swap_keypoints(image_id: int, inst: Instance, a: int, b: int) -> Batch:
    """One undoable edit exchanging keypoints a and b of `inst` (a left/right mix-up fixed by a person).

    Positions, visibilities and confidences trade places; both values become human-set.
    """
    if a == b:
        raise ValueError(f"cannot swap keypoint {a} with itself")
    if inst.instance_id is None:
        raise ValueError("the instance has no id yet (not stored)")
    old_a, old_b = keypoint_value(inst.keypoints, a), keypoint_value(inst.keypoints, b)
    new_a = KeypointValue(old_b.x, old_b.y, old_b.v, old_b.confidence, True)
    new_b = KeypointValue(old_a.x, old_a.y, old_a.v, old_a.confidence, True)
    iid = int(inst.instance_id)
    return Batch((SetKeypoint(image_id, iid, a, old_a, new_a), SetKeypoint(image_id, iid, b, old_b, new_b)),
                 "swap")
