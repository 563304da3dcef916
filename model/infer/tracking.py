"""Predicting the frames of a sequence, placing each frame's crop from the previous frame's result.

When the animal was found in frame k-1 (at least `min_found` keypoints with confidence ≥
`min_confidence`), frame k gets one crop pass at the box around those keypoints (padded extent, as
the Predictor's refining box) instead of a whole-image search plus a crop. The tracked pass has lost
it — and the frame is predicted again with the search — when fewer than `min_found` keypoints stay
confident, when the mean confidence falls below `keep_mean` × the previous frame's, or when a keypoint
that was confident (≥ 0.3) loses more than half its confidence. (Measured on the demo frames: a crop
placed on the wrong spot still gets peaks of 0.3–0.6, so an absolute threshold alone misses it.)
Frames whose predecessor was not predicted (the first frame, a gap in `indices`, an undecodable
frame) always search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from model.annotations.types import Prediction
from model.infer.crops import Box, box_from_keypoints
from model.inspect.uncertainty import image_uncertainty
from model.io.video import VideoFrameError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackingRule:
    """When a previous result is good enough to place the next crop, and when a tracked pass lost it."""

    min_confidence: float = 0.1
    min_found: int = 2
    keep_mean: float = 0.8
    keep_each: float = 0.5

    def box_from(self, pred: Prediction | None, size: tuple[int, int]) -> Box | None:
        """The next frame's crop box from this prediction, or None (search instead)."""
        if pred is None:
            return None
        return box_from_keypoints(pred.keypoints, pred.confidence, size, self.min_confidence)

    def lost(self, pred: Prediction, previous: Prediction) -> bool:
        conf = np.nan_to_num(np.asarray(pred.confidence, np.float64))
        before = np.nan_to_num(np.asarray(previous.confidence, np.float64))
        if int((conf >= self.min_confidence).sum()) < self.min_found:
            return True
        if conf.mean() < self.keep_mean * before.mean():
            return True
        return bool(np.any((before >= 0.3) & (conf < self.keep_each * before)))


DEFAULT_RULE = TrackingRule()


@dataclass(frozen=True)
class Hint:
    """A neighbouring frame's stored result standing in for the previous Prediction: keypoints
    (K, 2) image px and confidence (K,)."""

    keypoints: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class FramePrediction:
    """One frame's result: its index, the Prediction, whether it came from the tracked box, and its
    uncertainty score (ImageUncertainty.worst_score; > 1 means some keypoint is uncertain)."""

    index: int
    prediction: Prediction
    tracked: bool
    uncertainty: float | None


def predict_frame(predictor, image: np.ndarray, previous: Prediction | None,
                  rule: TrackingRule | None = None) -> tuple[Prediction, bool]:
    """(prediction, tracked) for one frame (H, W, 3) uint8 RGB given the previous frame's result."""
    h, w = image.shape[:2]
    rule = rule or DEFAULT_RULE
    box = rule.box_from(previous, (w, h))
    if box is not None:
        pred = predictor.predict([(image, box)], batch_size=1)[0]
        if not rule.lost(pred, previous):
            return pred, True
    return predictor.predict([(image, None)], batch_size=1)[0], False


def predict_sequence(
    predictor, frames, indices: Sequence[int] | None = None, track: bool = True,
    rule: TrackingRule | None = None, on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[FramePrediction]:
    """Predict `frames` (a FrameSequence) at `indices` (default all, in order), one FramePrediction
    each; `on_progress(done, total)` after each frame; stops early when `should_stop()` is true.
    Undecodable frames are logged and skipped (the next frame searches)."""
    order = list(range(len(frames))) if indices is None else [int(i) for i in indices]
    previous: tuple[int, Prediction] | None = None
    for done, index in enumerate(order, start=1):
        if should_stop is not None and should_stop():
            return
        try:
            image = frames.read(index)
        except VideoFrameError as exc:
            log.warning("%s", exc)
            previous = None
            continue
        prior = previous[1] if track and previous is not None and previous[0] == index - 1 else None
        pred, tracked = predict_frame(predictor, image, prior, rule)
        previous = (index, pred)
        unc = image_uncertainty([pred])
        yield FramePrediction(index, pred, tracked, None if unc is None else unc.worst_score)
        if on_progress is not None:
            on_progress(done, len(order))


class FrameMemory:
    """The last predicted frame of each video in this process, so that predicting frame k right after
    frame k-1 (the window's "predict all" walks the frames in order) takes one tracked crop pass."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, Prediction]] = {}

    def prior(self, video: str, index: int) -> Prediction | None:
        last = self._last.get(video)
        return last[1] if last is not None and last[0] == index - 1 else None

    def remember(self, video: str, index: int, pred: Prediction) -> None:
        self._last[video] = (index, pred)
