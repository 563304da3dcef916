"""Review policy: which model keypoints a person should look at (confidence under the review threshold).

The one place the threshold is applied: the window (dashed rings, the image's status after a
prediction, the keypoints table) and headless `hglabel predict --project` ask a `ReviewPolicy`.
Keypoints a person set are never flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.annotations.types import Keypoints

DEFAULT_THRESHOLD = 0.3


@dataclass(frozen=True)
class ReviewPolicy:
    """threshold: a labelled model keypoint with confidence below it needs review."""

    threshold: float = DEFAULT_THRESHOLD

    def flagged(self, confidence: float, human: bool) -> bool:
        """One keypoint: set by the model (not `human`), confidence known and under the threshold."""
        return not human and confidence is not None and not math.isnan(confidence) \
            and confidence < self.threshold

    def flags(self, keypoints: Keypoints) -> np.ndarray:
        """(K,) bool: labelled model keypoints under the threshold."""
        model = (keypoints.vis > 0) & ~keypoints.human
        conf = keypoints.confidence
        return model & np.isfinite(conf) & (conf < self.threshold)

    def needs_review(self, keypoints: Keypoints) -> bool:
        """True when a labelled model keypoint (not set by a person) is below the threshold."""
        return bool(self.flags(keypoints).any())

    def unconfirmed(self, keypoints: Keypoints) -> np.ndarray:
        """(K,) bool: what marking the image done would confirm unseen: flagged model keypoints and
        the model's "probably absent" suggestions (v = 0 with a prediction's confidence)."""
        return self.flags(keypoints) | absent_suggestions(keypoints)


def absent_suggestions(keypoints: Keypoints) -> np.ndarray:
    """(K,) bool: the model's "probably absent" keypoints (v = 0, not a person's, with a prediction's
    confidence; their xy is where the model's peak was). An unlabelled keypoint has NaN confidence."""
    return (keypoints.vis == 0) & ~keypoints.human & np.isfinite(keypoints.confidence)

