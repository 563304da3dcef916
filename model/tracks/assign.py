"""Frame-to-frame matching of instances into tracks: Hungarian assignment on keypoints and boxes.

The cost of giving detection d the track t is `KEYPOINT_WEIGHT · (1 − OKS) + (1 − KEYPOINT_WEIGHT) ·
(1 − IoU)`: OKS (COCO's keypoint similarity with the skeleton's sigmas, scale = the track's box area)
between d's keypoints and the track's keypoints *predicted* for this frame (last position + constant
velocity, so two animals that cross keep their headings), IoU between d's box and the track's
moved box, for the tracks seen on the previous frame. scipy's `linear_sum_assignment` picks the
cheapest one-to-one matching; a pair above `max_cost` is not a match. Detections left over then
take left-over tracks (also those unseen for a while) by the distance of their centres to the
tracks' predicted centres, recently seen tracks first (at most `REACQUIRE` box sizes, growing with
the frames the track was unseen: e.g. an animal hidden behind another while they crossed); only
then does a detection start a new track (so a newcomer may take a lost track's identity). A track
unseen for `max_gap` frames ends. `nearest_box_tracks` is the baseline: greedy nearest box centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.annotations.boxes import iou_matrix

KEYPOINT_WEIGHT = 0.7
MAX_COST = 0.9
REACQUIRE = 2.5  # box sizes (square root of the area) a left-over track may be from its detection
HISTORY = 20  # frames of positions the velocity is fitted to


@dataclass(frozen=True, eq=False)
class Detection:
    """One instance in one frame: xy (K, 2) float64 image px, vis (K,) int8, box (4,) [x, y, w, h]."""

    xy: np.ndarray
    vis: np.ndarray
    box: np.ndarray


@dataclass
class _Track:
    track_id: int
    det: Detection
    velocity: np.ndarray  # (2,) px per frame
    last_frame: int
    history: list = field(default_factory=list)  # (frame, centre (2,)) of the last HISTORY updates


def oks(a_xy: np.ndarray, a_vis: np.ndarray, b_xy: np.ndarray, b_vis: np.ndarray, area: float,
        sigmas: np.ndarray) -> float | None:
    """COCO OKS of two keypoint sets (K, 2) over the keypoints labelled in both; None when none is."""
    both = (np.asarray(a_vis) > 0) & (np.asarray(b_vis) > 0)
    if not both.any():
        return None
    d2 = ((np.asarray(a_xy) - np.asarray(b_xy)) ** 2).sum(axis=1)[both]
    k2 = (2.0 * np.asarray(sigmas, np.float64)[both]) ** 2
    return float(np.exp(-d2 / (2.0 * max(area, 1.0) * k2)).mean())


def cost_matrix(tracks: list[Detection], dets: list[Detection], sigmas: np.ndarray) -> np.ndarray:
    """(T, D) float64 matching costs in [0, 1] (see the module docstring)."""
    cost = np.ones((len(tracks), len(dets)))
    if not tracks or not dets:
        return cost
    overlap = iou_matrix(np.stack([t.box for t in tracks]), np.stack([d.box for d in dets]))
    for i, t in enumerate(tracks):
        for j, d in enumerate(dets):
            sim = oks(t.xy, t.vis, d.xy, d.vis, float(t.box[2] * t.box[3]), sigmas)
            kp_term = (1.0 - overlap[i, j]) if sim is None else (1.0 - sim)
            cost[i, j] = KEYPOINT_WEIGHT * kp_term + (1.0 - KEYPOINT_WEIGHT) * (1.0 - overlap[i, j])
    return cost


def _centre(det: Detection) -> np.ndarray:
    return np.array([det.box[0] + det.box[2] / 2.0, det.box[1] + det.box[3] / 2.0])


def _position(det: Detection) -> np.ndarray:
    """(2,) robust position of a detection: the median of its labelled keypoints (else box centre)."""
    labelled = det.vis > 0
    return np.median(det.xy[labelled], axis=0) if labelled.any() else _centre(det)


def _moved(det: Detection, shift: np.ndarray) -> Detection:
    xy = np.where(det.vis[:, None] > 0, det.xy + shift, det.xy)
    return Detection(xy, det.vis, det.box + np.array([shift[0], shift[1], 0.0, 0.0]))


class Tracker:
    """Feed frames in time order with `step(detections) -> [track id per detection]`."""

    def __init__(self, sigmas, max_cost: float = MAX_COST, max_gap: int = 60, first_id: int = 1) -> None:
        self.sigmas = np.asarray(sigmas, np.float64)
        self.max_cost, self.max_gap = float(max_cost), int(max_gap)
        self.next_id, self.frame = int(first_id), -1
        self.tracks: list[_Track] = []

    def step(self, dets: list[Detection]) -> list[int]:
        self.frame += 1
        self.tracks = [t for t in self.tracks if self.frame - t.last_frame <= self.max_gap]
        expected = [_moved(t.det, t.velocity * (self.frame - t.last_frame)) for t in self.tracks]
        cost = cost_matrix(expected, dets, self.sigmas)
        cost[[t.last_frame < self.frame - 1 for t in self.tracks]] = 2.0  # unseen tracks: second stage
        ids = [-1] * len(dets)
        if self.tracks and dets:
            for r, c in zip(*linear_sum_assignment(cost), strict=True):
                if cost[r, c] <= self.max_cost:
                    ids[c] = self._update(self.tracks[r], dets[c])
        self._reacquire(expected, dets, ids)
        for j, det in enumerate(dets):
            if ids[j] < 0:
                self.tracks.append(_Track(self.next_id, det, np.zeros(2), self.frame,
                                          [(self.frame, _position(det))]))
                ids[j], self.next_id = self.next_id, self.next_id + 1
        return ids

    def _reacquire(self, expected: list[Detection], dets: list[Detection], ids: list[int]) -> None:
        """Left-over detections take left-over tracks by predicted-centre distance (Hungarian, gated)."""
        taken = set(ids)
        rows = [i for i, t in enumerate(self.tracks) if t.track_id not in taken]
        cols = [j for j, t in enumerate(ids) if t < 0]
        if not rows or not cols:
            return
        dist = np.array([[float(np.hypot(*(_centre(expected[i]) - _centre(dets[j]))))
                          / np.sqrt(max(expected[i].box[2] * expected[i].box[3], 1.0)) for j in cols]
                         for i in rows])
        gaps = np.array([self.frame - self.tracks[i].last_frame for i in rows], np.float64)
        gate = REACQUIRE * (1.0 + gaps / 10.0)
        # a track seen recently is the likelier owner: each frame unseen costs 1/20 box size
        for r, c in zip(*linear_sum_assignment(dist + gaps[:, None] / 20.0), strict=True):
            if dist[r, c] <= gate[r]:
                ids[cols[c]] = self._update(self.tracks[rows[r]], dets[cols[c]])

    def _update(self, track: _Track, det: Detection) -> int:
        """Take det into the track. The velocity is the least-squares slope of the track's last
        HISTORY positions (the median of the labelled keypoints: single predictions jitter), at
        most 10 % of the box size per frame."""
        track.history = [*track.history, (self.frame, _position(det))][-HISTORY:]
        if len(track.history) >= 3:
            frames = np.array([f for f, _ in track.history], np.float64)
            pts = np.stack([p for _, p in track.history])
            step = np.polyfit(frames - frames.mean(), pts, 1)[0]
            limit = 0.1 * float(np.sqrt(max(det.box[2] * det.box[3], 1.0)))
            speed = float(np.hypot(*step))
            track.velocity = step * (limit / speed) if speed > limit else step
        track.det, track.last_frame = det, self.frame
        return track.track_id


def assign_tracks(frames: list[list[Detection]], sigmas, **options) -> list[list[int]]:
    """Track ids for every detection of every frame (frames in time order)."""
    tracker = Tracker(sigmas, **options)
    return [tracker.step(dets) for dets in frames]


def nearest_box_tracks(frames: list[list[Detection]], max_distance: float = 150.0) -> list[list[int]]:
    """Baseline: each detection takes the track whose last box centre is nearest (greedy, closest
    pairs first), a new track when none is within max_distance px."""
    last: dict[int, np.ndarray] = {}
    next_id, out = 1, []
    for dets in frames:
        centres = [_centre(d) for d in dets]
        pairs = sorted((float(np.hypot(*(c - p))), j, t)
                       for j, c in enumerate(centres) for t, p in last.items())
        ids, used = [-1] * len(dets), set()
        for dist, j, t in pairs:
            if dist <= max_distance and ids[j] < 0 and t not in used:
                ids[j] = t
                used.add(t)
        for j in range(len(dets)):
            if ids[j] < 0:
                ids[j], next_id = next_id, next_id + 1
        last = {t: centres[j] for j, t in enumerate(ids)}
        out.append(ids)
    return out


def identity_switches(truth: list[list[int]], predicted: list[list[int]]) -> int:
    """CLEAR-MOT identity switches: times a true identity is covered by a different track than the last
    time it was covered. truth[f][j] and predicted[f][j] label the same (matched) instance j of frame f."""
    last: dict[int, int] = {}
    switches = 0
    for true_ids, ids in zip(truth, predicted, strict=True):
        for g, t in zip(true_ids, ids, strict=True):
            if g in last and last[g] != t:
                switches += 1
            last[g] = t
    return switches
