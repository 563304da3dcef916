"""How the overlay looks: point size, confidence colours, status colours (the review threshold is a
model.annotations.review.ReviewPolicy, not a look)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtGui import QColor

from model.annotations.types import ReviewStatus

Rgb = tuple[int, int, int]

STATUS_COLORS: dict[ReviewStatus, Rgb] = {
    ReviewStatus.UNLABELLED: (150, 150, 150),
    ReviewStatus.PREDICTED: (70, 140, 230),
    ReviewStatus.IN_REVIEW: (240, 150, 40),
    ReviewStatus.DONE: (60, 180, 90),
    ReviewStatus.SKIPPED: (110, 110, 110),
}


@dataclass(frozen=True)
class OverlayStyle:
    """User-tunable look of keypoints."""

    point_size: int = 11
    low_color: Rgb = (230, 40, 40)
    high_color: Rgb = (40, 210, 90)
    box_color: Rgb = (255, 220, 0)
    selected_color: Rgb = (0, 230, 255)
    edge_width: float = 2.0

    def confidence_color(self, confidence: float) -> QColor:
        """Linear blend from low_color (confidence 0) to high_color (1); grey when unknown (NaN)."""
        if confidence is None or math.isnan(confidence):
            return QColor(180, 180, 180)
        t = min(max(float(confidence), 0.0), 1.0)
        r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(self.low_color, self.high_color, strict=True))
        return QColor(r, g, b)

def qcolor(rgb: Rgb, alpha: int = 255) -> QColor:
    return QColor(int(rgb[0]), int(rgb[1]), int(rgb[2]), alpha)


# Per-track colours (Okabe–Ito-like, distinct on grey video frames); a track's colour repeats every 8.
TRACK_COLORS: tuple[Rgb, ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
    (0, 114, 178), (213, 94, 0), (204, 121, 167), (160, 255, 160),
)


def track_color(track_id: int) -> Rgb:
    """The colour of track `track_id` (boxes, tags, the keypoint panel)."""
    return TRACK_COLORS[(int(track_id) - 1) % len(TRACK_COLORS)]


def track_name(track_id: int | None) -> str:
    """How a track is named on the canvas and in the lists: 'T3' ('' for no track)."""
    return "" if track_id is None else f"T{int(track_id)}"
