"""The synthetic two-track sequence of bench/instances.py: two pasted mice walking known straight paths
over the empty arena (median of frames), crossing once; and identity switches of a tracker on it."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.finder.centres import instance_centre
from model.finder.scenes import Frame, median_background, paste_moved
from model.tracks.assign import Detection, assign_tracks, identity_switches, nearest_box_tracks

PATHS = (((150.0, 170.0), (490.0, 310.0)), ((490.0, 170.0), (150.0, 310.0)))  # cross at (320, 240)


def render_sequence(frames: list[Frame], n: int, donors: tuple[int, int] = (0, 5)):
    """n frames (H, W, 3) uint8 and, per frame, the two true Animals (identity = list position)."""
    background = median_background(frames)
    sprites = [frames[i] for i in donors]
    images, truth = [], []
    for f in range(n):
        t = f / max(1, n - 1)
        image, animals = background, []
        for sprite, (start, end) in zip(sprites, PATHS, strict=True):
            animal = sprite.animals[0]
            target = np.asarray(start) + t * (np.asarray(end) - np.asarray(start))
            image, moved = paste_moved(image, sprite.image, animal, target - instance_centre(animal.xy,
                                                                                                animal.vis,
                                                                                                animal.box))
            animals.append(moved)
        images.append(image)
        truth.append(animals)
    return images, truth


def _match(truth, dets: list[Detection]) -> list[tuple[int, int]]:
    """(true index, detection index) pairs by Hungarian on mean keypoint distance (< 40 px)."""
    if not dets:
        return []
    cost = np.array([[float(np.linalg.norm(d.xy[a.vis > 0] - a.xy[a.vis > 0], axis=1).mean()) for d in dets]
                     for a in truth])
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 40.0]


def switches(truth, detections: list[list[Detection]], sigmas) -> dict:
    """Identity switches of ours (Hungarian, OKS + IoU, motion) and of nearest-box matching."""
    ours = assign_tracks(detections, sigmas)
    base = nearest_box_tracks(detections)
    true_ids, our_ids, base_ids, matched = [], [], [], 0
    for animals, dets, o, b in zip(truth, detections, ours, base, strict=True):
        pairs = _match(animals, dets)
        matched += len(pairs)
        true_ids.append([g for g, _ in pairs])
        our_ids.append([o[d] for _, d in pairs])
        base_ids.append([b[d] for _, d in pairs])
    return {"ours": identity_switches(true_ids, our_ids), "baseline": identity_switches(true_ids, base_ids),
            "matched_fraction": matched / (2 * len(truth)),
            "ours_right_identity": right_identity(true_ids, our_ids),
            "baseline_right_identity": right_identity(true_ids, base_ids)}


def right_identity(truth: list[list[int]], predicted: list[list[int]]) -> float:
    """Share of matched instances whose track is the one its animal carried first."""
    first: dict[int, int] = {}
    right = total = 0
    for true_ids, ids in zip(truth, predicted, strict=True):
        for g, t in zip(true_ids, ids, strict=True):
            first.setdefault(g, t)
            right, total = right + (first[g] == t), total + 1
    return right / max(total, 1)
