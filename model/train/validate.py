"""Validation during training: the live network run through the Predictor on held-out instances.

Top-down protocol: each instance is cropped around its labelled box (as at inference with a box),
decoded exactly as the predictor decodes, and compared with the labels: PCK at 0.05 and 0.1 of the
box diagonal, mean pixel error, and OKS AP when model.evaluation is available.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
from torch import nn

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints
from model.codec.spec import HeatmapSpec
from model.evaluation.pck import pck
from model.infer.checkpoint import ModelBundle
from model.infer.normalization import Normalization
from model.infer.predictor import Predictor
from model.nn.hourglass import HourglassConfig
from model.train.data import TrainItem
from model.train.dataset import ImageCache

log = logging.getLogger(__name__)


VAL_PCK = (0.05, 0.1)
VAL_PCK_KEYS = tuple(f"PCK@{a:g}" for a in VAL_PCK)


def keypoint_errors(pred_xy: np.ndarray, gt_xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(N, K) float64 Euclidean errors in px; NaN where the label is absent (vis == 0).

    pred_xy, gt_xy (N, K, 2); vis (N, K)."""
    err = np.hypot(*(np.asarray(pred_xy, np.float64) - np.asarray(gt_xy, np.float64)).transpose(2, 0, 1))
    return np.where(np.asarray(vis) > 0, err, np.nan)


def pck_metrics(errors: np.ndarray, boxes: np.ndarray) -> dict[str, float]:
    """PCK@0.05/0.1 of the box diagonal (model.evaluation.pck) and mean px error from errors (N, K)
    (NaN = unlabelled) and boxes (N, 4) [x, y, w, h]; NaN everywhere when nothing is labelled."""
    diag = np.hypot(boxes[:, 2], boxes[:, 3])[:, None]
    labelled = np.isfinite(errors)
    if not labelled.any():
        return {**dict.fromkeys(VAL_PCK_KEYS, float("nan")), "mean_px_error": float("nan")}
    err, thr = errors[labelled], np.broadcast_to(diag, errors.shape)[labelled]
    return {**pck(err, thr, VAL_PCK), "mean_px_error": float(np.mean(err))}


def oks_ap(items: list[TrainItem], pred_xy: np.ndarray, scores: np.ndarray, skeleton: Skeleton,
           sizes: list[tuple[int, int]]) -> float | None:
    """COCO OKS AP (model.evaluation, pycocotools) of predictions (N, K, 2) for items; None if undefined."""
    from model.evaluation.evaluate import evaluate
    from model.io.coco import CocoAnnotation, CocoDataset, CocoImage, build_coco, build_results

    keys = list(dict.fromkeys(it.image_key for it in items))
    image_id = {k: i + 1 for i, k in enumerate(keys)}
    size_of = {it.image_key: s for it, s in zip(items, sizes, strict=True)}
    images = [CocoImage(image_id[k], f"{i}.png", *size_of[k]) for i, k in enumerate(keys)]
    anns = [CocoAnnotation(i + 1, image_id[it.image_key],
                           Instance(Keypoints(it.xy, it.vis), tuple(float(v) for v in it.box)))
            for i, it in enumerate(items)]
    gt = build_coco(CocoDataset(skeleton, 1, images, anns))
    results = build_results(
        (image_id[it.image_key], Keypoints(xy, np.full(len(xy), 2)), float(s))
        for it, xy, s in zip(items, pred_xy, scores, strict=True)
    )
    try:
        return evaluate(gt, results).get("AP")
    except Exception as exc:  # evaluation is a report, never a reason to stop training
        log.warning("OKS AP not computed: %s", exc)
        return None


def predict_items(model: nn.Module, items: list[TrainItem], config: HourglassConfig, skeleton: Skeleton,
                  normalization: Normalization, device: str, cache: ImageCache | None = None,
                  batch_size: int = 16, spec: HeatmapSpec | None = None):
    """Predictions of `model` (a copy runs; the original keeps its mode) for items cropped at their boxes
    and decoded by `spec` (default: the config's default spec): xy (N, K, 2), confidence (N, K) peak
    values, scores (N,), image sizes [(w, h)]."""
    bundle = ModelBundle(config, skeleton, normalization, {}, {}, heatmap=spec)
    # engine="torch": a new network every epoch would pay OpenVINO's conversion each time
    predictor = Predictor(bundle, device=device, network=copy.deepcopy(model), engine="torch")
    cache = cache or ImageCache()
    pred_xy, conf, scores, sizes = [], [], [], []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        images = [cache.get(it.image_path) for it in chunk]
        sizes.extend((im.shape[1], im.shape[0]) for im in images)
        preds = predictor.predict([(im, tuple(it.box)) for im, it in zip(images, chunk, strict=True)],
                                  batch_size)
        pred_xy.extend(p.keypoints for p in preds)
        conf.extend(p.confidence for p in preds)
        scores.extend(p.score for p in preds)
    return np.stack(pred_xy), np.stack(conf), np.asarray(scores), sizes


def item_errors(items: list[TrainItem], xy: np.ndarray) -> np.ndarray:
    """(N, K) px errors of predictions xy (N, K, 2) against the items' labels (NaN where unlabelled)."""
    return keypoint_errors(xy, np.stack([it.xy for it in items]), np.stack([it.vis for it in items]))


def validate(model: nn.Module, items: list[TrainItem], config: HourglassConfig, skeleton: Skeleton,
             normalization: Normalization, device: str, cache: ImageCache | None = None,
             batch_size: int = 16, details: dict | None = None,
             spec: HeatmapSpec | None = None) -> dict[str, float]:
    """Metrics of `model` on `items` (decoded by `spec`); `details`, when given, receives errors (N, K)
    and confidence (N, K)."""
    if not items:
        return {}
    xy, conf, scores, sizes = predict_items(model, items, config, skeleton, normalization, device, cache,
                                            batch_size, spec)
    errors = item_errors(items, xy)
    if details is not None:
        details.update(errors=errors, confidence=conf)
    metrics = pck_metrics(errors, np.stack([it.box for it in items]))
    ap = oks_ap(items, xy, scores, skeleton, sizes)
    if ap is not None:
        metrics["oks_ap"] = ap
    return metrics
