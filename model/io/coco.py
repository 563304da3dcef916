"""COCO keypoints JSON ↔ value types (pure: no project, no images): parse and validate, build, results.

Reading (`parse_coco`, `load_coco`) validates everything a later layer would trip over and raises one
CocoImportError naming the file and the field ("annotations.json: annotations[3].keypoints: expected
12 values (4 keypoints × 3), got 9"). Decisions:
- One keypoint category (a category with a non-empty 'keypoints' list) is read. With several, pass
  `skeleton`: the category whose keypoint names equal skeleton.keypoints is read, and the given
  skeleton (its edges, flip pairs, colours, sigmas) is the dataset's skeleton. Annotations of other
  categories are skipped; annotations with iscrowd = 1 (crowd regions) are skipped. 0/1 fields
  accept JSON booleans too (PoseTrack writes `"iscrowd": false`); fields COCO does not define are
  ignored, except PoseTrack's `track_id` (an integer identity through the video), which is kept.
- Our extension fields on the category (ignored by pycocotools): 'flip_pairs' (0-based pairs) and
  'sigmas' (K OKS sigmas). Without 'flip_pairs' they are guessed from left/right names; without
  'sigmas' a 17-keypoint category gets COCO's 17 sigmas, any other the skeleton default (0.05).
- Keypoint v is kept exactly (0, 1, 2); a v = 0 keypoint's x, y are stored as 0, 0 (COCO's
  convention, so parse → build → parse is exact). Keypoints with v > 0 are marked human-set.
- Image ids and annotation ids may start at 0 on import (export always writes ids from 1).
- file_name: backslashes are read as '/', './' and '//' collapse; absolute paths, drive letters,
  '..' and control characters are refused; with `image_root`, the resolved path must stay inside
  the resolved root (a symbolic link leading out of it is refused too).
- Coordinates and box values must be finite with |value| <= 1e9; boxes need w, h >= 0, and a box of
  no size is a point annotation (at most one labelled keypoint); a labelled
  keypoint may not lie more than half the image's side outside it; with `image_root`, each stated
  width/height must equal the real file's (files that are absent are not judged). Every field of
  the chosen category is validated even when `skeleton` replaces it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from model.annotations.presets import load_preset
from model.annotations.skeleton import Skeleton, SkeletonError, guess_flip_pairs
from model.annotations.types import Instance, Keypoints, Source
from model.io.atomic import write_json_atomic
from model.io.coco_checks import describe_outside, keypoints_outside, size_mismatch, zero_box_problem
from model.io.coco_types import CocoAnnotation, CocoDataset, CocoImage, CocoResult
from model.io.coco_validate import MAX_SIDE, CocoImportError, Fields
from model.io.coco_write import (
    annotation_dict,
    annotation_dicts,
    build_coco,
    build_results,
    category_dict,
    image_dict,
)


# ---- categories --------------------------------------------------------------------------------
def _keypoint_categories(f: Fields, categories: list) -> list[tuple[int, dict]]:
    found, seen_ids = [], {}
    for i, cat in enumerate(categories):
        where = f"categories[{i}]"
        f.obj(cat, where)
        cid = f.int_(f.key(cat, "id", where), f"{where}.id")
        if cid in seen_ids:
            f.fail(f"{where}.id", f"duplicate category id {cid} (also categories[{seen_ids[cid]}])")
        seen_ids[cid] = i
        if "keypoints" in cat and f.list_(cat["keypoints"], f"{where}.keypoints"):
            found.append((i, cat))
    return found


def _choose_category(f: Fields, categories: list, skeleton: Skeleton | None) -> tuple[int, dict]:
    found = _keypoint_categories(f, categories)
    if skeleton is not None:
        names = list(skeleton.keypoints)
        matches = [(i, c) for i, c in found if c["keypoints"] == names]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            f.fail("categories", f"no keypoint category has the keypoints of skeleton {skeleton.name!r} "
                   f"({', '.join(names)})")
        f.fail("categories", f"{len(matches)} categories have the keypoints of skeleton {skeleton.name!r}")
    if len(found) == 1:
        return found[0]
    if not found:
        f.fail("categories", "no keypoint category (a category with a non-empty 'keypoints' list)")
    ids = ", ".join(str(c["id"]) for _, c in found)
    f.fail("categories", f"{len(found)} keypoint categories (ids {ids}); pass a skeleton to choose one")


def _category_skeleton(f: Fields, index: int, cat: dict) -> Skeleton:
    where = f"categories[{index}]"
    names = tuple(f.str_(n, f"{where}.keypoints[{j}]") for j, n in enumerate(cat["keypoints"]))
    for j, n in enumerate(names):
        if not n.strip():
            f.fail(f"{where}.keypoints[{j}]", "empty keypoint name")
        if n in names[:j]:
            f.fail(f"{where}.keypoints[{j}]", f"duplicate keypoint name {n!r}")
    k = len(names)
    edges = f.pairs(cat.get("skeleton", []), f"{where}.skeleton", k, base=1)
    flips = f.pairs(cat["flip_pairs"], f"{where}.flip_pairs", k, base=0) if "flip_pairs" in cat else None
    if "sigmas" in cat:
        sigmas = tuple(f.numbers(cat["sigmas"], f"{where}.sigmas", k, f" (one per keypoint, {k})"))
        if any(not s > 0 for s in sigmas):
            f.fail(f"{where}.sigmas", "sigmas must be positive")
    else:
        sigmas = load_preset("coco17").sigmas if k == 17 else ()
    name = f.str_(cat.get("name", "object"), f"{where}.name")
    try:
        return Skeleton(name, names, edges, flips if flips is not None else guess_flip_pairs(names),
                        sigmas=sigmas)
    except SkeletonError as exc:
        field = "flip_pairs" if "flip_pairs" in str(exc) else "keypoints"
        f.fail(f"{where}.{field}", str(exc))


# ---- images and annotations --------------------------------------------------------------------
def _images(f: Fields, images: list, image_root: Path | None) -> list[CocoImage]:
    out: list[CocoImage] = []
    ids: dict[int, int] = {}
    names: dict[str, int] = {}
    for i, img in enumerate(images):
        where = f"images[{i}]"
        f.obj(img, where)
        iid = f.int_(f.key(img, "id", where), f"{where}.id")
        if iid in ids:
            f.fail(f"{where}.id", f"duplicate image id {iid} (also images[{ids[iid]}])")
        ids[iid] = i
        name = f.file_name(f.key(img, "file_name", where), f"{where}.file_name", image_root)
        if name in names:
            f.fail(f"{where}.file_name", f"duplicate file_name {name!r} (also images[{names[name]}])")
        names[name] = i
        width = f.int_(f.key(img, "width", where), f"{where}.width", 1, MAX_SIDE)
        height = f.int_(f.key(img, "height", where), f"{where}.height", 1, MAX_SIDE)
        out.append(CocoImage(iid, name, width, height))
    return out


def _instance(f: Fields, ann: dict, where: str, k: int, category_id: int, size: tuple[int, int]) -> Instance:
    flat = f.numbers(f.key(ann, "keypoints", where), f"{where}.keypoints", 3 * k,
                     f" ({k} keypoints × 3)").reshape(k, 3)
    v = flat[:, 2]
    bad = np.flatnonzero((v != 0) & (v != 1) & (v != 2))
    if bad.size:
        j = int(bad[0])
        f.fail(f"{where}.keypoints[{3 * j + 2}]",
               f"visibility of keypoint {j} must be 0, 1 or 2, got {v[j]:g}")
    vis = v.astype(np.int8)
    xy = np.where(vis[:, None] > 0, flat[:, :2], 0.0)
    far = keypoints_outside(xy[None], vis[None], np.array([size]))
    if far is not None:
        j = far[1]
        f.fail(f"{where}.keypoints[{3 * j}]", describe_outside(tuple(xy[j]), size))
    box = f.numbers(f.key(ann, "bbox", where), f"{where}.bbox", 4, " [x, y, w, h]")
    if box[2] < 0 or box[3] < 0:
        f.fail(f"{where}.bbox", f"negative size {box[2]:g}×{box[3]:g}")
    if zero_box_problem(box[None], vis[None]) is not None:
        f.fail(f"{where}.bbox", f"box of no size {box[2]:g}×{box[3]:g} around {int((vis > 0).sum())} "
               "labelled keypoints (a point annotation has at most one)")
    keypoints = Keypoints(xy, vis, human=vis > 0)
    track = ann.get("track_id")
    track = None if track is None else f.int_(track, f"{where}.track_id")
    return Instance(keypoints, tuple(float(b) for b in box), 1.0, Source.HUMAN, None, category_id,
                    box_set=True, track_id=track)


def _annotations(f: Fields, anns: list, sizes: dict[int, tuple[int, int]], category_ids: set[int],
                 category_id: int, k: int) -> list[CocoAnnotation]:
    out: list[CocoAnnotation] = []
    ids: dict[int, int] = {}
    for i, ann in enumerate(anns):
        where = f"annotations[{i}]"
        f.obj(ann, where)
        aid = f.int_(f.key(ann, "id", where), f"{where}.id")
        if aid in ids:
            f.fail(f"{where}.id", f"duplicate annotation id {aid} (also annotations[{ids[aid]}])")
        ids[aid] = i
        cid = f.int_(f.key(ann, "category_id", where), f"{where}.category_id")
        if cid not in category_ids:
            f.fail(f"{where}.category_id", f"unknown category id {cid}")
        image_id = f.int_(f.key(ann, "image_id", where), f"{where}.image_id")
        if image_id not in sizes:
            f.fail(f"{where}.image_id", f"unknown image id {image_id}")
        crowd = f.flag(ann.get("iscrowd", 0), f"{where}.iscrowd")
        if cid != category_id or crowd:
            continue
        out.append(CocoAnnotation(aid, image_id, _instance(f, ann, where, k, category_id, sizes[image_id])))
    return out


def parse_coco(data: Any, source: str = "<memory>", image_root: Path | None = None,
               skeleton: Skeleton | None = None) -> CocoDataset:
    """A validated CocoDataset from decoded COCO keypoints JSON (see the module docstring for rules).

    Raises CocoImportError ("<source>: <field>: <problem>") for anything malformed.
    """
    f = Fields(source)
    if not isinstance(data, dict):
        f.fail("", f"expected a JSON object at the top level, got {type(data).__name__}")
    images = f.list_(f.key(data, "images", ""), "images")
    anns = f.list_(f.key(data, "annotations", ""), "annotations")
    categories = f.list_(f.key(data, "categories", ""), "categories")
    index, cat = _choose_category(f, categories, skeleton)
    own = _category_skeleton(f, index, cat)  # every field of the category is checked, even when unused
    chosen = skeleton if skeleton is not None else own
    category_ids = {int(c["id"]) for c in categories}
    coco_images = _images(f, images, image_root)
    if image_root is not None:
        _check_sizes(f, coco_images, image_root)
    coco_anns = _annotations(f, anns, {im.id: (im.width, im.height) for im in coco_images}, category_ids,
                             int(cat["id"]), chosen.num_keypoints)
    return CocoDataset(chosen, int(cat["id"]), coco_images, coco_anns)


def _check_sizes(f: Fields, images: list[CocoImage], root: Path) -> None:
    sizes = np.array([(im.width, im.height) for im in images], np.int64).reshape(-1, 2)
    found = size_mismatch([im.file_name for im in images], sizes, Path(root))
    if found is not None:
        i, (w, h) = found
        f.fail(f"images[{i}]", f"width × height {images[i].width}×{images[i].height} but "
               f"{images[i].file_name} is {w}×{h} pixels")


def read_json(path: str | Path) -> Any:
    """Decoded JSON of a file; CocoImportError names the file (and line/column for syntax errors)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CocoImportError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise CocoImportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise CocoImportError(f"{path}: invalid JSON at {where}: {exc.msg}") from None
    except RecursionError:
        raise CocoImportError(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal over Python's 4300-digit limit
        raise CocoImportError(f"{path}: invalid JSON: {exc}") from None


def load_coco(path: str | Path, image_root: Path | None = None,
              skeleton: Skeleton | None = None) -> CocoDataset:
    """parse_coco of a COCO keypoints JSON file; messages name the file."""
    return parse_coco(read_json(path), str(path), image_root=image_root, skeleton=skeleton)


# ---- results -----------------------------------------------------------------------------------
def parse_results(data: Any, num_keypoints: int, source: str = "<memory>",
                  image_ids: set[int] | None = None, category_id: int | None = None) -> list[CocoResult]:
    """Validated entries of a COCO results list ({image_id, category_id, keypoints, score}).

    With image_ids, results naming other images are refused (all such ids are listed); with
    category_id, results of another category are refused.
    """
    f = Fields(source)
    items = f.list_(data, "results")
    out: list[CocoResult] = []
    for i, res in enumerate(items):
        where = f"[{i}]"
        f.obj(res, where)
        image_id = f.int_(f.key(res, "image_id", where), f"{where}.image_id")
        cid = f.int_(res.get("category_id", category_id if category_id is not None else 1),
                     f"{where}.category_id")
        if category_id is not None and cid != category_id:
            f.fail(f"{where}.category_id", f"{cid} is not the ground truth's keypoint category {category_id}")
        flat = f.numbers(f.key(res, "keypoints", where), f"{where}.keypoints", 3 * num_keypoints,
                         f" ({num_keypoints} keypoints × 3)").reshape(num_keypoints, 3)
        score = f.num(f.key(res, "score", where), f"{where}.score")
        scores = flat[:, 2].copy()  # older files: the confidence as the third value
        if "keypoint_scores" in res:
            scores = f.numbers(res["keypoint_scores"], f"{where}.keypoint_scores", num_keypoints, "")
        out.append(CocoResult(image_id, cid, flat[:, :2].copy(), scores, score))
    if image_ids is not None:
        unknown = sorted({r.image_id for r in out} - set(image_ids))
        if unknown:
            shown = ", ".join(map(str, unknown[:10])) + (", …" if len(unknown) > 10 else "")
            f.fail("image_id", f"{len(unknown)} image id(s) not in the ground truth: {shown}")
    return out


def load_results(path: str | Path, num_keypoints: int, image_ids: set[int] | None = None,
                 category_id: int | None = None) -> list[CocoResult]:
    """parse_results of a results JSON file; messages name the file."""
    return parse_results(read_json(path), num_keypoints, str(path), image_ids, category_id)


__all__ = [
    "CocoAnnotation", "CocoDataset", "CocoImage", "CocoImportError", "CocoResult", "annotation_dict",
    "annotation_dicts", "build_coco", "build_results", "category_dict", "image_dict", "load_coco",
    "load_results",
    "parse_coco", "parse_results", "read_json", "write_json_atomic",
]
