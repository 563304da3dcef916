"""The one COCO keypoints → project reader (`read_coco`): numpy-vectorised checks, no per-keypoint objects.

`bulk_parse` accepts only plainly well-formed files: a strict subset of what model.io.coco.parse_coco
accepts (exact int/float JSON types, already-clean file names, no symbolic-link file entries, …),
and for those it yields exactly the values parse_coco would. Anything else returns None and the
caller hands the file to parse_coco, whose error names the file and the field. The category is
always read by parse_coco itself (on a copy without images and annotations), so skeleton rules
live in one place. tests/model/project/test_coco_bulk.py checks the subset/equality property.
`read_coco` is the entry point (hglabel import, File → Import COCO): bulk_parse, else
parse_coco → bulk_from_dataset.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.annotations.skeleton import Skeleton
from model.io.coco import CocoDataset, parse_coco
from model.io.coco_checks import keypoints_outside, size_mismatch, zero_box_problem
from model.io.coco_validate import MAX_COORD, MAX_ID, MAX_SIDE
from model.project import rows


@dataclass(frozen=True, eq=False)
class BulkCoco:
    """A validated COCO file as arrays. ann_* have one row per kept annotation (in file order).

    image_ids (M,) int64, file_names M str, sizes (M, 2) int64 width/height; ann_image (N,) int64;
    ann_box (N, 4) float64; ann_kp (N, K) rows.KP_DTYPE (v = 0 points at 0, 0; human = v > 0);
    ann_track (N,) int64 track ids (-1: none).
    """

    skeleton: Skeleton
    category_id: int
    image_ids: np.ndarray
    file_names: list[str]
    sizes: np.ndarray
    ann_image: np.ndarray
    ann_box: np.ndarray
    ann_kp: np.ndarray
    ann_track: np.ndarray


def _plain_int(value: Any, lo: int = 0, hi: int = MAX_ID) -> bool:
    return type(value) is int and lo <= value <= hi


def _numbers(lists: list, width: int) -> np.ndarray | None:
    """(N, width) float64 of N lists of exactly `width` plain JSON numbers, all finite, |v| <= MAX_COORD."""
    if any(type(v) is not list or len(v) != width for v in lists):
        return None
    if not set(map(type, itertools.chain.from_iterable(lists))) <= {int, float}:
        return None
    try:
        arr = np.array(lists, dtype=np.float64).reshape(len(lists), width)
    except (OverflowError, ValueError):
        return None
    if not (np.isfinite(arr).all() and (np.abs(arr) <= MAX_COORD).all()):
        return None
    return arr


def _clean_name(name: Any) -> bool:
    """A relative POSIX path as parse_coco would leave it: no '', '.', '..' parts, no '\\', ':', controls."""
    if type(name) is not str or not name or not name.isprintable() or "\\" in name or ":" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _inside_root(names: list[str], root: Path) -> bool:
    """True if every name resolves inside root without a symbolic link at the file itself."""
    real_root = os.path.realpath(root)
    prefix = real_root.rstrip(os.sep) + os.sep
    for folder in {os.path.dirname(n) for n in names}:
        real = os.path.realpath(os.path.join(real_root, folder))
        if real != real_root and not real.startswith(prefix):
            return False
    return not any(os.path.islink(os.path.join(real_root, n)) for n in names)


def _images(images: list, root: Path | None) -> tuple[np.ndarray, list[str], np.ndarray] | None:
    if any(type(im) is not dict for im in images):
        return None
    try:
        ids = [im["id"] for im in images]
        names = [im["file_name"] for im in images]
        sizes = [(im["width"], im["height"]) for im in images]
    except KeyError:
        return None
    if not all(_plain_int(i) for i in ids) or len(set(ids)) != len(ids):
        return None
    if not all(map(_clean_name, names)) or len(set(names)) != len(names):
        return None
    if not all(_plain_int(w, 1, MAX_SIDE) and _plain_int(h, 1, MAX_SIDE) for w, h in sizes):
        return None
    if root is not None and not _inside_root(names, root):
        return None
    size_arr = np.array(sizes, np.int64).reshape(-1, 2)
    if root is not None and size_mismatch(names, size_arr, Path(root)) is not None:
        return None
    return np.array(ids, np.int64), names, size_arr


def _annotations(anns: list, sizes: dict[int, tuple[int, int]], category_ids: set[int], category_id: int,
                 k: int):
    if any(type(a) is not dict for a in anns):
        return None
    try:
        ids = [a["id"] for a in anns]
        cats = [a["category_id"] for a in anns]
        imgs = [a["image_id"] for a in anns]
    except KeyError:
        return None
    crowd = [a.get("iscrowd", 0) for a in anns]
    if not all(_plain_int(i) for i in itertools.chain(ids, cats, imgs)) or len(set(ids)) != len(ids):
        return None
    if any(type(c) is not int or c not in (0, 1) for c in crowd):
        return None
    if not set(cats) <= category_ids or not set(imgs) <= sizes.keys():
        return None
    kept = [a for a, c, z in zip(anns, cats, crowd, strict=True) if c == category_id and z == 0]
    try:
        flat = _numbers([a["keypoints"] for a in kept], 3 * k)
        box = _numbers([a["bbox"] for a in kept], 4)
    except KeyError:
        return None
    if flat is None or box is None or (box[:, 2:] < 0).any():
        return None
    tracks = [a.get("track_id") for a in kept]
    if not all(t is None or _plain_int(t) for t in tracks):
        return None
    flat = flat.reshape(-1, k, 3)
    v = flat[:, :, 2]
    if not np.isin(v, (0.0, 1.0, 2.0)).all():
        return None
    ann_sizes = np.array([sizes[a["image_id"]] for a in kept], np.int64).reshape(-1, 2)
    if keypoints_outside(flat[:, :, :2], v, ann_sizes) is not None or zero_box_problem(box, v) is not None:
        return None
    kp = np.zeros(flat.shape[:2], rows.KP_DTYPE)
    labelled = v > 0
    kp["x"], kp["y"] = np.where(labelled, flat[:, :, 0], 0.0), np.where(labelled, flat[:, :, 1], 0.0)
    kp["v"], kp["conf"], kp["human"] = v.astype(np.int8), np.nan, labelled
    track = np.array([-1 if t is None else t for t in tracks], np.int64)
    return np.array([a["image_id"] for a in kept], np.int64), box, kp, track


def bulk_parse(data: Any, source: str, image_root: Path | None = None,
               skeleton: Skeleton | None = None) -> BulkCoco | None:
    """BulkCoco of decoded COCO JSON, or None when the file is not plainly well-formed (then call
    parse_coco for the precise error, or for its more lenient reading). Category errors raise
    CocoImportError directly (parse_coco reads the categories)."""
    if type(data) is not dict or not all(type(data.get(key)) is list
                                         for key in ("images", "annotations", "categories")):
        return None
    head = parse_coco({"images": [], "annotations": [], "categories": data["categories"]}, source,
                      skeleton=skeleton)
    images = _images(data["images"], image_root)
    if images is None:
        return None
    category_ids = {int(c["id"]) for c in data["categories"]}
    sizes = dict(zip(images[0].tolist(), map(tuple, images[2].tolist()), strict=True))
    anns = _annotations(data["annotations"], sizes, category_ids, head.category_id,
                        head.skeleton.num_keypoints)
    if anns is None:
        return None
    return BulkCoco(head.skeleton, head.category_id, *images, *anns)


def bulk_from_dataset(ds: CocoDataset) -> BulkCoco:
    """BulkCoco of a CocoDataset read by parse_coco (the lenient path)."""
    k = ds.skeleton.num_keypoints
    kp = np.zeros((len(ds.annotations), k), rows.KP_DTYPE)
    for i, ann in enumerate(ds.annotations):
        kp[i] = rows.decode_array(rows.encode_keypoints(ann.instance.keypoints))
    return BulkCoco(
        ds.skeleton, ds.category_id,
        np.array([im.id for im in ds.images], np.int64), [im.file_name for im in ds.images],
        np.array([(im.width, im.height) for im in ds.images], np.int64).reshape(-1, 2),
        np.array([a.image_id for a in ds.annotations], np.int64),
        np.array([a.instance.box for a in ds.annotations], np.float64).reshape(-1, 4), kp,
        np.array([-1 if a.instance.track_id is None else a.instance.track_id for a in ds.annotations],
                 np.int64),
    )


def read_coco(data, source: str, image_root: Path, skeleton: Skeleton | None) -> BulkCoco:
    """Validated arrays of decoded COCO JSON: the bulk reader, or parse_coco when the file is not
    plainly well-formed (its CocoImportError names the file and the field)."""
    bulk = bulk_parse(data, source, image_root, skeleton)
    if bulk is None:
        bulk = bulk_from_dataset(parse_coco(data, source, image_root=image_root, skeleton=skeleton))
    return bulk
