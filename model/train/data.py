"""Training data sources: confirmed instances from a COCO file or a project, as TrainItems; the val split.

A TrainItem is one instance: its image file, keypoints (K, 2) with COCO visibility (0 = not
supervised: its target weight is 0) and box. COCO annotations are all human labels. In a project,
a keypoint is supervised when a person set it (`human`) or when its image is marked done (reviewed
and confirmed as a whole); skipped images and missing files are left out.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.annotations.boxes import keypoint_box
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, ReviewStatus
from model.errors import HglabelError

log = logging.getLogger(__name__)


class TrainDataError(HglabelError, ValueError):
    """Training data cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class TrainItem:
    """One supervised instance: xy (K, 2) float64 image px, vis (K,) int8, box (4,) float64 [x, y, w, h]."""

    image_path: Path
    xy: np.ndarray
    vis: np.ndarray
    box: np.ndarray
    image_key: str  # groups instances of one image (the val split is by image)
    image_size: tuple[int, int] | None = None  # (w, h) when known


def box_or_extent(box: tuple[float, float, float, float] | None, xy: np.ndarray,
                  vis: np.ndarray) -> np.ndarray | None:
    """(4,) float64: the box when it has area, else the labelled points' extent padded by max(10 px, 15 %)."""
    if box is not None:
        b = np.asarray(box, np.float64).reshape(-1)
        if b.shape == (4,) and np.isfinite(b).all() and b[2] > 1.0 and b[3] > 1.0:
            return b
    found = keypoint_box(xy, vis)
    return None if found is None else np.array(found, np.float64)


def item_from_instance(inst: Instance, image_path: Path, key: str, supervised: np.ndarray,
                       size: tuple[int, int] | None) -> TrainItem | None:
    """A TrainItem from an Instance keeping only `supervised` (K,) bool keypoints; None if none remain."""
    vis = np.where(supervised, inst.keypoints.vis, 0).astype(np.int8)
    if not (vis > 0).any():
        return None
    box = box_or_extent(inst.box, inst.keypoints.xy, vis)
    if box is None:
        return None
    return TrainItem(image_path, np.array(inst.keypoints.xy, np.float64), vis, box, key, size)


# ---- COCO ----------------------------------------------------------------------------------------
def items_from_coco(coco_path: Path, images_dir: Path) -> tuple[Skeleton, list[TrainItem]]:
    """All labelled instances of a COCO keypoints file whose images lie under images_dir."""
    from model.io.coco import load_coco

    try:
        dataset = load_coco(coco_path, image_root=images_dir)
    except (OSError, ValueError) as exc:
        raise TrainDataError(str(exc)) from exc
    by_id = {image.id: image for image in dataset.images}
    items: list[TrainItem] = []
    for ann in dataset.annotations:
        image = by_id[ann.image_id]
        size = (int(image.width), int(image.height)) if image.width and image.height else None
        inst = ann.instance
        item = item_from_instance(inst, images_dir / image.file_name, image.file_name,
                                  inst.keypoints.vis > 0, size)
        if item is not None:
            items.append(item)
    return dataset.skeleton, items


# ---- project -------------------------------------------------------------------------------------
def items_from_project(project: str | Path) -> tuple[Skeleton, list[TrainItem]]:
    """Confirmed instances of a project (a project file or an image folder with a project)."""
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.store import ProjectError, ProjectStore

    try:
        store = ProjectStore.open(resolve_project(project))
    except (ProjectNotFoundError, ProjectError) as exc:
        raise TrainDataError(str(exc)) from exc
    items: list[TrainItem] = []
    with store:
        skeleton = store.skeleton
        for record in store.images(include_missing=False):
            if record.status == ReviewStatus.SKIPPED:
                continue
            size = (record.width, record.height) if record.width and record.height else None
            path = store.image_root / record.path
            for inst in store.instances(record.id):
                confirmed = inst.keypoints.human | (record.status == ReviewStatus.DONE)
                item = item_from_instance(inst, path, record.path, confirmed & (inst.keypoints.vis > 0), size)
                if item is not None:
                    items.append(item)
    return skeleton, items


# ---- selection and split -------------------------------------------------------------------------
def filter_images(items: list[TrainItem], pattern: str | None) -> list[TrainItem]:
    """Items whose image key matches the regular expression `pattern` (search); all when None."""
    if not pattern:
        return items
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise TrainDataError(f"--images-matching {pattern!r} is not a regular expression: {exc}") from exc
    return [it for it in items if rx.search(it.image_key)]


VAL_FLOOR = 2  # validation images at least, when there are enough to hold out
FEW_IMAGES = 6  # below this many images one image is held out, rotating with the seed


def split_items(items: list[TrainItem], val_fraction: float, seed: int,
                floor: int = 1) -> tuple[list[TrainItem], list[TrainItem]]:
    """(train, val) split by image, seeded; val gets round(fraction × images), at least `floor` when
    fraction > 0, and at least one image stays for training."""
    if not 0.0 <= val_fraction < 1.0:
        raise TrainDataError(f"val fraction must be in [0, 1), got {val_fraction}")
    keys = sorted({it.image_key for it in items})
    n_val = 0 if val_fraction == 0 else max(floor, round(val_fraction * len(keys)))
    n_val = min(n_val, len(keys) - 1)
    order = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7919]).permutation(len(keys))
    val_keys = {keys[i] for i in order[:n_val]}
    train = [it for it in items if it.image_key not in val_keys]
    val = [it for it in items if it.image_key in val_keys]
    return train, val


def plan_validation(items: list[TrainItem], val_fraction: float,
                    seed: int) -> tuple[list[TrainItem], list[TrainItem], bool]:
    """(train, val, rotated) for a planned run: a share with a floor of VAL_FLOOR images. With fewer than
    FEW_IMAGES images one image is held out, chosen by the seed (rotated=True): successive runs with
    successive seeds hold out each image in turn, so every labelled frame serves both roles over time."""
    keys = sorted({it.image_key for it in items})
    if val_fraction == 0 or len(keys) < 2:
        return items, [], False
    if len(keys) < FEW_IMAGES:
        held = keys[int(seed) % len(keys)]
        return ([it for it in items if it.image_key != held], [it for it in items if it.image_key == held],
                True)
    train, val = split_items(items, val_fraction, seed, floor=VAL_FLOOR)
    return train, val, False
