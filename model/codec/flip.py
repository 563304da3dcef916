"""Horizontal flips of images, heatmaps and keypoints with the skeleton's flip pairs (numpy only).

Convention (see ``model.codec.transforms``): integer x is a pixel centre, so flipping a width-W
image maps ``x' = W - 1 - x``. The same rule at the heatmap's own width w (``u' = w - 1 - u``) is
consistent with the image rule for any integer stride s with W = s * w, because
``x = s * u + (s - 1) / 2`` gives ``W - 1 - x = s * (w - 1 - u) + (s - 1) / 2``: a flip-test needs
no extra one-pixel shift of the flipped heatmaps.

``flip_index`` is ``Skeleton.flip_index()``: keypoint i of the flipped image is keypoint
``flip_index[i]`` of the original (left and right swap names when the image is mirrored).
"""

from __future__ import annotations

import numpy as np


def _check_index(flip_index: np.ndarray, k: int) -> np.ndarray:
    idx = np.asarray(flip_index)
    if idx.shape != (k,) or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"flip_index must be ({k},) integers, got shape {idx.shape} dtype {idx.dtype}")
    if not np.array_equal(np.sort(idx), np.arange(k)):
        raise ValueError(f"flip_index must be a permutation of 0..{k - 1}, got {idx.tolist()}")
    return idx


def flip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an image (H, W, C) or (H, W) left-right; returns a contiguous copy of the same dtype."""
    img = np.asarray(image)
    if img.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {img.shape}")
    return np.ascontiguousarray(img[:, ::-1])


def flip_heatmaps(heatmaps: np.ndarray, flip_index: np.ndarray) -> np.ndarray:
    """Heatmaps (..., K, h, w) of an image → those of its mirror image: channels permuted by
    ``flip_index`` and each map mirrored left-right. Returns a contiguous copy, same dtype."""
    hm = np.asarray(heatmaps)
    if hm.ndim < 3:
        raise ValueError(f"heatmaps must have shape (..., K, h, w), got {hm.shape}")
    idx = _check_index(flip_index, hm.shape[-3])
    return np.ascontiguousarray(hm[..., idx, :, ::-1])


def flip_keypoints(xy: np.ndarray, width: float, flip_index: np.ndarray) -> np.ndarray:
    """Keypoints (..., K, 2) [x, y] of an image of the given width → those of its mirror image.

    Returns (..., K, 2) float64: rows permuted by ``flip_index`` and ``x' = width - 1 - x``.
    Use the heatmap width for heatmap coordinates and the image width for image coordinates.
    """
    p = np.asarray(xy, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., K, 2), got {p.shape}")
    idx = _check_index(flip_index, p.shape[-2])
    out = p[..., idx, :].copy()
    out[..., 0] = width - 1 - out[..., 0]
    return out


def flip_affine(width: float) -> np.ndarray:
    """(2, 3) float64 affine of the horizontal flip of a width-``width`` image: x' = width - 1 - x.

    Compose it with a crop affine for flip augmentation; keypoint identities must still be
    swapped with ``flip_index`` (an affine cannot do that).
    """
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]], dtype=np.float64)
