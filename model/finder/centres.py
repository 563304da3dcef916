"""Instance centres for the finder (numpy only): targets for training and peaks → centres at inference.

The finder sees the whole image warped to its input with padding 1.0 (the predictor's whole-image
geometry, `crop_affine` of the whole-image box) and outputs one heatmap whose Gaussians sit at the
instances' centres: the centre of the labelled keypoints' extent (the box centre when none is
labelled). The same codec encodes the targets (`encode_heatmaps`, one point per instance, then the
maximum over instances) and finds the peaks (`local_maxima`, then suppression of weaker peaks
closer than `min_distance` image pixels).
"""

from __future__ import annotations

import numpy as np

from model.codec.heatmap import encode_heatmaps, local_maxima
from model.codec.transforms import (
    apply_affine,
    compose_affine,
    crop_affine,
    input_to_heatmap_affine,
    invert_affine,
)

FINDER_SIGMA = 2.0  # heatmap px; an instance's centre is less sharp than a keypoint
FINDER_KIND = "instance-finder"  # checkpoint meta["kind"] of a finder network


def instance_centre(xy: np.ndarray, vis: np.ndarray, box) -> np.ndarray:
    """(2,) float64 centre of one instance: of its labelled keypoints' extent (xy (K, 2), vis (K,)),
    else of its box [x, y, w, h]."""
    pts = np.asarray(xy, np.float64)[np.asarray(vis).reshape(-1) > 0]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts):
        return (pts.min(axis=0) + pts.max(axis=0)) / 2.0
    x, y, w, h = (float(v) for v in box)
    return np.array([x + w / 2.0, y + h / 2.0])


def whole_image_affine(image_size: tuple[int, int], input_size: tuple[int, int]) -> np.ndarray:
    """(2, 3) image → finder input affine: the whole (w, h) image, aspect kept, padding 1.0."""
    w, h = image_size
    return crop_affine((-0.5, -0.5, float(w), float(h)), tuple(input_size), padding=1.0)


def centre_targets(centres: np.ndarray, image_to_input: np.ndarray, input_size: tuple[int, int],
                   stride: int, sigma: float = FINDER_SIGMA) -> np.ndarray:
    """(1, h/s, w/s) float32 target: the maximum of one Gaussian per centre (N, 2) image px."""
    hm_size = (input_size[0] // stride, input_size[1] // stride)
    pts = np.asarray(centres, np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return np.zeros((1, hm_size[1], hm_size[0]), np.float32)
    m = compose_affine(input_to_heatmap_affine(stride), image_to_input)
    maps, _ = encode_heatmaps(apply_affine(m, pts), np.full(len(pts), 2), hm_size, sigma=sigma)
    return maps.max(axis=0, keepdims=True)


def centres_from_heatmap(heatmap: np.ndarray, heatmap_to_image: np.ndarray, min_value: float,
                         min_distance: float, max_count: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of one finder heatmap (h, w) as image-pixel centres (M, 2) float64 and scores (M,) float32,
    strongest first; a peak within min_distance image px of a stronger one is dropped."""
    coords, values = local_maxima(heatmap, max_count=max_count, min_value=min_value)
    xy = apply_affine(heatmap_to_image, coords) if len(coords) else np.zeros((0, 2))
    kept: list[int] = []
    for i in range(len(xy)):
        if all(np.hypot(*(xy[i] - xy[j])) >= min_distance for j in kept):
            kept.append(i)
    return xy[kept].reshape(-1, 2), values[kept].astype(np.float32)


def heatmap_to_image_affine(image_to_input: np.ndarray, stride: int) -> np.ndarray:
    """(2, 3) finder heatmap px → image px affine."""
    return invert_affine(compose_affine(input_to_heatmap_affine(stride), image_to_input))
