"""Value types of a COCO keypoints file: images, annotations, the dataset, results entries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance


@dataclass(frozen=True)
class CocoImage:
    """One COCO image entry; file_name is relative to the image root with '/' separators."""

    id: int
    file_name: str
    width: int
    height: int


@dataclass(frozen=True)
class CocoAnnotation:
    """One COCO annotation of the keypoint category: its id, its image's id and the instance."""

    id: int
    image_id: int
    instance: Instance


@dataclass(frozen=True)
class CocoDataset:
    """A validated COCO keypoints file: one category's skeleton, its images and annotations."""

    skeleton: Skeleton
    category_id: int
    images: list[CocoImage]
    annotations: list[CocoAnnotation]


@dataclass(frozen=True, eq=False)
class CocoResult:
    """One entry of a COCO results file: xy (K, 2) float64, keypoint_scores (K,) float64 (the third
    value of each triple, unused by OKS), and the instance score."""

    image_id: int
    category_id: int
    xy: np.ndarray
    keypoint_scores: np.ndarray
    score: float
