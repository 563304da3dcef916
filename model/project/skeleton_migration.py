"""Skeleton change → keypoint migration of stored instances (add → v = 0, rename, reorder, remove)."""

from __future__ import annotations

import numpy as np

from model.project import rows


def checked_mapping(old_of_new: list[int | None] | None, old_k: int, new_k: int) -> list[int | None]:
    """old_of_new (default: identity, K unchanged) after checking it maps new_k keypoints onto 0..old_k-1."""
    if old_of_new is None:
        if new_k != old_k:
            raise ValueError("changing the keypoint count needs old_of_new")
        return list(range(new_k))
    if len(old_of_new) != new_k:
        raise ValueError(f"old_of_new has {len(old_of_new)} entries for {new_k} keypoints")
    if any(o is not None and not 0 <= o < old_k for o in old_of_new):
        raise ValueError(f"old_of_new refers to a keypoint outside 0..{old_k - 1}")
    return list(old_of_new)


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
