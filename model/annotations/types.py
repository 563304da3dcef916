"""Frozen value types shared by every layer: keypoints, instances, predictions, review status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class ReviewStatus(StrEnum):
    """Where an image stands in the labelling workflow."""

    UNLABELLED = "unlabelled"
    PREDICTED = "predicted"
    IN_REVIEW = "in_review"
    DONE = "done"
    SKIPPED = "skipped"


class Source(StrEnum):
    """Who produced a value: a person or the model."""

    HUMAN = "human"
    MODEL = "model"


def _frozen_array(values, dtype, shape_tail: tuple[int, ...]) -> np.ndarray:
    arr = np.array(values, dtype=dtype, copy=True)
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        raise ValueError(f"expected shape (K, {', '.join(map(str, shape_tail))}), got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Keypoints:
    """K keypoints: xy (K, 2) float64 image pixels, vis (K,) int8 in {0, 1, 2}.

    Optional per-keypoint confidence (K,) float32 (NaN where none) and human mask (K,) bool
    (True where a person set the value).
    """

    xy: np.ndarray
    vis: np.ndarray
    confidence: np.ndarray = field(default=None)  # type: ignore[assignment]
    human: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        xy = _frozen_array(self.xy, np.float64, (2,))
        k = xy.shape[0]
        vis = np.array(self.vis, dtype=np.int8).reshape(-1)
        if vis.shape != (k,) or (k and (vis.min() < 0 or vis.max() > 2)):
            raise ValueError("vis must be (K,) with values in {0, 1, 2}")
        vis.setflags(write=False)
        conf = np.full(k, np.nan, np.float32) if self.confidence is None else self.confidence
        conf = np.array(conf, dtype=np.float32).reshape(k)
        conf.setflags(write=False)
        human = np.zeros(k, bool) if self.human is None else self.human
        human = np.array(human, dtype=bool).reshape(k)
        human.setflags(write=False)
        for name, value in (("xy", xy), ("vis", vis), ("confidence", conf), ("human", human)):
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls, k: int) -> Keypoints:
        return cls(np.zeros((k, 2)), np.zeros(k, np.int8))

    @property
    def num_keypoints(self) -> int:
        return int(self.xy.shape[0])

    @property
    def num_labelled(self) -> int:
        return int((self.vis > 0).sum())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Keypoints):
            return NotImplemented
        return (
            np.array_equal(self.xy, other.xy) and np.array_equal(self.vis, other.vis)
            and np.array_equal(self.confidence, other.confidence, equal_nan=True)
            and np.array_equal(self.human, other.human)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Instance:
    """One annotated object in an image: box [x, y, w, h] in image pixels and its keypoints.

    box_set: a person set the box (drew, moved or resized it); otherwise it is the padded extent of
    the keypoints and follows them (model.annotations.boxes). track_id: the identity of the animal
    or person through a sequence of frames (None: no track).
    """

    keypoints: Keypoints
    box: tuple[float, float, float, float]
    score: float = 1.0
    source: Source = Source.HUMAN
    instance_id: int | None = None
    category_id: int = 1
    box_set: bool = False
    track_id: int | None = None


@dataclass(frozen=True, eq=False)
class Prediction:
    """What the network says about one instance.

    keypoints (K, 2) float64 and confidence (K,) float32 in image pixels; stack_heatmaps
    (S, K, h, w) float32; stack_keypoints (S, K, 2) float64 in image pixels; heatmap_to_image
    (2, 3) float64 maps heatmap pixel coordinates to image coordinates; box [x, y, w, h].
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    stack_heatmaps: np.ndarray
    stack_keypoints: np.ndarray
    heatmap_to_image: np.ndarray
    box: tuple[float, float, float, float]
    flip_disagreement: np.ndarray | None = None
    absent: np.ndarray | None = None  # (K,) bool: peak under the checkpoint's calibrated threshold

    @property
    def visibility(self) -> np.ndarray:
        """(K,) int8 COCO visibility of the prediction: 2, or 0 where the keypoint is probably absent."""
        vis = np.full(len(self.keypoints), 2, np.int8)
        if self.absent is not None:
            vis[np.asarray(self.absent, bool)] = 0
        return vis

    @property
    def score(self) -> float:
        return float(np.mean(self.confidence)) if self.confidence.size else 0.0

    @property
    def stack_disagreement(self) -> np.ndarray:
        """(K,) float64: spread of the per-stack peaks in image pixels (RMS distance to their mean)."""
        pts = self.stack_keypoints
        centre = pts.mean(axis=0, keepdims=True)
        return np.sqrt(((pts - centre) ** 2).sum(axis=-1).mean(axis=0))
