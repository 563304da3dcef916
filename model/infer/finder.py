"""Several instances per image: the instance finder's network and the finder → crops → pose pipeline.

`Finder` runs a finder checkpoint (model.finder) on whole images and returns instance centres.
`predict_image(predictor, image, boxes)` predicts every given box and, with a finder, adds the
instances it finds that are not already there: each centre gets a crop of the finder's crop size,
the pose network predicts it, a box is made from the confident keypoints and a second crop refines
them (the single-instance pass's refinement). A found instance whose box overlaps a given box
(IoU ≥ `overlap`) or a stronger found one, or whose centre lies in a given box, is dropped: what a
person drew is filled, never duplicated. Without a finder an image with no boxes gets the
single-instance whole-image pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from model.annotations.boxes import iou
from model.annotations.types import Prediction
from model.codec.transforms import warp_image
from model.finder.centres import (
    FINDER_KIND,
    centres_from_heatmap,
    heatmap_to_image_affine,
    whole_image_affine,
)
from model.infer.checkpoint import CheckpointError, ModelBundle, build_model, load_checkpoint
from model.infer.crops import Box, box_from_keypoints, check_image

MIN_PEAK = 0.3  # finder heatmap peak needed for an instance
MIN_SCORE = 0.15  # mean keypoint confidence a found instance needs
OVERLAP = 0.3  # IoU with a known box above which a found instance is the same one


class Finder:
    """An instance-finder network on one device: `find(image) -> (centres (M, 2), scores (M,))`."""

    def __init__(self, checkpoint: str | Path | ModelBundle, device: torch.device | str = "cpu",
                 min_peak: float = MIN_PEAK) -> None:
        bundle = checkpoint if isinstance(checkpoint, ModelBundle) else load_checkpoint(checkpoint)
        bundle = bundle.finder or bundle
        if bundle.meta.get("kind") != FINDER_KIND:
            raise CheckpointError(f"{bundle.source or 'checkpoint'}: holds no instance finder")
        self.bundle, self.config = bundle, bundle.config
        self.device = torch.device(device)
        self.model = build_model(bundle).to(self.device).eval()
        side = bundle.meta.get("crop_size") or [float(min(self.config.input_size))] * 2
        self.crop_size = (float(side[0]), float(side[1]))
        self.min_peak = float(min_peak)
        scale, shift = bundle.normalization.scale_and_shift()
        self._scale = torch.from_numpy(scale).view(1, 3, 1, 1).to(self.device)
        self._shift = torch.from_numpy(shift).view(1, 3, 1, 1).to(self.device)

    def heatmap(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(h, w) float32 centre heatmap of the last stack and its (2, 3) heatmap → image affine."""
        h, w = image.shape[:2]
        m = whole_image_affine((w, h), self.config.input_size)
        crop = warp_image(image, m, self.config.input_size)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device)[None].permute(0, 3, 1, 2).float()
            out = self.model(x.mul_(self._scale).add_(self._shift))[-1]
        return out[0, 0].float().cpu().numpy(), heatmap_to_image_affine(m, self.config.stride)

    def find(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Instance centres (M, 2) float64 image px and peak scores (M,) float32, strongest first."""
        hm, to_image = self.heatmap(check_image(image, 0))
        return centres_from_heatmap(hm, to_image, self.min_peak, 0.35 * min(self.crop_size))


def _inside(point: np.ndarray, box: Box) -> bool:
    x, y, w, h = box
    return bool(x <= point[0] <= x + w and y <= point[1] <= y + h)


def predict_image(predictor, image: np.ndarray, boxes: Sequence[Box] = (),
                  overlap: float = OVERLAP) -> list[tuple[int | None, Prediction]]:
    """[(index into boxes, or None for a new instance, Prediction)]: the given boxes first, in order."""
    image = check_image(image, 0)
    boxes = [tuple(float(v) for v in b) for b in boxes]
    out: list[tuple[int | None, Prediction]] = []
    if boxes:
        preds = predictor.predict_boxes([image] * len(boxes), boxes, predictor.padding)
        out = [(i, p) for i, p in enumerate(preds)]
    finder = getattr(predictor, "finder", None)
    if finder is None:
        if not boxes:
            out = [(None, predictor.predict([(image, None)])[0])]
        return out
    centres, _ = finder.find(image)
    centres = [c for c in centres if not any(_inside(c, b) for b in boxes)]
    if not centres:
        return out
    side_w, side_h = finder.crop_size
    first = [(float(c[0] - side_w / 2), float(c[1] - side_h / 2), side_w, side_h) for c in centres]
    coarse = predictor.predict_boxes([image] * len(first), first, 1.0)
    h, w = image.shape[:2]
    refined_boxes = [box_from_keypoints(p.keypoints, p.confidence, (w, h), predictor.refine_min_confidence)
                     for p in coarse]
    keep = [i for i, b in enumerate(refined_boxes) if b is not None]
    refined = predictor.predict_boxes([image] * len(keep), [refined_boxes[i] for i in keep],
                                      predictor.padding)
    taken = list(boxes)
    for pred in refined:
        box = tuple(float(v) for v in pred.box)
        if pred.score < MIN_SCORE or any(iou(box, b) >= overlap for b in taken):
            continue
        taken.append(box)
        out.append((None, pred))
    return out
