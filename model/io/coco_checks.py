"""COCO values checked against the images themselves: stated sizes vs the real files, keypoints far
outside their image, boxes of no size. Shared by parse_coco and the bulk reader.

Keypoints may lie a little outside the image (a paw at the border); beyond OUTSIDE_MARGIN of the
image's side they are a corrupt or mis-scaled file, and training or evaluation on them is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

OUTSIDE_MARGIN = 0.5  # a labelled keypoint may lie up to half the image's side outside it


def size_mismatch(names: list[str], sizes: np.ndarray, root: Path) -> tuple[int, tuple[int, int]] | None:
    """(index, real (w, h)) of the first image whose file's size differs from sizes[index] (M, 2);
    files that are absent or unreadable are not judged here (they are reported when used)."""
    from model.io.images import ImageReadError, read_image_size

    base = os.fspath(root)
    for i, name in enumerate(names):
        try:
            real = read_image_size(os.path.join(base, name))
        except (ImageReadError, OSError, ValueError):
            continue
        if (int(sizes[i][0]), int(sizes[i][1])) != tuple(real):
            return i, (int(real[0]), int(real[1]))
    return None


def keypoints_outside(xy: np.ndarray, vis: np.ndarray, sizes: np.ndarray) -> tuple[int, int] | None:
    """(annotation, keypoint) of the first labelled keypoint far outside its image, else None.

    xy (N, K, 2), vis (N, K), sizes (N, 2) width/height of each annotation's image.
    """
    if not len(xy):
        return None
    side = sizes[:, None, :].astype(np.float64)
    lo, hi = -OUTSIDE_MARGIN * side, (1.0 + OUTSIDE_MARGIN) * side
    far = (vis > 0) & ((xy < lo) | (xy > hi)).any(axis=-1)
    if not far.any():
        return None
    n, k = np.argwhere(far)[0]
    return int(n), int(k)


def describe_outside(xy: tuple[float, float], size: tuple[int, int]) -> str:
    return (f"keypoint at ({xy[0]:g}, {xy[1]:g}) is far outside its {size[0]}×{size[1]} image (more than "
            f"{OUTSIDE_MARGIN:.0%} of a side beyond the border)")


def zero_box_problem(boxes: np.ndarray, vis: np.ndarray) -> int | None:
    """Index of the first box of no size (w or h == 0) around two or more labelled keypoints, else None.

    boxes (N, 4) x, y, w, h; vis (N, K). A box of no size is COCO's point annotation (one keypoint,
    area 1); with several keypoints it contradicts them (a crop of it would hold none of them).
    """
    bad = ((boxes[:, 2] == 0) | (boxes[:, 3] == 0)) & ((vis > 0).sum(axis=1) >= 2)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None
