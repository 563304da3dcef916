"""Where a heatmap lies on the image: overlay transforms, rasterisation into image pixels, peak paths.

Pixel convention (CONTEXT.md): integer coordinates are pixel centres. Heatmap cell (u, v) is centred on
``apply_affine(heatmap_to_image, (u, v))`` in the image. A raster item that draws array element
(row i, col j) over the unit square [j, j + 1) × [i, i + 1) of its own coordinates (pyqtgraph's
ImageItem, row-major) has that cell's centre at (u + 0.5, v + 0.5), hence the −0.5 shift below.
``scene_offset`` is what the canvas adds to image coordinates to get scene coordinates: 0.0 when the
image item is placed at (−0.5, −0.5) (scene == image coordinates), 0.5 when it sits at the origin.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.codec.transforms import apply_affine, invert_affine


def as_matrix(affine: np.ndarray) -> np.ndarray:
    """(2, 3) affine → (3, 3) float64 homogeneous matrix (column-vector convention)."""
    a = np.asarray(affine, np.float64)
    if a.shape != (2, 3):
        raise ValueError(f"affine must have shape (2, 3), got {a.shape}")
    return np.vstack([a, [0.0, 0.0, 1.0]])


def _translation(t: float) -> np.ndarray:
    return np.array([[1.0, 0.0, t], [0.0, 1.0, t], [0.0, 0.0, 1.0]])


def overlay_transform(heatmap_to_image: np.ndarray, scene_offset: float = 0.0) -> np.ndarray:
    """(3, 3) float64 map from raster-item coordinates of a (h, w) heatmap to scene coordinates.

    Column-vector convention: ``scene = M @ (x_item, y_item, 1)``. Cell (u, v)'s square
    [u, u + 1) × [v, v + 1) lands on the image region around ``heatmap_to_image · (u, v)``.
    """
    return _translation(scene_offset) @ as_matrix(heatmap_to_image) @ _translation(-0.5)


def rasterise_heatmap(
    heatmap: np.ndarray,
    heatmap_to_image: np.ndarray,
    image_size: tuple[int, int],
    nearest: bool = True,
) -> np.ndarray:
    """Resample a (h, w) heatmap onto the image grid: (H, W) float32, NaN outside the crop.

    image_size is (W, H). Image pixel (x, y) takes the heatmap value at
    ``invert_affine(heatmap_to_image) · (x, y)`` (nearest cell by default, else bilinear).
    """
    hm = np.asarray(heatmap, np.float32)
    if hm.ndim != 2 or hm.size == 0:
        raise ValueError(f"heatmap must have shape (h, w), got {hm.shape}")
    w_img, h_img = (int(v) for v in image_size)
    to_heatmap = invert_affine(heatmap_to_image)
    flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    # Warp with a sentinel border so "outside the crop" is exact, then turn it into NaN.
    ones = np.ones_like(hm)
    values = cv2.warpAffine(hm, to_heatmap, (w_img, h_img), flags=flags,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    inside = cv2.warpAffine(ones, to_heatmap, (w_img, h_img), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return np.where(inside > 0.5, values, np.float32(np.nan)).astype(np.float32)


def image_to_cell(heatmap_to_image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Image points (..., 2) → heatmap coordinates (..., 2) float64 (round to get the cell)."""
    return apply_affine(invert_affine(heatmap_to_image), xy)


def cell_to_image(heatmap_to_image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Heatmap coordinates (..., 2) → image points (..., 2) float64."""
    return apply_affine(heatmap_to_image, uv)


def crop_corners(heatmap_to_image: np.ndarray, heatmap_size: tuple[int, int]) -> np.ndarray:
    """(4, 2) float64 image-space corners of the region a (w, h) heatmap covers, clockwise from top-left."""
    w, h = heatmap_size
    uv = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    return apply_affine(heatmap_to_image, uv)


def max_over_keypoints(heatmaps: np.ndarray) -> np.ndarray:
    """(K, h, w) → (h, w) float32 maximum over keypoints."""
    hm = np.asarray(heatmaps, np.float32)
    if hm.ndim != 3:
        raise ValueError(f"heatmaps must have shape (K, h, w), got {hm.shape}")
    return hm.max(axis=0)


def peak_path(stack_keypoints: np.ndarray, keypoint: int) -> np.ndarray:
    """(S, 2) float64 image positions of keypoint `keypoint`'s peak in stacks 1 … S (the trail)."""
    pts = np.asarray(stack_keypoints, np.float64)
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise ValueError(f"stack_keypoints must have shape (S, K, 2), got {pts.shape}")
    if not 0 <= keypoint < pts.shape[1]:
        raise IndexError(f"keypoint {keypoint} out of range 0..{pts.shape[1] - 1}")
    return pts[:, keypoint, :].copy()
