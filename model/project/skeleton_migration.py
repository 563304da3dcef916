"""Skeleton change → keypoint migration of stored instances (add → v = 0, rename, reorder, remove)."""

from __future__ import annotations

import numpy as np

from model.project import rows


def migrate_array(arr: np.ndarray, old_of_new: list[int | None]) -> np.ndarray:
    """(K_old,) KP_DTYPE → (K_new,) KP_DTYPE; new keypoint j takes old old_of_new[j], or is empty (v = 0)."""
    out = np.zeros(len(old_of_new), rows.KP_DTYPE)
    out["conf"] = np.nan
    for j, o in enumerate(old_of_new):
        if o is not None:
            out[j] = arr[o]
    return out


def migrate_blob(blob: bytes, old_of_new: list[int | None]) -> bytes:
    return migrate_array(rows.decode_array(blob), old_of_new).tobytes()
