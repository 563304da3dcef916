"""`evaluate(gt, results)`: OKS AP/AR through pycocotools plus PCK and pixel errors, as one dict.

- Ground truth is read with model.io.coco (so it is validated, and crowd annotations and other
  categories are left out); pycocotools sees it rebuilt with annotation ids 1..N (COCOeval treats a
  ground-truth id of 0 as "unmatched") and the file's image ids.
- OKS sigmas: the `sigmas` argument, else the skeleton's (our category 'sigmas' field; without it
  COCO's 17 for a 17-keypoint category, else 0.05 each — see model.io.coco).
- No results → AP, AR and PCK are 0.0 and pixel errors None. Results naming images that the ground
  truth lacks → CocoImportError listing them. A metric COCOeval cannot define (no ground truth) is None.
- pycocotools' printing is silenced.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.evaluation.matching import match
from model.evaluation.pck import pck_metrics
from model.io.coco import (
    CocoDataset,
    CocoResult,
    annotation_dict,
    category_dict,
    image_dict,
    load_coco,
    load_results,
    parse_coco,
    parse_results,
)

COCO_STATS = ("AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large")


def pycocotools_gt(dataset: CocoDataset) -> dict:
    """The ground truth as pycocotools gets it: image ids kept, annotation ids 1..N."""
    cid = dataset.category_id
    return {
        "images": [image_dict(im) for im in dataset.images],
        "annotations": [annotation_dict(i, a.image_id, cid, a.instance)
                        for i, a in enumerate(dataset.annotations, start=1)],
        "categories": [category_dict(dataset.skeleton, cid)],
    }


def _result_dicts(results: list[CocoResult]) -> list[dict]:
    return [{"image_id": r.image_id, "category_id": r.category_id, "score": r.score,
             "keypoints": np.column_stack([r.xy, r.keypoint_scores]).reshape(-1).tolist()}
            for r in results]


def coco_keypoint_stats(gt: dict, results: list[dict], sigmas: np.ndarray, category_id: int) -> dict:
    """COCOeval(iouType='keypoints') stats by name (AP, AP50, …; None where undefined), quietly."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not results:
        return {name: 0.0 for name in COCO_STATS}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.params.catIds = [category_id]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: (float(v) if v >= 0 else None) for name, v in zip(COCO_STATS, ev.stats, strict=True)}


def _sigmas(dataset: CocoDataset, sigmas: Sequence[float] | None) -> np.ndarray:
    if sigmas is None:
        return np.asarray(dataset.skeleton.sigmas, dtype=np.float64)
    arr = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    k = dataset.skeleton.num_keypoints
    if arr.shape != (k,) or not (np.isfinite(arr) & (arr > 0)).all():
        raise ValueError(f"sigmas: expected {k} positive numbers, got {arr.tolist()}")
    return arr


def evaluate(gt: dict | str | Path, results: list | str | Path,
             sigmas: Sequence[float] | None = None) -> dict:
    """AP, AP50, AP75, AR (…), PCK@0.05/0.1/0.2, mean_px_error, per-keypoint figures and counts.

    gt: COCO keypoints dict or file; results: COCO results list or file. Raises CocoImportError
    naming the file and field for malformed input.
    """
    dataset = parse_coco(gt, "ground truth") if isinstance(gt, dict) else load_coco(gt)
    k = dataset.skeleton.num_keypoints
    image_ids = {im.id for im in dataset.images}
    if isinstance(results, list):
        res = parse_results(results, k, "results", image_ids, dataset.category_id)
    else:
        res = load_results(results, k, image_ids, dataset.category_id)
    sig = _sigmas(dataset, sigmas)
    out = coco_keypoint_stats(pycocotools_gt(dataset), _result_dicts(res), sig, dataset.category_id)
    pairs = match(dataset, res, sig)
    out.update(pck_metrics(pairs, dataset.skeleton.keypoints))
    out["counts"] = {
        "images": len(dataset.images), "gt_instances": len(pairs), "results": len(res),
        "matched_instances": sum(r is not None for _, r in pairs),
    }
    out["sigmas"] = [float(s) for s in sig]
    out["keypoints"] = list(dataset.skeleton.keypoints)
    return out
