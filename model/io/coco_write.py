"""Writing COCO keypoints exactly as DESIGN.md §6 says, COCO results lists, and atomic JSON files.

- ids: images and annotations keep their ids when all are >= 1 and unique; otherwise that table is
  renumbered 1..N in list order (annotations' image_id follow the images).
- keypoints [x, y, v] × K in the skeleton's order; v = 0 is written 0, 0, 0; num_keypoints = count
  of v > 0; bbox [x, y, w, h]; area = w × h, or 1.0 (one square pixel) when the box has no area,
  because COCO needs area > 0 and OKS divides by it; iscrowd 0; `track_id` (PoseTrack's field)
  when the instance has a track.
- category: 1-based 'skeleton' plus our extensions 'flip_pairs' (0-based) and 'sigmas', which
  pycocotools ignores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints
from model.io.coco_types import CocoDataset, CocoImage

ZERO_AREA = 1.0


def category_dict(skeleton: Skeleton, category_id: int = 1) -> dict:
    """The COCO category of a skeleton, with our 'flip_pairs' (0-based) and 'sigmas' fields."""
    cat = skeleton.to_coco_category(category_id)
    cat["flip_pairs"] = [list(p) for p in skeleton.flip_pairs]
    cat["sigmas"] = [float(s) for s in skeleton.sigmas]
    return cat


def image_dict(image: CocoImage, image_id: int | None = None) -> dict:
    """{id, file_name, width, height}; image_id overrides the image's own id."""
    return {"id": image.id if image_id is None else image_id, "file_name": image.file_name,
            "width": int(image.width), "height": int(image.height)}


def annotation_dicts(ids: list[int], image_ids: list[int], category_id: int, boxes: list[tuple],
                     xy: np.ndarray, vis: np.ndarray, track_ids: list[int | None]) -> list[dict]:
    """The one COCO annotation writer: N annotations of ids, image_ids, boxes (N × (x, y, w, h)),
    xy (N, K, 2) float, vis (N, K) int and track ids (None: no track), without per-keypoint Python
    loops. Raises ValueError naming the annotation for a non-finite labelled point or a bad box."""
    n, k = vis.shape
    xy = np.asarray(xy, np.float64).reshape(n, k, 2)
    labelled = vis > 0
    bad = labelled & ~np.isfinite(xy).all(axis=2)
    if bad.any():
        a, j = (int(i) for i in np.argwhere(bad)[0])
        x, y = xy[a, j].tolist()
        raise ValueError(f"annotation {ids[a]}: keypoint {j} is labelled but at ({x}, {y})")
    flat = np.zeros((n, k, 3), dtype=object)
    flat[:, :, 0] = np.where(labelled, xy[:, :, 0].astype(object), 0)
    flat[:, :, 1] = np.where(labelled, xy[:, :, 1].astype(object), 0)
    flat[:, :, 2] = np.asarray(vis).astype(np.int64).astype(object)
    flat_lists = flat.reshape(n, 3 * k).tolist()
    counts = labelled.sum(axis=1).tolist()
    out = []
    for i, (flat_kp, count) in enumerate(zip(flat_lists, counts, strict=True)):
        box = [float(b) for b in boxes[i]]
        if len(box) != 4 or not all(math.isfinite(b) for b in box) or box[2] < 0 or box[3] < 0:
            raise ValueError(f"annotation {ids[i]}: bad box {boxes[i]}")
        area = box[2] * box[3]
        ann = {"id": ids[i], "image_id": image_ids[i], "category_id": category_id, "keypoints": flat_kp,
               "num_keypoints": count, "bbox": box, "area": area if area > 0 else ZERO_AREA, "iscrowd": 0}
        if track_ids[i] is not None:
            ann["track_id"] = int(track_ids[i])
        out.append(ann)
    return out


def annotation_dict(ann_id: int, image_id: int, category_id: int, instance: Instance) -> dict:
    """One COCO annotation of an instance (annotation_dicts of one)."""
    kp = instance.keypoints
    return annotation_dicts([ann_id], [image_id], category_id, [instance.box], kp.xy[None], kp.vis[None],
                            [instance.track_id])[0]


def _id_map(ids: list[int]) -> dict[int, int]:
    if all(isinstance(i, int) and i >= 1 for i in ids) and len(set(ids)) == len(ids):
        return {i: i for i in ids}
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate ids cannot be renumbered unambiguously")
    return {old: new for new, old in enumerate(ids, start=1)}


def build_coco(dataset: CocoDataset) -> dict:
    """COCO keypoints JSON (a dict) of a dataset, exactly per DESIGN.md §6 (see module docstring).

    Raises ValueError when an annotation names an unknown image or has the wrong number of keypoints.
    """
    image_ids = _id_map([im.id for im in dataset.images])
    ann_ids = _id_map([a.id for a in dataset.annotations])
    k = dataset.skeleton.num_keypoints
    category_id = dataset.category_id if dataset.category_id >= 1 else 1
    anns = dataset.annotations
    for ann in anns:
        if ann.image_id not in image_ids:
            raise ValueError(f"annotation {ann.id}: unknown image id {ann.image_id}")
        if ann.instance.keypoints.num_keypoints != k:
            raise ValueError(f"annotation {ann.id}: {ann.instance.keypoints.num_keypoints} keypoints, "
                             f"skeleton {dataset.skeleton.name!r} has {k}")
    annotations = annotation_dicts(
        [ann_ids[a.id] for a in anns], [image_ids[a.image_id] for a in anns], category_id,
        [a.instance.box for a in anns],
        np.array([a.instance.keypoints.xy for a in anns], np.float64).reshape(-1, k, 2),
        np.array([a.instance.keypoints.vis for a in anns]).reshape(-1, k),
        [a.instance.track_id for a in anns])
    return {
        "info": {"description": "keypoint annotations exported by hglabel", "version": "1.0"},
        "licenses": [],
        "images": [image_dict(im, image_ids[im.id]) for im in dataset.images],
        "annotations": annotations,
        "categories": [category_dict(dataset.skeleton, category_id)],
    }


def result_entry(image_id: int, xy: np.ndarray, confidence: np.ndarray, score: float,
                 category_id: int = 1, vis: np.ndarray | None = None) -> dict:
    """The one COCO results entry: keypoints [x, y, v] × K (v = 2: placed by the model; `vis` (K,)
    gives 0 for keypoints the model says are probably absent), score, and keypoint_scores (K
    confidences, NaN → 0; pycocotools ignores the field). Raises ValueError for non-finite
    positions or score. xy (K, 2), confidence (K,)."""
    xy = np.asarray(xy, dtype=np.float64)
    if not np.isfinite(xy).all() or not math.isfinite(float(score)):
        raise ValueError(f"result for image {image_id}: non-finite keypoints or score")
    conf = np.nan_to_num(np.asarray(confidence, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    v = np.full(len(xy), 2.0) if vis is None else np.asarray(vis, np.float64)
    flat = np.column_stack([xy, v]).reshape(-1).tolist()
    return {"image_id": int(image_id), "category_id": int(category_id), "keypoints": flat,
            "score": float(score), "keypoint_scores": conf.tolist()}


def build_results(items: Iterable[tuple[int, Keypoints, float]], category_id: int = 1) -> list[dict]:
    """COCO results entries (`result_entry`) from (image_id, Keypoints, score); every keypoint's x, y
    is written whatever its v."""
    return [result_entry(image_id, kp.xy, kp.confidence, score, category_id) for image_id, kp, score in items]
