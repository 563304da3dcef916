"""Pictures of heatmaps without Qt: colour maps, shared levels, the stack × keypoint grid, stack overlays.

The GUI dock uses the same colour tables (`colormap_lut`) and levels (`shared_levels`) as these
renderings, so a PNG from `hglabel heatmaps` looks like the dock.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np

from model.codec.transforms import compose_affine, input_to_heatmap_affine, invert_affine, warp_image

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO, "viridis": cv2.COLORMAP_VIRIDIS, "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA, "turbo": cv2.COLORMAP_TURBO, "jet": cv2.COLORMAP_JET,
    "hot": cv2.COLORMAP_HOT,
}
DEFAULT_COLORMAP = "inferno"
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@cache
def colormap_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(256, 3) uint8 RGB colour table of a named map (see COLORMAPS). Read-only."""
    if name not in COLORMAPS:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAPS)}")
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    lut = cv2.applyColorMap(ramp, COLORMAPS[name])[:, 0, ::-1].copy()
    lut.setflags(write=False)
    return lut


def shared_levels(heatmaps: np.ndarray) -> tuple[float, float]:
    """One absolute colour scale for a whole set of heatmaps (any shape): (min(0, lowest), highest)."""
    arr = np.asarray(heatmaps, np.float32)
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return 0.0, 1.0
    lo = min(0.0, float(finite.min()))
    hi = float(finite.max())
    return lo, max(hi, lo + 1e-6)


