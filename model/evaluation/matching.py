"""OKS between ground truth and results, and the one-to-one matching used for PCK and pixel errors.

Matching, per image: results are taken in decreasing score order (stable for ties); each takes the
still-unmatched ground-truth instance with the highest OKS, ties (e.g. all OKS 0) going to the
nearest centre (mean of the GT's labelled keypoints vs mean of the result's keypoints). With one
instance per image this is "the top-scoring result of the image". Ground truth without labelled
keypoints takes no part (COCOeval ignores it too).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from model.io.coco import CocoAnnotation, CocoDataset, CocoResult


def oks(gt: CocoAnnotation, xy: np.ndarray, sigmas: np.ndarray, area: float) -> float:
    """COCO's object keypoint similarity of predicted xy (K, 2) to gt, over gt's labelled keypoints.

    sigmas (K,) float64; area is the gt's COCO area (box area). 0 when gt has no labelled keypoint.
    """
    kp = gt.instance.keypoints
    labelled = kp.vis > 0
    if not labelled.any():
        return 0.0
    d2 = ((xy - kp.xy) ** 2).sum(axis=1)
    e = d2 / (2.0 * sigmas) ** 2 / (area + np.spacing(1)) / 2.0
    return float(np.exp(-e[labelled]).mean())


def gt_area(gt: CocoAnnotation) -> float:
    """The area COCO export writes for this annotation: box w × h, or 1.0 for an empty box."""
    _x, _y, w, h = gt.instance.box
    return w * h if w * h > 0 else 1.0


def _centre_distance(gt: CocoAnnotation, xy: np.ndarray) -> float:
    kp = gt.instance.keypoints
    centre = kp.xy[kp.vis > 0].mean(axis=0)
    return float(np.hypot(*(xy.mean(axis=0) - centre)))


def match(dataset: CocoDataset, results: list[CocoResult],
          sigmas: np.ndarray) -> list[tuple[CocoAnnotation, CocoResult | None]]:
    """Every GT annotation with a labelled keypoint, paired with its matched result or None."""
    by_image: dict[int, list[CocoResult]] = defaultdict(list)
    for res in results:
        by_image[res.image_id].append(res)
    gts: dict[int, list[CocoAnnotation]] = defaultdict(list)
    for ann in dataset.annotations:
        if ann.instance.keypoints.num_labelled:
            gts[ann.image_id].append(ann)
    pairs: list[tuple[CocoAnnotation, CocoResult | None]] = []
    for image_id, anns in gts.items():
        taken: dict[int, CocoResult] = {}
        for res in sorted(by_image.get(image_id, []), key=lambda r: -r.score):
            free = [i for i in range(len(anns)) if i not in taken]
            if not free:
                break
            best = min(free, key=lambda i: (-oks(anns[i], res.xy, sigmas, gt_area(anns[i])),
                                            _centre_distance(anns[i], res.xy)))
            taken[best] = res
        pairs.extend((ann, taken.get(i)) for i, ann in enumerate(anns))
    return pairs
