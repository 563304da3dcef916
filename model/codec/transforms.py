"""Affine maps between image, crop and heatmap coordinates (one pixel convention, numpy + OpenCV).

Pixel convention (used by every function in ``model.codec``):

- Integer coordinates are pixel *centres* (OpenCV's ``warpAffine`` convention). Image pixel
  (row r, col c) is the point (x=c, y=r); that pixel covers [c - 0.5, c + 0.5] × [r - 0.5, r + 0.5].
  An image of width W therefore spans x ∈ [-0.5, W - 0.5].
- Boxes ``[x, y, w, h]`` live in the same frame as keypoints: the box covers [x, x + w] × [y, y + h]
  and its centre is (x + w / 2, y + h / 2).
- A crop of ``out_size = (w, h)`` spans [-0.5, w - 0.5] × [-0.5, h - 0.5] in crop coordinates; the
  (grown, padded) box is mapped edge to edge onto that extent, so its centre lands on the crop centre
  ((w - 1) / 2, (h - 1) / 2).
- A heatmap of stride s relates to its input by ``x_in = s * u + (s - 1) / 2`` (same for y). This is
  again extent to extent: heatmap pixel u covers exactly the s input pixels s*u … s*u + s - 1, so
  ``crop_affine(box, (W / s, H / s))`` equals ``compose_affine(input_to_heatmap_affine(s),
  crop_affine(box, (W, H)))``.
- Horizontal flip of a width-W image: ``x' = W - 1 - x`` (see ``model.codec.flip``).

All affines are (2, 3) float64 *forward* maps: ``p_out = m[:, :2] @ p_in + m[:, 2]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

Affine = np.ndarray


def _as_affine(m: np.ndarray, name: str = "affine") -> np.ndarray:
    a = np.asarray(m, dtype=np.float64)
    if a.shape != (2, 3):
        raise ValueError(f"{name} must have shape (2, 3), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite entries: {a.tolist()}")
    return a


def _size_pair(size: Sequence[int], name: str) -> tuple[int, int]:
    if len(size) != 2:
        raise ValueError(f"{name} must be (w, h), got {size!r}")
    w, h = (int(v) for v in size)
    if w <= 0 or h <= 0 or w != size[0] or h != size[1]:
        raise ValueError(f"{name} must be two positive integers (w, h), got {size!r}")
    return w, h


BOX_PADDING = 1.25  # a crop is the box grown to the input's aspect, × this (training and prediction)
WHOLE_IMAGE_PADDING = 1.0  # the whole-image first pass of an instance without a box


def crop_affine(
    box_xywh: Sequence[float],
    out_size: Sequence[int] = (256, 256),
    padding: float = BOX_PADDING,
    rotation_deg: float = 0.0,
) -> Affine:
    """Image → crop affine (2, 3) float64 for a box ``[x, y, w, h]`` in image pixels.

    The box is grown to the aspect ratio of ``out_size = (w, h)`` around its centre (the short
    side is lengthened, never shortened), then scaled by ``padding``; that region is mapped edge
    to edge onto the crop (see the module docstring). ``rotation_deg`` rotates the crop *content*
    about the box centre: positive = counter-clockwise as displayed (y pointing down), the same
    sense as ``cv2.getRotationMatrix2D``; a point right of the centre moves up in the crop.

    Degenerate boxes are rejected: width or height <= 0 (or non-finite values) raise ValueError.
    Callers that build boxes from keypoints must give them a minimum size first.
    """
    box = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"box_xywh must be 4 finite numbers [x, y, w, h], got {box_xywh!r}")
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"box_xywh width and height must be > 0, got w={box[2]:g}, h={box[3]:g}")
    if not (math.isfinite(padding) and padding > 0):
        raise ValueError(f"padding must be a positive number, got {padding!r}")
    if not math.isfinite(rotation_deg):
        raise ValueError(f"rotation_deg must be finite, got {rotation_deg!r}")
    out_w, out_h = _size_pair(out_size, "out_size")
    cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
    bw, bh = float(box[2]), float(box[3])
    aspect = out_w / out_h
    if bw / bh > aspect:
        bh = bw / aspect
    else:
        bw = bh * aspect
    scale = out_w / (bw * padding)  # crop pixels per image pixel (same for x and y)
    theta = math.radians(rotation_deg)
    a, b = scale * math.cos(theta), scale * math.sin(theta)
    lin = np.array([[a, b], [-b, a]], dtype=np.float64)
    centre_out = np.array([(out_w - 1) / 2.0, (out_h - 1) / 2.0])
    t = centre_out - lin @ np.array([cx, cy])
    return np.concatenate([lin, t[:, None]], axis=1)


def invert_affine(m: Affine) -> Affine:
    """Inverse of a (2, 3) affine, (2, 3) float64. Raises ValueError if it is singular."""
    a = _as_affine(m)
    lin = a[:, :2]
    det = float(np.linalg.det(lin))
    if abs(det) < 1e-12 * max(1.0, float(np.abs(lin).max()) ** 2):
        raise ValueError(f"affine is singular (det={det:g}): {a.tolist()}")
    inv = np.linalg.inv(lin)
    return np.concatenate([inv, (-inv @ a[:, 2])[:, None]], axis=1)


def compose_affine(outer: Affine, inner: Affine) -> Affine:
    """(2, 3) float64 affine applying ``inner`` first, then ``outer``."""
    o, i = _as_affine(outer, "outer"), _as_affine(inner, "inner")
    lin = o[:, :2] @ i[:, :2]
    t = o[:, :2] @ i[:, 2] + o[:, 2]
    return np.concatenate([lin, t[:, None]], axis=1)


def apply_affine(m: Affine, points: np.ndarray) -> np.ndarray:
    """Map points (..., 2) [x, y] through a (2, 3) affine; returns (..., 2) float64."""
    a = _as_affine(m)
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {p.shape}")
    return p @ a[:, :2].T + a[:, 2]


def input_to_heatmap_affine(stride: int) -> Affine:
    """Network input → heatmap (2, 3) float64 for an integer stride: ``u = (x - (s - 1) / 2) / s``."""
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    s = float(stride)
    off = -(s - 1.0) / (2.0 * s)
    return np.array([[1.0 / s, 0.0, off], [0.0, 1.0 / s, off]], dtype=np.float64)


def image_to_heatmap_affine(
    box_xywh: Sequence[float],
    input_size: Sequence[int],
    stride: int,
    padding: float = BOX_PADDING,
    rotation_deg: float = 0.0,
) -> Affine:
    """Image → heatmap (2, 3) float64: ``crop_affine`` to the network input, then the stride map.

    Invert it (``invert_affine``) to bring decoded heatmap coordinates back to the image.
    """
    crop = crop_affine(box_xywh, input_size, padding=padding, rotation_deg=rotation_deg)
    return compose_affine(input_to_heatmap_affine(stride), crop)


def warp_image(image: np.ndarray, m: Affine, out_size: Sequence[int]) -> np.ndarray:
    """Warp an image (H, W, C) or (H, W) by the forward affine m into ``out_size = (w, h)``.

    Returns (h, w, C) (or (h, w)) of the input dtype. Bilinear interpolation, pixels outside the
    source are 0. Output pixel q takes the source value at ``apply_affine(invert_affine(m), q)``,
    with integer coordinates at pixel centres on both sides (OpenCV's convention).
    """
    a = _as_affine(m)
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"image must have shape (H, W) or (H, W, C) with H, W > 0, got {img.shape}")
    w, h = _size_pair(out_size, "out_size")
    if img.ndim == 3 and img.shape[2] > 4:
        parts = [warp_image(img[:, :, i : i + 4], a, (w, h)) for i in range(0, img.shape[2], 4)]
        return np.concatenate(parts, axis=2)
    out = cv2.warpAffine(
        np.ascontiguousarray(img), a, (w, h),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    if img.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    return out