def colorize(values: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """values (...) float → (..., 3) uint8 RGB through `lut` (256, 3) with `levels` (lo, hi); NaN → 0."""
    lo, hi = levels
    scaled = (np.nan_to_num(np.asarray(values, np.float32), nan=lo) - lo) * (255.0 / (hi - lo))
    return lut[np.clip(scaled, 0, 255).astype(np.uint8)]


def cell_zoom(heatmap_size: tuple[int, int], cell: int) -> int:
    """Integer upscale so a (w, h) heatmap fills about `cell` pixels on its long side (at least 1)."""
    return max(1, int(cell) // max(heatmap_size))


def crop_under_heatmap(image: np.ndarray, heatmap_to_image: np.ndarray, heatmap_size: tuple[int, int],
                       zoom: int) -> np.ndarray:
    """(h·zoom, w·zoom, 3) uint8: the image region a (w, h) heatmap covers, sampled at `zoom` × its grid."""
    w, h = heatmap_size
    cell_to_image = compose_affine(heatmap_to_image, input_to_heatmap_affine(zoom))
    return warp_image(image, invert_affine(cell_to_image), (w * zoom, h * zoom))


def upsample_heatmap(heatmap: np.ndarray, zoom: int) -> np.ndarray:
    """(h, w) → (h·zoom, w·zoom) float32, bilinear, under the pixel-centre convention."""
    hm = np.asarray(heatmap, np.float32)
    h, w = hm.shape
    to_cell = invert_affine(input_to_heatmap_affine(zoom))
    return cv2.warpAffine(hm, to_cell, (w * zoom, h * zoom), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def blend(crop: np.ndarray | None, colour: np.ndarray, alpha: float) -> np.ndarray:
    """Colour (h, w, 3) uint8 over a faded crop (h, w, 3) uint8: alpha·colour + (1 − alpha)·crop."""
    if crop is None:
        return colour
    mixed = alpha * colour.astype(np.float32) + (1.0 - alpha) * crop.astype(np.float32)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def colour_bar(height: int, levels: tuple[float, float], lut: np.ndarray, width: int = 14,
               label_width: int = 56) -> np.ndarray:
    """(height, width + label_width, 3) uint8 vertical colour bar, high values on top, with 3 labels."""
    ramp = np.linspace(levels[1], levels[0], height, dtype=np.float32)[:, None].repeat(width, axis=1)
    bar = np.full((height, width + label_width, 3), 255, np.uint8)
    bar[:, :width] = colorize(ramp, levels, lut)
    for frac in (0.0, 0.5, 1.0):
        y = int(round(frac * (height - 1)))
        value = levels[1] - frac * (levels[1] - levels[0])
        ty = min(max(y + 4, 10), height - 2)
        cv2.putText(bar, f"{value:.2f}", (width + 4, ty), _FONT, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def render_grid(
    stack_heatmaps: np.ndarray,
    keypoint_names: Sequence[str],
    image: np.ndarray | None = None,
    heatmap_to_image: np.ndarray | None = None,
    cmap: str = DEFAULT_COLORMAP,
    cell: int = 128,
    alpha: float = 0.75,
    levels: tuple[float, float] | None = None,
) -> np.ndarray:
    """The stack × keypoint grid as an (H, W, 3) uint8 RGB picture.

    stack_heatmaps (S, K, h, w) float32; rows are stacks 1 … S, columns keypoints (labelled with
    `keypoint_names`), one absolute colour scale shared by every cell (`levels`, default
    `shared_levels`) with its colour bar on the right. With `image` (H, W, 3) uint8 and
    `heatmap_to_image` (2, 3), the crop each heatmap came from is shown faded underneath.
    """
    hm = np.asarray(stack_heatmaps, np.float32)
    if hm.ndim != 4:
        raise ValueError(f"stack_heatmaps must have shape (S, K, h, w), got {hm.shape}")
    s_count, k_count, h, w = hm.shape
    if len(keypoint_names) != k_count:
        raise ValueError(f"{len(keypoint_names)} keypoint names for {k_count} heatmaps")
    lut = colormap_lut(cmap)
    levels = shared_levels(hm) if levels is None else levels
    zoom = cell_zoom((w, h), cell)
    cw, ch = w * zoom, h * zoom
    crop = None
    if image is not None and heatmap_to_image is not None:
        crop = crop_under_heatmap(image, heatmap_to_image, (w, h), zoom)
    left, top, gap = 72, 26, 4
    grid_h = top + s_count * (ch + gap)
    bar = colour_bar(s_count * (ch + gap) - gap, levels, lut)
    out = np.full((grid_h + gap, left + k_count * (cw + gap) + 8 + bar.shape[1], 3), 255, np.uint8)
    for k, name in enumerate(keypoint_names):
        x0 = left + k * (cw + gap)
        cv2.putText(out, _fit(name, cw), (x0 + 2, top - 8), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for s in range(s_count):
        y0 = top + s * (ch + gap)
        cv2.putText(out, f"stack {s + 1}", (4, y0 + ch // 2 + 5), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for k in range(k_count):
            x0 = left + k * (cw + gap)
            colour = colorize(upsample_heatmap(hm[s, k], zoom), levels, lut)
            out[y0:y0 + ch, x0:x0 + cw] = blend(crop, colour, alpha)
    bx = left + k_count * (cw + gap) + 8
    out[top:top + bar.shape[0], bx:bx + bar.shape[1]] = bar
    return out


def render_stack_overlay(
    image: np.ndarray,
    heatmaps: np.ndarray,
    heatmap_to_image: np.ndarray,
    peaks_xy: np.ndarray,
    keypoint_names: Sequence[str],
    colors: Sequence[tuple[int, int, int]],
    title: str,
    cmap: str = DEFAULT_COLORMAP,
    size: int = 384,
    alpha: float = 0.8,
    levels: tuple[float, float] | None = None,
) -> np.ndarray:
    """One stack on its crop: max over keypoints (K, h, w) blended over the crop, peaks marked.

    The heatmap is opaque (up to `alpha`) where it is high and transparent where it is 0 or below.

    peaks_xy (K, 2) image pixels; colors one RGB per keypoint. Returns (h·z, w·z + 80, 3) uint8 RGB.
    """
    hm = np.asarray(heatmaps, np.float32)
    k_count, h, w = hm.shape
    zoom = cell_zoom((w, h), size)
    crop = crop_under_heatmap(image, heatmap_to_image, (w, h), zoom)
    levels = shared_levels(hm) if levels is None else levels
    lut = colormap_lut(cmap)
    top = upsample_heatmap(hm.max(axis=0), zoom)
    weight = alpha * np.clip(top / max(levels[1], 1e-6), 0.0, 1.0)[:, :, None]
    mixed = weight * colorize(top, levels, lut) + (1.0 - weight) * crop.astype(np.float32)
    pic = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    image_to_cell = invert_affine(compose_affine(heatmap_to_image, input_to_heatmap_affine(zoom)))
    cells = np.asarray(peaks_xy, np.float64) @ image_to_cell[:, :2].T + image_to_cell[:, 2]
    for k, (x, y) in enumerate(cells):
        centre = (int(round(x)), int(round(y)))
        cv2.circle(pic, centre, 5, tuple(int(c) for c in colors[k]), 2, cv2.LINE_AA)
        cv2.putText(pic, keypoint_names[k], (centre[0] + 7, centre[1] - 5), _FONT, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(pic, title, (6, 18), _FONT, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    bar = colour_bar(pic.shape[0], levels, lut)
    gap = np.full((pic.shape[0], 8, 3), 255, np.uint8)
    return np.concatenate([pic, gap, bar], axis=1)


def _fit(text: str, width: int, scale: float = 0.45) -> str:
    """Shorten `text` with '…'-like '..' until it fits `width` pixels in the label font."""
    while len(text) > 3 and cv2.getTextSize(text, _FONT, scale, 1)[0][0] > width - 4:
        text = text[:-3] + ".."
    return text
