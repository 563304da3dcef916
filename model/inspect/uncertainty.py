"""Per-keypoint and per-image uncertainty of a Prediction, and the image order it induces.

Three signals per keypoint, each turned into a *score* that is exactly 1.0 at its threshold:

- peak:  ``(1 - peak) / (1 - min_peak)`` — the final heatmap hardly fires (peak < ``min_peak``).
- stack: ``stack_spread_px / limit_px`` — the per-stack peaks disagree; the spread is
  ``Prediction.stack_disagreement`` (RMS distance of the S per-stack peaks to their mean, image px).
- flip:  ``flip_px / limit_px`` — the flip test disagrees (only when the prediction has it).

``limit_px = max(min_px, fraction * box_size)`` with ``box_size = sqrt(w * h)`` of the prediction's
box, so a 10 px spread is alarming on a 60 px mouse but not on a 600 px person. The combined score
is the maximum of the three; a keypoint is *uncertain* when its score is > 1. An image's score is
its worst keypoint's score over all predicted instances, ignoring keypoints a person has set.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from model.annotations.types import Prediction

REASONS = ("low peak", "stacks disagree", "flip disagrees")
PEAK, STACK, FLIP = 0, 1, 2


@dataclass(frozen=True)
class UncertaintyThresholds:
    """Where each signal starts to count as uncertain (score 1.0).

    min_peak: final-stack peak value below which a keypoint is uncertain (targets peak at 1.0).
    stack_fraction / flip_fraction: allowed spread as a fraction of sqrt(box w * h).
    min_px: the pixel limits never drop below this (sub-pixel noise on tiny boxes is not doubt).
    """

    min_peak: float = 0.3
    stack_fraction: float = 0.05
    flip_fraction: float = 0.05
    min_px: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_peak < 1.0:
            raise ValueError(f"min_peak must be in [0, 1), got {self.min_peak}")
        for name in ("stack_fraction", "flip_fraction", "min_px"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    def limit_px(self, box: Sequence[float], fraction: float) -> float:
        """Pixel threshold for a box [x, y, w, h]."""
        size = math.sqrt(max(float(box[2]), 0.0) * max(float(box[3]), 0.0))
        return max(self.min_px, fraction * size)


DEFAULT_THRESHOLDS = UncertaintyThresholds()


@dataclass(frozen=True, eq=False)
class KeypointUncertainty:
    """Uncertainty of the K keypoints of one prediction.

    peak (K,) float32; stack_px (K,) float64; flip_px (K,) float64 or None; score (K,) float64
    (max of the three normalised signals, 1.0 = threshold); reason (K,) int64 index into REASONS.
    """

    peak: np.ndarray
    stack_px: np.ndarray
    flip_px: np.ndarray | None
    stack_limit_px: float
    flip_limit_px: float
    score: np.ndarray
    reason: np.ndarray

    @property
    def uncertain(self) -> np.ndarray:
        """(K,) bool: score > 1."""
        return self.score > 1.0

    def describe(self, k: int, names: Sequence[str] | None = None) -> str:
        """One line for a tooltip or status bar, e.g. 'snout: stacks disagree (score 1.8)'."""
        name = names[k] if names is not None else f"keypoint {k + 1}"
        flip = "" if self.flip_px is None else f", flip {self.flip_px[k]:.1f} px"
        score = float(self.score[k])
        verdict = (f"uncertain, {REASONS[int(self.reason[k])]}" if score > 1.0
                   else "certain")  # a reason is named only when its score passes the threshold (1)
        return (
            f"{name}: {verdict} (uncertainty {score:.2f}, 1 = threshold; peak {self.peak[k]:.2f}, "
            f"stacks {self.stack_px[k]:.1f} px{flip})"
        )


def keypoint_uncertainty(
    prediction: Prediction, thresholds: UncertaintyThresholds = DEFAULT_THRESHOLDS
) -> KeypointUncertainty:
    """Scores for every keypoint of `prediction` (see the module docstring)."""
    peak = np.asarray(prediction.confidence, np.float32).reshape(-1)
    stack_px = np.asarray(prediction.stack_disagreement, np.float64).reshape(-1)
    stack_limit = thresholds.limit_px(prediction.box, thresholds.stack_fraction)
    flip_limit = thresholds.limit_px(prediction.box, thresholds.flip_fraction)
    terms = [
        np.clip((1.0 - peak.astype(np.float64)) / (1.0 - thresholds.min_peak), 0.0, None),
        stack_px / stack_limit,
    ]
    flip_px = None
    if prediction.flip_disagreement is not None:
        flip_px = np.asarray(prediction.flip_disagreement, np.float64).reshape(-1)
        terms.append(flip_px / flip_limit)
    stacked = np.nan_to_num(np.stack(terms), nan=np.inf)
    return KeypointUncertainty(
        peak=peak, stack_px=stack_px, flip_px=flip_px, stack_limit_px=stack_limit,
        flip_limit_px=flip_limit, score=stacked.max(axis=0), reason=stacked.argmax(axis=0),
    )


@dataclass(frozen=True)
class ImageUncertainty:
    """An image's worst keypoint: its score, which instance (index into the predictions) and keypoint,
    and how many keypoints of the image are uncertain. Storable as a small dict (to_dict/from_dict)."""

    worst_score: float
    instance_index: int
    keypoint: int
    uncertain_count: int

    def to_dict(self) -> dict:
        return {
            "worst_score": self.worst_score, "instance_index": self.instance_index,
            "keypoint": self.keypoint, "uncertain_count": self.uncertain_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ImageUncertainty:
        return cls(float(data["worst_score"]), int(data["instance_index"]), int(data["keypoint"]),
                   int(data["uncertain_count"]))


def image_uncertainty(
    predictions: Sequence[Prediction],
    human: Sequence[np.ndarray | None] | None = None,
    thresholds: UncertaintyThresholds = DEFAULT_THRESHOLDS,
) -> ImageUncertainty | None:
    """The worst keypoint over all `predictions` of one image; None when nothing is left to judge.

    human[i] is an optional (K,) bool mask of keypoints a person set on instance i: those are skipped.
    """
    if human is not None and len(human) != len(predictions):
        raise ValueError(f"human masks: got {len(human)} for {len(predictions)} predictions")
    best: tuple[float, int, int] | None = None
    count = 0
    for i, pred in enumerate(predictions):
        unc = keypoint_uncertainty(pred, thresholds)
        keep = np.ones(unc.score.shape, bool)
        if human is not None and human[i] is not None:
            keep &= ~np.asarray(human[i], bool).reshape(keep.shape)
        if not keep.any():
            continue
        count += int((unc.uncertain & keep).sum())
        scores = np.where(keep, unc.score, -np.inf)
        k = int(np.argmax(scores))
        if best is None or scores[k] > best[0]:
            best = (float(scores[k]), i, k)
    if best is None:
        return None
    return ImageUncertainty(best[0], best[1], best[2], count)


def _has_score(score: float | None) -> bool:
    return score is not None and not math.isnan(score)


def uncertainty_order(scores: Mapping[Hashable, float | None]) -> list:
    """Image keys, most uncertain first; ties by key; keys whose score is None (not predicted) last."""
    scored = [(key, s) for key, s in scores.items() if _has_score(s)]
    unscored = [key for key, s in scores.items() if not _has_score(s)]
    scored.sort(key=lambda kv: (-kv[1], kv[0]))
    return [key for key, _ in scored] + sorted(unscored)


def filter_uncertain(scores: Mapping[Hashable, float | None], min_score: float = 1.0) -> list:
    """Keys whose score is > min_score, most uncertain first."""
    return [k for k in uncertainty_order(scores) if _has_score(scores[k]) and scores[k] > min_score]


def next_most_uncertain(
    scores: Mapping[Hashable, float | None], current: Hashable | None, skip: Iterable[Hashable] = ()
) -> Hashable | None:
    """The image after `current` in uncertainty order (the first when `current` is None or unscored).

    Images in `skip` (e.g. already done) and images without a score are never returned; None when
    no image is left after `current`.
    """
    skipped = set(skip)
    all_order = uncertainty_order(scores)
    eligible = [k for k in all_order if _has_score(scores[k]) and k not in skipped]
    if current is None or current not in scores or not _has_score(scores[current]):
        return eligible[0] if eligible else None
    allowed = set(eligible)
    pos = all_order.index(current)
    return next((key for key in all_order[pos + 1:] if key in allowed), None)
