"""From network heatmaps to image keypoints: per-stack decoding, flip-test merging, disagreement."""

from __future__ import annotations

import numpy as np

from model.codec.flip import flip_heatmaps
from model.codec.spec import HeatmapSpec
from model.codec.transforms import apply_affine, compose_affine, input_to_heatmap_affine, invert_affine


def heatmap_to_image_affines(image_to_input: np.ndarray, stride: int) -> np.ndarray:
    """Image → input affines (N, 2, 3) → heatmap px → image px affines (N, 2, 3) float64."""
    to_hm = input_to_heatmap_affine(stride)
    return np.stack([invert_affine(compose_affine(to_hm, m)) for m in image_to_input]).reshape(-1, 2, 3)


def to_image(coords: np.ndarray, hm_to_image: np.ndarray) -> np.ndarray:
    """Heatmap coords (N, ..., K, 2) through per-item affines (N, 2, 3) → (N, ..., K, 2) float64 image px."""
    out = np.empty(coords.shape, np.float64)
    for i, m in enumerate(hm_to_image):
        out[i] = apply_affine(m, coords[i])
    return out


def merge_flipped(plain: np.ndarray, flipped: np.ndarray, flip_index: np.ndarray) -> np.ndarray:
    """Average heatmaps (N, S, K, h, w) of crops with those of the mirrored crops (mapped back).

    `flipped` holds the raw network output for the mirrored crops; it is mirrored back and its
    channels permuted with the skeleton's flip_index before averaging. Returns float32.
    """
    back = flip_heatmaps(flipped, flip_index)
    return ((plain.astype(np.float32) + back.astype(np.float32)) * 0.5).astype(np.float32)


def flip_disagreement(
    plain: np.ndarray, flipped: np.ndarray, flip_index: np.ndarray, hm_to_image: np.ndarray,
    spec: HeatmapSpec, method: str | None = None,
) -> np.ndarray:
    """(N, K) float64 image-px distance between keypoints decoded from the final-stack heatmaps
    (N, K, h, w) of the crops and of the mirrored crops mapped back."""
    xy_plain, _ = spec.decode(plain, method)
    xy_back, _ = spec.decode(flip_heatmaps(flipped, flip_index), method)
    diff = to_image(xy_plain, hm_to_image) - to_image(xy_back, hm_to_image)
    return np.hypot(diff[..., 0], diff[..., 1])


def decode_stacks(
    heatmaps: np.ndarray, hm_to_image: np.ndarray, spec: HeatmapSpec, method: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (N, S, K, h, w) → (keypoints (N, S, K, 2) float64 image px, peaks (N, S, K) float32),
    decoded by `spec` (its decoder unless `method` names another)."""
    coords, peaks = spec.decode(heatmaps, method)
    return to_image(coords, hm_to_image), peaks.astype(np.float32)
