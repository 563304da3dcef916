"""PCK (fraction of labelled keypoints within α × GT box diagonal) and pixel errors, overall and per keypoint.

`pck` is the one PCK computation (evaluation here, validation during training); its keys are
"PCK@<α>" everywhere (results tables, `hglabel eval --json`, training's JSON lines).

Counted over every labelled (v > 0) ground-truth keypoint. A ground-truth instance that no result
matched counts as wrong for PCK and is left out of the pixel errors (there is no prediction to
measure); `matched_keypoints` says how many errors the means are over.
"""

from __future__ import annotations

import numpy as np

from model.io.coco import CocoAnnotation, CocoResult

PCK_THRESHOLDS = (0.05, 0.1, 0.2)


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _collect(pairs: list[tuple[CocoAnnotation, CocoResult | None]]):
    """(keypoint index (N,), error px (N,) NaN where unmatched, box diagonal (N,)) over labelled GT."""
    index, error, diag = [], [], []
    for ann, res in pairs:
        kp = ann.instance.keypoints
        labelled = np.flatnonzero(kp.vis > 0)
        _x, _y, w, h = ann.instance.box
        if res is None:
            err = np.full(labelled.size, np.nan)
        else:
            err = np.hypot(*(res.xy[labelled] - kp.xy[labelled]).T)
        index.append(labelled)
        error.append(err)
        diag.append(np.full(labelled.size, float(np.hypot(w, h))))
    if not index:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    return np.concatenate(index), np.concatenate(error), np.concatenate(diag)


def pck(error: np.ndarray, diag: np.ndarray,
        thresholds: tuple[float, ...] = PCK_THRESHOLDS) -> dict[str, float]:
    """{"PCK@α": fraction of keypoints with error ≤ α × diag}; error (N,) px, NaN = no prediction
    (counts as a miss); diag (N,) the box diagonals. 0.0 for N = 0."""
    error, diag = np.asarray(error, np.float64), np.asarray(diag, np.float64)
    matched = ~np.isnan(error)
    out = {}
    for alpha in thresholds:
        hit = matched & (np.where(matched, error, np.inf) <= alpha * diag)
        out[f"PCK@{alpha:g}"] = float(hit.mean()) if error.size else 0.0
    return out


def _stats(error: np.ndarray, diag: np.ndarray, thresholds: tuple[float, ...]) -> dict:
    matched = ~np.isnan(error)
    out: dict = pck(error, diag, thresholds)
    out["mean_px_error"] = _mean(error[matched])
    out["median_px_error"] = float(np.median(error[matched])) if matched.any() else None
    out["labelled_keypoints"] = int(error.size)
    out["matched_keypoints"] = int(matched.sum())
    return out


def pck_metrics(pairs: list[tuple[CocoAnnotation, CocoResult | None]], keypoint_names: tuple[str, ...],
                thresholds: tuple[float, ...] = PCK_THRESHOLDS) -> dict:
    """{'PCK@0.05': …, 'mean_px_error': …, …, 'per_keypoint': {name: same fields}} over matched pairs."""
    index, error, diag = _collect(pairs)
    out = _stats(error, diag, thresholds)
    out["per_keypoint"] = {
        name: _stats(error[index == j], diag[index == j], thresholds)
        for j, name in enumerate(keypoint_names)
    }
    return out
