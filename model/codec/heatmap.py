"""Heatmap targets (Gaussian encode) and peak decoding (argmax + quarter shift, DARK sub-pixel), numpy only.

Coordinates are heatmap pixels with the convention of ``model.codec.transforms``: integer (u, v) is
the centre of heatmap pixel (column u, row v); points are [x, y] = [u, v]. Map to network-input or
image coordinates with ``input_to_heatmap_affine`` / ``image_to_heatmap_affine`` and their inverses.

- Targets are unnormalised Gaussians with peak 1 centred at the *float* location (never rounded),
  ``exp(-((u - x)^2 + (v - y)^2) / (2 sigma^2))`` over the whole map (no truncation), so that their
  log is exactly quadratic and sub-pixel decoding recovers the centre.
- ``method="argmax"``: argmax, then a quarter-pixel shift per axis towards the larger neighbour
  (pytorch-pose style; no shift on the map border or when the neighbours are equal).
- ``method="dark"`` (default): DARK (Zhang et al. 2020, "Distribution-Aware Coordinate
  Representation"): blur the map with a Gaussian of the training sigma (zero border, radius
  ceil(3 sigma)), take the log, and do one Newton step ``-H^-1 g`` from the raw argmax with central
  differences for the gradient g and Hessian H. Where the argmax lies on the border, H is not
  negative-definite, or the step is longer than 1 px, the argmax result is kept.
- ``maxvals`` are the raw map values at the argmax (not normalised, not blurred).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_LOG_FLOOR = 1e-10


def encode_heatmaps(
    points: np.ndarray,
    vis: np.ndarray,
    size: Sequence[int] = (64, 64),
    sigma: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian targets for K points.

    points: (K, 2) [x, y] in heatmap pixels (float, sub-pixel kept); vis: (K,) COCO visibility
    (0 = not labelled). size: (w, h) of the map. sigma: Gaussian sigma in heatmap pixels.
    Returns (heatmaps (K, h, w) float32, weights (K,) float32). A keypoint gets weight 0 and an
    all-zero map when vis == 0, its point is not finite, or the Gaussian lies fully outside the map
    (centre more than 3 sigma beyond the outermost pixel centre); otherwise weight 1.
    """
    pts = np.asarray(points, dtype=np.float64)
    v = np.asarray(vis)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (K, 2), got {pts.shape}")
    if v.shape != (pts.shape[0],):
        raise ValueError(f"vis must have shape ({pts.shape[0]},), got {v.shape}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    w, h = (int(s) for s in size)
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be (w, h) with w, h > 0, got {size!r}")
    finite = np.all(np.isfinite(pts), axis=1)
    safe = np.where(finite[:, None], pts, 0.0)
    reach = 3.0 * sigma
    inside = (
        (safe[:, 0] >= -reach) & (safe[:, 0] <= w - 1 + reach)
        & (safe[:, 1] >= -reach) & (safe[:, 1] <= h - 1 + reach)
    )
    keep = (v > 0) & finite & inside
    gx = np.exp(-((np.arange(w)[None, :] - safe[:, :1]) ** 2) / (2.0 * sigma**2))  # (K, w)
    gy = np.exp(-((np.arange(h)[None, :] - safe[:, 1:]) ** 2) / (2.0 * sigma**2))  # (K, h)
    maps = gy[:, :, None] * gx[:, None, :] * keep[:, None, None]
    return maps.astype(np.float32), keep.astype(np.float32)


def decode_heatmaps(
    heatmaps: np.ndarray, method: str = "dark", *, sigma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Peak location and value of each map.

    heatmaps: (..., K, h, w) real. method: "dark" (default) or "argmax". sigma: the training
    Gaussian sigma in heatmap pixels, used for DARK's blur only.
    Returns (coords (..., K, 2) float64 [x, y] in heatmap pixels, maxvals (..., K) float32).
    All-zero or constant maps give finite coords (the first pixel) and their constant value.
    Raises ValueError for non-finite values or a bad shape/method.
    """
    hm = np.asarray(heatmaps)
    if hm.ndim < 3 or hm.shape[-1] == 0 or hm.shape[-2] == 0:
        raise ValueError(f"heatmaps must have shape (..., K, h, w) with h, w > 0, got {hm.shape}")
    if method not in ("dark", "argmax"):
        raise ValueError(f"decode method must be 'dark' or 'argmax', got {method!r}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    flat = hm.reshape(-1, h, w).astype(np.float64, copy=False)
    if flat.shape[0] == 0:
        return np.zeros((*lead, 2)), np.zeros(lead, dtype=np.float32)
    if not np.all(np.isfinite(flat)):
        raise ValueError("heatmaps contain NaN or infinite values")
    idx = np.argmax(flat.reshape(len(flat), -1), axis=1)
    ys, xs = np.divmod(idx, w)
    rows = np.arange(len(flat))
    maxvals = flat[rows, ys, xs].astype(np.float32)
    coords = _quarter_shift(flat, xs, ys)
    if method == "dark":
        coords = _dark_refine(flat, xs, ys, coords, sigma)
    return coords.reshape(*lead, 2), maxvals.reshape(lead)


def _quarter_shift(flat: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(N, 2) argmax coords shifted 0.25 px per axis towards the larger neighbour (interior only)."""
    n, h, w = flat.shape
    rows = np.arange(n)
    xl, xr = np.clip(xs - 1, 0, w - 1), np.clip(xs + 1, 0, w - 1)
    yu, yd = np.clip(ys - 1, 0, h - 1), np.clip(ys + 1, 0, h - 1)
    sx = np.sign(flat[rows, ys, xr] - flat[rows, ys, xl]) * ((xs > 0) & (xs < w - 1))
    sy = np.sign(flat[rows, yd, xs] - flat[rows, yu, xs]) * ((ys > 0) & (ys < h - 1))
    return np.stack([xs + 0.25 * sx, ys + 0.25 * sy], axis=1).astype(np.float64)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    """(2r + 1,) float64 normalised Gaussian taps, r = ceil(3 sigma)."""
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")
    r = max(1, math.ceil(3.0 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-(t**2) / (2.0 * sigma**2))
    return k / k.sum()


def gaussian_blur(flat: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of maps (N, h, w) with zero border; returns (N, h, w) float64.

    Kernel radius ceil(3 sigma). Zero padding (not reflection) keeps a Gaussian that sits near the
    border Gaussian-shaped: the missing outside values are small tails, whereas a mirror would add
    a second peak (measured, sigma 1, centres 0.5-3 px from the border: DARK max error 0.69 px with
    reflection, 0.18 px with zeros; < 0.1 px with zeros from 1 px inwards).
    """
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    n, h, w = flat.shape
    pad = np.pad(np.asarray(flat, dtype=np.float64), ((0, 0), (0, 0), (r, r)))
    tmp = sum(k[i] * pad[:, :, i : i + w] for i in range(2 * r + 1))
    pad = np.pad(tmp, ((0, 0), (r, r), (0, 0)))
    return sum(k[i] * pad[:, i : i + h, :] for i in range(2 * r + 1))


def _blurred_patches(flat: np.ndarray, xs: np.ndarray, ys: np.ndarray, sigma: float) -> np.ndarray:
    """(N, 3, 3) values of ``gaussian_blur(flat)`` around (xs, ys); only the needed window is blurred."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    half = r + 1
    pad = np.pad(flat, ((0, 0), (half, half), (half, half)))
    off = np.arange(-half, half + 1)
    rows = np.arange(len(flat))[:, None, None]
    win = pad[rows, (ys + half)[:, None, None] + off[None, :, None], (xs + half)[:, None, None] + off]
    size = 2 * half + 1  # window (N, size, size) -> valid blur (N, 3, 3)
    tmp = sum(k[i] * win[:, :, i : i + size - 2 * r] for i in range(2 * r + 1))
    return sum(k[i] * tmp[:, i : i + size - 2 * r, :] for i in range(2 * r + 1))


def _dark_refine(
    flat: np.ndarray, xs: np.ndarray, ys: np.ndarray, fallback: np.ndarray, sigma: float
) -> np.ndarray:
    """(N, 2) DARK coords from maps (N, h, w) and integer argmax (N,); ``fallback`` where it fails."""
    n, h, w = flat.shape
    interior = (xs > 0) & (xs < w - 1) & (ys > 0) & (ys < h - 1)
    if not np.any(interior):
        return fallback
    sel = np.nonzero(interior)[0]
    x, y = xs[sel], ys[sel]
    logm = np.log(np.maximum(_blurred_patches(flat[sel], x, y, sigma), _LOG_FLOOR))  # (n, 3, 3)

    def at(dx: int, dy: int) -> np.ndarray:
        return logm[:, 1 + dy, 1 + dx]

    c = at(0, 0)
    gx, gy = 0.5 * (at(1, 0) - at(-1, 0)), 0.5 * (at(0, 1) - at(0, -1))
    hxx, hyy = at(1, 0) - 2.0 * c + at(-1, 0), at(0, 1) - 2.0 * c + at(0, -1)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy * hxy
    ok = (hxx < 0) & (det > 1e-12 * np.maximum(hxx * hxx, 1e-300))
    safe_det = np.where(ok, det, 1.0)
    step_x = -(hyy * gx - hxy * gy) / safe_det
    step_y = -(-hxy * gx + hxx * gy) / safe_det
    ok &= np.hypot(step_x, step_y) <= 1.0
    out = fallback.copy()
    good = sel[ok]
    out[good, 0] = x[ok] + step_x[ok]
    out[good, 1] = y[ok] + step_y[ok]
    return out


def local_maxima(
    heatmap: np.ndarray, max_count: int = 10, min_value: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Strict 3×3 local maxima of one map (h, w), highest first.

    A pixel counts when its value is >= min_value and strictly greater than each of its up to 8
    neighbours (plateaus give none). Locations are refined to sub-pixel per axis by fitting a
    parabola to the log of the 3 values through the peak (exact for a Gaussian; the shift is
    within ±0.5 px). Returns (coords (M, 2) float64 [x, y] in map pixels, values (M,) float32 raw
    peak values), M <= max_count.
    """
    hm = np.asarray(heatmap, dtype=np.float64)
    if hm.ndim != 2 or hm.size == 0:
        raise ValueError(f"heatmap must have shape (h, w) with h, w > 0, got {hm.shape}")
    if not np.all(np.isfinite(hm)):
        raise ValueError("heatmap contains NaN or infinite values")
    if max_count < 0:
        raise ValueError(f"max_count must be >= 0, got {max_count}")
    h, w = hm.shape
    pad = np.pad(hm, 1, constant_values=-np.inf)
    is_max = hm >= min_value
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                is_max &= hm > pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    ys, xs = np.nonzero(is_max)
    vals = hm[ys, xs]
    order = np.argsort(-vals, kind="stable")[:max_count]
    ys, xs, vals = ys[order], xs[order], vals[order]
    logp = np.log(np.maximum(pad, _LOG_FLOOR))  # -inf border becomes the floor
    ox = _parabola_offset(logp[ys + 1, xs], logp[ys + 1, xs + 2], logp[ys + 1, xs + 1])
    oy = _parabola_offset(logp[ys, xs + 1], logp[ys + 2, xs + 1], logp[ys + 1, xs + 1])
    coords = np.stack([xs + ox, ys + oy], axis=1).astype(np.float64)
    return coords.reshape(-1, 2), vals.astype(np.float32)


def _parabola_offset(left: np.ndarray, right: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Vertex offset in [-0.5, 0.5] of the parabola through (-1, left), (0, centre), (1, right)."""
    denom = left - 2.0 * centre + right
    ok = denom < 0
    off = np.where(ok, 0.5 * (left - right) / np.where(ok, denom, -1.0), 0.0)
    return np.clip(off, -0.5, 0.5)
