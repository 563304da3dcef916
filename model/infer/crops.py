"""Crops for the predictor: instance boxes, whole-image boxes, boxes from keypoints, batched warps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.annotations.boxes import BOX_PAD_FRACTION, MIN_BOX_PAD_PX, padded_extent
from model.codec.transforms import crop_affine, warp_image

Box = tuple[float, float, float, float]
__all__ = ["BOX_PAD_FRACTION", "MIN_BOX_PAD_PX", "Box", "box_from_keypoints", "check_box", "check_image",
           "make_crops", "whole_image_box"]


def check_image(image: np.ndarray, index: int) -> np.ndarray:
    """The image if it is (H, W, 3) uint8 RGB with H, W > 0; ValueError naming the item otherwise."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"item {index}: image must be (H, W, 3) uint8 RGB, got {what}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"item {index}: image is empty {image.shape}")
    return image


def whole_image_box(image: np.ndarray) -> Box:
    """[x, y, w, h] covering the whole (H, W, 3) image (pixel centres at integers: x ∈ [-0.5, W - 0.5])."""
    h, w = image.shape[:2]
    return (-0.5, -0.5, float(w), float(h))


def box_from_keypoints(
    xy: np.ndarray, confidence: np.ndarray, image_size: tuple[int, int], min_confidence: float
) -> Box | None:
    """Box [x, y, w, h] around the keypoints (K, 2) whose confidence (K,) ≥ min_confidence.

    The extent is padded on each side by max(10 px, 15 % of the extent), then clipped to the image
    (w, h). None when fewer than two keypoints qualify or nothing of the box lies inside the image.
    """
    xy = np.asarray(xy, np.float64)
    conf = np.asarray(confidence, np.float64)
    keep = np.isfinite(conf) & (conf >= min_confidence) & np.isfinite(xy).all(axis=1)
    if keep.sum() < 2:
        return None
    return padded_extent(xy[keep], image_size)


def check_box(box: Sequence[float], index: int) -> Box:
    """The box as 4 floats; ValueError naming the item when it is not finite with w, h > 0."""
    arr = np.asarray(box, np.float64).reshape(-1)
    if arr.shape != (4,) or not np.isfinite(arr).all() or arr[2] <= 0 or arr[3] <= 0:
        raise ValueError(f"item {index}: box must be [x, y, w, h] with w, h > 0, got {box!r}")
    return (float(arr[0]), float(arr[1]), float(arr[2]), float(arr[3]))


def make_crops(
    images: Sequence[np.ndarray], boxes: Sequence[Box], input_size: tuple[int, int], padding: float
) -> tuple[np.ndarray, np.ndarray]:
    """Warp each image's box to the network input.

    Returns crops (N, h, w, 3) uint8 and the image → input affines (N, 2, 3) float64.
    """
    w, h = input_size
    crops = np.empty((len(images), h, w, 3), np.uint8)
    affines = np.empty((len(images), 2, 3), np.float64)
    for i, (image, box) in enumerate(zip(images, boxes, strict=True)):
        affines[i] = crop_affine(box, (w, h), padding=padding)
        crops[i] = warp_image(image, affines[i], (w, h))
    return crops, affines
